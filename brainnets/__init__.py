"""brainnets: spiking neural networks whose models are Brian2 equations.

Subpackages: :mod:`brainnets.stdp` (Diehl & Cook ensembles trained with STDP, pruning, the multimodal
network), :mod:`brainnets.ttfs` (exact ReLU -> time-to-first-spike mappings and their Brian2 reference),
:mod:`brainnets.gradient` (the PyTorch backend), :mod:`brainnets.studies` (the ``brainnets`` command's
subcommands). Modules: ``config`` (model files), ``resources`` (shipped models and data), ``neurons`` and
``synapses`` (equations and their numpy twins), ``datasets``, ``audio``, ``devices`` (runtime / C++ / CUDA
standalone), ``plotting``, ``checkpoint``, ``provenance``.
"""

import warnings

__version__ = "0.1.0"

# setuptools' distutils shim warns on import inside Brian2's code generation, once per process: noise to a user
warnings.filterwarnings("ignore", message="_get_vc_env is private", category=UserWarning)
