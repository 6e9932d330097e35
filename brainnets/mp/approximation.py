"""MP as an approximate dot product, its log-sum-exp parent, and the error bounds (Kotak, ch. 2 and 3.1).

The dot product is a difference of squares, ``w^T x = 1/2 (f(w + x) - f(w - x))`` with ``f(x) = x^T x / 2``.
The thesis replaces ``f`` by a log-sum-exp surrogate (Eq. 2.2) and ``e^x`` by ``[1 + x]_+``::

    f(x, gamma) = gamma^2 D log sum_{i=1}^{D} (e^{x_i / gamma} + e^{-x_i / gamma})      (2.2)
    y_LSE       = 1/2 (f(w + x, gamma) - f(w - x, gamma))                              (2.3)
    y_MP        = 1/2 (MP(p, gamma) - MP(q, gamma)),   MP(p, gamma) = gamma D alpha(p)  (2.8)

with ``p = [w + x; -w - x]``, ``q = [w - x; -w + x]`` (both in ``R^{2D}``, both summing to 0) and ``alpha``
the MP threshold (:mod:`~brainnets.mp.solvers`). Nair et al. scaled ``f`` by ``gamma``; the thesis' scaling
``gamma^2 D`` cancels the ``1 / (gamma^2 D)`` of the quadratic Taylor term, which its Table 2.1 shows. Both
are here (``scaling='nair' | 'thesis'``); their ratio is ``gamma D``.

On the 2D-vector ``p`` the surrogate reads ``f(p, gamma) = gamma^2 D log sum_{i=1}^{2D} e^{p_i / gamma}``
(:func:`lse`); ``f(w + x, gamma)`` of Eq. 2.2 is ``lse(p)``.

The bounds (sec. 3.1):

* ``|y_LSE - w^T x| <= O(K^4 / (gamma^2 D))`` for ``||w||, ||x|| <= K`` (Eq. 3.2), drawn here with constant 1
  (:func:`lse_bound_shape`). Keeping the next Taylor terms gives the leading error exactly
  (:func:`lse_leading_error`, Kotak notes sec. 4.1): ``sum_i w_i x_i (w_i^2 + x_i^2) / (6 gamma^2) -
  w^T x (||w||^2 + ||x||^2) / (2 gamma^2 D)``, which is ``Theta(1 / gamma^2)``; for norm-``K`` vectors of spread
  entries it is of order ``K^4 / (gamma^2 D^1.5)``, below the bound's shape as ``D`` grows;
* ``|f(p, gamma) - MP(p, gamma)| <= gamma^2 D ln(1 + 2D / e)`` (Eq. 3.9, :func:`mp_lse_bound`) holds for the
  MP of Eq. 2.6, whose ReLU holds the offset ``gamma``: ``alpha_(2.6) = gamma + alpha(p)``
  (:func:`mp_with_offset`). With the offset-free MP of Eq. 2.1 the gap grows by exactly ``gamma^2 D`` and
  exceeds the bound (Kotak notes sec. 4.2, note 1); the offset cancels in ``y_MP``.
"""
from __future__ import annotations

import math

import torch

from .solvers import mp_threshold

SCALINGS = ("thesis", "nair")


def pq(w: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``p = [w + x; -w - x]`` and ``q = [w - x; -w + x]`` along the last axis."""
    plus, minus = w + x, w - x
    return torch.cat([plus, -plus], -1), torch.cat([minus, -minus], -1)


def half_length(p: torch.Tensor) -> int:
    """``D`` of a ``2D``-vector."""
    return p.shape[-1] // 2


def mp(p: torch.Tensor, gamma, solver: str = "sort") -> torch.Tensor:
    """``MP(p, gamma) = gamma D alpha(p)`` (Eq. 2.1, offset-free)."""
    return gamma * half_length(p) * mp_threshold(p, gamma, solver)


def mp_with_offset(p: torch.Tensor, gamma, solver: str = "sort") -> torch.Tensor:
    """``gamma D alpha`` with ``alpha`` solving ``sum [gamma + p_i - alpha]_+ = gamma`` (Eq. 2.6): the MP that
    approximates :func:`lse` itself, not only its differences."""
    return gamma * half_length(p) * (gamma + mp_threshold(p, gamma, solver))


def y_mp(w: torch.Tensor, x: torch.Tensor, gamma, solver: str = "sort") -> torch.Tensor:
    """``1/2 gamma D (alpha(p) - alpha(q))`` (Eq. 2.8), batched over the leading axes."""
    p, q = pq(w, x)
    return (mp(p, gamma, solver) - mp(q, gamma, solver)) / 2


def lse(p: torch.Tensor, gamma) -> torch.Tensor:
    """``f(p, gamma) = gamma^2 D log sum_{i=1}^{2D} e^{p_i / gamma}`` (Eq. 2.2 on the 2D-vector)."""
    return gamma ** 2 * half_length(p) * torch.logsumexp(p / gamma, -1)


def y_lse(w: torch.Tensor, x: torch.Tensor, gamma, scaling: str = "thesis") -> torch.Tensor:
    """``1/2 (f(w + x) - f(w - x))`` (Eq. 2.3) with ``f`` scaled by ``gamma^2 D`` (``'thesis'``) or by ``gamma``
    (``'nair'``, Nair et al.)."""
    if scaling not in SCALINGS:
        raise ValueError(f"unknown scaling {scaling!r}; choose one of {SCALINGS}")
    p, q = pq(w, x)
    y = (lse(p, gamma) - lse(q, gamma)) / 2
    return y if scaling == "thesis" else y / (gamma * w.shape[-1])


def lse_leading_error(w: torch.Tensor, x: torch.Tensor, gamma) -> torch.Tensor:
    """The ``1 / gamma^2`` term of ``y_LSE - w^T x`` (thesis scaling; see the module docstring)."""
    dot = (w * x).sum(-1)
    quartic = (w * x * (w ** 2 + x ** 2)).sum(-1)
    squares = (w ** 2).sum(-1) + (x ** 2).sum(-1)
    return quartic / (6 * gamma ** 2) - dot * squares / (2 * gamma ** 2 * w.shape[-1])


def lse_bound_shape(K: float, gamma: float, D: int) -> float:
    """``K^4 / (gamma^2 D)``: the shape of Eq. 3.2, constant 1."""
    return K ** 4 / (gamma ** 2 * D)


def mp_lse_bound(gamma: float, D: int) -> float:
    """``gamma^2 D ln(1 + 2D / e)`` (Eq. 3.9)."""
    return gamma ** 2 * D * math.log1p(2 * D / math.e)


def sphere_pairs(n: int, D: int, K: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` pairs ``(w, x)`` of float64 ``D``-vectors of norm exactly ``K`` in uniformly random directions:
    the norm-controlled sampling of the bounds, whose hypothesis is ``||w||, ||x|| <= K``."""
    def draw():
        v = torch.randn(n, D, dtype=torch.float64, generator=generator)
        return K * v / v.norm(dim=-1, keepdim=True)
    return draw(), draw()


# ---- Table 2.1 and the error sweeps (Figs 3.1-3.5) ---------------------------------------------------------

def table_2_1(Ds, gamma: float, K: float, draws: int, generator: torch.Generator) -> list[dict]:
    """Per ``D``: ``y_LSE`` with both scalings on one pair (the table's single draw) and the mean absolute
    errors over ``draws`` pairs of norm ``K`` (:func:`sphere_pairs`)."""
    rows = []
    for D in Ds:
        w, x = sphere_pairs(draws, int(D), K, generator)
        dot = (w * x).sum(-1)
        thesis, nair = y_lse(w, x, gamma, "thesis"), y_lse(w, x, gamma, "nair")
        rows.append({"D": int(D), "dot": float(dot[0]), "y_nair": float(nair[0]), "y_thesis": float(thesis[0]),
                     "error_nair": float((nair - dot).abs()[0]), "error_thesis": float((thesis - dot).abs()[0]),
                     "column_ratio": float(thesis[0] / nair[0]), "gamma_D": gamma * D,
                     "mean_abs_dot": float(dot.abs().mean()),
                     "mean_error_nair": float((nair - dot).abs().mean()),
                     "mean_error_thesis": float((thesis - dot).abs().mean())})
    return rows


def lse_error_point(K: float, gamma: float, D: int, draws: int, generator: torch.Generator) -> dict:
    """``|y_LSE - w^T x|`` over ``draws`` pairs of norm ``K``, beside the shape of Eq. 3.2 and the leading
    term's prediction."""
    w, x = sphere_pairs(draws, D, K, generator)
    error = y_lse(w, x, gamma) - (w * x).sum(-1)
    leading = lse_leading_error(w, x, gamma)
    return {"K": K, "gamma": gamma, "D": D, "mean_error": float(error.abs().mean()),
            "max_error": float(error.abs().max()), "bound_shape": lse_bound_shape(K, gamma, D),
            "leading_term_residual": float((error - leading).abs().max() / error.abs().max())}


def mp_error_point(K: float, gamma: float, D: int, draws: int, generator: torch.Generator,
                   solver: str = "sort") -> dict:
    """``f(p, gamma) - MP(p, gamma)`` with and without the offset of Eq. 2.6 against Eq. 3.9, and
    ``|y_MP - w^T x|`` against Eq. 3.11 (its first term with constant 1), over ``draws`` pairs of norm ``K``."""
    w, x = sphere_pairs(draws, D, K, generator)
    p, _ = pq(w, x)
    f = lse(p, gamma)
    gap = f - mp_with_offset(p, gamma, solver)
    gap_offset_free = f - mp(p, gamma, solver)
    bound = mp_lse_bound(gamma, D)
    y_error = (y_mp(w, x, gamma, solver) - (w * x).sum(-1)).abs()
    return {"K": K, "gamma": gamma, "D": D, "bound": bound,
            "mean_gap": float(gap.abs().mean()), "max_gap": float(gap.abs().max()), "min_gap": float(gap.min()),
            "max_ratio": float(gap.abs().max() / bound),
            "max_gap_offset_free": float(gap_offset_free.abs().max()),
            "max_ratio_offset_free": float(gap_offset_free.abs().max() / bound),
            "mean_y_mp_error": float(y_error.mean()), "max_y_mp_error": float(y_error.max()),
            "total_bound": lse_bound_shape(K, gamma, D) + bound}
