"""The n-LIF neuron as a perceptron (Kotak's thesis, ch. 5): the feature map, Algorithm 1, margins and bounds.

Read at time ``T``, the n-LIF neuron of :mod:`brainnets.nlif.neuron` is linear in its weights, ``V(T) = w·phi``, with the
feature map of Table 5.1

    phi_j = K (1 - exp(-(T - t_j)/tau)) H(T - t_j),

and it decides ``y_hat = sign(w·phi - V_th)``, ties to +1. An earlier spike gives a larger ``phi``, so with
``w > 0`` the early class is the ``+1`` class.

**Algorithm 1** (:func:`train`): start from ``w = 0``; in each epoch visit the samples in a fresh random order
drawn from ``seed`` (the thesis gives no order), or in the order given, and on every mistake
``w <- w + eta y phi``; stop after an epoch without mistakes or after ``max_epochs``. ``V_th`` is fixed, as in
the thesis, or learned (``learn_threshold=True``): the threshold becomes the weight of a constant input ``-c``,
so the perceptron is homogeneous in ``z = [phi, -c]`` (with ``c = max ||phi||`` by default, so that the
threshold moves at the pace of the weights). The plain perceptron on ``x`` is the same call on ``x``.

**The threshold of §5.2** (:func:`threshold_recipe`): for classes ``U[a1, b1]`` and ``U[a2, b2]`` and
``T - a1 << tau``, ``phi ~ (K/tau)(T - x)`` is uniform, and ``V_th`` at the midpoint of the two class means is
``(K/tau)(T - (a1 + b1 + a2 + b2)/4)``. The same linearisation says that gaps, hence margins, shrink by
about ``K/tau`` from ``x`` to ``phi``.

**Margins** (:func:`margins`): the functional margin ``min_i y_i (w·f_i - V_th)`` (the thesis' perceptron
margin) and the geometric one, that divided by ``||w||`` (the distance of the closest sample to the hyperplane:
the thesis' SVM margin). The SVM (:func:`svm`) is scikit-learn's linear ``SVC`` with a large ``C``, fitted
on centred features scaled to norm <= 1 (so that a tiny margin in phi space stays a hard one), its threshold
then put halfway between the classes: its functional margin is 1 and its geometric margin ``1/||w||``.

**Bounds.** With ``w = 0`` at the start and no threshold, the perceptron makes at most ``R^2/gamma^2`` mistakes
(Novikoff; thesis §5.3), ``R = max ||z||`` and ``gamma`` the best margin of a hyperplane through the origin
(:func:`mistake_bound`, on the homogeneous ``z = [f, -c]``, for which ``eta`` does not matter). The proof does
not cover a *fixed* ``V_th`` (summary §8.3): there ``eta`` matters, and large steps can jump over the narrow
set of good weights for ever. For any ``v`` with ``y (v·phi - V_th) >= gamma_v``, each mistake brings ``w``
closer to ``v``, ``||w' - v||^2 <= ||w - v||^2 - 2 eta gamma_v + eta^2 R^2``, so for ``eta < 2 gamma_v / R^2``
there are at most ``||v||^2 / (2 eta gamma_v - eta^2 R^2)`` mistakes (:func:`fixed_threshold_bound`, ``v``
the SVM's hyperplane rescaled to threshold ``V_th``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .neuron import response

#: Hard-margin stand-in: the SVM's C, on features scaled to norm <= 1.
SVM_C = 1e8


def features(times, T, K: float = 1.0, tau: float = 1.0) -> np.ndarray:
    """``phi`` (samples, d) of spike ``times`` (samples, d) read at ``T`` (a number or one per sample), Table 5.1."""
    times = np.atleast_2d(np.asarray(times, dtype=float))
    T = np.broadcast_to(np.asarray(T, dtype=float), (len(times),))
    return response(T[:, None] - times, K, tau)


def threshold_recipe(a1: float, b1: float, a2: float, b2: float, K: float, tau: float, T: float) -> float:
    """§5.2: ``V_th = (K/tau)(T - (a1 + b1 + a2 + b2)/4)``, the midpoint of the linearised class means."""
    return K / tau * (T - (a1 + b1 + a2 + b2) / 4)


def decide(potential, threshold: float = 0.0) -> np.ndarray:
    """``sign(V - V_th)`` with ties to +1."""
    return np.where(np.asarray(potential) - threshold >= 0, 1, -1)


def predict(f, w, threshold: float = 0.0) -> np.ndarray:
    """The decision of ``V(T) = w·f``."""
    return decide(np.asarray(f) @ np.asarray(w), threshold)


@dataclass
class Training:
    w: np.ndarray
    threshold: float
    eta: float
    epochs: int                      # passes made; the last one had no mistake if converged
    converged: bool
    mistakes_per_epoch: list[int] = field(default_factory=list)
    bias_input: float | None = None  # c of z = [f, -c] when the threshold was learned

    @property
    def mistakes(self) -> int:
        """M, the number of updates."""
        return int(sum(self.mistakes_per_epoch))


def _perceptron(z: np.ndarray, y: np.ndarray, eta: float, threshold: float, max_epochs: int,
                rng: np.random.Generator | None):
    """Algorithm 1 on the rows of ``z``, in an order drawn from ``rng`` each epoch (the given order without one):
    (weights, mistakes per epoch, converged)."""
    u = np.zeros(z.shape[1])
    counts = []
    for _ in range(max_epochs):
        errors = 0
        for i in (range(len(z)) if rng is None else rng.permutation(len(z))):
            if (z[i] @ u - threshold >= 0) != (y[i] > 0):  # decide()'s rule, inline: the hot loop
                u += eta * y[i] * z[i]
                errors += 1
        counts.append(errors)
        if errors == 0:
            return u, counts, True
    return u, counts, False


def augmented(f, bias_input: float) -> np.ndarray:
    """``z = [f, -c]``: a learned threshold is the weight of the constant input ``-c``."""
    f = np.atleast_2d(np.asarray(f, dtype=float))
    return np.hstack([f, np.full((len(f), 1), -bias_input)])


def default_bias_input(f) -> float:
    """``c = max ||f||``: the constant input on the scale of the features (1 if they are all 0)."""
    return float(np.linalg.norm(np.atleast_2d(f), axis=1).max()) or 1.0


def train(f, y, *, eta: float = 0.01, threshold: float = 0.0, learn_threshold: bool = False,
          bias_input: float | None = None, max_epochs: int = 1000, seed: int = 0, shuffle: bool = True) -> Training:
    """Algorithm 1 on features ``f`` (samples, d) and labels ``y`` in {-1, +1}: the fixed ``threshold``, or
    (``learn_threshold``) a threshold learned from 0 through the constant input ``-bias_input``. Each epoch visits
    the samples in an order drawn from ``seed``, or, without ``shuffle``, in the order given."""
    f = np.atleast_2d(np.asarray(f, dtype=float))
    y = np.asarray(y)
    if not np.isin(y, (-1, 1)).all():
        raise ValueError("labels must be -1 or +1")
    rng = np.random.default_rng(seed) if shuffle else None
    if not learn_threshold:
        w, counts, converged = _perceptron(f, y, eta, threshold, max_epochs, rng)
        return Training(w, float(threshold), eta, len(counts), converged, counts)
    c = default_bias_input(f) if bias_input is None else float(bias_input)
    u, counts, converged = _perceptron(augmented(f, c), y, eta, 0.0, max_epochs, rng)
    return Training(u[:-1], float(u[-1] * c), eta, len(counts), converged, counts, c)


@dataclass
class Margins:
    functional: float   # min_i y_i (w·f_i - V_th)
    geometric: float    # that over ||w||: the closest sample's distance to the hyperplane

    def as_dict(self) -> dict:
        return {"functional": self.functional, "geometric": self.geometric}


def margins(f, y, w, threshold: float = 0.0) -> Margins:
    """The margins of the hyperplane ``w·f = threshold`` on the samples ``f`` with labels ``y``."""
    functional = float(np.min(np.asarray(y) * (np.atleast_2d(f) @ np.asarray(w) - threshold)))
    norm = float(np.linalg.norm(w))
    return Margins(functional, functional / norm if norm else float("nan"))


def svm(f, y, C: float = SVM_C) -> tuple[np.ndarray, float]:
    """The maximum-margin hyperplane ``w·f = V_th`` in canonical form (functional margin 1): (w, V_th). Its
    direction is libsvm's (as exact as its tolerance); its threshold and scale are exact for that direction."""
    from sklearn.svm import SVC  # scikit-learn takes a second to import: only when an SVM is fitted

    f = np.atleast_2d(np.asarray(f, dtype=float))
    y = np.asarray(y)
    centre = f.mean(axis=0)
    scale = default_bias_input(f - centre)
    u = SVC(kernel="linear", C=C, tol=1e-9).fit((f - centre) / scale, y).coef_[0]
    # libsvm's intercept is only as good as its tolerance: put the threshold halfway between the classes
    # along its direction u, and scale u so that the closest samples of each class lie at +-1
    projection = f @ u
    high, low = projection[y > 0].min(), projection[y < 0].max()
    if high <= low:
        raise ValueError("the classes are not linearly separable")
    return 2 * u / (high - low), float((high + low) / (high - low))


def homogeneous_margin(z, y, C: float = SVM_C) -> float:
    """The largest margin of a hyperplane through the origin, ``max_{||u|| = 1} min_i y_i u·z_i``: the SVM of
    the points ``y_i z_i`` (label +1) and their mirror images ``-y_i z_i`` (label -1), whose optimum is symmetric,
    so has no intercept."""
    signed = np.asarray(y)[:, None] * np.atleast_2d(z)
    w, _ = svm(np.vstack([signed, -signed]), np.repeat([1, -1], len(signed)), C)
    return float(np.min(signed @ w) / np.linalg.norm(w))


@dataclass
class MistakeBound:
    R: float
    gamma: float
    bound: float        # R^2 / gamma^2

    def as_dict(self) -> dict:
        return {"R": self.R, "gamma": self.gamma, "bound": self.bound}


def mistake_bound(f, y, bias_input: float | None = None) -> MistakeBound:
    """Novikoff's bound for the homogeneous perceptron on ``z = [f, -c]`` (the learned-threshold variant)."""
    c = default_bias_input(f) if bias_input is None else float(bias_input)
    z = augmented(f, c)
    R = float(np.linalg.norm(z, axis=1).max())
    gamma = homogeneous_margin(z, y)
    return MistakeBound(R, gamma, R ** 2 / gamma ** 2 if gamma > 0 else float("inf"))


@dataclass
class FixedThresholdBound:
    R: float
    gamma_v: float           # min_i y_i (v·phi_i - V_th) of the reference weights v
    v_norm: float
    eta_max: float           # 2 gamma_v / R^2: the bound holds below it
    eta: float
    bound: float | None      # ||v||^2 / (2 eta gamma_v - eta^2 R^2), None for eta >= eta_max

    def as_dict(self) -> dict:
        return {"R": self.R, "gamma_v": self.gamma_v, "v_norm": self.v_norm, "eta_max": self.eta_max,
                "eta": self.eta, "bound": self.bound}


def fixed_threshold_bound(f, y, threshold: float, eta: float) -> FixedThresholdBound | None:
    """The §8.3 bound on Algorithm 1's mistakes from ``w = 0`` with the fixed ``threshold``; ``v`` is the SVM's
    hyperplane ``w_s·f = t_s`` rescaled to ``(threshold / t_s) w_s``. None when that has the wrong sign (the
    SVM's threshold and ``threshold`` differ in sign, or one is 0): no such ``v`` then."""
    w_s, t_s = svm(f, y)
    if threshold * t_s <= 0:
        return None
    v = threshold / t_s * w_s
    gamma_v = margins(f, y, v, threshold).functional
    R = float(np.linalg.norm(np.atleast_2d(f), axis=1).max())
    eta_max = 2 * gamma_v / R ** 2
    bound = float(v @ v / (2 * eta * gamma_v - eta ** 2 * R ** 2)) if 0 < eta < eta_max else None
    return FixedThresholdBound(R, gamma_v, float(np.linalg.norm(v)), eta_max, eta, bound)
