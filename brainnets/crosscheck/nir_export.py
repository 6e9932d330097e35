"""brainnets networks as NIR graphs: those whose neurons have a NIR node, and a refusal naming the others.

An exact-time LIF layer (:mod:`brainnets.exact.lif`: NEST's names and units) becomes ``Input -> Linear -> LIF``
(voltage-jump synapses) or ``Input -> Linear -> CubaLIF`` (exponential currents), the inverse of the mapping by
which :mod:`brainnets.crosscheck.nir_graph` simulates such a graph with exact times
(:func:`~brainnets.crosscheck.nir_graph.exact_layer_parameters`): read back with ``--semantics exact`` at the
same ``dt``, the graph gives the layer's spike times. Conventions: time constants in seconds; ``r = 1`` for
``LIF``, whose constant drive ``tau_m I_e / C_m`` (mV) becomes the bias of an ``Affine``; ``r = tau_m / C_m`` and
``w_in = 1`` for ``CubaLIF``; a weight is the NIR pulse weight whose jump over one step of ``dt`` is the layer's
(``w = jump tau / dt``), so the graph holds ``dt`` in its metadata. NIR has no refractory period: the layer's
``t_ref`` goes into the neuron node's metadata and is otherwise lost (a ``CubaLIF`` read back exactly is held for
one step, the least the 'exp' model allows).

The other networks of the package have no NIR node, and :func:`to_nir` says why: Diehl & Cook's
conductance-based neurons with an adaptive threshold (the STDP ensembles of Rathi ch. 2-3), and the TTFS
network's non-leaky integrators with a ramp, a guard and a forced spike (Stanojevic).
"""
from __future__ import annotations

import numpy as np

#: brainnets classes without a NIR node, and why.
NO_NIR_NODE = {
    "UnimodalEnsemble": "Diehl & Cook's conductance-based LIF neurons with an adaptive threshold",
    "MultimodalNetwork": "Diehl & Cook's conductance-based LIF neurons with an adaptive threshold",
    "DiehlCookLayer": "Diehl & Cook's conductance-based LIF neurons with an adaptive threshold",
    "PresentedNetwork": "Diehl & Cook's conductance-based LIF neurons with an adaptive threshold",
    "SNNSpec": "non-leaky TTFS integrators with an input ramp, a firing window and a forced spike at its end",
    "ReferenceNetwork": "non-leaky TTFS integrators with an input ramp, a firing window and a forced spike at its end",
}


def exact_layer_to_nir(model: str, params: dict | None, weights, dt_ms: float):
    """The NIR graph of an exact-time LIF layer (:func:`brainnets.exact.lif.simulate`'s ``model``, ``params``
    and ``weights``, n_in x n_out, mV or pA) for read-back at time step ``dt_ms``."""
    import nir

    from ..exact.lif import model_params

    p = model_params(model, params)
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    n_in, n_out = weights.shape
    full = np.ones(n_out)
    common = dict(v_leak=p["E_L"] * full, v_threshold=p["V_th"] * full, v_reset=p["V_reset"] * full,
                  metadata={"t_ref_ms": p["t_ref"], "brainnets_model": model, "dt_ms": dt_ms})
    if p["V_m"] != p["E_L"]:
        raise ValueError("NIR starts a LIF at v_leak: a layer whose initial V_m differs from E_L has no NIR form")
    if model == "delta":
        tau_ms = p["tau_m"]
        neuron = nir.LIF(tau=tau_ms / 1000.0 * full, r=full, **common)
        drive = p["tau_m"] / p["C_m"] * p["I_e"] * full  # v_inf - E_L, in mV: NIR's r b with r = 1
        synapse = nir.Affine(weight=(weights * tau_ms / dt_ms).T, bias=drive)
    else:
        if p["tau_syn_ex"] != p["tau_syn_in"]:
            raise ValueError("NIR's CubaLIF has one synaptic time constant: tau_syn_ex and tau_syn_in must agree")
        if p["I_e"] != 0:
            raise ValueError("NIR's CubaLIF filters a bias through tau_syn: a constant I_e has no NIR form")
        tau_syn_ms = p["tau_syn_ex"]
        neuron = nir.CubaLIF(tau_syn=tau_syn_ms / 1000.0 * full, tau_mem=p["tau_m"] / 1000.0 * full,
                             r=p["tau_m"] / p["C_m"] * full, w_in=full, **common)
        synapse = nir.Linear(weight=(weights * tau_syn_ms / dt_ms).T)
    nodes = {"input": nir.Input(input_type=np.array([n_in])), "synapses": synapse, "neurons": neuron,
             "output": nir.Output(output_type=np.array([n_out]))}
    return nir.NIRGraph(nodes=nodes, edges=[("input", "synapses"), ("synapses", "neurons"), ("neurons", "output")],
                        metadata={"dt_ms": dt_ms, "made_by": "brainnets.crosscheck.nir_export"})


def to_nir(network, dt_ms: float):
    """The NIR graph of a brainnets network: an exact-time LIF layer given as ``(model, params, weights)``; any
    network whose neurons have no NIR node is refused with a ValueError that names it and says why."""
    name = type(network).__name__
    reasons = [NO_NIR_NODE[cls.__name__] for cls in type(network).__mro__ if cls.__name__ in NO_NIR_NODE]
    if reasons:
        raise ValueError(f"{name} has no NIR form: NIR has no node for {reasons[0]}")
    if isinstance(network, tuple) and len(network) == 3:
        return exact_layer_to_nir(*network, dt_ms=dt_ms)
    raise ValueError(f"{name} has no NIR form: brainnets exports exact-time LIF layers, given as "
                     "(model, params, weights)")
