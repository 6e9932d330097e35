"""Demo ``margin-propagation``: Kotak's margin propagation (MP), a dot product without multiplications.

MP replaces ``w^T x`` by ``y_MP = 1/2 gamma D (alpha(p) - alpha(q))`` (:mod:`brainnets.mp.approximation`), where
``alpha`` is the threshold solving ``sum_i [p_i - alpha]_+ = gamma`` (:mod:`brainnets.mp.solvers`). Three
pictures of it, all computed by the package: the threshold as water-filling (:func:`plot_water_filling`), ``y_MP``
against the true dot product for several ``gamma`` (:func:`dot_products`, :func:`plot_dot_products`), and
``alpha`` as the spike time of a non-leaky integrator in Brian2 (:func:`spike_time`, :func:`plot_spike_time`,
:mod:`brainnets.mp.spiking`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..mp.approximation import sphere_pairs, y_mp
from ..mp.solvers import mp_threshold
from ..mp.spiking import spiking_threshold
from .figures import new_figure

#: The vector drawn as water-filling and fed to the MP neuron, and the gammas of the water-filling panels.
P = (0.9, 0.2, 1.6, -0.4, 1.1, 0.5, -1.0, 1.4)
FILL_GAMMAS = (0.5, 2.0, 5.0)
#: The gammas of the dot-product scatter (D-vectors of norm K), and those of the slope curve.
SCATTER_GAMMAS = (0.003, 0.3, 3.0, 30.0)
SLOPE_GAMMAS = tuple(float(g) for g in np.geomspace(1e-3, 1e2, 21))
#: gamma and the time step (units of tau_c) of the spiking MP neuron.
SPIKE_GAMMA = 1.0
SPIKE_DT = 2.0 ** -5


def threshold(p, gamma: float) -> float:
    """``alpha`` of one vector by the sort solver."""
    return float(mp_threshold(torch.as_tensor(p, dtype=torch.float64), gamma))


def plot_water_filling(p=P, gammas=FILL_GAMMAS):
    """One panel per gamma: the entries of ``p`` as bars, the threshold ``alpha`` as a line and the parts of the
    bars above it (which sum to gamma) shaded."""
    p = np.asarray(p, dtype=float)
    figure, axes = new_figure(1, len(gammas), size=(4 * len(gammas), 3.6), sharey=True)
    index = np.arange(len(p))
    for ax, gamma in zip(np.atleast_1d(axes), gammas):
        alpha = threshold(p, gamma)
        above = np.clip(p - alpha, 0, None)
        ax.bar(index, p, color="0.8", edgecolor="0.4", label="p_i")
        ax.bar(index, above, bottom=np.where(above > 0, alpha, 0), color="tab:blue", alpha=0.7,
               label="[p_i - alpha]_+")
        ax.axhline(alpha, color="C3", lw=1.5, label=f"alpha = {alpha:.3f}")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_title(f"gamma = {gamma:g}: {int((above > 0).sum())} active, shaded sum = {above.sum():.3g}",
                     fontsize=10)
        ax.set_xlabel("i")
        ax.set_xticks(index)
        ax.legend(fontsize=8, loc="lower left")
    np.atleast_1d(axes)[0].set_ylabel("p_i")
    figure.suptitle("The MP threshold: lower alpha until the water above it holds gamma", fontsize=11)
    return figure


@dataclass
class DotProducts:
    dot: np.ndarray         # (n,) w.x
    y: dict[float, np.ndarray]  # gamma -> (n,) y_MP
    slopes: dict[float, float]  # gamma -> least-squares slope of y_MP on w.x (through 0)
    correlations: dict[float, float]  # gamma -> correlation of y_MP with w.x
    D: int
    K: float


def dot_products(n: int = 400, D: int = 16, K: float = 1.0, gammas=SCATTER_GAMMAS, slope_gammas=SLOPE_GAMMAS,
                 seed: int = 0) -> DotProducts:
    """``y_MP`` (Eq. 2.8) of ``n`` random pairs of ``D``-vectors of norm ``K`` at each gamma of ``gammas`` and
    ``slope_gammas``."""
    w, x = sphere_pairs(n, D, K, torch.Generator().manual_seed(seed))
    dot = (w * x).sum(-1).numpy()
    y, slopes, correlations = {}, {}, {}
    for gamma in sorted(set(gammas) | set(slope_gammas)):
        values = y_mp(w, x, gamma).numpy()
        y[gamma] = values
        slopes[gamma] = float(values @ dot / (dot @ dot))
        correlations[gamma] = float(np.corrcoef(values, dot)[0, 1]) if values.std() > 1e-12 else 0.0
    return DotProducts(dot, y, slopes, correlations, D, K)


def plot_dot_products(result: DotProducts, gammas=SCATTER_GAMMAS):
    """Left: ``y_MP`` divided by its fitted slope against ``w.x`` for each of ``gammas`` (on the diagonal where
    ``y_MP`` is proportional to ``w.x``). Right: the slope and the correlation against gamma."""
    figure, (scatter, curve) = new_figure(1, 2, size=(11, 4.2))
    line = np.array([result.dot.min(), result.dot.max()])
    for k, gamma in enumerate(gammas):
        scatter.scatter(result.dot, result.y[gamma] / result.slopes[gamma], s=6, color=f"C{k}", alpha=0.5,
                        label=f"gamma = {gamma:g}: slope {result.slopes[gamma]:.3g}, "
                              f"correlation {result.correlations[gamma]:.2f}")
    scatter.plot(line, line, ":", color="k", label="proportional")
    scatter.set_xlabel("w.x")
    scatter.set_ylabel("y_MP / slope")
    scatter.set_title(f"{len(result.dot)} pairs, D = {result.D}, |w| = |x| = {result.K:g}", fontsize=10)
    reach = 2 * np.abs(result.dot).max()
    scatter.set_ylim(-reach, reach)
    scatter.legend(fontsize=8, loc="upper left")
    scatter.grid(alpha=0.3)
    swept = np.array(sorted(result.slopes))
    curve.semilogx(swept, [result.slopes[g] for g in swept], "o-", color="k", ms=3, label="slope of y_MP on w.x")
    curve.set_ylabel("slope")
    curve.set_xlabel("gamma")
    correlation = curve.twinx()
    correlation.semilogx(swept, [result.correlations[g] for g in swept], "s--", color="C3", ms=3,
                         label="correlation with w.x (right axis)")
    correlation.set_ylim(0, 1.05)
    correlation.set_ylabel("correlation", color="C3")
    curve.set_title("Proportional, with a slope set by gamma", fontsize=10)
    handles = curve.get_legend_handles_labels()
    more = correlation.get_legend_handles_labels()
    curve.legend(handles[0] + more[0], handles[1] + more[1], fontsize=8, loc="upper left")
    curve.grid(alpha=0.3, which="both")
    return figure


@dataclass
class SpikeTime:
    p: np.ndarray
    gamma: float
    alpha: float          # the sort solver's threshold
    c: float              # inputs at c - p_i, output at c - alpha
    t_in: np.ndarray
    exact_alpha: float    # c - t_out of the Brian2 neuron, exact spike times
    clock_alpha: float    # the same, clock-driven
    dt: float


def spike_time(p=P, gamma: float = SPIKE_GAMMA, dt: float = SPIKE_DT) -> SpikeTime:
    """``alpha`` of ``p`` by the sort solver and as ``c - t_out`` of a Brian2 MP neuron
    (:func:`~brainnets.mp.spiking.spiking_threshold`, exact and clock-driven, time step ``dt``)."""
    p = np.asarray(p, dtype=float)
    exact = spiking_threshold(p[None], gamma, dt=dt, semantics="exact")
    clock = spiking_threshold(p[None], gamma, dt=dt, semantics="clock")
    c = float(p.max() + 2 * dt)  # spiking_threshold's c
    return SpikeTime(p, gamma, threshold(p, gamma), c, c - p, float(exact.alpha[0]), float(clock.alpha[0]), dt)


def plot_spike_time(run: SpikeTime):
    """The non-leaky membrane ``v(z) = sum_i [z - t_i]_+`` (units of the unit input and tau_c) against time, the
    input spikes at ``t_i = c - p_i``, the threshold gamma and the output spikes, exact and clock-driven."""
    figure, ax = new_figure(size=(9, 4))
    t_out = run.c - run.alpha
    z = np.linspace(0, run.t_in.max() + 0.2, 800)
    v = np.clip(z[:, None] - run.t_in[None], 0, None).sum(1)
    fired = z <= t_out
    ax.plot(z[fired], v[fired], color="k", label="v(t) = sum_i [t - t_i]_+ up to the spike")
    ax.plot(z[~fired], v[~fired], ":", color="k", label="had it not fired")
    early, late = run.t_in[run.t_in < t_out], run.t_in[run.t_in >= t_out]
    ax.vlines(early, 0, 0.15 * run.gamma, color="tab:blue", lw=2, label="inputs t_i = c - p_i before the spike")
    ax.vlines(late, 0, 0.15 * run.gamma, color="0.6", lw=2, label="inputs after it (p_i <= alpha)")
    ax.axhline(run.gamma, color="C3", ls="--", lw=1, label=f"threshold gamma = {run.gamma:g}")
    ax.axvline(t_out, color="C3", lw=1, label=f"c - alpha = {t_out:.3f} (sort solver)")
    ax.plot([run.c - run.exact_alpha], [run.gamma], "o", color="C2", ms=8, mfc="none",
            label="Brian2, exact spike time")
    ax.plot([run.c - run.clock_alpha], [run.gamma], "x", color="C1", ms=8,
            label=f"Brian2, clock-driven (dt = {run.dt:g})")
    ax.set_xlim(z[0], z[-1])
    ax.set_ylim(0, 2 * run.gamma)
    ax.set_xlabel("time t (units of tau_c)")
    ax.set_ylabel("membrane v (units of unit input x tau_c)")
    ax.set_title("MP as a spike time: a non-leaky integrator crosses gamma at c - alpha", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return figure


def margin_propagation(n: int = 400, D: int = 16, gamma: float = SPIKE_GAMMA, seed: int = 0) -> dict:
    """Figures ``water_filling`` (:func:`plot_water_filling`), ``dot_products`` (``n`` pairs in ``D``
    dimensions, :func:`plot_dot_products`) and ``spike_time`` (the MP neuron at ``gamma``,
    :func:`plot_spike_time`)."""
    return {"water_filling": plot_water_filling(),
            "dot_products": plot_dot_products(dot_products(n=n, D=D, seed=seed)),
            "spike_time": plot_spike_time(spike_time(gamma=gamma))}
