"""Exact-time (event-accurate) neurons in Brian2: one convention, several models.

``timing`` holds what they share (the ``'exact'`` and ``'clock'`` semantics, and the ``sp_off`` by which a spike
carries its time within its step); ``lif`` the leaky models (voltage-jump or exponential-current synapses, checked
against NEST's precise models in ``nest_peer``); ``integrator`` the non-leaky integrator of TTFS networks, on which
the TTFS reference (:mod:`brainnets.ttfs.reference`) runs; ``srm`` Bacho's current-based neuron with tau = 2 tau_s,
multi-spike, crossings in closed form (the Brian2 bridge of :mod:`brainnets.spike_time`).
"""
