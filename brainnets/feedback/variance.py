"""How the estimation variance of FG-W, FG-A and FDFA scales (Bacho 2023, Sec 4.7, Figs. 37-38, Table 12).

For one fixed input batch the data are fixed, so all the variance of an estimate of ``∂L/∂W^(1)`` (the hidden
weights of a two-layer net n_0-n_1-n_L) comes from the perturbations: the term z2 of Prop. 3. Per weight it is

    FG-W:  (∂L/∂w_ij)^2 + ||∂L/∂W||^2                         = O(n_1 n_0)      (Prop. 5)
    FG-A:  [(∂L/∂y_i)^2 + ||∂L/∂y||^2] (∂y_i/∂w_ij)^2         = O(n_1)          (Prop. 6)
    FDFA:  α^2 Var[Σ_k ∂y_o/∂y_k u_k u_i] (∂y_i/∂w_ij)^2      = O(α^2)          (Prop. 7)

:func:`variance_rows` draws ``draws`` estimates per setting and reports the variance of each entry averaged over
the entries of ``W^(1)``; the relative variance, the variance summed over the entries and divided by
``||∂L/∂W^(1)||^2``; and the cosine between the mean estimate and the true gradient. The slopes are fitted to the
relative variance: with Kaiming initialisation ``∂L/∂y_i`` shrinks as ``1/sqrt(n_1)``, which hides the growth of
the raw per-entry variance with n_1, whereas relative to the gradient's own size the propositions give
``1 + n_1 n_0 ||∂L/∂W||^2/||∂L/∂W^(1)||^2`` for FG-W and about ``1 + n_1`` for FG-A whatever the scale.

As in Fig. 37b the number of inputs grows by duplicating the input features, so the data stay the same. FDFA is
measured in the setting of Prop. 7: its feedback starts at the true Jacobian ``E[∂y^(L)/∂y^(1)]`` of the batch,
so that what remains is the variance that one step of Eq. 106 adds. :func:`fit_slopes` fits
``log var = slope log x + c``.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from .methods import Net, bp, fdfa, fg_a, fg_w, forward, make_net


def _estimates(estimator, net: Net, x: torch.Tensor, labels: torch.Tensor, draws: int,
               generator: torch.Generator) -> torch.Tensor:
    """(draws, n_1, n_0): independent estimates of ``∂L/∂W^(1)``; the feedback (FDFA) restarts each time."""
    start = [b.clone() for b in net.feedback]
    out = []
    for _ in range(draws):
        for b, b0 in zip(net.feedback, start):
            b.copy_(b0)
        out.append(estimator(net, x, labels, generator)[0])
    for b, b0 in zip(net.feedback, start):
        b.copy_(b0)
    return torch.stack(out)


def true_feedback(net: Net, x: torch.Tensor) -> list[torch.Tensor]:
    """``E_batch[∂y^(L)/∂y^(l)]`` (n_L, n_l) for each hidden layer: the fixed point of Eq. 106 (Eq. 110)."""
    hidden = len(net.weights) - 1
    sizes = [w.shape[0] for w in net.weights[:hidden]]
    zeros = [torch.zeros(x.shape[0], n, dtype=x.dtype) for n in sizes]
    jac = torch.autograd.functional.jacobian(lambda *noise: forward(net, x, noise=list(noise))[1][-1], tuple(zeros))
    # jac[l]: (batch, n_L, batch, n_l); a sample's output depends on its own activities only
    return [torch.einsum("bobi->oi", j) / x.shape[0] for j in jac]


def _row(method: str, setting: str, value: float, estimates: torch.Tensor, true: torch.Tensor) -> dict:
    mean = estimates.mean(0).flatten()
    cosine = float(mean @ true.flatten() / (mean.norm() * true.norm()))
    spread = estimates.var(0)
    return {"method": method, "setting": setting, "value": value, "variance": float(spread.mean()),
            "relative_variance": float(spread.sum() / true.square().sum()), "cosine": cosine}


def variance_rows(*, hidden_sizes=(16, 32, 64, 128), input_copies=(1, 2, 4, 8), alphas=(1e-3, 1e-2, 1e-1, 0.5),
                  base_inputs: int = 32, base_hidden: int = 32, n_out: int = 10, batch: int = 16, draws: int = 200,
                  x: torch.Tensor | None = None, labels: torch.Tensor | None = None, seed: int = 0) -> list[dict]:
    """Rows ``{method, setting, value, variance, relative_variance, cosine}``: FG-W and FG-A against the hidden
    width n_1 (setting ``"n1"``) and the number of inputs n_0 (``"n0"``, ``base_inputs`` times each of
    ``input_copies``), FDFA against α (``"alpha"``), all on a two-layer ReLU net in float64. ``x``
    (batch, base_inputs) and ``labels`` default to a Gaussian batch with random labels."""
    generator = torch.Generator().manual_seed(seed)
    if x is None:
        x = torch.randn(batch, base_inputs, generator=generator, dtype=torch.float64)
        labels = torch.randint(n_out, (batch,), generator=generator)
    x = x.to(torch.float64)
    base_inputs = x.shape[1]

    def net_for(n0: int, n1: int, feedback=None) -> Net:
        return make_net([n0, n1, n_out], feedback=feedback, dtype=torch.float64,
                        generator=torch.Generator().manual_seed(seed + 1))

    rows = []
    for setting, values in (("n1", hidden_sizes), ("n0", input_copies)):
        for value in values:
            copies, n1 = (1, value) if setting == "n1" else (value, base_hidden)
            inputs = x.repeat(1, copies)
            net = net_for(base_inputs * copies, n1)
            true = bp(net, inputs, labels)[0]
            for method, estimator in (("FG-W", fg_w), ("FG-A", fg_a)):
                estimates = _estimates(estimator, net, inputs, labels, draws, generator)
                rows.append(_row(method, setting, base_inputs * copies if setting == "n0" else n1, estimates, true))
    net = net_for(base_inputs, base_hidden, feedback="zero")
    net.feedback = true_feedback(net, x)
    true = bp(net, x, labels)[0]
    for alpha in alphas:
        estimates = _estimates(functools.partial(fdfa, alpha=alpha), net, x, labels, draws, generator)
        rows.append(_row("FDFA", "alpha", alpha, estimates, true))
    return rows


def fit_slopes(rows: list[dict]) -> dict[tuple[str, str], float]:
    """``{(method, setting): slope}`` of the least-squares line through (log value, log relative variance)."""
    slopes = {}
    for key in sorted({(r["method"], r["setting"]) for r in rows}):
        picked = [r for r in rows if (r["method"], r["setting"]) == key]
        slopes[key] = float(np.polyfit(np.log([r["value"] for r in picked]),
                                       np.log([r["relative_variance"] for r in picked]), 1)[0])
    return slopes


def plot_variance(rows: list[dict], folder: str | Path) -> list[Path]:
    """One log-log figure per setting (Figs. 37a, 37b, 38), each line labelled with its fitted slope."""
    from ..plotting import plot_lines

    slopes = fit_slopes(rows)
    labels = {"n1": "hidden neurons n_1", "n0": "inputs n_0", "alpha": "feedback learning rate α"}
    paths = []
    for setting, xlabel in labels.items():
        series = {}
        for (method, measured), slope in slopes.items():
            if measured == setting:
                picked = [r for r in rows if (r["method"], r["setting"]) == (method, measured)]
                series[f"{method} (slope {slope:.2f})"] = ([r["value"] for r in picked],
                                                           [r["relative_variance"] for r in picked])
        if series:
            path = Path(folder) / f"fdfa_variance_{setting}.png"
            plot_lines(series, path, xlabel, "relative variance of the estimate of ∂L/∂W^(1)", log=True)
            paths.append(path)
    return paths
