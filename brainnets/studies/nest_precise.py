"""Brian2's exact-time LIF layers (:mod:`brainnets.exact`) against NEST's precise models, and plain Brian2 beside them.

For each model (voltage-jump synapses against ``iaf_psc_delta_ps``, exponential-current synapses against
``iaf_psc_exp_ps``) one layer of 50 inputs -> 20 neurons is driven by off-grid Poisson input times (40 Hz, mixed
excitatory and inhibitory weights, a constant current below threshold) for --duration ms, and simulated by NEST
and by Brian2 with exact and with plain clock-driven semantics at each --dts (NEST at the same resolution). A row
per model: its spike count, and for each semantics the neurons whose spike counts differ from NEST's and the
largest spike-time difference over the neurons whose counts agree. OUT.json is the list of rows (each with the
numbers at --dt, ``plain`` the clock-driven ones, and ``dt_sweep``), OUT.png the error against dt of both
semantics.

    brainnets study nest-precise --out docs/results/crosscheck/nest_precise
"""
from __future__ import annotations

import argparse

import numpy as np

from ..checkpoint import write_json_atomic
from ..crosscheck.compare import agreement
from ..exact import lif
from ..exact.timing import SEMANTICS
from ..plotting import on_log_scale, plot_lines
from ..provenance import command_line_of, options_given, provenance

#: The network of each model: the constant current (pA) and the uniform range of the weights (mV or pA).
LAYERS = {"delta": {"params": {"I_e": 300.0}, "weights": (-1.0, 3.0)},
          "exp": {"params": {"I_e": 300.0, "tau_syn_ex": 2.0, "tau_syn_in": 5.0}, "weights": (-300.0, 900.0)}}
N_IN, N_OUT, RATE_HZ = 50, 20, 40.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duration", type=float, default=1000.0, help="simulated time (ms)")
    parser.add_argument("--dt", type=float, default=0.1, help="the time step of the acceptance numbers (ms)")
    parser.add_argument("--dts", type=float, nargs="+", default=[1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01],
                        help="time steps of the error-against-dt sweep (ms)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--out", required=True, help="writes OUT.json and OUT.png")


def layer(model: str, duration_ms: float, dt_ms: float, seed: int):
    """The weights and off-grid input times of ``model``'s layer (inputs later than NEST's one-step delay)."""
    rng = np.random.default_rng(seed)
    weights = rng.uniform(*LAYERS[model]["weights"], (N_IN, N_OUT))
    return weights, lif.poisson_inputs(N_IN, RATE_HZ, duration_ms, rng, t_min_ms=1.5 * dt_ms)


def against_nest(model: str, duration_ms: float, dt_ms: float, seed: int) -> dict:
    """NEST's spike count and each semantics' count mismatches and largest time difference (ms) at ``dt_ms``."""
    from ..exact.nest_peer import simulate_nest

    params = LAYERS[model]["params"]
    weights, inputs = layer(model, duration_ms, max(dt_ms, 1.0), seed)  # the same inputs at every dt
    reference = simulate_nest(model, params, weights, inputs, duration_ms, dt_ms)
    row = {"dt_ms": dt_ms, "n_spikes": int(sum(map(len, reference)))}
    for semantics in SEMANTICS:
        ours = lif.simulate(model, params, weights, inputs, duration_ms, dt_ms, semantics=semantics, details=True)
        result = agreement(ours.times, reference)
        row[semantics] = {"count_mismatches": result["count_mismatches"], "max_abs_dt_ms": result["max_abs_dt"],
                          "n_spikes": result["n_spikes_reference"], "wall_seconds": ours.wall_seconds}
    return row


def run(args: argparse.Namespace) -> list:
    dts = sorted(set(args.dts) | {args.dt}, reverse=True)
    rows, curves = [], {}
    for model in lif.MODELS:
        sweep = [against_nest(model, args.duration, dt, args.seed) for dt in dts]
        at = next(entry for entry in sweep if entry["dt_ms"] == args.dt)
        rows.append({"model": model, "nest_model": f"iaf_psc_{model}_ps", "n_inputs": N_IN, "n_neurons": N_OUT,
                     "input_rate_hz": RATE_HZ, "duration_ms": args.duration, "dt_ms": args.dt,
                     "n_spikes": at["n_spikes"], "count_mismatches": at["exact"]["count_mismatches"],
                     "max_abs_dt_ms": at["exact"]["max_abs_dt_ms"], "plain": at["clock"], "dt_sweep": sweep})
        for semantics, label in (("exact", "exact"), ("clock", "plain clock-driven")):
            curves[f"{model}, {label}"] = ([entry["dt_ms"] for entry in sweep],
                                           [on_log_scale(entry[semantics]["max_abs_dt_ms"]) for entry in sweep])
    plot_lines(curves, f"{args.out}.png", xlabel="dt (ms)", ylabel="largest spike-time difference from NEST (ms)",
               title=f"{N_IN} -> {N_OUT} LIF, {args.duration:g} ms, NEST *_ps at the same dt", log=True)
    origin = {**provenance(),
              "command": command_line_of(["study", "nest-precise"], options_given(args, add_arguments))}
    write_json_atomic(f"{args.out}.json", [{**row, **origin} for row in rows])
    for row in rows:
        print(f"{row['model']}: {row['n_spikes']} spikes; exact {row['count_mismatches']} count mismatches, "
              f"max |dt| {row['max_abs_dt_ms']:.2e} ms; plain {row['plain']['count_mismatches']}, "
              f"{row['plain']['max_abs_dt_ms']:.2e} ms")
    return rows
