"""The MP threshold: the solution ``alpha`` of ``sum_i [p_i - alpha]_+ = gamma`` (Kotak, Eq. 2.1).

For ``gamma > 0`` the left side falls continuously and strictly from infinity to 0 while it is positive, so
``alpha`` is unique; it lies in ``[max p - gamma, max p)``, because the largest entry alone contributes
``gamma`` at ``alpha = max p - gamma``. Only the entries above ``alpha`` (the active set ``S``, ``k = |S|``)
count, and on ``S`` the equation is linear::

    alpha = (sum_{i in S} p_i - gamma) / k

It is the threshold of the Euclidean projection of ``p`` onto ``{u >= 0, sum u = gamma}`` (thesis ch. 4,
where "alpha = tau_proj(p / gamma)" is off by the factor: ``alpha = gamma tau_proj(p / gamma)``), the
sparsemax threshold. The solvers, all along the last axis and batched over the others:

* ``'sort'`` (the thesis' baseline, sec. 2.3): sort ``p`` descending, ``s_1 >= s_2 >= ...``; the candidates
  ``a_k = (s_1 + ... + s_k - gamma) / k`` satisfy ``s_k > a_k`` exactly for ``k <= k*``, and
  ``alpha = a_{k*}``. It holds a sorted copy (and the sort's indices), the prefix sums and a tensor from which
  ``k*`` is found by binary search (:func:`sorted_prefix`): several tensors of the size of ``p``, the memory
  bottleneck the thesis names;
* ``'bisection'``: halve ``[max p - gamma, max p]`` on the sign of ``sum [p - alpha]_+ - gamma``, then
  polish exactly: from the lower end, repeat ``S = {p > alpha}``, ``alpha = (sum_S p - gamma) / k`` (the
  fixed point of Michelot's algorithm, here written as Newton steps, :func:`polish`) until ``S`` stops
  shrinking. From below every step stays below the root (a superset of the active set gives a smaller
  value), so the polish ends on the exact active set and returns the same formula as the sort. One
  temporary of the size of ``p``, no sorted copy;
* :func:`condat_threshold`: Condat's (2016) linear-time algorithm on one numpy vector, a sequential
  reference for the CPU (the thesis ran it in C).

:func:`mp_threshold` makes either torch solver differentiable with the sparsemax Jacobian: on the active set
``d alpha / d p_i = 1 / k`` (0 off it) and ``d alpha / d gamma = -1 / k``; the backward pass needs only ``S``,
recomputed from ``p`` and ``alpha``, not the sorted tensor.
"""
from __future__ import annotations

import numpy as np
import torch

SOLVERS = ("sort", "bisection")

#: Halvings before the polish: the bracket is then ``gamma * 2**-30`` wide, so the polish starts from the
#: exact active set but for the rare entries inside it, and ends in one or two passes.
BISECTION_STEPS = 30


def check_solver(solver: str) -> str:
    if solver not in SOLVERS:
        raise ValueError(f"unknown MP solver {solver!r}; choose one of {SOLVERS}")
    return solver


def _as_gamma(gamma, p: torch.Tensor) -> torch.Tensor:
    gamma = torch.as_tensor(gamma, dtype=p.dtype, device=p.device)
    if not bool((gamma > 0).all()):
        raise ValueError("the MP equation needs gamma > 0")
    return gamma


def excess(p: torch.Tensor, alpha: torch.Tensor, gamma) -> torch.Tensor:
    """``sum_i [p_i - alpha]_+ - gamma``: zero at the MP threshold, positive below it."""
    return (p - alpha.unsqueeze(-1)).clamp_min_(0).sum(-1) - gamma


# ---- sort + prefix sum -----------------------------------------------------------------------------------

def sorted_prefix(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """All of the sort solver that does not depend on ``gamma`` (a sweep over ``gamma`` sorts once): the
    prefix sums ``c_k`` of ``p`` sorted descending, and ``h_k = c_k - k s_k``.

    ``s_k > a_k = (c_k - gamma) / k`` is ``h_k < gamma``, and ``h`` never decreases
    (``h_{k+1} - h_k = k (s_k - s_{k+1})``), so ``k*`` is the number of ``h_k`` below ``gamma``: a binary search
    per row and ``gamma``, where the candidates ``a_k`` would cost a pass over all of ``p``.
    """
    s = torch.sort(p, dim=-1, descending=True).values
    prefix = s.cumsum(-1)
    k = torch.arange(1, p.shape[-1] + 1, dtype=p.dtype, device=p.device)
    return prefix, torch.sub(prefix, s.mul_(k), out=s)  # h overwrites the sorted copy


def threshold_from_sorted(prefix: torch.Tensor, h: torch.Tensor, gamma) -> torch.Tensor:
    """``alpha = (c_{k*} - gamma) / k*`` from :func:`sorted_prefix`'s output; ``gamma`` broadcasts against
    ``prefix.shape[:-1]``."""
    gamma = torch.as_tensor(gamma, dtype=h.dtype, device=h.device).expand(h.shape[:-1]).unsqueeze(-1)
    # h_1 = 0 < gamma, so k* >= 1
    k_star = torch.searchsorted(h.contiguous(), gamma.contiguous())
    return ((prefix.gather(-1, k_star - 1) - gamma) / k_star).squeeze(-1)


def threshold_sort(p: torch.Tensor, gamma) -> torch.Tensor:
    return threshold_from_sorted(*sorted_prefix(p), _as_gamma(gamma, p))


# ---- bisection + exact polish ----------------------------------------------------------------------------

def threshold_bisection(p: torch.Tensor, gamma, steps: int = BISECTION_STEPS) -> torch.Tensor:
    gamma = _as_gamma(gamma, p)
    high = p.amax(-1)
    low = high - gamma
    for _ in range(steps):
        middle = (low + high) / 2
        below_root = excess(p, middle, gamma) > 0
        low = torch.where(below_root, middle, low)
        high = torch.where(below_root, high, middle)
    return polish(p, low, gamma)


def polish(p: torch.Tensor, alpha: torch.Tensor, gamma) -> torch.Tensor:
    """The exact threshold, from any ``alpha`` at or below it: Newton's method on the excess, which is
    convex and falls with slope ``-k``, so every step lands at or below the root, on
    ``(sum_S p - gamma) / k`` of the current active set (Michelot's fixed point); it stops once the step
    leaves the active set unchanged."""
    size = None
    for _ in range(p.shape[-1]):
        above = (p - alpha.unsqueeze(-1)).clamp_min_(0)  # the one temporary of the size of p:
        total = above.sum(-1)
        new_size = above.sign_().sum(-1)  # counted in place (a boolean mask's sum would cast it to int64)
        del above  # and freed before the next step makes another
        if size is not None and torch.equal(new_size, size):
            break
        size = new_size
        alpha = alpha + (total - gamma) / size
    return alpha


# ---- differentiable front end ----------------------------------------------------------------------------

_FORWARD = {"sort": threshold_sort, "bisection": threshold_bisection}


class _Threshold(torch.autograd.Function):
    """``alpha(p, gamma)`` with the sparsemax Jacobian (see the module docstring)."""

    @staticmethod
    def forward(ctx, p, gamma, solver):
        alpha = _FORWARD[solver](p, gamma)
        ctx.save_for_backward(p, alpha)
        ctx.gamma_shape = gamma.shape
        return alpha

    @staticmethod
    def backward(ctx, grad_alpha):
        p, alpha = ctx.saved_tensors
        active = p > alpha.unsqueeze(-1)
        share = grad_alpha / active.sum(-1)
        grad_p = active * share.unsqueeze(-1) if ctx.needs_input_grad[0] else None
        grad_gamma = (-share).sum_to_size(ctx.gamma_shape) if ctx.needs_input_grad[1] else None
        return grad_p, grad_gamma, None


def mp_threshold(p: torch.Tensor, gamma, solver: str = "sort") -> torch.Tensor:
    """The MP threshold ``alpha`` along the last axis of ``p``, shape ``p.shape[:-1]``.

    ``gamma > 0``: a number or a tensor broadcasting against ``p.shape[:-1]``; ``solver``: ``'sort'`` or
    ``'bisection'`` (the same value up to rounding). Differentiable in ``p`` and ``gamma``.
    """
    return _Threshold.apply(p, _as_gamma(gamma, p), check_solver(solver))


# ---- Condat (2016), sequential numpy reference -----------------------------------------------------------

def condat_threshold(y: np.ndarray, gamma: float) -> float:
    """``alpha`` for one vector by Condat's algorithm (Math. Program. 158:575-585, 2016, Algorithm 1).

    One pass keeps a running candidate ``rho`` over a set ``v`` of entries that may be active, parking the
    entries it drops in ``v_tilde``; the parked entries above ``rho`` are taken back, then entries at or
    below ``rho`` are removed until ``v`` is stable. Expected linear time; a plain Python loop.
    """
    y = np.asarray(y, dtype=float).ravel()
    if gamma <= 0:
        raise ValueError("the MP equation needs gamma > 0")
    v, parked = [y[0]], []
    rho = y[0] - gamma
    for value in y[1:]:
        if value > rho:
            rho += (value - rho) / (len(v) + 1)
            if rho > value - gamma:
                v.append(value)
            else:
                parked.extend(v)
                v, rho = [value], value - gamma
    for value in parked:
        if value > rho:
            v.append(value)
            rho += (value - rho) / len(v)
    while True:
        size, kept = len(v), []
        for value in v:
            if value <= rho:  # drop it; rho moves up by its share, over the entries still in v
                size -= 1
                rho += (rho - value) / size
            else:
                kept.append(value)
        if len(kept) == len(v):
            break
        v = kept
    return float(rho)
