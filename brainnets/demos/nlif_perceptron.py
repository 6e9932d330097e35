"""Demo ``nlif-perceptron``: Kotak's n-LIF neuron read out once: a perceptron learning two classes of spike times.

The non-leaky integrate-and-fire neuron of :mod:`brainnets.nlif.neuron` has no leak and an exponentially decaying
synaptic current (``dV/dt = K I / tau``, ``dI/dt = -I / tau``, ``I += w_j`` at input j's spike), so that from rest
``V(T) = sum_j w_j K (1 - exp(-(T - t_j)/tau)) = w·phi``: read at one time ``T``, it is a linear classifier of the
features ``phi`` (:mod:`brainnets.nlif.perceptron`), trained by Kotak's Algorithm 1 against a fixed ``V_th`` or a
learned one. Everything here is the package's own: :func:`brainnets.nlif.experiment.train_and_plot` trains and
draws one run (the decision boundary in ``x`` and in ``phi`` space, the mistakes per epoch, Brian2 membranes);
this module adds the two lessons of the thesis' §5.2-5.3 that one run cannot show: how the step size matters
once ``V_th`` is fixed (:func:`step_sizes`) and why margins shrink from ``x`` to ``phi``
(:func:`~brainnets.nlif.experiment.shrink_curve`). Constants: ``models/kotak_nlif.toml``.
"""
from __future__ import annotations

import numpy as np

from ..nlif import perceptron
from ..nlif.experiment import MODEL, Demo, NLIFModel, plot_mistakes, shrink_curve, train_and_plot
from ..nlif.neuron import response
from .figures import SCREEN_DPI, new_figure

#: The steps of Algorithm 1 compared with the fixed threshold, and the epochs each run may take.
ETAS = (0.01, 0.1, 1.0)
STEP_EPOCHS = 1000
#: Synaptic time constants (ms) whose feature maps are drawn.
MAP_TAUS = (0.5, 1.0, 2.0, 5.0, 20.0)


def step_sizes(model: NLIFModel, etas=ETAS, max_epochs: int = STEP_EPOCHS) -> dict[str, perceptron.Training]:
    """Algorithm 1 on Kotak's 1-D task (``[convergence]`` of the model file: 100 samples per class, ``tau`` of
    ``[neuron]``), the samples visited in the order drawn (class +1 first), once per step in ``etas`` with the
    fixed ``V_th`` of the §5.2 recipe, and once with a learned threshold (at the largest step)."""
    c = model.convergence
    tau = model.taus()[0]
    x, y = model.two_classes(c.n_per_class, c.d, model.training.seed)
    f, v_th = model.features(x, tau), model.threshold(tau)
    runs = {f"V_th = {v_th:g} fixed, eta = {eta:g}": perceptron.train(f, y, eta=eta, threshold=v_th,
                                                                       max_epochs=max_epochs, shuffle=False)
            for eta in etas}
    runs[f"V_th learned, eta = {max(etas):g}"] = perceptron.train(f, y, eta=max(etas), learn_threshold=True,
                                                                  max_epochs=max_epochs, shuffle=False)
    return runs


def plot_step_sizes(runs: dict[str, perceptron.Training]):
    """Mistakes per epoch of each run of :func:`step_sizes`."""
    figure = plot_mistakes({label: training.mistakes_per_epoch for label, training in runs.items()},
                           "Kotak's 1-D task, samples in the order drawn: mistakes per epoch "
                           f"(at most {max(len(t.mistakes_per_epoch) for t in runs.values())} epochs)")
    figure.set_dpi(SCREEN_DPI)
    return figure


def plot_margin_shrink(model: NLIFModel, x, y, taus=MAP_TAUS):
    """Left: the feature map ``phi(t) = K (1 - exp(-(T - t)/tau))`` of a spike at ``t`` for each of ``taus``,
    over the two classes' intervals. Right: the SVM's geometric margin in ``phi`` space over that in ``x`` space
    on the data set ``x``, ``y``, for each tau of ``[sweeps].taus``, against ``K/tau``."""
    d, K, T = model.data, model.neuron.K, model.T
    figure, (mapping, ratios) = new_figure(1, 2, size=(10, 4))
    t = np.linspace(d.a1, d.b2, 200)
    mapping.axvspan(d.a1, d.b1, color="tab:blue", alpha=0.12, label="class +1 spikes")
    mapping.axvspan(d.a2, d.b2, color="tab:orange", alpha=0.12, label="class -1 spikes")
    for tau in taus:
        mapping.plot(t, response(T - t, K, tau), label=f"tau = {tau:g} ms")
    mapping.set_xlabel("spike time t_j (ms)")
    mapping.set_ylabel(f"phi_j = K (1 - exp(-(T - t_j)/tau)), T = {T:g} ms")
    mapping.set_ylim(0, 1.4)
    mapping.set_title("The feature map: slope about K/tau, flatter as tau grows", fontsize=10)
    mapping.legend(fontsize=8, loc="upper center", ncols=3)
    shrink = shrink_curve(model, x, y)
    swept = np.array(list(shrink))
    ratios.loglog(swept, list(shrink.values()), "o-", color="k", label=f"SVM on {len(x)} samples, d = {x.shape[1]}")
    ratios.loglog(swept, K / swept, ":", color="0.5", label="K/tau")
    ratios.loglog(swept, K / swept * np.exp(-(T - d.b1) / swept), "--", color="C3",
                  label="slope at the class boundary, (K/tau) exp(-(T - b1)/tau)")
    ratios.set_xlabel("tau (ms)")
    ratios.set_ylabel("geometric margin in phi / in x")
    ratios.set_title("Margins shrink by the slope of phi", fontsize=10)
    ratios.legend(fontsize=8)
    ratios.grid(alpha=0.3, which="both")
    return figure


def trained(model: NLIFModel, **options) -> Demo:
    """:func:`~brainnets.nlif.experiment.train_and_plot` with ``options``, its figures at the demos' screen
    resolution."""
    demo = train_and_plot(model=model, **options)
    for figure in demo.figures.values():
        figure.set_dpi(SCREEN_DPI)
    return demo


def nlif_perceptron(n: int = 20, d: int = 2, learn_threshold: bool = False, seed: int = 0) -> dict:
    """Figures ``boundary`` (for d <= 2), ``mistakes`` and ``membrane`` of one run of Algorithm 1 (``n`` samples
    per class in ``d`` dimensions, ``V_th`` fixed or learned: :func:`trained`), ``step_size``
    (:func:`step_sizes`) and ``margin_shrink`` (:func:`plot_margin_shrink`, on the same data)."""
    model = NLIFModel.load(MODEL)
    demo = trained(model, n=n, d=d, learn_threshold=learn_threshold, seed=seed)
    return {**demo.figures, "step_size": plot_step_sizes(step_sizes(model)),
            "margin_shrink": plot_margin_shrink(model, demo.x, demo.y)}
