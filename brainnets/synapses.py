"""Plastic input synapses: the learning rules as Brian2 code, each with its numpy twin (``replay``).

Every rule is applied to ``Synapses(source, target)`` whose postsynaptic group has the conductance ``ge``
and the shared switch ``learning`` (1 while training, 0 while testing). A rule says which of its
synaptic variables are state that a simulation carried across runs must keep (``state_variables``),
and which of those are absolute times (``time_stamps``), which move when the clock restarts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from brian2 import Quantity, TimedArray, ms

from .config import choice, quantity


@dataclass(frozen=True)
class PowerLawSTDP:
    """Power-law weight-dependent STDP (Rathi 2021, Eq. 2.1/3.3; Diehl & Cook 2015, Eq. 4).

    At every postsynaptic spike, with x_pre the presynaptic trace (arrival times, delays included):

        dw = eta * (x_pre - offset) * (w_max - w)**mu,   w clipped to [0, w_max]
        tau dx_pre/dt = -x_pre;   at each presynaptic spike x_pre = 1 ("nearest") or x_pre += 1 ("all_to_all")

    With ``pairing="nearest"`` x_pre = exp((t_pre - t_post)/tau) for the nearest pre spike, which is
    Rathi's Eq. 3.3 as written. With ``"all_to_all"`` the trace sums over all earlier pre spikes, as
    Diehl & Cook define x_pre for this rule ("increased by 1" at every presynaptic spike).
    A synapse whose input never fired only depresses (x_pre = 0). Diehl & Cook's normalization can
    lift a weight above w_max, where (w_max - w)**mu is undefined; such a weight is treated as
    saturated (factor 0) and clipped back to w_max at its next update.
    """

    eta: float = quantity(nonnegative=True, usual=(0, 0.1))
    tau: Quantity = quantity(ms, positive=True, usual=(1, 1000))
    offset: float = quantity(nonnegative=True)
    w_max: float = quantity(positive=True)
    mu: float = quantity(nonnegative=True)
    pairing: str = choice("nearest", "all_to_all")

    # The trace is kept as its value just after the last presynaptic arrival, ``xpre`` at ``t_arrival``, and read
    # decayed, ``xpre * exp(-(t - t_arrival) / tau)``, the factor looked up in a table on the dt grid (``trace_decay``):
    # Brian2's event-driven form computes that exp() at every arrival at every synapse, a fifth of a training step.
    model: ClassVar[str] = """
    w : 1
    xpre : 1           # the presynaptic trace just after the last presynaptic arrival
    t_arrival : second     # when that arrival was
    """
    on_post: ClassVar[str] = ("w = clip(w + learning_post * eta * (xpre * trace_decay(t - t_arrival) - offset)"
                              " * clip(w_max - w, 0, w_max)**mu, 0, w_max)")
    state_variables: ClassVar[tuple[str, ...]] = ("w", "xpre", "t_arrival")
    time_stamps: ClassVar[tuple[str, ...]] = ("t_arrival",)

    @property
    def on_pre(self) -> str:
        return self.pre_spike("w")

    def pre_spike(self, conductance: str) -> str:
        """The code run at a presynaptic spike, adding ``conductance`` (an expression) to ``ge_post``."""
        trace = "1" if self.pairing == "nearest" else "xpre * trace_decay(t - t_arrival) + 1"
        return f"ge_post += {conductance}\nxpre = {trace}\nt_arrival = t"

    def namespace(self, dt: Quantity) -> dict:
        """The constants of the Brian2 code, for a network of time step ``dt``."""
        return {"eta": self.eta, "tau": self.tau, "offset": self.offset, "w_max": self.w_max,
                "mu": self.mu, "trace_decay": decay_table(self.tau, dt)}

    def initial_state(self, n_synapses: int) -> dict[str, np.ndarray]:
        return {}

    def delta_w(self, delta_t, w):
        """Numpy twin of :attr:`on_post` for one pairing: the weight change at a post spike
        ``delta_t = t_post - t_arrival`` seconds after a single pre spike (``np.inf``: no pre spike), from weight
        ``w``, before clipping."""
        return self._change(np.exp(-np.asarray(delta_t, dtype=float) / float(self.tau)), w)

    def _change(self, trace, w):
        return self.eta * (trace - self.offset) * np.clip(self.w_max - np.asarray(w), 0, None) ** self.mu

    def replay(self, pre_times, post_times, w0: float) -> float:
        """Numpy twin of the rule's Brian2 synapse (:attr:`model`, :attr:`on_pre`, :attr:`on_post`): the weight
        after one synapse sees these pre and post spike times (seconds)."""
        w, earlier_pre = w0, []
        for t, is_post in _merged_events(pre_times, post_times):
            if not is_post:
                earlier_pre = [t] if self.pairing == "nearest" else earlier_pre + [t]
                continue
            trace = np.sum(np.exp(-(t - np.asarray(earlier_pre)) / float(self.tau)))
            w = float(np.clip(w + self._change(trace, w), 0, self.w_max))
        return w


@dataclass(frozen=True)
class DiehlCookTraceSTDP:
    """The nearest-spike, triplet-like rule that Diehl & Cook's released code runs (lines 331-338).

    Traces are set to 1 at spikes and decay exponentially: ``apre`` (D&C's ``pre``) and ``apost1``,
    ``apost2`` (their ``post1``, ``post2``; ``pre`` itself is a reserved name in Brian2 synapses). At a
    pre spike ``w -= nu_pre * apost1``; at a post spike ``w += nu_post * apre * apost2`` (apost2 read
    before it is set), w clipped to [0, w_max].
    """

    nu_pre: float = quantity(nonnegative=True)
    nu_post: float = quantity(nonnegative=True)
    tau_pre: Quantity = quantity(ms, positive=True)
    tau_post1: Quantity = quantity(ms, positive=True)
    tau_post2: Quantity = quantity(ms, positive=True)
    w_max: float = quantity(positive=True)

    model: ClassVar[str] = """
    w : 1
    dapre/dt = -apre / tau_pre : 1 (event-driven)
    dapost1/dt = -apost1 / tau_post1 : 1 (event-driven)
    dapost2/dt = -apost2 / tau_post2 : 1 (event-driven)
    """
    on_pre: ClassVar[str] = """
    ge_post += w
    apre = 1
    w = clip(w - learning_post * nu_pre * apost1, 0, w_max)
    """
    on_post: ClassVar[str] = """
    w = clip(w + learning_post * nu_post * apre * apost2, 0, w_max)
    apost1 = 1
    apost2 = 1
    """
    state_variables: ClassVar[tuple[str, ...]] = ("w", "apre", "apost1", "apost2", "lastupdate")
    time_stamps: ClassVar[tuple[str, ...]] = ("lastupdate",)

    def namespace(self, dt: Quantity) -> dict:
        """The constants of the Brian2 code (``dt`` is not needed: Brian2 updates these traces itself)."""
        return {"nu_pre": self.nu_pre, "nu_post": self.nu_post, "tau_pre": self.tau_pre,
                "tau_post1": self.tau_post1, "tau_post2": self.tau_post2, "w_max": self.w_max}

    def initial_state(self, n_synapses: int) -> dict[str, np.ndarray]:
        return {}

    def replay(self, pre_times, post_times, w0: float) -> float:
        """Numpy twin of the rule's Brian2 synapse (:attr:`model`, :attr:`on_pre`, :attr:`on_post`): the weight
        after one synapse sees these pre and post spike times (seconds)."""
        w = w0
        last_arrival = last_post = -np.inf
        for t, is_post in _merged_events(pre_times, post_times):
            if is_post:
                pre = np.exp(-(t - last_arrival) / float(self.tau_pre))
                post2 = np.exp(-(t - last_post) / float(self.tau_post2))
                w = float(np.clip(w + self.nu_post * pre * post2, 0, self.w_max))
                last_post = t
            else:
                post1 = np.exp(-(t - last_post) / float(self.tau_post1))
                w = float(np.clip(w - self.nu_pre * post1, 0, self.w_max))
                last_arrival = t
        return w


@dataclass(frozen=True)
class FixedWeights:
    """Synapses that never learn: each presynaptic spike adds ``pre_spike``'s conductance, nothing else."""

    model: ClassVar[str] = "w : 1"
    on_post: ClassVar[None] = None
    state_variables: ClassVar[tuple[str, ...]] = ("w",)
    time_stamps: ClassVar[tuple[str, ...]] = ()

    @property
    def on_pre(self) -> str:
        return self.pre_spike("w")

    def pre_spike(self, conductance: str) -> str:
        return f"ge_post += {conductance}"

    def namespace(self, dt: Quantity) -> dict:
        return {}

    def initial_state(self, n_synapses: int) -> dict[str, np.ndarray]:
        return {}


def decay_table(tau: Quantity, dt: Quantity, smallest: float = 1e-17) -> TimedArray:
    """``exp(-s / tau)`` for the elapsed times ``s = 0, dt, 2 dt, ...``, as a :class:`~brian2.TimedArray` of the
    elapsed time, down to ``smallest`` and 0 from there on (a TimedArray holds its last value)."""
    steps = int(np.ceil(np.log(1 / smallest) * float(tau / dt)))
    return TimedArray(np.append(np.exp(-np.arange(steps) * float(dt / tau)), 0.0), dt=dt)


STDP_RULES = {"power_law": PowerLawSTDP, "diehl_cook_trace": DiehlCookTraceSTDP}


def _merged_events(pre_times, post_times):
    """Pre and post spikes in time order; at equal times Brian2 runs the pre pathway first."""
    events = [(t, False) for t in pre_times] + [(t, True) for t in post_times]
    return sorted(events)
