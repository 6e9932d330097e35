"""Unsupervised STDP ensembles (Diehl & Cook 2015; Rathi 2021 ch. 2-3): model constants, the network
and its in-simulation presentation protocol, the multi-run simulation, readout and experiments."""
from .ensemble import UnimodalEnsemble
from .model import DiehlCookModel
from .simulation import EnsembleSimulation

__all__ = ["DiehlCookModel", "EnsembleSimulation", "UnimodalEnsemble"]
