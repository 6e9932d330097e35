"""Neuron models of the Diehl & Cook network, written once as Brian2 equations.

Both populations are conductance-based leaky integrate-and-fire neurons (Rathi 2021, Eq. 3.1-3.2):

    tau_m dv/dt = (v_rest - v) + g_e (E_exc - v) + g_i (E_inh - v),   tau_ge dg_e/dt = -g_e,   tau_gi dg_i/dt = -g_i

with dimensionless conductances (Diehl & Cook write ``ge*nS`` over ``nS``). Excitatory neurons also carry
the adaptive threshold theta of Eq. 3.4 (homeostasis): ``V_thresh = V_t + theta``, theta jumps by
``theta_plus`` at each spike and decays with ``tau_theta``. :func:`membrane_trajectory`, the numpy twin of
:data:`CONDUCTANCE_LIF`, integrates the same equations step by step for the tests.

Two integrators, named by the model file's ``[simulation].method``:

* ``"euler"``, what Diehl & Cook's Brian 1 code ran. Within a step the membrane moves by
  ``dt/tau_m * (1 + ge + gi)`` times its distance to the conductances' reversal mix: past it once
  ``ge + gi > tau_m/dt - 1`` (199 for the excitatory neurons at dt = 0.5 ms: 12 inhibitory spikes of
  weight 17 in one step), and further at every step while ``ge + gi > 2 tau_m/dt - 1``. Although gi
  decays by a quarter per step, a volley of about 50 spikes throws v above E_exc, where the neuron
  fires whatever its threshold.
* ``"exponential_euler"``: each step solves the equations exactly with the conductances held at their
  values at the start of the step, so v always relaxes towards the reversal mix, never past it, and
  ge and gi decay by exactly ``exp(-dt/tau)``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from brian2 import NeuronGroup, Quantity, mV, ms

from .config import quantity

CONDUCTANCE_LIF = """
dv/dt = ((v_rest - v) + ge*(E_exc - v) + gi*(E_inh - v)) / tau_m : volt (unless refractory)
dge/dt = -ge / tau_ge : 1
dgi/dt = -gi / tau_gi : 1
"""

ADAPTIVE_THRESHOLD = """
dtheta/dt = -learning * theta / tau_theta : volt
learning : 1 (shared, constant)
"""

#: Without homeostasis theta neither grows nor decays: the threshold stays at v_thresh.
FIXED_THRESHOLD = """
theta : volt (constant)
learning : 1 (shared, constant)
"""

#: Brian2 state updaters for the (nonlinear, because of g*v) system; the first is Brian 1's default, which
#: Diehl & Cook's code ran.
INTEGRATION_METHODS = ("euler", "exponential_euler")


@dataclass(frozen=True)
class ConductanceLIFParams:
    """Constants of a conductance-based LIF population (section [inhibitory] of a model file)."""

    v_rest: Quantity = quantity(mV)
    v_reset: Quantity = quantity(mV)
    v_thresh: Quantity = quantity(mV)
    tau_m: Quantity = quantity(ms, positive=True, usual=(1, 1000))
    tau_ge: Quantity = quantity(ms, positive=True, usual=(0.1, 100))
    tau_gi: Quantity = quantity(ms, positive=True, usual=(0.1, 100))
    E_exc: Quantity = quantity(mV)
    E_inh: Quantity = quantity(mV)
    refractory: Quantity = quantity(ms, nonnegative=True)
    v_init_below_rest: Quantity = quantity(mV)

    def __post_init__(self):
        threshold = self.first_threshold
        if not self.v_reset < threshold:
            raise ValueError(f"v_reset = {self.v_reset} is not below the threshold {threshold}: the neuron would "
                             "fire at every step")
        if not self.E_exc > threshold:  # a conductance drives v towards its reversal potential, never past it
            raise ValueError(f"E_exc = {self.E_exc} is not above the threshold {threshold}: no input could make "
                             "the neuron fire")
        if not self.E_inh < threshold:
            raise ValueError(f"E_inh = {self.E_inh} is not below the threshold {threshold}: inhibition would excite")

    @property
    def first_threshold(self) -> Quantity:
        """The membrane potential at which the neuron fires before any adaptation."""
        return self.v_thresh

    def namespace(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True)
class ExcitatoryParams(ConductanceLIFParams):
    """A conductance LIF with the adaptive threshold theta (section [excitatory] of a model file)."""

    theta_offset: Quantity = quantity(mV)
    theta_init: Quantity = quantity(mV)
    theta_plus: Quantity = quantity(mV, nonnegative=True)
    tau_theta: Quantity = quantity(ms, positive=True)
    lockout: Quantity = quantity(ms, nonnegative=True)

    @property
    def first_threshold(self) -> Quantity:
        return self.v_thresh + self.theta_init - self.theta_offset  # v > theta - offset + v_thresh (D&C)


def inhibitory_group(n: int, params: ConductanceLIFParams, name: str = "inh", method: str = "euler") -> NeuronGroup:
    """Inhibitory population: fires when v crosses a fixed threshold."""
    group = NeuronGroup(n, CONDUCTANCE_LIF, threshold="v > v_thresh", reset="v = v_reset",
                        refractory=params.refractory, method=method,
                        namespace=params.namespace(), name=name)
    group.v = params.v_rest - params.v_init_below_rest
    return group


def excitatory_group(n: int, params: ExcitatoryParams, homeostasis: bool = True,
                     extra_model: str = "", name: str = "exc", method: str = "euler") -> NeuronGroup:
    """Excitatory population with adaptive threshold.

    ``learning`` (0 or 1) switches theta's growth and decay, as Diehl & Cook freeze theta at test time.
    ``homeostasis=False`` fixes theta at its initial value (Rathi's ablation, section 3.6).
    ``extra_model`` adds variables that other objects of a network need on these neurons.
    """
    group = NeuronGroup(
        n, CONDUCTANCE_LIF + (ADAPTIVE_THRESHOLD if homeostasis else FIXED_THRESHOLD) + extra_model,
        threshold="v > v_thresh - theta_offset + theta and t - lastspike > lockout",
        reset="v = v_reset\ntheta += learning * theta_plus" if homeostasis else "v = v_reset",
        refractory=params.refractory, method=method, namespace=params.namespace(), name=name)
    group.v = params.v_rest - params.v_init_below_rest
    group.theta = params.theta_init
    return group


def membrane_trajectory(params: ConductanceLIFParams, ge: np.ndarray, gi: np.ndarray,
                        dt: Quantity, v0: Quantity | None = None, method: str = "euler") -> np.ndarray:
    """Numpy twin of :data:`CONDUCTANCE_LIF`: the membrane potential (volt) of one neuron whose conductances
    are imposed.

    ``ge[k]`` and ``gi[k]`` are the conductances during step k. No threshold, so the result is the
    subthreshold trajectory v[0..n] that a Brian2 neuron with the same inputs must follow. With
    ``method="euler"`` v takes forward-Euler steps; with ``"exponential_euler"`` it relaxes for ``dt``
    towards the reversal mix ``v_inf = (v_rest + ge E_exc + gi E_inh) / (1 + ge + gi)`` with the time
    constant ``tau_m / (1 + ge + gi)``.
    """
    if method not in INTEGRATION_METHODS:
        raise ValueError(f"method must be one of {INTEGRATION_METHODS}, got {method!r}")
    p = {k: float(v) for k, v in params.namespace().items()}
    step = float(dt)
    v = np.empty(len(ge) + 1)
    v[0] = float(v0) if v0 is not None else p["v_rest"] - p["v_init_below_rest"]
    for k in range(len(ge)):
        leak = 1 + ge[k] + gi[k]
        v_inf = (p["v_rest"] + ge[k] * p["E_exc"] + gi[k] * p["E_inh"]) / leak
        if method == "euler":
            v[k + 1] = v[k] + step * leak * (v_inf - v[k]) / p["tau_m"]
        else:
            v[k + 1] = v_inf + (v[k] - v_inf) * np.exp(-step * leak / p["tau_m"])
    return v
