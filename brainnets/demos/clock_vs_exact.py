"""Demo ``clock-vs-exact``: where a clock-driven simulation puts spikes, against their exact times.

A layer of leaky integrate-and-fire neurons (NEST's ``iaf_psc_delta``: every input spike makes V jump by its
weight, V relaxes to E_L with tau_m in between) gets Poisson input spikes at arbitrary times. Brian2 run
clock-driven (``semantics="clock"``) applies each input at the end of its time step and checks the threshold
only there, so every spike lands on the grid and can be up to a step late, and a late spike can push the
next ones, or make one appear or vanish. The exact semantics of :mod:`brainnets.exact.lif` walks each step
through its inputs in time order and solves for the crossing: the spike times no longer depend on dt.
Comparisons go through :func:`brainnets.crosscheck.compare.agreement`; with NEST installed, its precise model
``iaf_psc_delta_ps`` can join (:mod:`brainnets.exact.nest_peer`).
"""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

from ..crosscheck.compare import agreement
from ..exact import lif
from ..plotting import LOG_FLOOR, on_log_scale
from .figures import new_figure

MODEL = "delta"
DURATION_MS = 200.0
CLOCK_DTS = (0.4, 0.2, 0.1, 0.05, 0.025)
EXACT_DTS = (0.4, 0.1, 0.025)


def layer_inputs(seed: int = 0, n_in: int = 20, n_out: int = 5, rate_hz: float = 40.0):
    """Input weights (mV, uniform in [0, 6)) and Poisson input times (ms, after the first 0.5 ms)."""
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0, 6, (n_in, n_out))
    return weights, lif.poisson_inputs(n_in, rate_hz, DURATION_MS, rng, t_min_ms=0.5)


def runs(weights, inputs, clock_dts=CLOCK_DTS, exact_dts=EXACT_DTS, with_nest: bool = False) -> dict:
    """Spike times of the layer per (semantics, dt): ``{("clock", 0.1): [array per neuron], ...}``; with NEST,
    ``("nest", dt)`` at the finest exact dt too."""
    simulated = {(semantics, dt): lif.simulate(MODEL, None, weights, inputs, DURATION_MS, dt, semantics=semantics)
                 for semantics, dts in (("exact", exact_dts), ("clock", clock_dts)) for dt in dts}
    if with_nest:
        from ..exact.nest_peer import simulate_nest
        dt = min(exact_dts)
        simulated[("nest", dt)] = simulate_nest(MODEL, None, weights, inputs, DURATION_MS, dt)
    return simulated


def errors(simulated: dict) -> dict:
    """Each run against the exact run at the finest dt: :func:`~brainnets.crosscheck.compare.agreement`."""
    reference = simulated[("exact", min(dt for semantics, dt in simulated if semantics == "exact"))]
    return {key: agreement(reference, times) for key, times in simulated.items()}


def plot_raster(simulated: dict, dt: float, window_ms: tuple[float, float] = (0.0, DURATION_MS)):
    exact = simulated[("exact", min(d for s, d in simulated if s == "exact"))]
    clock = simulated[("clock", dt)]
    figure, axes = new_figure(size=(9, 3.2))
    for j, (ours, theirs) in enumerate(zip(exact, clock)):
        axes.plot(ours, np.full(len(ours), j + 0.12), "|", color="k", ms=9,
                  label="exact" if j == 0 else None)
        axes.plot(theirs, np.full(len(theirs), j - 0.12), "|", color="C3", ms=9,
                  label=f"clock-driven, dt = {dt:g} ms" if j == 0 else None)
        if len(ours) != len(theirs):
            axes.annotate(f"{len(theirs) - len(ours):+d} spike(s)", (window_ms[1], j), xytext=(4, -3),
                          textcoords="offset points", fontsize=8, color="C3")
    axes.set_xlim(*window_ms)
    axes.set_yticks(range(len(exact)))
    axes.set_xlabel("time (ms)")
    axes.set_ylabel("output neuron")
    axes.set_title("The same inputs, the same neurons: exact spike times and the clock's", fontsize=10, loc="left")
    axes.legend(fontsize=8, loc="lower right", bbox_to_anchor=(1, 1), ncols=2, frameon=False)
    return figure


#: How each kind of run is drawn: label, colour and marker.
STYLES = {"exact": ("exact (Brian2)", "k", "o"), "clock": ("clock-driven (Brian2)", "C3", "s"),
          "nest": ("NEST iaf_psc_delta_ps", "C0", "*")}


def plot_error_vs_dt(found: dict):
    figure, (timing, counts) = new_figure(1, 2, size=(10, 4))
    for semantics, (label, color, marker) in STYLES.items():
        dts = sorted(dt for kind, dt in found if kind == semantics)
        if not dts:
            continue
        rows = [found[(semantics, dt)] for dt in dts]
        timing.loglog(dts, [on_log_scale(row["max_abs_dt"]) for row in rows], color=color, marker=marker,
                      label=f"{label}: largest")
        if semantics == "clock":
            timing.loglog(dts, [on_log_scale(row["median_abs_dt"]) for row in rows], color=color, marker=marker,
                          ls="--", mfc="w", label=f"{label}: median")
        counts.plot(dts, [row["count_mismatches"] for row in rows], color=color, marker=marker, label=label)
    timing.loglog(CLOCK_DTS, CLOCK_DTS, ":", color="0.5", label="error = dt")
    timing.set_ylim(LOG_FLOOR / 3, 30)
    timing.set_ylabel(f"spike-time error (ms; 0 drawn at {LOG_FLOOR:g})")
    timing.set_title("Paired spikes, against exact at the finest dt", fontsize=10)
    counts.set_xscale("log")
    counts.set_ylabel("neurons with another spike count")
    counts.set_title("Spikes gained or lost", fontsize=10)
    counts.yaxis.set_major_locator(MaxNLocator(integer=True))
    for axes in (timing, counts):
        axes.set_xticks(CLOCK_DTS, [f"{dt:g}" for dt in CLOCK_DTS], minor=False)
        axes.set_xticks([], minor=True)
        axes.set_xlabel("time step dt (ms)")
        axes.legend(fontsize=8)
        axes.grid(alpha=0.3)
    return figure


def clock_vs_exact(seed: int = 0, with_nest: bool = False) -> dict:
    """Figures ``raster`` (exact against clock-driven at dt = 0.2 ms) and ``error_vs_dt``."""
    simulated = runs(*layer_inputs(seed), with_nest=with_nest)
    return {"raster": plot_raster(simulated, 0.2), "error_vs_dt": plot_error_vs_dt(errors(simulated))}
