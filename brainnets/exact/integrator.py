"""The non-leaky integrator of TTFS networks (Stanojevic et al., Eq. 2.2) with exact spike times, in Brian2.

    tau_c dv/dt = alpha H(t - t_ramp) + pad H(t - t_min) + I,   I = sum of J over the inputs that arrived

Each neuron fires once per period (an image): when ``v`` reaches ``theta`` inside its window
``[t_min, t_max]``, never before ``t_min`` (the guard), and at ``t_max`` at the latest (forced). Between events
the potential is linear, so Brian2's Euler step is exact, and the crossing follows from where ``v`` stands:
at the threshold check ``v`` has already been integrated to ``t_v = t + dt`` (Brian2 updates state before
thresholds, calibrated by a one-neuron test), so the crossing was ``(v - theta) tau_c / slope`` before ``t_v``,
and its offset in the step (:data:`~brainnets.exact.timing.OFFSET`) is ``dt`` minus that.

An input spike delivers its current ``J`` from its own time: the synapse adds to ``v`` the charge the input
would have brought between its offset and the step's end, ``J (dt - sp_off_pre) / tau_c`` (the charge
correction). This is the closed form that :mod:`~brainnets.exact.lif`'s walk through a step's sorted inputs
reduces to for a neuron without leak whose inputs all arrive before its window opens (the mapping's windows
make it so): the slope inside the window is constant, the order of the inputs no longer matters, and a layer
with hundreds of simultaneous inputs (every black pixel spikes at the input window's end) needs no buffer.

Under the clock semantics ``sp_off = dt``: no correction, every spike at the end of the step that detected it.

Max pooling (:data:`POOL`) is a relay that fires one step after its earliest input and passes that input's
exact time on (its offset is negative: the time lies in an earlier step); the readout (:data:`READOUT`) integrates without a threshold and reports ``v`` at ``t_read``.
Times within the period come from ``t_local``; a group is reset at the start of each period by its owner.
"""
from __future__ import annotations

from .timing import OFFSET, check_semantics

#: Time within the current period, and the time to which ``v`` has been integrated at threshold checks.
PERIOD_CLOCK = """
t_local = (timestep(t, dt) % period_steps) * dt : second
t_v = t_local + dt : second
period_steps : integer (shared, constant)
tau_c : second (shared, constant)
"""

INTEGRATOR = PERIOD_CLOCK + """
dv/dt = slope / tau_c : 1
slope = alpha * int(t_local >= t_ramp - dt/2) + pad * int(t_local >= t_min - dt/2) + I : 1
I : 1
alpha : 1 (constant)
pad : 1 (constant)
fired : boolean
t_ramp : second (shared, constant)
t_min : second (shared, constant)
t_max : second (shared, constant)
t_open : second (shared, constant)
"""

#: The crossing's offset in its step (never before t_min: the guard), per semantics.
SPIKE_OFFSET = {
    "exact": f"{OFFSET} = dt - int(v >= theta) * clip((v - theta) * tau_c / slope, 0*second, t_v - t_min) : second\n",
    "clock": f"{OFFSET} = dt : second\n",
}

#: Fire once: at the crossing once the window is open, or forced at t_max.
THRESHOLD = "not fired and ((t_v > t_open + dt/2 and v >= theta) or t_v >= t_max - dt/2)"
RESET = "fired = True"
PERIOD_RESET = "v = 0\nI = 0\nfired = False"

#: A synapse onto an integrator: the current from the spike's time on (see the module docstring).
ON_PRE = f"I_post += J\nv_post += J * (dt - {OFFSET}_pre) / tau_c_post"

#: Max pooling: the earliest input of the period, relayed with its exact time.
POOL = PERIOD_CLOCK + """
t_first : second
got_input : boolean
fired : boolean
t_max : second (shared, constant)
"""
POOL_OFFSET = {"exact": f"{OFFSET} = t_first - t_local : second\n", "clock": SPIKE_OFFSET["clock"]}
POOL_THRESHOLD = "got_input and not fired"
POOL_PERIOD_RESET = "t_first = t_max\ngot_input = False\nfired = False"
ON_PRE_POOL = f"got_input_post = True\nt_first_post = clip(t_first_post, 0*second, t_local_post + {OFFSET}_pre)"

#: The readout: an integrator without threshold whose ``logit`` is ``v`` at ``t_read``; it "fires" once, a step
#: or two after ``t_read``, only so that a monitor records the logit.
READOUT = INTEGRATOR + "t_read : second (shared, constant)\nlogit = v - (t_v - t_read) * slope / tau_c : 1\n"
READOUT_THRESHOLD = "not fired and t_v > t_open + dt/2"


def integrator_equations(semantics: str, theta: str = "theta : 1 (constant)") -> str:
    """A spiking integrator's equations; ``theta``: the threshold's definition (a constant by default)."""
    return INTEGRATOR + theta + "\n" + SPIKE_OFFSET[check_semantics(semantics)]


def pool_equations(semantics: str) -> str:
    return POOL + POOL_OFFSET[check_semantics(semantics)]
