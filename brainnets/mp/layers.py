"""MP linear layers and the networks built from them (Kotak, sec. 2.3 and 3.2).

A layer computes, for every sample and output neuron, two ``2D``-vectors ``u`` and ``v`` from its input ``x``
and the neuron's weights ``w`` (``D`` inputs), and outputs the scaled difference of their MP thresholds. Two
constructions:

* ``'zpm'``, the thesis' pseudocode of sec. 2.3 (the differential form of Nair et al. and TEMP)::

      x+ = a + x,  x- = a - x,  w+ = ReLU(w),  w- = ReLU(-w)
      u = z+ = [x+ + w+, x- + w-],   v = z- = [x+ + w-, x- + w+]
      y = gamma D (alpha(z+) - alpha(z-))

  In the exponential domain ``e^{z+} - e^{z-}`` sums ``(e^{x+} - e^{x-})(e^{w+} - e^{w-})``, so to first order
  ``gamma (LSE(z+) - LSE(z-)) = 2 e^{a/gamma} w^T x / (gamma S)`` with ``S ~ 2D e^{a/gamma}``: the factor
  ``gamma D`` makes ``y ~ w^T x`` (our derivation; the thesis writes no output, TEMP uses the unscaled
  difference: ``scaled=False``). The offset ``a`` cancels exactly (``alpha(z + a) = alpha(z) + a``); it only
  keeps spike times positive in hardware;
* ``'pq'``, the analysis form of sec. 2.1: ``u = p = [w + x; -w - x]``, ``v = q = [w - x; -w + x]``,
  ``y = 1/2 gamma D (alpha(p) - alpha(q))`` (Eq. 2.8).

**Bias** (the thesis is silent, Kotak notes sec. 11.1 item 2): ``'input'`` (default) appends a constant 1 to
``x`` and ``b`` to ``w``, so the bias goes through MP like any weight (``D`` counts it); ``'output'`` adds
``b`` after MP.

**gamma** is absolute (the thesis sweeps it) or relative, ``gamma = rho s`` per sample and neuron, with
``s = (||u - a||_1 + ||v - a||_1) / 2`` the mean L1 norm of the pair (``a = 0`` for ``'pq'``; for ``'pq'``
``||p||_1 = ||q||_1`` would need ``w = 0``, so both count). By the scaling law ``alpha(c p, c gamma) = c alpha``
a relative ``gamma`` makes the layer's error scale-free (notes sec. 2.4).

**Rescale**: MP approximates ``w^T x`` only up to a factor ``c(gamma)`` far from 1 (notes sec. 2.4), so a
layer carries a scalar ``rescale`` (1 by default) that multiplies its output; :func:`calibrate` sets it per
layer by least squares against the linear layer on a batch (notes sec. 11.1 item 3).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .solvers import check_solver, mp_threshold, sorted_prefix, threshold_from_sorted

FORMS = ("zpm", "pq")
BIASES = ("input", "output", "none")


@dataclass(frozen=True)
class Gamma:
    """An absolute ``gamma`` (``relative=False``) or a ratio ``rho`` to the pair's L1 norm, and a rescale."""

    value: float
    relative: bool = False
    rescale: float = 1.0

    def __post_init__(self):
        if not self.value > 0:
            raise ValueError(f"gamma (or rho) must be positive, got {self.value}")

    def label(self) -> str:
        return f"{'rho' if self.relative else 'gamma'}={self.value:.3g}"


class MPLinear(nn.Module):
    """An MP layer of ``in_features -> out_features`` (see the module docstring for ``form``, ``bias``,
    ``gamma``); ``solver``: ``'sort'`` or ``'bisection'``."""

    def __init__(self, in_features: int, out_features: int, gamma: Gamma, *, form: str = "zpm",
                 bias: str = "input", offset: float = 0.0, solver: str = "sort", scaled: bool = True,
                 dtype: torch.dtype = torch.float32):
        super().__init__()
        if form not in FORMS or bias not in BIASES:
            raise ValueError(f"form must be one of {FORMS} and bias one of {BIASES}, got {form!r}, {bias!r}")
        self.form, self.bias_mode, self.offset, self.scaled = form, bias, float(offset), scaled
        self.solver, self.gamma = check_solver(solver), gamma
        self.weight = nn.Parameter(torch.empty(out_features, in_features, dtype=dtype))
        self.bias = nn.Parameter(torch.zeros(out_features, dtype=dtype)) if bias != "none" else None
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)

    @classmethod
    def from_linear(cls, linear: nn.Linear, gamma: Gamma, **options) -> "MPLinear":
        """An MP layer holding a copy of ``linear``'s weights and bias."""
        layer = cls(linear.in_features, linear.out_features, gamma, dtype=linear.weight.dtype,
                    bias=options.pop("bias", "input" if linear.bias is not None else "none"), **options)
        with torch.no_grad():
            layer.weight.copy_(linear.weight)
            if layer.bias is not None:
                layer.bias.copy_(linear.bias)
        return layer

    # ---- the two 2D-vectors ------------------------------------------------------------------------------

    def _operands(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(batch, 1, D)`` inputs and ``(out, D)`` weights, the bias appended when it goes through MP."""
        w = self.weight
        if self.bias_mode == "input":
            x = torch.cat([x, x.new_ones(*x.shape[:-1], 1)], -1)
            w = torch.cat([w, self.bias.unsqueeze(-1)], -1)
        return x.unsqueeze(-2), w

    def branch(self, x: torch.Tensor, sign: int) -> torch.Tensor:
        """``u`` (``sign = +1``) or ``v`` (``-1``), shape ``(batch, out, 2D)``."""
        x, w = self._operands(x)
        if self.form == "pq":
            first = w + sign * x
            return torch.cat([first, -first], -1)
        x_plus, x_minus = self.offset + x, self.offset - x
        w_plus, w_minus = F.relu(w), F.relu(-w)
        if sign < 0:
            w_plus, w_minus = w_minus, w_plus
        return torch.cat([x_plus + w_plus, x_minus + w_minus], -1)

    def norm(self, x: torch.Tensor) -> torch.Tensor:
        """``s = (||u - a||_1 + ||v - a||_1) / 2``, shape ``(batch, out)``: what ``rho`` is relative to."""
        return sum((self.branch(x, sign) - self.offset).abs().sum(-1) for sign in (1, -1)) / 2

    def gamma_tensor(self, setting: Gamma, norm: torch.Tensor | None) -> torch.Tensor:
        """``gamma`` per sample and neuron (relative) or one number; ``norm``: :meth:`norm`, if relative."""
        if setting.relative:
            return setting.value * norm
        return torch.as_tensor(setting.value, dtype=self.weight.dtype)

    # ---- output ------------------------------------------------------------------------------------------

    @property
    def length(self) -> int:
        """``D``, the inputs an output neuron sums (the bias among them when it goes through MP)."""
        return self.weight.shape[1] + (self.bias_mode == "input")

    def _output(self, alpha_u: torch.Tensor, alpha_v: torch.Tensor, gamma: torch.Tensor,
                setting: Gamma) -> torch.Tensor:
        """``scale (alpha_u - alpha_v)``, rescaled, plus an output bias."""
        difference = alpha_u - alpha_v
        if self.scaled:
            difference = difference * gamma * self.length * (0.5 if self.form == "pq" else 1.0)
        y = setting.rescale * difference
        return y + self.bias if self.bias_mode == "output" else y

    def forward(self, x: torch.Tensor, gamma: Gamma | None = None) -> torch.Tensor:
        """The layer's output for ``x`` of shape ``(batch, in_features)``, at ``gamma`` (default: the layer's);
        the two vectors are built and solved one after the other, so only one lives at a time."""
        setting = gamma or self.gamma
        g = self.gamma_tensor(setting, self.norm(x) if setting.relative else None)
        alphas = []
        for sign in (1, -1):
            u = self.branch(x, sign)
            alphas.append(mp_threshold(u, g, self.solver))
            del u
        return self._output(*alphas, g, setting)

    @torch.no_grad()
    def sweep(self, x: torch.Tensor, settings: list[Gamma]) -> list[torch.Tensor]:
        """The outputs at every setting, each vector sorted once for all of them (the sort solver's work
        that does not depend on ``gamma``)."""
        prepared = [sorted_prefix(self.branch(x, sign)) for sign in (1, -1)]
        norm = self.norm(x) if any(s.relative for s in settings) else None
        outputs = []
        for setting in settings:
            g = self.gamma_tensor(setting, norm)
            outputs.append(self._output(*(threshold_from_sorted(*pair, g) for pair in prepared), g, setting))
        return outputs

    def linear(self, x: torch.Tensor) -> torch.Tensor:
        """``W x + b``: what the layer approximates."""
        return F.linear(x, self.weight, self.bias)


class MPNetwork(nn.Module):
    """MP layers with ReLU between them (none after the last): the image of a ReLU MLP."""

    def __init__(self, layers: list[MPLinear]):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor, settings: list[Gamma] | None = None) -> torch.Tensor:
        return self.activations(x, settings)[-1]

    def activations(self, x: torch.Tensor, settings: list[Gamma] | None = None) -> list[torch.Tensor]:
        """Every layer's output (the hidden ones after their ReLU) at per-layer ``settings``."""
        settings = settings or [layer.gamma for layer in self.layers]
        return self._continue(self._relu(0, self.layers[0](x, settings[0])), settings)

    @torch.no_grad()
    def sweep(self, x: torch.Tensor, settings_list: list[list[Gamma]]) -> list[list[torch.Tensor]]:
        """:meth:`activations` at each of the per-layer ``settings_list``; the first layer (the widest
        input) sorts its vectors once for all of them (:meth:`MPLinear.sweep`)."""
        first = self.layers[0].sweep(x, [settings[0] for settings in settings_list])
        return [self._continue(self._relu(0, y), settings) for y, settings in zip(first, settings_list)]

    def _relu(self, n: int, y: torch.Tensor) -> torch.Tensor:
        return F.relu(y) if n < len(self.layers) - 1 else y

    def _continue(self, h: torch.Tensor, settings: list[Gamma]) -> list[torch.Tensor]:
        """The outputs from the second layer on, given the first layer's ``h``."""
        outputs = [h]
        for n in range(1, len(self.layers)):
            h = self._relu(n, self.layers[n](h, settings[n]))
            outputs.append(h)
        return outputs


def port(mlp: nn.Module, gamma: Gamma, **options) -> MPNetwork:
    """The MP image of a ReLU MLP: its ``nn.Linear`` layers, in order, as :class:`MPLinear` at ``gamma``
    (dropout, flattening and the ReLUs between them are the network's own)."""
    linears = [module for module in mlp.modules() if isinstance(module, nn.Linear)]
    if not linears:
        raise ValueError("the model has no nn.Linear layer to port")
    return MPNetwork([MPLinear.from_linear(linear, gamma, **options) for linear in linears])


@torch.no_grad()
def calibrate(network: MPNetwork, x: torch.Tensor, settings_list: list[list[Gamma]]) -> list[list[Gamma]]:
    """Each of ``settings_list`` with every layer's least-squares ``rescale``, fitted layer by layer on the
    batch ``x``: the ``c`` minimizing ``||c y_MP - (W h + b)||^2``, where ``h`` is the MP network's own
    (already rescaled) input to the layer, so each layer corrects what the layers before it left. The
    first layer is solved once for every setting (:meth:`MPLinear.sweep`)."""
    plain = [[Gamma(s.value, s.relative) for s in settings] for settings in settings_list]
    first = network.layers[0]
    target = first.linear(x)
    calibrated = []
    for settings, y in zip(plain, first.sweep(x, [s[0] for s in plain])):
        fitted, h = [], x
        for n, (layer, setting) in enumerate(zip(network.layers, settings)):
            if n > 0:
                y, target_n = layer(h, setting), layer.linear(h)
            else:
                target_n = target
            c = _least_squares(layer, y, target_n)
            fitted.append(Gamma(setting.value, setting.relative, c))
            h = network._relu(n, c * y if layer.bias_mode != "output" else c * (y - layer.bias) + layer.bias)
        calibrated.append(fitted)
    return calibrated


def _least_squares(layer: MPLinear, y: torch.Tensor, target: torch.Tensor) -> float:
    if layer.bias_mode == "output":  # the bias is exact there: fit only the MP part
        y, target = y - layer.bias, target - layer.bias
    return float((y * target).sum() / (y * y).sum().clamp_min(torch.finfo(y.dtype).tiny))
