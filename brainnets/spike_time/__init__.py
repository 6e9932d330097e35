"""Exact spike-time gradients of multi-spike LIF networks: BATS and Fast & Deep (Bacho 2023, ch. 3).

``neuron``: the LIF neuron with tau = 2 tau_s and its closed-form spike time; ``forward``: the event-driven
exact simulation of a fully connected layer; ``bats``: its exact backward pass (inter- and intra-neuron errors)
as an autograd function; ``losses``: Fast & Deep's TTFS cross-entropy and BATS' spike-count loss;
``encoding``: time-to-first-spike input coding; ``network``: fully connected networks and their training loop.
Constants: ``brainnets/models/bacho2024_bats.toml``.
"""
