"""brainnets: spiking neural networks whose models are Brian2 equations.

Subpackages: :mod:`brainnets.stdp` (Diehl & Cook ensembles trained with STDP). Modules: ``config``
(model files), ``neurons`` and ``synapses`` (equations and their numpy oracles), ``datasets``,
``devices`` (runtime / C++ / CUDA standalone), ``plotting``, ``checkpoint``, ``provenance``.
"""

__version__ = "0.1.0"
