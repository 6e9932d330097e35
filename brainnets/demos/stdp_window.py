"""Demo ``stdp-window``: the power-law weight-dependent STDP rule of the input synapses (Rathi 2021, Eq. 2.1).

At every postsynaptic spike the weight moves by

    dw = eta (x_pre - offset) (w_max - w)^mu,   x_pre = exp(-(t_post - t_pre) / tau) for one earlier pre spike

so a pre spike shortly before the post spike strengthens the synapse (x_pre > offset), one long before it (or
none at all) weakens it, and the closer w is to w_max the smaller every step. The curves come from the rule's
numpy twin (:meth:`~brainnets.synapses.PowerLawSTDP.delta_w` and :meth:`~brainnets.synapses.PowerLawSTDP.replay`,
which the tests hold equal to the Brian2 synapse) with the constants of ``models/diehl_cook_2015.toml``.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from brian2 import ms

from ..stdp.model import DiehlCookModel
from ..synapses import PowerLawSTDP
from .figures import new_figure

MODEL = "diehl_cook_2015"
WEIGHTS = (0.1, 0.3, 0.5, 0.7, 0.9)


def crossover_ms(rule: PowerLawSTDP) -> float:
    """The pre-before-post delay at which potentiation turns into depression: ``x_pre = offset``."""
    return float(rule.tau / ms) * np.log(1 / rule.offset)


def window(rule: PowerLawSTDP, delays_ms: np.ndarray, w: float) -> np.ndarray:
    """The weight change at a post spike ``delays_ms`` after the only pre spike; a negative delay (the pre spike
    comes after the post spike) leaves the post spike without a pre spike before it."""
    before = np.where(delays_ms >= 0, delays_ms * 1e-3, np.inf)
    return rule.delta_w(before, w)


def plot_window(rule: PowerLawSTDP):
    delays = np.arange(-40, 80.25, 0.25)
    figure, axes = new_figure(size=(7, 4.2))
    for w, color in zip(WEIGHTS, np.linspace(0.15, 0.85, len(WEIGHTS))):
        axes.plot(delays, window(rule, delays, w), color=(color, 0.2, 1 - color), label=f"w = {w:g}")
    axes.axhline(0, color="0.5", lw=0.6)
    axes.axvline(0, color="0.5", lw=0.6)
    cross = crossover_ms(rule)
    axes.axvline(cross, color="k", ls=":", lw=0.8)
    axes.annotate(f"tau ln(1/offset) = {cross:.1f} ms", (cross, axes.get_ylim()[1]), xytext=(4, -12),
                  textcoords="offset points", fontsize=8)
    axes.set_xlabel("t_post - t_pre (ms)")
    axes.set_ylabel("weight change at the post spike")
    axes.set_title(f"Power-law STDP window (eta = {rule.eta:g}, tau = {rule.tau / ms:g} ms, offset = {rule.offset:g}, "
                   f"mu = {rule.mu:g})", fontsize=9)
    axes.legend(fontsize=8)
    return figure


def plot_weight_dependence(rule: PowerLawSTDP):
    w = np.linspace(0, rule.w_max, 201)
    figure, (by_delay, by_mu) = new_figure(1, 2, size=(10, 4))
    for delay in (0.0, 5.0, 10.0, 40.0, np.inf):
        label = "no pre spike before" if np.isinf(delay) else f"t_post - t_pre = {delay:g} ms"
        by_delay.plot(w, rule.delta_w(delay * 1e-3, w), label=label)
    by_delay.set_title(f"mu = {rule.mu:g} (model file)")
    for mu in (0.0, 0.5, rule.mu, 2.0):
        changed = dataclasses.replace(rule, mu=mu)
        by_mu.plot(w, changed.delta_w(5e-3, w), label=f"mu = {mu:g}" + (" (model file)" if mu == rule.mu else ""))
    by_mu.set_title("t_post - t_pre = 5 ms")
    for axes in (by_delay, by_mu):
        axes.axhline(0, color="0.5", lw=0.6)
        axes.set_xlabel("weight w before the post spike")
        axes.set_ylabel("weight change")
        axes.legend(fontsize=8)
    figure.suptitle("The factor (w_max - w)^mu: every change shrinks as w nears w_max")
    return figure


def repeated_pairings(rule: PowerLawSTDP, delay_ms: float, w0: float, n_pairs: int) -> np.ndarray:
    """The weight after each of ``n_pairs`` pre-post pairings ``delay_ms`` apart, one per second (the traces have
    long decayed in between): ``n_pairs + 1`` values from ``w0``."""
    weights = [w0]
    for _ in range(n_pairs):
        weights.append(rule.replay([0.0], [delay_ms * 1e-3], weights[-1]))
    return np.array(weights)


def plot_repeated_pairings(rule: PowerLawSTDP, n_pairs: int = 2000):
    figure, axes = new_figure(size=(7, 4))
    for delay, color in ((2.0, "C3"), (10.0, "C1"), (crossover_ms(rule), "0.4"), (30.0, "C0")):
        for w0 in (0.05, 0.6):
            axes.plot(repeated_pairings(rule, delay, w0, n_pairs), color=color,
                      label=f"t_post - t_pre = {delay:.3g} ms" if w0 == 0.05 else None)
    axes.set_xlabel("pairings")
    axes.set_ylabel("weight w")
    axes.set_ylim(0, rule.w_max * 1.02)
    axes.set_title("Repeated pairings: a soft bound below w_max, a hard one at 0", fontsize=10)
    axes.legend(fontsize=8)
    return figure


def plot_pairing(rule: PowerLawSTDP, n_pre: int = 3, interval_ms: float = 5.0):
    """``n_pre`` pre spikes ``interval_ms`` apart, then one post spike: the change under both pairings."""
    delays = np.arange(0, 60.25, 0.25)
    pre = np.arange(n_pre) * interval_ms * 1e-3
    figure, axes = new_figure(size=(7, 4))
    for pairing in ("nearest", "all_to_all"):
        changed = dataclasses.replace(rule, pairing=pairing)
        change = [changed.replay(pre, [pre[-1] + d * 1e-3], 0.3) - 0.3 for d in delays]
        axes.plot(delays, change, label=f"pairing = {pairing}" + (" (model file)" if pairing == rule.pairing else ""))
    axes.axhline(0, color="0.5", lw=0.6)
    axes.set_xlabel("t_post - (last t_pre) (ms)")
    axes.set_ylabel("weight change (from w = 0.3)")
    axes.set_title(f"{n_pre} pre spikes {interval_ms:g} ms apart, then a post spike: x_pre = 1 or x_pre += 1",
                   fontsize=10)
    axes.legend(fontsize=8)
    return figure


def stdp_window() -> dict:
    """Figures ``window``, ``weight_dependence``, ``repeated_pairings`` and ``pairing``."""
    rule = DiehlCookModel.load(MODEL).stdp
    return {"window": plot_window(rule), "weight_dependence": plot_weight_dependence(rule),
            "repeated_pairings": plot_repeated_pairings(rule), "pairing": plot_pairing(rule)}
