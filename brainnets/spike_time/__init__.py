"""Exact spike-time gradients of multi-spike LIF networks: BATS and Fast & Deep (Bacho 2023, ch. 3), and spiking
direct feedback: DFA and SFDFA (ch. 5).

``neuron``: the LIF neuron with tau = 2 tau_s and its closed-form spike time; ``forward``: the event-driven
exact simulation of a fully connected layer (``kernel``: its loops compiled for the CPU); ``bats``: its exact
backward pass (inter- and intra-neuron errors) as an autograd function; ``losses``: Fast & Deep's TTFS
cross-entropy and BATS' spike-count loss; ``encoding``: time-to-first-spike input coding; ``network``: fully
connected networks and their training loop; ``feedback``: spiking DFA and SFDFA; ``experiment``: a training with
checkpoints (``brainnets spike-time``); ``bridge``: a trained network re-simulated in Brian2 with exact spike
times (:mod:`brainnets.exact.srm`), spike by spike against the PyTorch forward pass; ``gradcheck``: gradients
against finite differences; ``bench``: training speed against snnTorch; ``reference``: the clock-driven Brian2
model. Constants: ``brainnets/models/bacho2024_bats.toml``.
"""
