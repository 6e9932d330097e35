"""Discrete-time spiking networks unrolled over T steps, the substrate of Rathi's STDB (2021, ch. 4) and
DIET-SNN (ch. 5) and of Jiang & Zhang's noise-based single-step training.

``neuron``: IF/LIF layers with soft or hard reset, fixed or trainable leak and threshold, and the integrating
output layer (ours, and one on snnTorch's ``snn.Leaky`` where it is exact); ``surrogate``: STDB's spike-time
surrogate, DIET-SNN's linear one (ours) and Jiang's arctan (snnTorch's); ``encoding``: signed Poisson and direct
input coding; ``network``: networks from architecture strings such as ``64C3-AP2-128C3-AP2-128C3-AP2-512-10``;
``conversion``: the bias-free ANN, threshold balancing (Algorithms 1 and 4), conversion, STDB and DIET-SNN training
epochs and evaluation; ``energy``: the energy accounting of Eqs. 5.18-5.21; ``noise``: Jiang & Zhang's three
stages and the direct T = 10 baseline; ``bridge``: a trained network re-simulated in Brian2, spike by spike.
Constants: ``brainnets/models/rathi2021_stdb.toml``, ``rathi2021_diet.toml`` and ``jiang2024_noise.toml``.
"""
