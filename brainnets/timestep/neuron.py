"""Discrete-time IF/LIF layers unrolled over T steps, and the integrating output layer.

One step of a hidden layer, with ``I^t`` the synaptic input (``W o_{l-1}^t``, or the analog image for a first
layer under direct coding):

* soft (subtractive) reset, Rathi 2021 Eqs. 4.2-4.3 (STDB) and 5.9-5.10 (DIET-SNN)::

      u^t = λ u^{t-1} + I^t - v o^{t-1},      o^t = Θ(u^t - v);

* hard reset, Jiang & Zhang Eqs. 1-3, with ``H`` the potential before the spike decision and ``V`` after it::

      H^t = λ V^{t-1} + I^t,   o^t = Θ(H^t - v),   V^t = H^t (1 - o^t) + V_reset o^t.

Both keep the potential before the reset as the layer's state ``u`` and apply the previous step's reset when
the next step begins; they differ in whether the reset is leaked: the soft reset subtracts ``v`` after the
leak (Eq. 4.2 writes ``λ u^{t-1} - v o^{t-1}``), the hard reset's ``V_reset`` is leaked with the rest of ``V``.
The comparison is strict in all three sources. λ = 1 is the IF neuron. The threshold ``v`` and the leak λ are
one number per layer (Rathi Sec 5.3.4: per-neuron values gave no gain), each fixed or a trainable
:class:`torch.nn.Parameter`.

The spike indicator in the reset is a constant to the backward pass, as DIET-SNN's Eq. 5.15 treats
``o^{t-1}`` and as snnTorch does; Jiang is silent, and the hard reset follows the same rule. The threshold
the soft reset subtracts is not a constant: a trainable ``v`` receives ``-o^{t-1}`` through it, the
``-v o^{t-1}`` part of Eq. 5.15.

Which is ours and which is snnTorch's:

* :class:`LIF` is ours, and serves all three methods. STDB's surrogate needs each neuron's last spike time
  (Eq. 4.11) and DIET-SNN's is a function of ``u/v - 1`` (Eq. 5.12); snnTorch's neurons hand their surrogates
  ``u - v`` only. snnTorch also clamps a trainable leak to [0, 1], which would stop DIET's leak gradient there,
  and has no reset value other than zero. Jiang's stage 3 replaces the carried potential by a normalised one
  (Eqs. 7-10): :meth:`LIF.forward` takes that as a ``memory`` hook.
* :class:`LeakyLIF` runs snnTorch's ``snn.Leaky`` (``reset_delay`` on, so the reset of step t-1 acts at step t,
  as above). Its equations are exactly the soft reset above, and the hard reset with ``V_reset = 0``: Jiang's
  neuron as his direct T = 10 baseline trains it, with snnTorch's ``atan`` surrogate. The tests check it
  against :class:`LIF` and a numpy loop.
* :class:`Integrator` is ours: Eqs. 4.4 and 5.3, ``u^t = λ u^{t-1} + I^t`` with λ = 1 and no spikes; its
  final potential is the logits.

Tensors are time-major, ``(T, batch, ...)``; one call unrolls all T steps of one layer. Layers of a feedforward
net can be run one after the other this way: layer l+1 at step t sees layer l's spikes of the same step, as
all three sources propagate.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from . import surrogate as surrogates

RESETS = ("subtract", "hard")


def _scalar(value: float, trainable: bool, module: nn.Module, name: str, dtype: torch.dtype | None) -> None:
    """One number per layer, as a Parameter when trained and as a buffer (saved with the module) otherwise."""
    tensor = torch.as_tensor(float(value), dtype=dtype or torch.get_default_dtype())
    if trainable:
        module.register_parameter(name, nn.Parameter(tensor))
    else:
        module.register_buffer(name, tensor)


class LIF(nn.Module):
    """A layer of IF/LIF neurons with one threshold and one leak, soft or hard reset, and a pluggable surrogate
    (:mod:`brainnets.timestep.surrogate`).

    ``never_spiked`` is the last-spike time a neuron starts with (Rathi's Algorithm 2: -1000, so that STDB's
    surrogate is nearly zero before the first spike); steps are numbered from 1 as in Algorithm 3. ``dtype``
    (torch's default unless given) holds the threshold and leak: give float64 for float64 runs, since a
    constant rounded to float32 stays rounded after ``.double()``."""

    def __init__(self, surrogate, threshold: float = 1.0, leak: float = 1.0, reset: str = "subtract",
                 v_reset: float = 0.0, learn_threshold: bool = False, learn_leak: bool = False,
                 never_spiked: float = -1000.0, dtype: torch.dtype | None = None):
        super().__init__()
        if reset not in RESETS:
            raise ValueError(f"unknown reset {reset!r}: expected one of {', '.join(RESETS)}")
        self.surrogate, self.reset, self.v_reset, self.never_spiked = surrogate, reset, float(v_reset), never_spiked
        _scalar(threshold, learn_threshold, self, "threshold", dtype)
        _scalar(leak, learn_leak, self, "leak", dtype)

    def forward(self, current: torch.Tensor, memory: Callable[[torch.Tensor, int], torch.Tensor] | None = None,
                return_potential: bool = False):
        """Spikes ``(T, ...)`` of the input ``current`` ``(T, ...)``; with ``return_potential`` also the
        potentials ``u^t`` before the reset.

        ``memory(carried, t)`` (optional) replaces the potential a step carries over, ``λ u^{t-1} - v o^{t-1}``
        (soft) or ``λ V^{t-1}`` (hard), by what it returns; ``t`` counts from 1."""
        threshold, leak = self.threshold, self.leak
        u = torch.zeros_like(current[0])
        fired = torch.zeros_like(u)
        last = torch.full_like(u, self.never_spiked) if self.surrogate.needs_last_spike else None
        spikes, potentials = [], []
        for step in range(1, len(current) + 1):
            if self.reset == "subtract":
                carried = leak * u - threshold * fired
            else:
                carried = leak * (u * (1 - fired) + self.v_reset * fired)
            if memory is not None:
                carried = memory(carried, step)
            u = carried + current[step - 1]
            since = None if last is None else step - last
            o = self.surrogate(u, threshold, since)
            fired = o.detach()
            if last is not None:
                last = torch.where(fired > 0, float(step), last)
            spikes.append(o)
            potentials.append(u)
        spikes = torch.stack(spikes)
        return (spikes, torch.stack(potentials)) if return_potential else spikes

    def extra_repr(self) -> str:
        return (f"surrogate={self.surrogate!r}, reset={self.reset!r}, threshold={float(self.threshold):g}, "
                f"leak={float(self.leak):g}")


class LeakyLIF(nn.Module):
    """The same layer on snnTorch's ``snn.Leaky``, for the cases it expresses exactly: soft reset, or hard reset
    to zero (snnTorch's "zero"), with an snnTorch surrogate of ``u - v`` (``spike_grad``, e.g.
    ``surrogate.atan(alpha=3)``).

    snnTorch clamps the leak to [0, 1] in the update, so a trainable leak gets no gradient outside it."""

    def __init__(self, spike_grad, threshold: float = 1.0, leak: float = 1.0, reset: str = "subtract",
                 learn_threshold: bool = False, learn_leak: bool = False):
        super().__init__()
        import snntorch

        if reset not in RESETS:
            raise ValueError(f"unknown reset {reset!r}: expected one of {', '.join(RESETS)}")
        self.reset = reset
        mechanism = {"subtract": "subtract", "hard": "zero"}[reset]
        self.leaky = snntorch.Leaky(beta=float(leak), threshold=float(threshold), spike_grad=spike_grad,
                                    reset_mechanism=mechanism, learn_beta=learn_leak, learn_threshold=learn_threshold,
                                    reset_delay=True)

    @property
    def threshold(self) -> torch.Tensor:
        return self.leaky.threshold

    @property
    def leak(self) -> torch.Tensor:
        return self.leaky.beta

    def forward(self, current: torch.Tensor, return_potential: bool = False):
        """As :meth:`LIF.forward` (without the ``memory`` hook)."""
        mem = torch.zeros_like(current[0])
        spikes, potentials = [], []
        for step_current in current:
            spike, mem = self.leaky(step_current, mem)
            # snnTorch's surrogates return float32 whatever the input's dtype
            spikes.append(spike.to(current.dtype))
            potentials.append(mem)
        spikes = torch.stack(spikes)
        return (spikes, torch.stack(potentials)) if return_potential else spikes


class Integrator(nn.Module):
    """The output layer of Rathi's Eqs. 4.4 and 5.3: it integrates its input and never spikes,
    ``u^t = λ u^{t-1} + I^t`` with λ = 1 in both (Algorithm 3 writes λ there too: ``leak`` allows it)."""

    def __init__(self, leak: float = 1.0):
        super().__init__()
        self.leak = float(leak)

    def forward(self, current: torch.Tensor) -> torch.Tensor:
        """The potentials ``u^t`` ``(T, ...)``; ``[-1]`` is ``u^T``, the logits of Eq. 4.6."""
        if self.leak == 1.0:
            return torch.cumsum(current, dim=0)
        u, potentials = torch.zeros_like(current[0]), []
        for step_current in current:
            u = self.leak * u + step_current
            potentials.append(u)
        return torch.stack(potentials)

    def extra_repr(self) -> str:
        return f"leak={self.leak:g}"


def lif_factory(document: dict, thresholds: Sequence[float] | None = None, dtype: torch.dtype | None = None,
                snntorch: bool = False) -> Callable[[int], nn.Module]:
    """``neuron(index)`` for :class:`~brainnets.timestep.network.TimestepNet` from a model file's ``[neuron]`` and
    ``[surrogate]`` tables (:func:`brainnets.config.read_toml`); ``thresholds`` per spiking layer (those of a
    conversion) override the table's one threshold. ``snntorch`` builds :class:`LeakyLIF` layers instead, for
    the models it expresses exactly (the arctan surrogate, no reset value other than 0)."""
    table = dict(document["neuron"])
    spec = dict(document["surrogate"])
    kind = spec.pop("kind")
    keys = ("threshold", "leak", "reset", "v_reset", "learn_threshold", "learn_leak", "never_spiked")
    settings = {key: table[key] for key in keys if key in table}
    if snntorch:
        if kind != "arctan" or settings.pop("v_reset", 0.0) != 0.0:
            raise ValueError("snnTorch's Leaky expresses only the arctan surrogate and a reset to 0 exactly")
        settings.pop("never_spiked", None)

    def make(index: int) -> nn.Module:
        layer_settings = dict(settings)
        if thresholds is not None:
            layer_settings["threshold"] = thresholds[index]
        if snntorch:
            return LeakyLIF(surrogates.make(kind, **spec).snntorch, **layer_settings)
        return LIF(surrogates.make(kind, **spec), **layer_settings, dtype=dtype)

    return make
