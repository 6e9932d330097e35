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
* a synapse from every excitatory neuron to ``protocol`` counts spikes while an image is on show.

Every slot (presentation plus rest) has the same length whatever the judgement, so a run of S slots
presents up to S images; :func:`decode_presentations` turns the recorded judgements and spikes into
the spike counts of each accepted presentation.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from brian2 import NeuronGroup, SpikeMonitor, Synapses, TimedArray, linked_var, second

from .model import DiehlCookModel

PROTOCOL_EQS = """
image : integer                    # index of the image on show, within this run's stimulus
intensity : 1                      # Diehl & Cook's input_intensity
n_spikes : integer                 # excitatory spikes during the current presentation
retries : integer                  # failed presentations of the current image so far
n_images : integer (shared, constant)   # images in this run's stimulus
rng_seed : integer (shared, constant)   # seeds the standalone random generator of this run
presenting = timestep(t, dt) % slot_steps < present_steps and image < n_images : boolean
"""

END_OF_PRESENTATION = "timestep(t, dt) % slot_steps == present_steps"

JUDGE_PRESENTATION = """
accepted = n_spikes >= min_spikes or retries >= max_retries
image += int(accepted)
retries = (retries + 1) * int(not accepted)
intensity = intensity_start * int(accepted) + (intensity + intensity_step) * int(not accepted)
n_spikes = 0
"""

INPUT_EQS = """
image : integer (linked)
intensity : 1 (linked)
presenting : boolean (linked)
n_emitted : integer                # spikes sent in this run (for the synaptic-operation count)
rate = intensity * rate_per_pixel * pixels(image * second, i) : Hz
"""

POISSON_SPIKE = "presenting and rate > 0*Hz and rand() < rate * dt"


class Protocol:
    """The protocol group, the Poisson input layer it drives, and the monitors that record it."""

    def __init__(self, model: DiehlCookModel, n_input: int, slots_per_run: int):
        p = model.protocol
        self.model = model
        self.slots_per_run = slots_per_run
        self.pixels = TimedArray(np.zeros((slots_per_run, n_input)), dt=1 * second, name="pixels")
        self.namespace = {
            "slot_steps": model.slot_steps, "present_steps": model.present_steps,
            "min_spikes": p.min_spikes, "max_retries": p.max_retries,
            "intensity_start": p.intensity_start, "intensity_step": p.intensity_step,
            "rate_per_pixel": p.rate_per_pixel, "pixels": self.pixels,
        }
        self.group = NeuronGroup(1, PROTOCOL_EQS, threshold=END_OF_PRESENTATION,
                                 reset=JUDGE_PRESENTATION, namespace=self.namespace, name="protocol")
        self.group.intensity = p.intensity_start
        self.input = NeuronGroup(n_input, INPUT_EQS, threshold=POISSON_SPIKE, reset="n_emitted += 1",
                                 namespace=self.namespace, name="input")
        for name in ("image", "intensity", "presenting"):
            setattr(self.input, name, linked_var(self.group, name, index=np.zeros(n_input, dtype=int)))
        self.judgements = SpikeMonitor(self.group, variables=["image", "n_spikes", "retries"],
                                       name="judgements")
        self.counter = None
        self.spikes = None

    def watch(self, exc: NeuronGroup) -> list:
        """Count ``exc`` spikes for the judgement and record them; returns all protocol objects."""
        self.counter = Synapses(exc, self.group, on_pre="n_spikes_post += int(presenting_post)",
                                namespace=self.namespace, name="spike_counter")
        self.counter.connect()
        self.spikes = SpikeMonitor(exc, name="exc_spikes")
        return [self.group, self.input, self.counter, self.judgements, self.spikes]

    @property
    def duration(self):
        return self.slots_per_run * self.model.slot_steps * self.model.dt

    def stimulus(self, images: np.ndarray) -> np.ndarray:
        """The ``pixels`` values for a run: up to ``slots_per_run`` images, zero-padded."""
        flat = images.reshape(len(images), -1).astype(float)
        if len(flat) > self.slots_per_run:
            raise ValueError(f"at most {self.slots_per_run} images per run, got {len(flat)}")
        padded = np.zeros((self.slots_per_run, flat.shape[1]))
        padded[:len(flat)] = flat
        return padded


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
                         spike_neuron, spike_step, input_spikes) -> Presentations:
    """Per-image spike counts from one run's records (judgements in slot order; spike steps counted
    from the start of the run). Mirrors :data:`JUDGE_PRESENTATION`."""
    p = model.protocol
    judged_image = np.asarray(judged_image, dtype=int)
    accepted = (np.asarray(judged_spikes) >= p.min_spikes) | (np.asarray(judged_retries) >= p.max_retries)
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
