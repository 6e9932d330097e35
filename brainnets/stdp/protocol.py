"""The presentation protocol of Diehl & Cook's training loop, run inside the simulation.

Diehl & Cook show each image for ``t_present`` (350 ms) as Poisson trains of ``pixel * rate_per_pixel *
intensity``, then let the network rest for ``t_rest`` (150 ms) with no input. If the excitatory layer
fired fewer than ``min_spikes`` (5) times, the intensity goes up by ``intensity_step`` and the same image
is shown again; otherwise the next image follows at ``intensity_start``.

Published ports run that loop in Python, one ``run()`` per image. Here it is part of the network, so
that a standalone binary can present thousands of images in one run:

* a one-neuron group, ``protocol``, holds the image counter, the intensity and the spike count. It
  "fires" at the end of every presentation and its reset judges that presentation;
* the input neurons read the image through a :class:`~brian2.TimedArray` indexed by the image counter
  (the array's time axis is used as the image axis: image ``k`` sits at ``t = k * second``);
* each input neuron fires as a Poisson process sampled once per time step (a spike in a step with probability
  ``rate * dt``), drawn as the step of its next spike rather than tested at every step: the gap to it is
  geometric, redrawn after each spike and wherever the rate may change (where a slot or a frame starts,
  :meth:`Protocol.draw_steps`; a spike drawn past its frame's end waits for the next draw, which replaces it).
  The process is memoryless, so this is the same process as a test at every step, at a few draws per neuron
  and presentation instead of one per step;
* a synapse from every excitatory neuron to ``protocol`` counts spikes while an image is on show.

The same machinery shows several inputs at once (Rathi 2021, 3.5: an image and a spoken digit of the same
label, each to its own ensemble). Each :class:`Stream` has its own input neurons and stimulus array, and a
stream may change over the presentation in frames (a cochleagram: one frame per time step). The judgement
then asks every judged layer for ``min_spikes``; on a repeat every stream is shown again, but only the
streams of the layers that fired too few spikes get brighter (Rathi 3.5 gives no rule; brightening a stream
whose layer already fired enough only makes its thresholds climb faster).

Every slot (presentation plus rest) has the same length whatever the judgement, so a run of S slots
presents up to S images; :func:`decode_presentations` turns the recorded judgements and spikes into
the spike counts of each accepted presentation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from brian2 import NeuronGroup, Quantity, SpikeMonitor, Synapses, TimedArray, linked_var, second

from .model import DiehlCookModel

#: One neuron per copy of the network (:class:`Protocol`): each shows its own share of the stimulus.
PROTOCOL_EQS = """
image : integer                    # index of the item on show, within this copy's share of the stimulus
retries : integer                  # failed presentations of the current item so far
first_image : integer (constant)   # where this copy's share starts in the run's stimulus
n_images : integer (constant)      # items in this copy's share
rng_seed : integer (shared, constant)   # seeds the standalone random generator of this run
presenting = timestep(t, step_dt) % slot_steps < present_steps and image < n_images : boolean
"""

#: Per watched layer: Diehl & Cook's input_intensity of the stream feeding it, its spikes during the
#: current presentation, and whether they are judged.
LAYER_COUNTER_EQS = """
intensity_{layer} : 1
n_spikes_{layer} : integer
judge_{layer} : boolean (shared, constant)
"""

END_OF_PRESENTATION = "timestep(t, dt) % slot_steps == present_steps"

JUDGE_PRESENTATION = """
{too_few}
accepted = not ({any_too_few}) or retries >= max_retries
image += int(accepted)
retries = (retries + 1) * int(not accepted)
{brighten}
{clear}
"""

#: Whether a layer failed the judgement (each shared variable is read once: brian2cuda declares it per read).
TOO_FEW_SPIKES = "too_few_{layer} = judge_{layer} and n_spikes_{layer} < min_spikes"

#: On a repeat, only the streams of layers that fired too little get brighter.
BRIGHTEN_LAYER = ("intensity_{layer} = intensity_start * int(accepted) + "
                  "(intensity_{layer} + intensity_step * int(too_few_{layer})) * int(not accepted)")

# The stimulus array's time axis is (item, frame): item k's frame f sits at t = (k * n_frames + f) * second.
# Steps are counted with ``step_dt``, the network's step, as the draws run on a clock of their own.
INPUT_EQS = """
image : integer (linked)
first_image : integer (linked)
intensity : 1 (linked)
presenting : boolean (linked)
n_emitted : integer                # spikes sent in this run (for the synaptic-operation count)
next_spike_step : integer          # the step of this neuron's next spike
log_silence : 1                    # log of the chance of no spike in a step, at the rate of the latest draw
frame = (timestep(t, step_dt) % slot_steps) * n_frames // present_steps : integer
steps_left_in_frame = (frame + 1) * present_steps // n_frames - timestep(t, step_dt) % slot_steps : integer
rate = intensity * rate_per_unit * {stimulus}(((first_image + image) * n_frames + frame) * second, i % n_input) : Hz
spike_chance = int(presenting) * clip(rate * step_dt, 0, 1) : 1
"""

#: Steps before the next spike of a process firing in each step with probability ``spike_chance``: geometric,
#: ``P(k) = (1 - p)^k p``, cut at a slot (Brian2's floor() may be an int32). The rate is fixed within a frame:
#: ``log_silence``, ``log(1 - p)``, is computed when a frame starts (:meth:`Protocol.draw_steps`) and a spike's
#: reset reuses it. A spike that would fall beyond the frame is put a slot further, past the next draw, which
#: replaces it: so the rest needs no draws. A silent neuron's chance is raised to 1e-30, which puts its next
#: spike out of reach. The step is an integer: each input neuron compares it with the step count at every step,
#: and an integer compare is the cheaper.
STEPS_TO_NEXT_SPIKE = "int(floor(clip(log(rand()) / log_silence, 0, slot_steps)))"
NEXT_SPIKE_IN = """gap = {first} + {steps}
next_spike_step = timestep(t, step_dt) + gap + int(gap >= steps_left_in_frame) * slot_steps"""
DRAW_NEXT_SPIKE = ("log_silence = log1p(-clip(spike_chance, 1e-30, 1))\n"
                   + NEXT_SPIKE_IN.format(first=0, steps=STEPS_TO_NEXT_SPIKE))
POISSON_SPIKE = "timestep(t, step_dt) >= next_spike_step"
AFTER_POISSON_SPIKE = "n_emitted += 1\n" + NEXT_SPIKE_IN.format(first=1, steps=STEPS_TO_NEXT_SPIKE)


@dataclass(frozen=True)
class Stream:
    """One kind of input shown in every slot: ``n_input`` Poisson neurons whose rates, ``rate_per_unit *
    intensity * value``, follow ``n_frames`` equal frames of values over the presentation (1 frame: an
    image, held still). ``name`` prefixes the names of its Brian2 objects."""

    name: str
    n_input: int
    rate_per_unit: Quantity
    n_frames: int = 1

    @property
    def prefix(self) -> str:
        return f"{self.name}_" if self.name else ""


class Protocol:
    """The protocol group judging the named ``layers``, one Poisson input group per :class:`Stream`
    (``inputs[name]``; stream k feeds layer k), and the monitors that record them.

    With ``copies`` > 1 the network it drives holds that many independent copies side by side (each group
    ``copies`` times as large, copy c's neurons after those of copies 0..c-1): one protocol neuron per copy,
    which shows its own share of the run's items to its own input neurons and judges its own layers. Each copy
    shows up to ``slots_per_run`` items per run."""

    def __init__(self, model: DiehlCookModel, streams: list[Stream], layers: list[str], slots_per_run: int,
                 copies: int = 1):
        p = model.protocol
        self.model = model
        self.slots_per_run = slots_per_run
        self.copies = copies
        self.streams = {stream.name: stream for stream in streams}
        self.layers = list(layers)
        self.namespace = {
            "step_dt": model.dt, "slot_steps": model.slot_steps, "present_steps": model.present_steps,
            "min_spikes": p.min_spikes, "max_retries": p.max_retries,
            "intensity_start": p.intensity_start, "intensity_step": p.intensity_step,
        }
        judge = JUDGE_PRESENTATION.format(
            too_few="\n".join(TOO_FEW_SPIKES.format(layer=name) for name in layers),
            any_too_few=" or ".join(f"too_few_{name}" for name in layers),
            brighten="\n".join(BRIGHTEN_LAYER.format(layer=name) for name in layers),
            clear="\n".join(f"n_spikes_{name} = 0" for name in layers))
        self.group = NeuronGroup(copies, PROTOCOL_EQS + "".join(LAYER_COUNTER_EQS.format(layer=name) for name in layers),
                                 threshold=END_OF_PRESENTATION, reset=judge, namespace=self.namespace,
                                 name="protocol")
        for name in layers:
            setattr(self.group, f"judge_{name}", True)
            setattr(self.group, f"intensity_{name}", p.intensity_start)
        self.stimuli, self.inputs = {}, {}
        for stream, layer in zip(streams, layers, strict=True):
            if model.present_steps % stream.n_frames:
                raise ValueError(f"stream {stream.name!r}: {stream.n_frames} frames do not divide the "
                                 f"{model.present_steps} steps of a presentation")
            stimulus = TimedArray(np.zeros((self.capacity * stream.n_frames, stream.n_input)), dt=1 * second,
                                  name=f"{stream.prefix}stimulus")
            group = NeuronGroup(copies * stream.n_input, INPUT_EQS.format(stimulus=stimulus.name),
                                threshold=POISSON_SPIKE, reset=AFTER_POISSON_SPIKE, name=f"{stream.prefix}input",
                                namespace={**self.namespace, "n_frames": stream.n_frames, "n_input": stream.n_input,
                                           "rate_per_unit": stream.rate_per_unit, stimulus.name: stimulus})
            group.run_regularly(DRAW_NEXT_SPIKE, dt=self.draw_steps(stream) * model.dt, when="start",
                                name=f"{stream.prefix}input_draw")
            copy_of_input = np.repeat(np.arange(copies), stream.n_input)
            for variable, source in (("image", "image"), ("first_image", "first_image"),
                                     ("intensity", f"intensity_{layer}"), ("presenting", "presenting")):
                setattr(group, variable, linked_var(self.group, source, index=copy_of_input))
            self.stimuli[stream.name], self.inputs[stream.name] = stimulus, group
        self.spikes: list[SpikeMonitor] = []
        self.judgements = SpikeMonitor(self.group, variables=["image", "retries"] +
                                       [f"n_spikes_{name}" for name in layers], name="judgements")

    def watch(self, layers: list[NeuronGroup]) -> list:
        """Count the spikes of each judged layer's excitatory group (in the order of ``self.layers``) and
        record them; returns all protocol objects."""
        counters = []
        for name, exc in zip(self.layers, layers, strict=True):
            counter = Synapses(exc, self.group, on_pre=f"n_spikes_{name}_post += int(presenting_post)",
                               namespace=self.namespace, name=f"{name}_spike_counter")
            neurons = np.arange(len(exc))
            counter.connect(i=neurons, j=neurons // (len(exc) // self.copies))  # each copy's neurons, its counter
            counters.append(counter)
            self.spikes.append(SpikeMonitor(exc, name=f"{name}_spikes"))
        return [self.group, *self.inputs.values(), *counters, *self.spikes, self.judgements]

    def draw_steps(self, stream: Stream) -> int:
        """How often (in steps) the input neurons of ``stream`` draw their next spike anew: the largest period
        whose every start is a start of a slot (as rates change between items) or of a frame (as they change
        within an item); one slot for an image."""
        frame_steps = self.model.present_steps // stream.n_frames
        return math.gcd(self.model.slot_steps, *range(0, self.model.present_steps, frame_steps))

    @property
    def capacity(self) -> int:
        """Items one run can show: ``slots_per_run`` per copy."""
        return self.slots_per_run * self.copies

    @property
    def duration(self):
        return self.slots_per_run * self.model.slot_steps * self.model.dt

    def stimulus(self, stream: str, values: np.ndarray) -> np.ndarray:
        """The stimulus array of ``stream`` for a run: up to :attr:`capacity` items, each ``(n_frames,
        n_input)`` or, with one frame, any shape of ``n_input`` values (an image); zero-padded."""
        spec = self.streams[stream]
        items = np.asarray(values, dtype=float).reshape(len(values), spec.n_frames, spec.n_input)
        if len(items) > self.capacity:
            raise ValueError(f"at most {self.capacity} images per run, got {len(items)}")
        padded = np.zeros((self.capacity, spec.n_frames, spec.n_input))
        padded[:len(items)] = items
        return padded.reshape(-1, spec.n_input)


@dataclass(frozen=True)
class Presentations:
    """What one run did: ``counts[k]`` are the excitatory spike counts of the accepted presentation of
    image k, for the ``n_done`` images that were accepted; ``tries`` counts presentations per image.
    ``exc_spikes`` and ``input_spikes`` count every spike of the run's presentations, rejected ones too
    (``input_spikes`` per input neuron)."""

    counts: np.ndarray  # (n_done, n_exc)
    tries: np.ndarray  # (n_done,)
    exc_spikes: int
    input_spikes: np.ndarray  # (n_input,)

    @property
    def n_done(self) -> int:
        return len(self.tries)


def decode_presentations(model: DiehlCookModel, n_exc: int, n_images: int,
                         judged_image, judged_spikes, judged_retries,
                         spike_neuron, spike_step, input_spikes, judged_layers=None) -> Presentations:
    """Per-image spike counts from one run's records (judgements in slot order; spike steps counted
    from the start of the run). ``judged_spikes`` is (slots,) for one layer or (slots, layers), with
    ``judged_layers`` saying which layers the judgement looked at (default: all); ``spike_neuron``
    indexes the layers' neurons one after the other. Mirrors :data:`JUDGE_PRESENTATION`."""
    p = model.protocol
    judged_image = np.asarray(judged_image, dtype=int)
    spikes = np.asarray(judged_spikes).reshape(len(judged_image), -1)
    looked = np.ones(spikes.shape[1], dtype=bool) if judged_layers is None else np.asarray(judged_layers)
    enough = ((spikes >= p.min_spikes) | ~looked).all(axis=1)
    accepted = enough | (np.asarray(judged_retries) >= p.max_retries)
    valid = judged_image < n_images
    slots = np.flatnonzero(accepted & valid)
    n_done = len(slots)
    spike_step = np.asarray(spike_step, dtype=np.int64)
    slot_of_spike = spike_step // model.slot_steps
    during_presentation = spike_step % model.slot_steps < model.present_steps
    per_slot = np.zeros((len(judged_image) + 1, n_exc), dtype=np.int64)
    np.add.at(per_slot, (slot_of_spike[during_presentation], np.asarray(spike_neuron)[during_presentation]), 1)
    tries = np.bincount(judged_image[valid], minlength=n_images)[:n_done]
    return Presentations(counts=per_slot[slots], tries=tries, exc_spikes=int(per_slot[:-1][valid].sum()),
                         input_spikes=np.asarray(input_spikes, dtype=np.int64))
