"""Kotak's ch. 5 experiments: the margins of Table 5.2, the step size of Algorithm 1, and the neuron in Brian2.

:func:`run` does three things, with the constants of ``models/kotak_nlif.toml``:

(a) **Table 5.2.** Two classes, ``U[0, 1]`` (label +1: the early spikes) and ``U[1, 2]`` (label -1), in each of
    the dimensions and sizes per class of ``[sweeps]`` (the thesis states neither), read out at ``T = b2 = 2``
    with ``K = 1`` and ``tau = 1`` (the thesis) or ``tau = 20`` (the regime its ``V_th`` recipe assumes). Four
    methods, as in the table: the SVM on ``x`` and on ``phi``, the perceptron on ``x`` (with a learned bias: in
    1-D every ``x`` is positive, and in more dimensions the classes meet on the ray through ``(1, ..., 1)``, so
    no hyperplane through the origin separates large samples) and the LIF-perceptron (Algorithm 1 on ``phi`` with the
    recipe's fixed ``V_th``), plus the LIF-perceptron with a learned threshold. Each margin is given both ways:
    the thesis' SVM margin is geometric and its perceptron margin functional, so its rows are not comparable
    with each other (and a perceptron's functional margin grows with its step: in proportion to it for those
    with a learned threshold, which start from 0). The classes touch at ``x = 1``, so for large samples in 1-D
    every margin tends to 0; margins shrink from ``x`` to ``phi`` by the slope of ``phi`` at the boundary,
    ``(K/tau) exp(-(T - b1)/tau)``, about ``K/tau`` for ``tau >> T``. The mistakes ``M`` of the
    learned-threshold runs (homogeneous, from 0) are set against Novikoff's ``R^2/gamma^2``, those of
    Algorithm 1 against the fixed-threshold bound of the summary's §8.3.
(b) **Step size.** Algorithm 1 with the fixed ``V_th = 1`` on Kotak's 1-D task (100 samples per class,
    ``tau = 1``) for each step of ``[sweeps].etas``, both with the samples reshuffled every epoch and in the
    order they were drawn (class +1 first), and on the two-sample toy ``phi+ = 1.0``, ``phi- = 0.9``; the
    learned-threshold variant, whose mistakes do not depend on ``eta`` (homogeneous and started from 0).
(c) **Brian2.** The LIF-perceptron trained on the largest 2-D set with ``tau = 1``, run as one n-LIF neuron per
    sample (:mod:`brainnets.nlif.neuron`, exact semantics): ``V(T)`` against ``w·phi`` and the decisions against those of
    the perceptron; the clock semantics beside it, off by ``O(dt)``.

Times are in ms and a value's spike time is the value itself (Table 5.1), unless the model file says otherwise.
:func:`train_and_plot` is the same pipeline for one data set, as figures, for teaching.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from brian2 import ms
from matplotlib.figure import Figure

from ..checkpoint import write_json_atomic
from ..config import ConfigError, choice, load_section, quantity, read_toml, require_table
from ..plotting import plot_bars, plot_lines
from . import neuron, perceptron

MODEL = "kotak_nlif"

#: Table 5.2 of the thesis: SVM margins geometric, perceptron margins functional (summary §7.6).
THESIS_TABLE_5_2 = {"svm": {"original": 0.412, "transformed": 0.047},
                    "perceptron": {"original": 0.281, "transformed": 0.006}}


@dataclass(frozen=True)
class NeuronParams:
    K: float = quantity(positive=True)
    tau: object = quantity(ms, positive=True)
    tau_long: object = quantity(ms, positive=True)
    coding: str = choice(*neuron.CODINGS)
    readout: str = choice("global", "sample")


@dataclass(frozen=True)
class DataParams:
    a1: float = quantity()
    b1: float = quantity()
    a2: float = quantity()
    b2: float = quantity()
    T: object = quantity(ms, nonnegative=True)

    def __post_init__(self):
        if not self.a1 < self.b1 <= self.a2 < self.b2:
            raise ValueError("the classes must satisfy a1 < b1 <= a2 < b2")


@dataclass(frozen=True)
class TrainingParams:
    eta: float = quantity(positive=True)
    max_epochs: int = quantity(positive=True)
    quick_max_epochs: int = quantity(positive=True)
    seed: int = quantity(nonnegative=True)


@dataclass(frozen=True)
class ConvergenceParams:
    n_per_class: int = quantity(positive=True)
    d: int = quantity(positive=True)
    toy_phi_plus: float = quantity()
    toy_phi_minus: float = quantity()
    toy_threshold: float = quantity()


@dataclass(frozen=True)
class SimulationParams:
    dt: object = quantity(ms, positive=True)


@dataclass(frozen=True)
class Sweeps:
    sizes: tuple
    dims: tuple
    quick_sizes: tuple
    etas: tuple
    toy_etas: tuple
    taus: tuple

    @classmethod
    def read(cls, table: dict, where: str) -> "Sweeps":
        known = {"sizes": int, "dims": int, "quick_sizes": int, "etas": float, "toy_etas": float, "taus": float}
        if set(table) != set(known):
            raise ConfigError(f"{where}: expected the keys {sorted(known)}, got {sorted(table)}")
        values = {}
        for key, kind in known.items():
            items = table[key]
            if (not isinstance(items, list) or not items
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in items)
                    or (kind is int and not all(float(v).is_integer() for v in items))):
                raise ConfigError(f"{where}.{key}: expected a list of positive {'whole ' if kind is int else ''}"
                                  f"numbers, got {items!r}")
            values[key] = tuple(kind(v) for v in items)
        return cls(**values)


@dataclass(frozen=True)
class NLIFModel:
    neuron: NeuronParams
    data: DataParams
    training: TrainingParams
    convergence: ConvergenceParams
    simulation: SimulationParams
    sweeps: Sweeps

    @classmethod
    def load(cls, path: str | Path = MODEL) -> "NLIFModel":
        document = dict(read_toml(path))
        sweeps = Sweeps.read(require_table(document, "sweeps", path), f"{path} [sweeps]")
        del document["sweeps"]
        return load_section(cls, document, str(path), sweeps=sweeps)

    # times in ms, as plain numbers
    @property
    def T(self) -> float:
        return float(self.data.T / ms)

    @property
    def dt(self) -> float:
        return float(self.simulation.dt / ms)

    def taus(self) -> tuple[float, float]:
        return float(self.neuron.tau / ms), float(self.neuron.tau_long / ms)

    def threshold(self, tau: float) -> float:
        d = self.data
        return perceptron.threshold_recipe(d.a1, d.b1, d.a2, d.b2, self.neuron.K, tau, self.T)

    def two_classes(self, n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` samples per class in ``d`` dimensions, class +1 first; the generator is seeded by
        ``(seed, n, d)``, so each set is the same whatever else is run."""
        rng = np.random.default_rng([seed, n, d])
        classes = ((self.data.a1, self.data.b1), (self.data.a2, self.data.b2))
        x = np.vstack([rng.uniform(low, high, (n, d)) for low, high in classes])
        return x, np.repeat([1, -1], n)

    def spike_times(self, x) -> np.ndarray:
        return neuron.spike_times(x, self.neuron.coding, t_max=self.data.b2)

    def readout_time(self, times) -> np.ndarray:
        return neuron.readout_times(times, self.T if self.neuron.readout == "global" else None)

    def features(self, x, tau: float) -> np.ndarray:
        times = self.spike_times(x)
        return perceptron.features(times, self.readout_time(times), self.neuron.K, tau)


# ---------------------------------------------------------------------------------------------------------
# (a) Table 5.2

def _result(f, y, training: perceptron.Training) -> dict:
    return {**perceptron.margins(f, y, training.w, training.threshold).as_dict(), "converged": training.converged,
            "epochs": training.epochs, "mistakes": training.mistakes}


def margin_table(model: NLIFModel, x, y, tau: float, max_epochs: int) -> tuple[dict, dict]:
    """The four methods of Table 5.2 (and the learned-threshold LIF-perceptron) on one data set: (margins,
    mistakes against their bounds)."""
    eta, seed = model.training.eta, model.training.seed
    f = model.features(x, tau)
    v_th = model.threshold(tau)
    svm_x, svm_f = perceptron.svm(x, y), perceptron.svm(f, y)
    plain = perceptron.train(x, y, eta=eta, learn_threshold=True, max_epochs=max_epochs, seed=seed)
    lif = perceptron.train(f, y, eta=eta, threshold=v_th, max_epochs=max_epochs, seed=seed)
    learned = perceptron.train(f, y, eta=eta, learn_threshold=True, max_epochs=max_epochs, seed=seed)
    original, transformed = perceptron.margins(x, y, *svm_x), perceptron.margins(f, y, *svm_f)
    slope = model.neuron.K / tau * np.exp(-(model.T - model.data.b1) / tau)
    margins = {
        "svm": {"original": original.as_dict(), "transformed": transformed.as_dict()},
        "perceptron": {"original": _result(x, y, plain), "transformed": _result(f, y, lif)},
        "lif_learned_threshold": {"transformed": _result(f, y, learned)},
        "V_th": v_th,
        "shrink": {"svm_geometric_ratio": transformed.geometric / original.geometric,
                   "K_over_tau": model.neuron.K / tau, "slope_at_boundary": float(slope)},
    }
    fixed = perceptron.fixed_threshold_bound(f, y, v_th, eta)
    mistakes = {
        "plain_learned_bias": {"M": plain.mistakes, **perceptron.mistake_bound(x, y).as_dict()},
        "lif_learned_threshold": {"M": learned.mistakes, **perceptron.mistake_bound(f, y).as_dict()},
        "lif_fixed_threshold": {"M": lif.mistakes, **(fixed.as_dict() if fixed else {"bound": None})},
    }
    return margins, mistakes


def table_5_2(model: NLIFModel, sizes, max_epochs: int) -> tuple[dict, dict]:
    configs, mistakes = {}, {}
    for n in sizes:
        for d in model.sweeps.dims:
            x, y = model.two_classes(n, d, model.training.seed)
            for tau in model.taus():
                name = f"n{n}_d{d}_tau{tau:g}"
                configs[name], mistakes[name] = margin_table(model, x, y, tau, max_epochs)
                configs[name].update(n_per_class=n, d=d, tau=tau)
    setup = {"K": model.neuron.K, "T": model.T, "eta": model.training.eta, "max_epochs": max_epochs,
             "seed": model.training.seed, "coding": model.neuron.coding, "readout": model.neuron.readout}
    return {"thesis": THESIS_TABLE_5_2, "setup": setup, "configs": configs}, mistakes


def shrink_curve(model: NLIFModel, x, y) -> dict:
    """The SVM's geometric margin in phi space over that in x space, for each tau of ``[sweeps].taus``."""
    original = 1 / np.linalg.norm(perceptron.svm(x, y)[0])
    return {tau: (1 / np.linalg.norm(perceptron.svm(model.features(x, tau), y)[0])) / original
            for tau in model.sweeps.taus}


# ---------------------------------------------------------------------------------------------------------
# (b) step size

def _epochs(training: perceptron.Training):
    return training.epochs if training.converged else None


def convergence(model: NLIFModel, max_epochs: int) -> tuple[dict, dict]:
    """Epochs to convergence (None: not within ``max_epochs``) per step, and the mistakes per epoch of each run."""
    c, seed = model.convergence, model.training.seed
    tau = model.taus()[0]
    x, y = model.two_classes(c.n_per_class, c.d, seed)
    f, v_th = model.features(x, tau), model.threshold(tau)
    runs = {}
    for eta in model.sweeps.etas:
        runs[("shuffled", eta)] = perceptron.train(f, y, eta=eta, threshold=v_th, max_epochs=max_epochs, seed=seed)
        runs[("in_order", eta)] = perceptron.train(f, y, eta=eta, threshold=v_th, max_epochs=max_epochs,
                                                   shuffle=False)
        runs[("learned_threshold", eta)] = perceptron.train(f, y, eta=eta, learn_threshold=True,
                                                            max_epochs=max_epochs, seed=seed)
    toy_f, toy_y = np.array([[c.toy_phi_plus], [c.toy_phi_minus]]), np.array([1, -1])
    for eta in model.sweeps.toy_etas:
        runs[("toy", eta)] = perceptron.train(toy_f, toy_y, eta=eta, threshold=c.toy_threshold, max_epochs=max_epochs,
                                              seed=seed)
    result = {"task": {"n_per_class": c.n_per_class, "d": c.d, "tau": tau, "K": model.neuron.K, "T": model.T,
                       "V_th": v_th, "max_epochs": max_epochs, "seed": seed},
              "toy": {"phi_plus": c.toy_phi_plus, "phi_minus": c.toy_phi_minus, "V_th": c.toy_threshold}}
    for (kind, eta), training in runs.items():
        result.setdefault(f"epochs_{kind}", {})[f"{eta:g}"] = _epochs(training)
    bound = perceptron.fixed_threshold_bound(f, y, v_th, model.sweeps.etas[0])
    result["eta_max_fixed_threshold"] = bound.eta_max if bound else None
    result["learned_threshold_mistakes"] = {f"{eta:g}": runs[("learned_threshold", eta)].mistakes
                                            for eta in model.sweeps.etas}
    return result, runs


# ---------------------------------------------------------------------------------------------------------
# (c) Brian2

def brian2_check(model: NLIFModel, x, y, training: perceptron.Training, tau: float) -> dict:
    """One trained neuron, simulated for every sample: V(T) and decisions against the perceptron's."""
    times = model.spike_times(x)
    T = model.readout_time(times)
    f = perceptron.features(times, T, model.neuron.K, tau)
    closed = f @ training.w
    decisions = perceptron.predict(f, training.w, training.threshold)
    result = {"n_neurons": len(x), "dt_ms": model.dt, "tau_ms": tau,
              "functional_margin": perceptron.margins(f, y, training.w, training.threshold).functional}
    for semantics, prefix in (("exact", ""), ("clock", "clock_")):
        v_at_T = neuron.simulate(times, training.w, T, K=model.neuron.K, tau=tau, dt=model.dt,
                                 semantics=semantics).v_at_T
        result[f"{prefix}max_abs_v_difference"] = float(np.abs(v_at_T - closed).max())
        result[f"{prefix}agreement"] = float(np.mean(perceptron.decide(v_at_T, training.threshold) == decisions))
    result["clock_error_bound"] = model.neuron.K * float(np.abs(training.w).sum()) * model.dt / tau
    return result


# ---------------------------------------------------------------------------------------------------------
# figures: plain matplotlib Figures (as the teaching demos' are), which pyplot never holds

def _new_figure(cols: int = 1, size: tuple[float, float] = (6, 4)):
    figure = Figure(figsize=size, layout="constrained")
    return figure, figure.subplots(1, cols)


def _save(figure: Figure, path: Path) -> None:
    figure.savefig(path, dpi=110, bbox_inches="tight")


def plot_mistakes(series: dict[str, list[int]], title: str = ""):
    """Mistakes per epoch of each ``{label: counts}`` (an epoch without mistakes is drawn at 0.5)."""
    figure, axes = _new_figure()
    for label, counts in series.items():
        axes.plot(np.arange(1, len(counts) + 1), np.maximum(counts, 0.5), label=label, linewidth=1)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("epoch")
    axes.set_ylabel("mistakes (0 drawn at 0.5)")
    axes.set_title(title, fontsize=9)
    axes.legend(fontsize=7)
    return figure


def plot_boundary(model: NLIFModel, x, y, training: perceptron.Training, tau: float):
    """The decision in ``x`` space (curved: ``w·phi(x) = V_th``) and in ``phi`` space (straight)."""
    f = model.features(x, tau)
    w, v_th = training.w, training.threshold
    figure, (left, right) = _new_figure(2, (10, 4))
    colors = np.where(y > 0, "tab:blue", "tab:orange")
    if x.shape[1] == 1:
        grid = np.linspace(x.min(), x.max(), 400)[:, None]
        left.plot(grid[:, 0], model.features(grid, tau) @ w, color="0.5", linewidth=1)
        left.scatter(x[:, 0], f @ w, c=colors, s=12)
        right.scatter(f[:, 0], f @ w, c=colors, s=12)
        for axes in (left, right):
            axes.axhline(v_th, color="k", linestyle="--", linewidth=1, label="V_th")
            axes.set_ylabel("V(T) = w·phi")
        left.set_xlabel("x (spike time, ms)")
        right.set_xlabel("phi")
    elif x.shape[1] == 2:
        left.scatter(*x.T, c=colors, s=12)
        right.scatter(*f.T, c=colors, s=12)
        g0, g1 = np.meshgrid(*(np.linspace(lo, hi, 200) for lo, hi in zip(x.min(axis=0), x.max(axis=0))))
        potential = (model.features(np.column_stack([g0.ravel(), g1.ravel()]), tau) @ w).reshape(g0.shape)
        left.contour(g0, g1, potential, levels=[v_th], colors="k", linestyles="--")
        p0 = np.linspace(f[:, 0].min(), f[:, 0].max(), 2)
        if w[1]:
            right.plot(p0, (v_th - w[0] * p0) / w[1], "k--", linewidth=1)
        right.set_ylim(f[:, 1].min() - 0.05 * np.ptp(f[:, 1]), f[:, 1].max() + 0.05 * np.ptp(f[:, 1]))
        left.set_xlabel("x_1")
        left.set_ylabel("x_2")
        right.set_xlabel("phi_1")
        right.set_ylabel("phi_2")
    else:
        raise ValueError("the boundary is drawn for d = 1 or 2 only")
    left.set_title("input space: V(T) = V_th is curved", fontsize=9)
    right.set_title("phi space: a hyperplane", fontsize=9)
    figure.suptitle(f"n-LIF perceptron, tau = {tau:g} ms, V_th = {v_th:.4g} (blue: +1, orange: -1)", fontsize=10)
    return figure


def plot_membrane(model: NLIFModel, x, y, training: perceptron.Training, tau: float, samples) -> tuple:
    """``V(t)`` of ``samples`` simulated in Brian2, against ``V_th`` at the readout; the closed form as dots."""
    times = model.spike_times(x)
    T = model.readout_time(times)
    run = neuron.simulate(times[samples], training.w, T[samples], K=model.neuron.K, tau=tau, dt=model.dt,
                          record=range(len(samples)))
    figure, axes = _new_figure()
    for k, i in enumerate(samples):
        color = "tab:blue" if y[i] > 0 else "tab:orange"
        axes.plot(run.trace_t, run.trace_v[k], color=color, linewidth=1)
        axes.plot([T[i]], neuron.potential(T[i:i + 1], times[i:i + 1], training.w, model.neuron.K, tau), "o",
                  color=color, markersize=4)
    axes.axhline(training.threshold, color="k", linestyle="--", linewidth=1, label="V_th")
    axes.axvline(float(T.max()), color="0.5", linestyle=":", linewidth=1, label="readout T")
    axes.set_xlabel("t (ms)")
    axes.set_ylabel("V(t)")
    axes.set_title("Brian2 n-LIF neurons (blue: +1, orange: -1); dots: closed form at T", fontsize=9)
    axes.legend(fontsize=7)
    return figure, run


@dataclass
class Demo:
    figures: dict           # name -> matplotlib Figure: 'boundary', 'mistakes', 'membrane'
    training: perceptron.Training
    x: np.ndarray
    y: np.ndarray
    features: np.ndarray
    brian2: neuron.NLIFRun  # the membrane traces


def train_and_plot(x=None, y=None, *, model: str | Path | NLIFModel = MODEL, n: int = 20, d: int = 2,
                   tau: float | None = None, eta: float | None = None, learn_threshold: bool = False,
                   max_epochs: int | None = None, seed: int = 0, n_traces: int = 4) -> Demo:
    """Train the n-LIF perceptron (Algorithm 1) on ``x`` (samples, d) with labels ``y`` in {-1, +1} (by default
    ``n`` samples per class of the model's two classes in ``d`` dimensions) and draw it: the decision boundary in
    ``x`` and ``phi`` space, the mistakes per epoch, and the Brian2 membrane of ``n_traces`` samples (half from
    each class) at the readout. ``tau`` (ms) and ``eta`` default to the model's; ``V_th`` is the §5.2 recipe, or
    learned."""
    model = model if isinstance(model, NLIFModel) else NLIFModel.load(model)
    if x is None:
        x, y = model.two_classes(n, d, seed)
    x, y = np.atleast_2d(np.asarray(x, dtype=float)), np.asarray(y)
    tau = model.taus()[0] if tau is None else float(tau)
    f = model.features(x, tau)
    training = perceptron.train(f, y, eta=model.training.eta if eta is None else eta,
                                threshold=model.threshold(tau), learn_threshold=learn_threshold,
                                max_epochs=max_epochs or model.training.max_epochs, seed=seed)
    figures = {"mistakes": plot_mistakes({"Algorithm 1": training.mistakes_per_epoch},
                                         f"eta = {training.eta:g}, {training.mistakes} mistakes in {training.epochs} "
                                         f"epochs{'' if training.converged else ' (not converged)'}")}
    if x.shape[1] <= 2:
        figures["boundary"] = plot_boundary(model, x, y, training, tau)
    rng = np.random.default_rng(seed)
    half = max(n_traces // 2, 1)
    samples = np.concatenate([rng.choice(np.flatnonzero(y == label), min(half, int(np.sum(y == label))), replace=False)
                              for label in (1, -1)])
    figures["membrane"], run = plot_membrane(model, x, y, training, tau, samples)
    return Demo(figures, training, x, y, f, run)


# ---------------------------------------------------------------------------------------------------------

def _table_figure(table: dict, out: Path, sizes, model: NLIFModel) -> None:
    """Our margins measured as the thesis measured them (SVM geometric, perceptron functional), beside its own."""
    name = f"n{min(sizes)}_d{max(model.sweeps.dims)}_tau{model.taus()[0]:g}"
    row = table["configs"][name]
    ours = {"SVM x": row["svm"]["original"]["geometric"], "SVM phi": row["svm"]["transformed"]["geometric"],
            "perceptron x": row["perceptron"]["original"]["functional"],
            "LIF-perceptron phi": row["perceptron"]["transformed"]["functional"]}
    thesis = dict(zip(ours, [THESIS_TABLE_5_2[method][space] for method in ("svm", "perceptron")
                             for space in ("original", "transformed")]))
    plot_bars(ours, out / "nlif_table_5_2.png", "margin", f"Table 5.2 analogue ({name}; SVM geometric, "
              "perceptrons functional)", reference=thesis, legend=("brainnets", "thesis"))


def run(out: Path, *, quick: bool = False, seed: int = 0, model: str | Path = MODEL) -> dict:
    """All of (a)-(c); figures and ``nlif.json`` into ``out``. ``quick``: the small sets only and fewer epochs.
    ``seed`` (data and epoch order) replaces the model file's ``[training].seed``."""
    start = time.time()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    loaded = NLIFModel.load(model)
    loaded = replace(loaded, training=replace(loaded.training, seed=seed))
    sizes = loaded.sweeps.quick_sizes if quick else loaded.sweeps.sizes
    max_epochs = loaded.training.quick_max_epochs if quick else loaded.training.max_epochs

    table, mistakes = table_5_2(loaded, sizes, max_epochs)
    _table_figure(table, out, sizes, loaded)
    shrink = {f"d = {d}": shrink_curve(loaded, *loaded.two_classes(max(sizes), d, seed)) for d in loaded.sweeps.dims}
    taus = np.array(loaded.sweeps.taus)
    K, T, b1 = loaded.neuron.K, loaded.T, loaded.data.b1
    plot_lines({**{f"SVM, {key}": (taus, list(curve.values())) for key, curve in shrink.items()},
                "K/tau": (taus, K / taus), "(K/tau) exp(-(T - b1)/tau)": (taus, K / taus * np.exp(-(T - b1) / taus))},
               out / "nlif_margin_shrink.png", "tau (ms)", "margin in phi / margin in x",
               f"Margins shrink about K/tau ({max(sizes)} per class)", log=True)
    table["shrink_curve"] = {key: {f"{tau:g}": ratio for tau, ratio in curve.items()} for key, curve in shrink.items()}

    steps, runs = convergence(loaded, max_epochs)
    _save(plot_mistakes({f"{kind} eta = {eta:g}": r.mistakes_per_epoch for (kind, eta), r in runs.items()
                         if kind in ("shuffled", "in_order") and eta in (loaded.sweeps.etas[0], 1.0)},
                        f"Algorithm 1, V_th fixed, 1-D task: mistakes per epoch (max {max_epochs})"),
          out / "nlif_convergence.png")

    tau = loaded.taus()[0]
    x_big, y_big = loaded.two_classes(max(sizes), max(loaded.sweeps.dims), seed)
    lif = perceptron.train(loaded.features(x_big, tau), y_big, eta=loaded.training.eta, threshold=loaded.threshold(tau),
                           max_epochs=max_epochs, seed=seed)
    check = brian2_check(loaded, x_big, y_big, lif, tau)

    demo = train_and_plot(model=loaded, n=min(sizes), d=max(loaded.sweeps.dims), max_epochs=max_epochs, seed=seed)
    for name, figure in demo.figures.items():
        _save(figure, out / f"nlif_demo_{name}.png")

    result = {"nlif": {"table_5_2": table, "mistakes": mistakes, "convergence": steps, "brian2": check,
                       "model": str(model), "quick": quick, "seed": seed, "seconds": time.time() - start}}
    write_json_atomic(out / "nlif.json", result)
    return result
