"""snnTorch, Norse and NEST against Brian2 on one continuous single-layer LIF network: the discrete-time peers
reproduced step for step, and their discretisation error against the event-accurate solution.

**The network.** --inputs spike sources -> Linear -> --neurons LIF neurons (``tau = 20 dt_ref``, threshold 1,
reset to 0, a constant drive with resting potential ``v_inf = 2`` above threshold), for --steps steps of the
peer's reference step ``dt_ref``. Every neuron fires on its own; the inputs are inhibitory (a jump of ``v`` drawn
per neuron and source from ``[-0.2, 0]``), so every spike is a threshold crossing between two inputs and its time
carries the discretisation error (an excitatory jump over threshold would put the spike on the input's time in
every simulator). In each step of ``dt_ref`` from step 2 on, one input spike of a random source arrives with
probability --input-probability: at most one per step (simultaneous inputs are summed by the peers, processed
in order by the event-accurate solver), all on the ``dt_ref`` grid (so every finer step sees the same times).
Source 0 fires once, in step 1, with jumps from ``[-3, 0]``: the neurons, driven alike, start at different
phases. snnTorch and Norse run the same network in units of their ``dt_ref`` (the same --seed): their rows agree
up to the factor 10 between their time units, a difference would point at an exporter or its repair.

**snnTorch** (``snn.Leaky``, reset to zero, ``dt_ref = 0.1`` ms: the step its exporter assumes) and **Norse**
(``LIFBoxCell``, ``dt_ref = 1`` ms: its exporter's default) run the network at ``dt_ref / d`` for each
--divisors ``d``, in --dtype (float64 by default), rebuilt per step with the decay recomputed from ``tau`` and
the weights and bias chosen so that a jump and the drive mean the same at every step (snnTorch adds its input
unscaled: weights fixed, ``beta = 1 - dt / tau``, bias ``v_inf dt / tau``; Norse scales it by ``dt / tau``:
weights ``jump tau / dt``, bias ``v_inf``). Each run is exported by the peer's own exporter, written with
``nir.write`` and read back with ``nir.read``; snnTorch's exporter writes ``tau = 1e-4 s / (1 - beta)`` whatever
the step, so at ``dt != 0.1`` ms the graph's time constant is rescaled by ``dt / 0.1 ms``; Norse's export goes
through :func:`~brainnets.crosscheck.nir_graph.repair_norse_export`. Every step's graph must hold the same
``tau`` (``graph_tau_relative_spread``).

* ``discrete``: Brian2's discrete semantics on the graph against the peer's own run, spike for spike
  (``count_mismatches`` and ``max_abs_dt`` are 0 in float64).
* ``exact``: Brian2's exact semantics (the event-accurate solution of the graph's ODE, without a refractory
  period, as NIR has none) on each step's graph (--no-exact-each-dt: on the ``dt_ref`` graph only; each sweep
  entry records how far its graph's exact layer is from that one, ``exact_mapping_difference``) against the
  peer: the peer's discretisation error. The exact layer's step is ``dt_ref / --exact-divisor``; it only groups
  the events, and ``exact.reference`` gives the solution against itself with twice the step.

**NEST** (``iaf_psc_delta_ps``, continuous time): the snnTorch network's neurons and jumps (as the exact semantics
maps them, but with a refractory period of 0.1 ms: NEST needs one of at least its step, and this one is a whole
number of every --nest-dts), driven by off-grid Poisson inputs at the same mean rate, simulated by NEST at each
--nest-dts and compared with one Brian2 exact run (:mod:`brainnets.exact.lif`) at 0.1 ms. ``discrete`` is null.

Spikes are compared up to ``(steps - 1) dt_ref``, the peers' last step at ``dt_ref``. The errors are ``|t_peer -
t_brian2|`` of the k-th spike of a neuron with its k-th, over the neurons whose spike counts agree:
``max_abs_dt``, ``median_abs_dt``, ``mean_abs_dt`` (ms). The largest does not shrink like ``dt``: rare events
(an input in the step in which the peer spikes is erased by the peer's reset but follows the exact spike; a
crossing just before an input that the peer only reaches after it) shift a few spikes by a sizeable fraction of
``tau``, with a probability that shrinks like ``dt``; they also make counts differ. So the slope of ``log
error`` against ``log dt``, ``exact_error_slope_vs_dt``, of snnTorch and Norse is fitted to the median (its
``exact_error_slope_measure``; ``exact.slopes`` has all three), NEST's to the largest error. OUT.json is the list
of rows, one per peer, each with its ``dt_sweep``; OUT.png draws the errors against ``dt`` (log-log, and a line
of slope 1).

    brainnets study peers --out docs/results/crosscheck/peers
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from ..checkpoint import write_json_atomic
from ..crosscheck.compare import ERROR_MEASURES, agreement
from ..crosscheck.spikes import from_tensor
from ..devices import use_device
from ..plotting import on_log_scale, plot_lines
from ..provenance import command_line_of, options_given, provenance

#: The peers' reference steps (ms): the steps their NIR exporters assume.
DT_REF_MS = {"snnTorch": 0.1, "Norse": 1.0, "NEST": 0.1}
MODELS = {"snnTorch": "snntorch.Leaky (reset to zero)", "Norse": "norse LIFBoxCell",
          "NEST": "nest iaf_psc_delta_ps"}
#: The network, in units of the reference step and the threshold.
TAU_STEPS = 20.0
V_THRESHOLD = 1.0
V_INF = 2.0
JUMPS = (-0.2, 0.0)
#: Source 0 fires once, in step 1, with these jumps: the neurons, driven alike, start at different phases.
KICK = (-3.0, 0.0)
#: snnTorch's exporter: ``tau = SNNTORCH_EXPORT_DT_S / (1 - beta)``.
SNNTORCH_EXPORT_DT_S = 1e-4
#: The NIR node of the LIF layer in the exported graphs (both exporters name nodes by their place).
LIF_NODE = "1"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--neurons", type=int, default=1024, help="LIF neurons of the layer")
    parser.add_argument("--inputs", type=int, default=20, help="input spike sources")
    parser.add_argument("--steps", type=int, default=200, help="steps of the reference dt (the run's length)")
    parser.add_argument("--divisors", type=int, nargs="+", default=[1, 2, 4, 8, 16],
                        help="the peers run at dt_ref / each (1: the reference step)")
    parser.add_argument("--exact-divisor", type=int, default=128,
                        help="the exact layer's step is dt_ref / this")
    parser.add_argument("--input-probability", type=float, default=0.1,
                        help="probability of an input spike in each reference step")
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                        help="the precision of the snnTorch and Norse runs")
    parser.add_argument("--exact-each-dt", action=argparse.BooleanOptionalAction, default=True,
                        help="simulate the exact semantics on every step's graph (--no-exact-each-dt: on the "
                             "dt_ref graph only, the others checked to map onto the same exact layer)")
    parser.add_argument("--nest-dts", type=float, nargs="+", default=[0.1, 0.05, 0.02, 0.01],
                        help="NEST's resolutions (ms): divisors of its 0.1 ms refractory period, multiples of its "
                             "0.001 ms tic")
    parser.add_argument("--peers", nargs="+", choices=tuple(MODELS), default=list(MODELS))
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--out", required=True, help="writes OUT.json and OUT.png")


# ---------------------------------------------------------------------------------------------------------
# The network

def design(args: argparse.Namespace) -> dict:
    """The peers' common network in units of the reference step: jumps (neurons, inputs), the input steps
    (``>= 1``) and sources."""
    rng = np.random.default_rng(args.seed)
    jumps = rng.uniform(*JUMPS, (args.neurons, args.inputs))
    jumps[:, 0] = rng.uniform(*KICK, args.neurons)
    steps = np.flatnonzero(rng.random(args.steps) < args.input_probability)
    steps = steps[steps > 1]
    sources = rng.integers(1, args.inputs, steps.size)
    return {"jumps": jumps, "steps": np.concatenate([[1], steps]), "sources": np.concatenate([[0], sources])}


def _input_tensor(net: dict, n_inputs: int, n_steps: int, divisor: int, torch, dtype):
    x = torch.zeros(n_steps, n_inputs, dtype=dtype)
    x[torch.as_tensor(net["steps"] * divisor), torch.as_tensor(net["sources"])] = 1.0
    return x


def _read_back(graph, scratch: Path):
    import nir

    path = scratch / "net.nir"
    nir.write(path, graph)
    return nir.read(path)


def run_snntorch(net: dict, args, divisor: int, scratch: Path):
    """snnTorch at ``dt_ref / divisor``: its spike trains and its exported graph (written, read back, and with
    the exporter's fixed 0.1 ms replaced by this step)."""
    import snntorch as snn
    import torch
    from snntorch import utils
    from snntorch.export_nir import export_to_nir

    dtype = getattr(torch, args.dtype)
    dt_ms = DT_REF_MS["snnTorch"] / divisor
    tau_ms = TAU_STEPS * DT_REF_MS["snnTorch"]
    n, n_in = net["jumps"].shape
    fc = torch.nn.Linear(n_in, n).to(dtype)
    with torch.no_grad():
        fc.weight.copy_(torch.as_tensor(net["jumps"], dtype=dtype))  # Leaky adds its input unscaled: a jump
        fc.bias.fill_(V_INF * dt_ms / tau_ms)
    lif = snn.Leaky(beta=torch.full((n,), 1.0 - dt_ms / tau_ms, dtype=dtype),
                    threshold=torch.full((n,), V_THRESHOLD, dtype=dtype), init_hidden=True,
                    reset_mechanism="zero", reset_delay=False)
    model = torch.nn.Sequential(fc, lif)
    n_steps = args.steps * divisor
    x = _input_tensor(net, n_in, n_steps, divisor, torch, dtype)
    utils.reset(model)
    out = []
    with torch.no_grad():
        for t in range(n_steps):
            out.append(model(x[t:t + 1])[0])
    spikes = torch.stack(out).numpy()
    graph = _read_back(export_to_nir(model, torch.zeros(1, n_in, dtype=dtype), ignore_dims=[0]), scratch)
    exported_tau_s = float(np.mean(graph.nodes[LIF_NODE].tau))
    if divisor != 1:
        graph.nodes[LIF_NODE].tau = np.asarray(graph.nodes[LIF_NODE].tau) * (dt_ms * 1e-3 / SNNTORCH_EXPORT_DT_S)
    return from_tensor(spikes, dt_ms), graph, {"beta": 1.0 - dt_ms / tau_ms, "exported_tau_ms": 1e3 * exported_tau_s}


def run_norse(net: dict, args, divisor: int, scratch: Path):
    """Norse at ``dt_ref / divisor``: its spike trains and its exported graph (written, read back, repaired)."""
    import norse.torch as norse
    import torch

    from ..crosscheck.nir_graph import repair_norse_export

    dtype = getattr(torch, args.dtype)
    dt_ms = DT_REF_MS["Norse"] / divisor
    tau_ms = TAU_STEPS * DT_REF_MS["Norse"]
    n, n_in = net["jumps"].shape
    fc = torch.nn.Linear(n_in, n).to(dtype)
    with torch.no_grad():
        fc.weight.copy_(torch.as_tensor(net["jumps"] * tau_ms / dt_ms, dtype=dtype))  # a jump of w dt / tau
        fc.bias.fill_(V_INF)
    params = norse.LIFBoxParameters(tau_mem_inv=torch.full((n,), 1e3 / tau_ms, dtype=dtype),
                                    v_th=torch.full((n,), V_THRESHOLD, dtype=dtype),
                                    v_leak=torch.zeros(n, dtype=dtype), v_reset=torch.zeros(n, dtype=dtype))
    model = norse.SequentialState(fc, norse.LIFBoxCell(params, dt=dt_ms * 1e-3))
    n_steps = args.steps * divisor
    x = _input_tensor(net, n_in, n_steps, divisor, torch, dtype)
    out, state = [], None
    with torch.no_grad():
        for t in range(n_steps):
            z, state = model(x[t:t + 1], state)
            out.append(z[0])
    spikes = torch.stack(out).numpy()
    exported = norse.to_nir(model, torch.zeros(n_in, dtype=dtype), dt=dt_ms * 1e-3)  # unbatched: Input (n_in,)
    graph = _read_back(exported, scratch)
    exported_tau_s = float(np.mean(np.asarray(graph.nodes[LIF_NODE].tau)))
    graph = repair_norse_export(graph, dt_ms * 1e-3)
    return from_tensor(spikes, dt_ms), graph, {"exported_tau_ms": 1e3 * exported_tau_s}


RUNNERS = {"snnTorch": run_snntorch, "Norse": run_norse}


# ---------------------------------------------------------------------------------------------------------
# Comparisons

def window(trains: list, end_ms: float) -> list:
    return [t[t <= end_ms + 1e-9] for t in trains]


def slope(dts: list, errors: list) -> float | None:
    """The least-squares slope of log(error) against log(dt) (errors of 0 at the floor; None left out)."""
    points = [(np.log(dt), np.log(on_log_scale(e))) for dt, e in zip(dts, errors) if e is not None]
    if len(points) < 2 or len({p[0] for p in points}) < 2:
        return None
    x, y = np.array(points).T
    return float(np.polyfit(x, y, 1)[0])


def _exact_layer(graph, dt_ms: float, step_ms: float):
    """The exact layer the graph maps onto: parameters of each neuron and the weights (inputs x neurons)."""
    from ..crosscheck.nir_graph import collapse, exact_layer_parameters

    collapsed = collapse(graph)
    layer = collapsed.layers[LIF_NODE]
    _, params, gain = exact_layer_parameters(layer, dt_ms, step_ms)
    (connection,) = collapsed.connections
    return params, connection.weights.toarray().T * gain[None, :]


def mapping_difference(graph, dt_ms: float, reference_graph, reference_dt_ms: float, step_ms: float) -> float:
    """The largest relative difference between the exact layers two graphs map onto (parameters and weights)."""
    params, weights = _exact_layer(graph, dt_ms, step_ms)
    ref_params, ref_weights = _exact_layer(reference_graph, reference_dt_ms, step_ms)
    values = np.array([[p[k] for k in sorted(p)] for p in params])
    ref_values = np.array([[p[k] for k in sorted(p)] for p in ref_params])
    relative = [np.abs(values - ref_values) / np.maximum(np.abs(ref_values), 1e-300),
                np.abs(weights - ref_weights) / np.maximum(np.abs(ref_weights).max(), 1e-300)]
    return float(max(r.max() for r in relative if r.size))


def _summary(result: dict) -> dict:
    return {k: result[k] for k in ("count_mismatches", *ERROR_MEASURES)}


def _sweep_errors(sweep: list, measure: str) -> list:
    return [entry["exact"][measure] for entry in sweep]


# ---------------------------------------------------------------------------------------------------------
# The rows

def discrete_peer(peer: str, net: dict, args) -> dict:
    """A discrete-time peer at every step of the sweep, against Brian2's discrete and exact semantics."""
    from ..crosscheck.nir_graph import simulate_graph

    dt_ref = DT_REF_MS[peer]
    tau_ms = TAU_STEPS * dt_ref
    end_ms = (args.steps - 1) * dt_ref  # the peers' last step at dt_ref
    step_ms = dt_ref / args.exact_divisor
    inputs = {"input": (net["sources"], net["steps"] * dt_ref)}
    divisors = sorted(set(args.divisors) | {1})
    sweep, graphs = [], {}
    with tempfile.TemporaryDirectory(prefix="brainnets_peers_") as scratch:
        for divisor in divisors:
            dt_ms = dt_ref / divisor
            start = time.perf_counter()
            theirs, graph, detail = RUNNERS[peer](net, args, divisor, Path(scratch))
            peer_seconds = time.perf_counter() - start
            graphs[dt_ms] = graph
            start = time.perf_counter()
            ours = simulate_graph(graph, inputs, args.steps * dt_ref, dt_ms, "discrete")[LIF_NODE]
            sweep.append({"dt_ms": dt_ms, "n_steps": args.steps * divisor, "n_spikes": int(sum(map(len, theirs))),
                          "graph_tau_ms": 1e3 * float(np.mean(graph.nodes[LIF_NODE].tau)), **detail,
                          "discrete": agreement(ours, theirs), "peer_seconds": peer_seconds,
                          "brian2_discrete_seconds": time.perf_counter() - start,
                          "_trains": window(theirs, end_ms)})
    taus = np.array([entry["graph_tau_ms"] for entry in sweep])
    tau_spread = float(np.max(np.abs(taus - tau_ms)) / tau_ms)
    if tau_spread > (1e-9 if args.dtype == "float64" else 1e-3):  # float32: 1 - beta holds few digits
        raise RuntimeError(f"{peer}: the exported graphs' tau {taus.tolist()} ms is not {tau_ms} ms at every step")

    # NIR's ODE solved event by event on the dt_ref graph, and the same with twice the exact layer's step
    def solve(graph, dt_ms, step):
        return simulate_graph(graph, inputs, end_ms, dt_ms, "exact", exact_step_ms=step)[LIF_NODE]

    start = time.perf_counter()
    exact = solve(graphs[dt_ref], dt_ref, step_ms)
    exact_seconds = time.perf_counter() - start
    coarser = solve(graphs[dt_ref], dt_ref, 2 * step_ms)
    reference = {"graph_dt_ms": dt_ref, "step_ms": step_ms, "n_spikes": int(sum(map(len, exact))),
                 "seconds": exact_seconds, "against_twice_the_step": _summary(agreement(exact, coarser))}
    for entry in sweep:
        dt_ms = entry["dt_ms"]
        trains = entry.pop("_trains")
        entry["exact_mapping_difference"] = mapping_difference(graphs[dt_ms], dt_ms, graphs[dt_ref], dt_ref, step_ms)
        if args.exact_each_dt and dt_ms != dt_ref:
            own = solve(graphs[dt_ms], dt_ms, step_ms)
            entry["exact_own_graph_vs_reference"] = _summary(agreement(exact, own))
            entry["exact"] = agreement(own, trains)
        else:
            entry["exact"] = agreement(exact, trains)

    dts = [entry["dt_ms"] for entry in sweep]
    slopes = {measure: slope(dts, _sweep_errors(sweep, measure)) for measure in ERROR_MEASURES}
    at = sweep[0]  # dt_ref
    return {"peer": peer, "model": MODELS[peer], "dtype": args.dtype, "dt_ms": dt_ref, "tau_ms": tau_ms,
            "v_threshold": V_THRESHOLD, "v_inf": V_INF, "jump_range": list(JUMPS), "kick_range": list(KICK),
            "input_probability": args.input_probability, "n_neurons": args.neurons,
            "n_inputs": args.inputs, "n_input_spikes": int(net["steps"].size), "n_steps": args.steps,
            "duration_ms": args.steps * dt_ref, "compared_until_ms": end_ms, "dts_ms": dts,
            "graph_tau_relative_spread": tau_spread, "n_spikes": at["n_spikes"], "discrete": at["discrete"],
            "exact": {**at["exact"], "reference": reference, "slope_measure": "median_abs_dt", "slopes": slopes,
                      "graphs_simulated": "each step's own" if args.exact_each_dt else "the dt_ref graph's"},
            "exact_error_slope_vs_dt": slopes["median_abs_dt"], "exact_error_slope_measure": "median_abs_dt",
            "dt_sweep": sweep}


def nest_peer(net: dict, args, reference_graph) -> dict:
    """NEST precise at every step of the sweep against one Brian2 exact run at 0.1 ms."""
    from ..crosscheck.nir_graph import collapse, exact_layer_parameters
    from ..exact import lif
    from ..exact.nest_peer import simulate_nest

    dt_ref = DT_REF_MS["NEST"]
    end_ms = (args.steps - 1) * dt_ref
    layer = collapse(reference_graph).layers[LIF_NODE]
    _, params, gain = exact_layer_parameters(layer, dt_ref)
    if any(p != params[0] for p in params):
        raise RuntimeError("NEST: the neurons' parameters differ (one parameter set is simulated)")
    params = {**{k: float(v) for k, v in params[0].items()}, "t_ref": dt_ref}  # a step of every dt
    weights = net["jumps"].T * gain[None, :]  # (inputs, neurons), mV
    rng = np.random.default_rng(args.seed + 1)
    rate_hz = 1e3 * args.input_probability / dt_ref / (args.inputs - 1)
    inputs = lif.poisson_inputs(args.inputs - 1, rate_hz, end_ms, rng, t_min_ms=2 * dt_ref)
    inputs[:, 0] += 1  # sources 1.., and the kick of source 0 once, off the grid, before them
    inputs = np.concatenate([[[0.0, rng.uniform(1.5 * dt_ref, 2 * dt_ref)]], inputs])
    start = time.perf_counter()
    ours = lif.simulate("delta", params, weights, inputs, end_ms, dt_ref)
    reference = {"dt_ms": dt_ref, "n_spikes": int(sum(map(len, ours))), "seconds": time.perf_counter() - start}
    sweep = []
    for dt_ms in sorted(set(args.nest_dts) | {dt_ref}, reverse=True):
        start = time.perf_counter()
        theirs = simulate_nest("delta", params, weights, inputs, end_ms, dt_ms)
        sweep.append({"dt_ms": dt_ms, "n_spikes": int(sum(map(len, theirs))), "discrete": None,
                      "exact": agreement(ours, theirs), "peer_seconds": time.perf_counter() - start})
    dts = [entry["dt_ms"] for entry in sweep]
    slopes = {measure: slope(dts, _sweep_errors(sweep, measure)) for measure in ERROR_MEASURES}
    at = sweep[0]
    return {"peer": "NEST", "model": MODELS["NEST"], "dt_ms": dt_ref, "nest_params": params,
            "jump_range": list(JUMPS), "kick_range": list(KICK), "n_neurons": args.neurons,
            "n_inputs": args.inputs, "input_rate_hz_per_source": rate_hz, "n_input_spikes": int(len(inputs)),
            "duration_ms": end_ms, "compared_until_ms": end_ms, "dts_ms": dts, "n_spikes": at["n_spikes"],
            "discrete": None,
            "exact": {**at["exact"], "reference": reference, "slope_measure": "max_abs_dt", "slopes": slopes},
            "exact_error_slope_vs_dt": slopes["max_abs_dt"], "exact_error_slope_measure": "max_abs_dt",
            "dt_sweep": sweep}


def _snntorch_reference_graph(net: dict, args):
    with tempfile.TemporaryDirectory(prefix="brainnets_peers_") as scratch:
        return run_snntorch(net, args, 1, Path(scratch))[1]


def run(args: argparse.Namespace) -> list:
    if args.inputs < 2 or args.steps < 3 or min(args.divisors) < 1 or args.exact_divisor < 1:
        raise ValueError("peers needs --inputs >= 2 (source 0 is the kick), --steps >= 3, divisors >= 1")
    start = time.perf_counter()
    use_device("runtime")  # NIR graphs run in Brian2's runtime mode, whatever a caller in this process set before
    net = design(args)
    rows = []
    for peer in args.peers:
        if peer == "NEST":
            rows.append(nest_peer(net, args, _snntorch_reference_graph(net, args)))
        else:
            rows.append(discrete_peer(peer, net, args))
    curves, first = {}, None
    for row in rows:
        dts = [entry["dt_ms"] for entry in row["dt_sweep"]]
        measure = row["exact_error_slope_measure"]
        curves[f"{row['peer']}, {measure.replace('_abs_dt', '')}"] = (
            dts, [on_log_scale(e) for e in _sweep_errors(row["dt_sweep"], measure)])
        if measure != "max_abs_dt":
            largest = _sweep_errors(row["dt_sweep"], "max_abs_dt")
            curves[f"{row['peer']}, max"] = (dts, [on_log_scale(e) for e in largest])
            first = first or (dts[0], row["dt_sweep"][0]["exact"][measure])
    if first is not None:  # through 3x the first discrete peer's error at its dt_ref, over every dt drawn
        dt0, error = first
        dts = sorted({dt for x, _ in curves.values() for dt in x})
        curves["slope 1"] = ([dts[0], dts[-1]], [3 * error * dt / dt0 for dt in (dts[0], dts[-1])])
    plot_lines(curves, f"{args.out}.png", xlabel="the peer's dt (ms)",
               ylabel="|spike time - Brian2 exact| (ms)",
               title=f"{args.neurons} LIF, tau = {TAU_STEPS:g} dt_ref, against the exact solution", log=True)
    origin = {**provenance(), "command": command_line_of(["study", "peers"], options_given(args, add_arguments)),
              "study_seconds": time.perf_counter() - start}
    rows = [{**row, **origin} for row in rows]
    write_json_atomic(f"{args.out}.json", rows)
    for row in rows:
        discrete = row["discrete"]
        exact = row["exact"]
        print(f"{row['peer']}: {row['n_spikes']} spikes at {row['dt_ms']:g} ms; "
              + (f"discrete {discrete['count_mismatches']} count mismatches, max |dt| {discrete['max_abs_dt']}; "
                 if discrete else "")
              + f"exact {exact['count_mismatches']} count mismatches, max |dt| {exact['max_abs_dt']}, "
              f"median {exact['median_abs_dt']}; slope ({row['exact_error_slope_measure']}) "
              f"{row['exact_error_slope_vs_dt']}")
    return rows
