"""Event-accurate (exact-time) leaky integrate-and-fire neurons in Brian2, checked against NEST's precise models.

``lif`` holds the Brian2 simulation (:func:`lif.simulate`: voltage-jump or exponential-current synapses, exact or
plain clock-driven semantics, runtime or C++ standalone device) and ``nest_peer`` the same networks in NEST
(``iaf_psc_delta_ps`` / ``iaf_psc_exp_ps``), the reference the exact semantics must match.
"""
