"""The text of the tutorials: one lesson per demo, the cells of ``docs/tutorials/NAME.ipynb`` in order.

Markdown cells explain (what the model is, which equation, what to look at, what to try); code cells call the
demo's functions and show their figures. A notebook's text outputs must be the same on every run: print no
timings, no memory addresses, and no number that a compiler's rounding could change (the learnt weights of the
C++ standalone runs). :mod:`.notebooks` turns a lesson into an executed notebook.
"""
from __future__ import annotations

from dataclasses import dataclass

#: The tag of the code cell whose figure stands for the demo in the gallery (``docs/tutorials/README.md``).
GALLERY_TAG = "gallery"


@dataclass(frozen=True)
class Cell:
    kind: str  # "markdown" or "code"
    source: str
    gallery: bool = False


def text(source: str) -> Cell:
    return Cell("markdown", source.strip())


def code(source: str, gallery: bool = False) -> Cell:
    return Cell("code", source.strip(), gallery)


MEMBRANES = [
    text(r"""
# Two membranes: current-based and conductance-based LIF neurons

A leaky integrate-and-fire (LIF) neuron keeps one number, its membrane potential $v$. Without input, $v$ relaxes
to its resting value with the membrane time constant $\tau_m$; input spikes push it up or down; when it crosses
a threshold, the neuron emits a spike and $v$ is reset. This notebook compares two ways in which an input can push.

* **Current-based** (the textbook LIF, NEST's `iaf_psc_delta`): every input spike makes $v$ jump by its weight,
  whatever $v$ is:
  $$\tau_m \frac{dv}{dt} = E_L - v, \qquad v \leftarrow v + w \ \text{at every input spike.}$$
* **Conductance-based** (the neurons of Diehl & Cook 2015 and Rathi 2021, Eq. 3.1-3.2): an input spike opens
  channels, raising a conductance $g_e$ (excitatory) or $g_i$ (inhibitory) that then decays,
  $$\tau_m \frac{dv}{dt} = (v_{rest} - v) + g_e\,(E_{exc} - v) + g_i\,(E_{inh} - v), \qquad
    \tau_{ge} \frac{dg_e}{dt} = -g_e, \qquad \tau_{gi} \frac{dg_i}{dt} = -g_i .$$
  Each conductance pulls $v$ towards its *reversal potential* ($E_{exc}$ or $E_{inh}$), and the harder the
  further $v$ is from it: the *driving force* $E - v$. The conductances are measured in units of the leak.

Both neurons are the package's own Brian2 models: the conductance-based one is the excitatory neuron of
`brainnets.neurons`, with the constants of `models/diehl_cook_2015.toml`; the current-based one is built by
`brainnets.exact.lif` with the same resting potential, threshold, reset, $\tau_m$ and refractory period. Its
jumps bring the charge that a conductance brings *at rest*: $w\,(E - v_{rest})\,\tau_g / \tau_m$.
"""),
    code("""
from brainnets.demos.constants import constants
from brainnets.demos.membranes import membranes
from brainnets.stdp.model import DiehlCookModel

%matplotlib inline
"""),
    text(r"""
## The constants

The excitatory neuron's constants, as the model file gives them. `theta` is the adaptive part of the threshold
(spike when $v > v_{thresh} - \theta_{offset} + \theta$); it grows by `theta_plus` at every spike.
"""),
    code("""
model = DiehlCookModel.load("diehl_cook_2015")
for name, value in constants(model.excitatory).items():
    print(f"{name:>18} = {value}")
print(f"time step {model.dt}, integrated with {model.method!r}")
"""),
    text(r"""
## The same spikes into both neurons

Forty excitatory inputs fire at 30 Hz from 30 ms on; ten inhibitory inputs fire at 60 Hz between 170 and 250 ms.
Every input has weight 1. `membranes()` runs everything this notebook shows and returns the figures.
"""),
    code("""
figures = membranes()
figures["two_membranes"]
""", gallery=True),
    text(r"""
What to look at:

* Until the inhibition starts, the two potentials climb alike and fire at nearly the same times: near rest, a
  conductance acts almost like a current. The conductance-based neuron climbs a little slower as it nears
  threshold: at -55 mV the excitatory driving force is 55 mV instead of 65 mV at rest, so each input pushes
  about 15 % less, and it falls behind.
* During the inhibitory volley the two part. The current-based potential swings widely, down at every
  inhibitory jump and up at every excitatory one, and still reaches threshold. The conductance-based one is
  clamped: with both kinds of channels open, $v$ relaxes towards their weighted mean
  $(v_{rest} + g_e E_{exc} + g_i E_{inh}) / (1 + g_e + g_i)$ with the short effective time constant
  $\tau_m / (1 + g_e + g_i)$, so it hovers below threshold with small fluctuations.

## Driving force

One input spike, arriving while the membrane stands at a given potential. The conductance's effect shrinks
linearly, vanishes close to its reversal potential and changes sign beyond it; the current's jump is the same
everywhere. (The conductance-based curves use the numpy twin of the equations, `membrane_trajectory`, which
can start $v$ anywhere, fed the conductance that the Brian2 neuron produced.)
"""),
    code("""
figures["driving_force"]
"""),
    text(r"""
Inhibition whose reversal potential equals the resting potential ($E_{inh} = v_{rest}$) cannot move a neuron at
rest at all, yet it pulls $v$ back whenever excitation lifts it: *shunting* inhibition (the panel `E_inh` below).

## One constant at a time

Each panel changes one constant of the conductance-based neuron and keeps the others (black: the model file's
value). Dashed lines are thresholds.
"""),
    code("""
figures["constants"]
"""),
    text(r"""
What to look at:

* `tau_m`: the conductances are in units of the leak, so $\tau_m$ divides the synaptic terms too. A shorter
  $\tau_m$ makes every input count more *and* be forgotten sooner; here it fires more.
* `v_thresh` and `theta_plus`: the threshold moves. With Diehl & Cook's 0.05 mV per spike (and a decay time of
  $10^7$ ms) the adaptation is invisible in 300 ms; at 1-3 mV it is plain how each spike makes the next one
  harder. Over thousands of images this homeostasis stops a few neurons from winning everything.
* `v_reset`: a higher reset leaves less to climb after each spike.
* `E_exc`, `E_inh`: the reversal potentials set the driving forces. With $E_{inh} = -65$ mV inhibition only
  shunts, and the neuron fires through the volley.
* `tau_ge`, `tau_gi`: a longer conductance brings more charge per spike.

## Try it

The pieces are plain functions of `brainnets.demos.membranes`, for example a slower membrane:

```python
import dataclasses
from brian2 import ms
from brainnets.demos.membranes import conductance_neuron, default_inputs

slower = dataclasses.replace(model.excitatory, tau_m=300 * ms)
traces = conductance_neuron(slower, default_inputs(0.5), 0.5, model.method)
print(len(traces.spikes), "spikes")
```

`default_inputs(dt_ms, seed)` draws other input spikes; `Inputs(...)` takes your own. The integrator matters
too: try `"exponential_euler"` instead of `model.method` (the model file explains when Euler overshoots).
"""),
]

STDP_WINDOW = [
    text(r"""
# The STDP window: power-law weight-dependent STDP

The input synapses of the Diehl & Cook network learn with spike-timing-dependent plasticity (STDP). Every input
spike leaves a trace $x_{pre}$ at its synapse, which decays with the time constant $\tau$. Nothing else happens
at an input spike; at every spike of the postsynaptic neuron the weight moves by (Rathi 2021, Eq. 2.1)
$$\Delta w = \eta\,(x_{pre} - \text{offset})\,(w_{max} - w)^{\mu}, \qquad \tau \frac{dx_{pre}}{dt} = -x_{pre},$$
and is clipped to $[0, w_{max}]$. For a single input spike $\Delta t$ before the postsynaptic spike,
$x_{pre} = e^{-\Delta t/\tau}$: the synapse is strengthened if its input fired shortly before the neuron
($x_{pre} > \text{offset}$) and weakened otherwise. The curves below come from the rule's numpy twin
(`PowerLawSTDP.delta_w` and `.replay` of `brainnets.synapses`), which the tests hold equal to the Brian2
synapse, with the constants of `models/diehl_cook_2015.toml`.
"""),
    code("""
import dataclasses

from brainnets.demos.stdp_window import plot_window, stdp_window
from brainnets.stdp.model import DiehlCookModel

%matplotlib inline

rule = DiehlCookModel.load("diehl_cook_2015").stdp
print(rule)
"""),
    text(r"""
## The window

The weight change at a postsynaptic spike against $t_{post} - t_{pre}$, for several weights $w$ before it.
"""),
    code("""
figures = stdp_window()
figures["window"]
""", gallery=True),
    text(r"""
What to look at:

* Potentiation for $0 \le \Delta t < \tau \ln(1/\text{offset})$ (18.3 ms here), depression beyond.
* For $\Delta t < 0$ (the input fired *after* the neuron) the postsynaptic spike found no trace: the change is
  $-\eta\,\text{offset}\,(w_{max} - w)^\mu$. Unlike the textbook antisymmetric window, this rule weakens
  every synapse whose input was silent before the neuron fired. That is how the background pixels of a
  learnt digit lose their weight.
* The larger $w$, the smaller every change: the factor $(w_{max} - w)^\mu$.

## Weight dependence
"""),
    code("""
figures["weight_dependence"]
"""),
    text(r"""
With $\mu = 0$ the change does not depend on $w$ at all (additive STDP, with a hard bound at $w_{max}$); the
larger $\mu$, the earlier the changes shrink on the way to $w_{max}$. Repeated pairings show what this does
over time: a weight that keeps being potentiated approaches $w_{max}$ ever more slowly (a soft bound), while
depression drives it to 0, where it is clipped (a hard bound).
"""),
    code("""
figures["repeated_pairings"]
"""),
    text(r"""
## Pairing: the nearest spike, or all of them

Rathi writes $x_{pre}$ for the nearest input spike ($x_{pre} = 1$ at each input spike); Diehl & Cook define it
as a trace that adds up every input spike ($x_{pre} \mathrel{+}= 1$). The model file uses the second (chosen on
held-out training images). A burst of input spikes then potentiates much more, and for longer:
"""),
    code("""
figures["pairing"]
"""),
    text(r"""
## Try it

Every figure function takes a rule, so changing a constant is one line; here a lower offset (depression only
for long delays) and no weight dependence:
"""),
    code("""
plot_window(dataclasses.replace(rule, offset=0.2, mu=0.0))
"""),
    text(r"""
Other things to try: `repeated_pairings(rule, delay_ms, w0, n_pairs)` returns the weights after each pairing;
`DiehlCookModel.load("diehl_cook_2015", {"stdp": {"rule": "diehl_cook_trace"}}).stdp` is the nearest-spike,
triplet-like rule that Diehl & Cook's released code runs (its `replay` takes spike times in seconds).
"""),
]

RECEPTIVE_FIELDS = [
    text(r"""
# Receptive fields: a Diehl & Cook network learning MNIST without labels

The network (Diehl & Cook 2015, as Rathi 2021 uses it):

* **784 Poisson input neurons**, one per pixel, each firing at a rate proportional to its pixel's intensity
  (up to 64 Hz) while an image is shown for 350 ms; then 150 ms of rest;
* **excitatory neurons** (conductance-based LIF, see the `membranes` notebook), each connected to every input
  by a plastic synapse that learns with power-law STDP (the `stdp-window` notebook);
* **inhibitory neurons**, one per excitatory neuron, which it excites; each inhibits every *other* excitatory
  neuron. Whoever fires first silences the rest: winner-take-all;
* **homeostasis**: every spike raises the neuron's threshold a little, so no neuron wins everything;
* **weight normalization**: before each image, each neuron's 784 input weights are rescaled to sum to 78;
* an image that makes fewer than 5 excitatory spikes is shown again, brighter.

Each neuron's 784 input weights, drawn as a 28 x 28 image, are its *receptive field*. They start random; the
neuron that wins an image strengthens the synapses of the pixels that were on, and over many images it comes
to hold a prototype of the images it wins. No label is ever used.

Here 16 neurons learn from the first 600 MNIST training images (`brainnets.demos.learning.learn`). The network is
the package's `UnimodalEnsemble`, compiled as a C++ standalone program. Compiling takes about 20 s the first
time; the compiled project is kept in the cache (`brainnets cache`), so later runs only relink it.
"""),
    code("""
from IPython.display import HTML

from brainnets.demos.learning import learn
from brainnets.demos.receptive_fields import animation_html, plot_final, plot_preferences, plot_snapshots

%matplotlib inline
"""),
    code("""
run = learn(n_exc=16, n_images=600, snapshot_every=50)
print("input weights copied out after", run.shown, "images")
"""),
    text(r"""
## The fields while they learn
"""),
    code("""
plot_snapshots(run)
""", gallery=True),
    text(r"""
What to look at: after a few dozen images the first neurons to win show blurred digits; the others follow as
the winners' thresholds rise and they lose their edge. Some fields stay noisy: those neurons rarely or never won
in 600 images (more images, or fewer neurons, give them their turn). The same run as an animation:
"""),
    code("""
HTML(animation_html(run))
"""),
    code("""
plot_final(run)
"""),
    text(r"""
## What each neuron has come to stand for

The network never saw a label. Counting each neuron's spikes per digit over the second half of the run shows
what it responds to; this is how Diehl & Cook label the neurons afterwards (each takes the digit it fires most
for), and how the trained network classifies: by the votes of the neurons that fire.
"""),
    code("""
plot_preferences(run)
"""),
    text(r"""
## Try it

* `learn(n_exc=36)` or `learn(n_images=2000)`: more neurons or more images (a new size compiles once more).
* `learn(inhibition=False)`: without lateral inhibition nothing stops all neurons from learning every image, and
  they all end up with much the same blur of many digits. `learn(homeostasis=False)` fixes the thresholds
  instead. These are Rathi's ablations (3.6).
* The full experiment (train, label, test, with accuracy and confusion matrix): `brainnets train --n-exc 100
  --out runs/dc100`.
"""),
]

COCHLEA = [
    text(r"""
# From sound to spikes: Lyon's cochlear model

Rathi (2021, 3.5.3) feeds spoken digits to a spiking network through a model of the ear: Lyon's passive cochlear
model, in Slaney's implementation (`brainnets.audio`). The steps:

1. the waveform is resampled to 12.5 kHz;
2. a **cascade of filters** stands for the basilar membrane: each section takes out the highest frequencies that
   are left, so the channels near its base (channel 0, 5.9 kHz) respond to high pitches and those near its apex
   (channel 63, 73 Hz) to low ones; each channel is half-wave rectified (the hair cells), its gain adapted in
   four stages (loud sounds compressed, quiet ones lifted), sharpened against its neighbour and smoothed;
3. the result, decimated by 10 (1250 frames per second of audio), is the **cochleagram**;
4. laid out in real time, one frame per 0.5 ms simulation step (1500 frames: 1.2 s of audio shown in 750 ms)
   and divided by the utterance's maximum, it becomes a "firing probability" in $[0, 1]$ per channel and step;
5. **64 Poisson input neurons**, one per channel, fire with that probability: up to 2 kHz.

The constants are those of `models/rathi2018_multimodal.toml`. The utterances are the shipped synthetic corpus
(1,200 espeak-ng recordings at 8 kHz), a stand-in for the licensed TI46: nothing above 4 kHz was recorded, so
the top channels hear little.
"""),
    code("""
from brainnets.audio import DEFAULT_MODEL_FILE, AudioFrontend
from brainnets.demos.cochlea import cochlea
from brainnets.demos.constants import constants

%matplotlib inline

frontend = AudioFrontend.load(DEFAULT_MODEL_FILE)
for name, value in constants(frontend).items():
    print(f"{name:>16} = {value}")
"""),
    text(r"""
## One utterance of "zero"
"""),
    code("""
figures = cochlea(digit=0)
figures["cochleagram"]
""", gallery=True),
    text(r"""
What to look at: the "z" is a short burst in the high channels; the vowels are bands of channels that stay
active for a while (the formants) and move as the mouth changes shape, with the voice's harmonics as stripes in
the low channels. The recording ends long before the 1.2 s window does: the rest is silence.

## The input spikes

The raster is what the network receives: 64 neurons, each firing in a step with the probability of its channel
and frame. The counts per channel follow their expected values, up to Poisson noise.
"""),
    code("""
figures["spikes"]
"""),
    text(r"""
## Digits and speakers

The same digit by another voice, and two other digits by the first one. A network has to learn what stays the
same across voices and what tells the digits apart.
"""),
    code("""
figures["digits"]
"""),
    text(r"""
## Try it

* `cochlea(digit=7)`, `cochlea(seed=1)`: another digit; other Poisson spikes.
* `brainnets.audio.cochleagram(waveform, rate, frontend)` takes any waveform (`brainnets.spoken_digits.read_wav`
  reads a WAV file), and `dataclasses.replace(frontend, n_channels=..., ...)` changes the ear (the filter bank
  must give as many channels as it says: `ear_q` and `step_factor` decide how many).
* The tuned front end, `models/rathi2018_multimodal_tuned.toml`, splits each channel into ON and OFF inputs and
  lays the utterance out side by side; the `brainnets multimodal` job uses it.
"""),
]

COMPRESSION = [
    text(r"""
# Pruning and quantizing learnt weights (Rathi 2021, ch. 2)

A trained Diehl & Cook network stores 784 weights per neuron, most of them near zero: the background of its
prototype. On hardware (a crossbar of memory cells, say) every synapse costs area and energy, and every weight
costs bits. Rathi's chapter 2 uses what STDP has learnt to save both:

* **pruning**: a synapse is *critical* if its weight is above a threshold (0.15 for MNIST); the others are set to
  zero and, at the end, removed;
* **quantization**: the critical weights share a few values. With `levels = 3` (zero counts as a level) they are
  split at their median and each half takes its mean, giving $\{0, w_1, w_2\}$; with 2 levels they all take one
  mean, $\{0, w_1\}$: one bit per synapse.

Here the weights come from a fresh run of `brainnets.demos.learning.learn` (16 neurons, 600 images: the run of the
`receptive-fields` notebook, sharing its compiled project), and `prune` and `quantize` of
`brainnets.stdp.compression` are applied once at the end. Rathi's method prunes *during* training instead, after
every batch from the third on, so that STDP can adjust the surviving weights in between (`brainnets compress
run`).
"""),
    code("""
from brainnets.demos.compression import SCHEDULE, compressed, plot_connectivity, plot_histogram, plot_mosaics
from brainnets.demos.learning import learn
from brainnets.stdp.compression import Compression

%matplotlib inline

threshold = Compression.load(SCHEDULE).threshold
print(f"pruning threshold {threshold} ({SCHEDULE.name})")
run = learn(n_exc=16, n_images=600)
versions = compressed(run.final, threshold)
print("versions:", ", ".join(versions))
"""),
    text(r"""
## What pruning and quantization keep
"""),
    code("""
plot_mosaics(versions)
""", gallery=True),
    text(r"""
What to look at: pruning removes the faint background and leaves the strokes; with 3 levels the digits keep
their shape and a coarse "how sure" inside the strokes; with 2 levels each field is a stencil. The fields that
stayed noisy (neurons that rarely won) keep a scatter of pixels: their weights never separated.

## The weights and the shared values
"""),
    code("""
plot_histogram(versions, threshold)
"""),
    text(r"""
Most weights sit at or near zero (depressed by STDP, then clipped at 0); the critical ones spread over the rest
of the range. The shared values are means of the critical weights, so they lie among them.

## How many synapses survive
"""),
    code("""
plot_connectivity(run.final, threshold)
"""),
    text(r"""
`threshold_for_connectivity(weights, share)` gives the threshold that keeps a chosen share of the synapses (the
"end" mode of `brainnets compress` can prune to a connectivity instead of a threshold).

## Try it

* `compressed(run.final, 0.3)`: a harsher threshold.
* `quantize(prune(run.final, threshold), 4)` (from `brainnets.stdp.compression`): more levels.
* Whether the compressed network still classifies: `brainnets compress run --levels 3 --out runs/q3` trains,
  prunes during training, labels and tests.
"""),
]

TTFS_TIMING = [
    text(r"""
# An exact ReLU to time-to-first-spike mapping: the timing diagram

A ReLU neuron computes $x_i = [\sum_j w_{ij} x_j + b_i]_+$. Stanojevic et al. (2022) map every such neuron onto a
spiking neuron that fires *once*, and codes its value in its spike time: $t_i = t_{max} - x_i$, the earlier
the larger (time in units of $\tau_c$). The spiking neuron is a non-leaky integrator,
$$\tau_c \frac{dV_i}{dt} = \alpha\,H(t - t_{ramp}) + \sum_j J_{ij}\,H(t - t_j),$$
that fires when $V_i$ reaches $\theta_i$ inside its window $[t_{min}, t_{max}]$, or is forced to fire at
$t_{max}$ (a ReLU output of 0). Each input spike adds a constant current $J_{ij}$, so $V_i$ is a ramp that bends
at every input spike; once every input has arrived (by $t_{min}$) its slope stays fixed, and the mapping
(`brainnets.ttfs.mapping`) chooses $J$ and $\theta$ so that the ramp meets the threshold exactly $x_i$ before
$t_{max}$. The inputs spike at $t = 1 - x$ in the window $[0, 1]$; each layer's window follows the previous one's,
and the readout's potentials at $t_{read}$ are the logits.

Here a small ReLU network (6 inputs, two hidden layers of 5 and 4 neurons, 3 logits) is drawn at random, mapped
with the constants of `models/stanojevic2023_ttfs.toml`, and one input is run through the Brian2 reference
(`brainnets.ttfs.reference`, exact spike times) with the potentials recorded. The closed form
(`brainnets.ttfs.exact`) says where every spike must be.
"""),
    code("""
from brainnets.demos.ttfs_timing import agreement, plot_timing, plot_values, timing_diagram

%matplotlib inline

spec, diagram = timing_diagram(seed=1)
for name, (t_min, t_max) in zip(["input", "layer 1", "layer 2"], spec.windows()):
    print(f"{name:>8} window [{t_min:g}, {t_max:g}]")
print(f" readout at t_read = {spec.readout.t_read:g}")
"""),
    text(r"""
## The timing diagram

Each neuron's potential is drawn over its own threshold, so that every neuron fires where its curve meets 1.
"""),
    code("""
plot_timing(spec, diagram)
""", gallery=True),
    text(r"""
What to look at:

* a neuron fires only inside its window (grey): before $t_{min}$ it would wait even with its potential above
  threshold (the guard), and the mapping makes the windows long enough (the largest activation seen on the
  calibration inputs, plus a margin) that none has to;
* the larger the ReLU value, the earlier the spike; a value of 0 is a spike forced at $t_{max}$ (open square);
* the ramps bend at the previous layer's spikes and are straight once the window opens: the spike time is then
  a linear function of the input times, which is why the mapping can be exact.

## Spike times are ReLU values
"""),
    code("""
plot_values(spec, diagram)
"""),
    code("""
for name, difference in agreement(spec, diagram).items():
    print(f"{name}: {'below' if difference < 1e-9 else 'ABOVE'} 1e-9")
"""),
    text(r"""
Brian2 agrees with the closed form to rounding error, and the closed form with the ReLU network: the mapping is
exact, not an approximation.

## Try it

* `timing_diagram(seed=2)`: another network and input.
* `timing_diagram(semantics="clock")`: Brian2 without the exact-time correction; every spike then lands on the
  time grid, and the values come out wrong by about a time step ($2^{-7}$ here), more in later layers. The `clock-vs-exact` notebook measures this
  for leaky neurons.
* The full pipeline on MNIST (train a ReLU network, map it, check 1,000 test images in Brian2):
  `brainnets ttfs --net fc2 --out runs/ttfs_fc2`.
"""),
]

CLOCK_VS_EXACT = [
    text(r"""
# Clock-driven against exact spike times

Brian2, like most simulators, advances in time steps of `dt`. Input spikes that arrive between grid points are
applied at the end of their step, and the threshold is checked only at grid points, so every output spike lands
on the grid: up to a step late. A late spike is not only late; the reset comes late too, and near threshold a
neuron can gain or lose a spike. `brainnets.exact.lif` gives the same Brian2 network *exact* semantics: inside
each step, the input spikes are taken in time order, the membrane is solved between them in closed form, and
the threshold crossing is found where it happens; then the spike times do not depend on `dt` at all.

The layer: 5 LIF neurons (NEST's `iaf_psc_delta` with its default constants: $\tau_m$ = 10 ms, threshold 15 mV
above rest, 2 ms refractory), each input spike making $v$ jump by its weight (0-6 mV), driven by 20 Poisson
inputs at 40 Hz for 200 ms. The comparison of two runs, neuron by neuron, is
`brainnets.crosscheck.compare.agreement`: how many neurons fire a different number of spikes, and how far apart
the paired spikes of the others are.
"""),
    code("""
from brainnets.demos.clock_vs_exact import errors, layer_inputs, plot_error_vs_dt, plot_raster, runs

%matplotlib inline

weights, inputs = layer_inputs(seed=0)
print(f"{len(inputs)} input spikes onto {weights.shape[1]} neurons")
simulated = runs(weights, inputs)
found = errors(simulated)
for (semantics, dt), row in found.items():
    print(f"{semantics:>5} dt = {dt:<6g} ms: {row['n_spikes_other']} spikes, {row['count_mismatches']} neurons with "
          f"another count, median error {row['median_abs_dt']:.3f} ms")
"""),
    text(r"""
Every run is compared with the exact run at the finest step (0.025 ms).

## Error against the time step
"""),
    code("""
plot_error_vs_dt(found)
""", gallery=True),
    text(r"""
What to look at:

* the exact runs agree with one another to the last bit, whatever `dt` (an error of 0 is drawn at the bottom);
* the clock-driven median error shrinks in proportion to `dt`: half the step, half the error;
* the largest error does not shrink: once a neuron has lost one spike and gained another, its spikes are paired
  with the wrong partners, ms apart. Counting the neurons whose spike count differs shows how slowly that goes
  away: even at 0.025 ms one neuron still differs.

## The spikes themselves
"""),
    code("""
plot_raster(simulated, 0.2)
"""),
    text(r"""
## Try it

* `layer_inputs(seed=1, rate_hz=80)`: other inputs, a busier layer.
* With NEST installed (`pip install 'brainnets[peers]'`), `runs(weights, inputs, with_nest=True)` adds NEST's
  precise model `iaf_psc_delta_ps`, which should agree with the exact semantics to about 1e-13 ms.
* Another simulator's spikes against Brian2, spike by spike: `brainnets crosscheck` (see the README).
"""),
]

NLIF_PERCEPTRON = [
    text(r"""
# The n-LIF perceptron: a spiking neuron read out once (Kotak, ch. 5)

The n-LIF neuron (non-leaky integrate-and-fire; Mostafa's neuron, which Kotak's thesis uses) keeps two numbers:
a synaptic current $I$ and a membrane potential $V$. An input spike at $t_j$ adds its weight $w_j$ to the
current, which then decays with the synaptic time constant $\tau$; the membrane integrates the current and never
leaks:
$$\frac{dV}{dt} = \frac{K}{\tau}\,I, \qquad \frac{dI}{dt} = -\frac{I}{\tau}, \qquad I \leftarrow I + w_j
\ \text{at } t_j .$$
Each input brings $K w_j$ in the end, but gradually, so from rest
$$V(t) = \sum_j w_j\,K\left(1 - e^{-(t - t_j)/\tau}\right) H(t - t_j).$$
Read at one fixed time $T$, this is linear in the weights:
$$V(T) = w \cdot \phi, \qquad \phi_j = K\left(1 - e^{-(T - t_j)/\tau}\right) H(T - t_j)
\quad \text{(Table 5.1)},$$
and the neuron decides $\hat y = +1$ if $V(T) \ge V_{th}$, else $-1$. Nothing fires and nothing resets: the
neuron is a perceptron whose features are its input spike times seen through $\phi$. An earlier spike has had
longer to charge the membrane, so it gives a larger $\phi_j$.

The task of §5.2: a sample is $d$ spike times (ms), early for class $+1$ ($t_j \sim U[0, 1]$), late for class
$-1$ ($U[1, 2]$), read at $T = 2$ ms. The constants are those of `models/kotak_nlif.toml`; the code is
`brainnets.nlif` (`neuron`: the neuron in Brian2 and its closed form; `perceptron`: $\phi$, Algorithm 1,
margins and bounds; `experiment`: the chapter's experiments and `train_and_plot`, which draws one run).
"""),
    code("""
import numpy as np

from brainnets.demos.constants import constants
from brainnets.demos.nlif_perceptron import plot_margin_shrink, plot_step_sizes, step_sizes, trained
from brainnets.nlif import perceptron
from brainnets.nlif.experiment import NLIFModel, brian2_check, shrink_curve

%matplotlib inline

model = NLIFModel.load("kotak_nlif")
for table in (model.neuron, model.data):
    for name, value in constants(table).items():
        print(f"{name:>8} = {value}")
tau = model.taus()[0]
print(f"V_th by the recipe of 5.2 at tau = {tau:g} ms: {model.threshold(tau):g}")
"""),
    text(r"""
## Algorithm 1

Start from $w = 0$. In each epoch visit the samples (here in an order drawn afresh from the seed), and on every
mistake move the weights towards the sample's side: $w \leftarrow w + \eta\,y\,\phi$. Stop after an epoch
without a mistake. The threshold stays fixed, at the recipe of §5.2,
$V_{th} = \frac{K}{\tau}\left(T - \frac{a_1 + b_1 + a_2 + b_2}{4}\right)$: for $\tau \gg T$, $\phi$ is nearly
the straight line $\frac{K}{\tau}(T - t)$, and this is its value at the midpoint of the two class means.

Twenty samples per class in two dimensions, so that both spaces can be drawn:
"""),
    code("""
demo = trained(model, n=20, d=2, seed=0)
training = demo.training
print(f"{training.mistakes} mistakes in {training.epochs} epochs, converged: {training.converged}")
print("mistakes per epoch:", training.mistakes_per_epoch)
print("w =", np.round(training.w, 3), f"  V_th = {training.threshold:g}")
margins = perceptron.margins(demo.features, demo.y, training.w, training.threshold)
print(f"margins: functional {margins.functional:.2g}, geometric {margins.geometric:.2g}")
demo.figures["boundary"]
""", gallery=True),
    text(r"""
What to look at:

* in $\phi$ space (right) the decision is a straight line, $w \cdot \phi = V_{th}$; in the space of spike times
  (left) the same decision is a curve, because $\phi$ is not linear in $t$. The n-LIF neuron is a linear
  classifier of $\phi$, not of the spike times;
* the early class sits at large $\phi$ (top right), the late one at small $\phi$;
* the perceptron stops at the first line that separates, not at the best one: its line passes close to a few
  samples (the small margins above).

## Mistakes per epoch
"""),
    code("""
demo.figures["mistakes"]
"""),
    text(r"""
The first three epochs get all 20 samples of class $+1$ wrong. With $w = 0$ every $V(T)$ is 0, below
$V_{th} = 1$; each mistake adds only $\eta\,\phi$ to $w$ (with $\eta = 0.01$), and it takes some sixty of them
before the early samples reach the threshold. A fixed threshold sets the scale that $w$ has to grow to, and
$\eta$ the pace. Once $w$ is large enough, the mistakes fall quickly to the few samples near the boundary.

## The neuron in Brian2

`brainnets.nlif.neuron` runs one n-LIF neuron per sample in Brian2, the trained weights on its synapses, with
each input spike taking effect at its exact time inside its time step rather than at the end of it (the same
convention as the package's other exact-time models). `brian2_check` reads every neuron's $V(T)$ and compares it
with $w \cdot \phi$, both with exact input times and as plain clock-driven Brian2 would have it:
"""),
    code("""
check = brian2_check(model, demo.x, demo.y, training, tau)
print(f"{check['n_neurons']} neurons, dt = {check['dt_ms']:g} ms")
print(f"exact: |V(T) - w.phi| {'below' if check['max_abs_v_difference'] < 1e-9 else 'ABOVE'} 1e-9, "
      f"decisions as the perceptron's: {check['agreement']:.0%}")
print(f"clock: |V(T) - w.phi| up to {check['clock_max_abs_v_difference']:.2g} (at most K |w|_1 dt / tau = "
      f"{check['clock_error_bound']:.2g}), decisions as the perceptron's: {check['clock_agreement']:.0%}")
demo.figures["membrane"]
"""),
    text(r"""
What to look at: each membrane is flat until its first input spike and bends at every one, where the current
jumps. It goes on rising after the last input, since the current still flows and nothing leaks away, towards
$K \sum_j w_j$, which it would reach only long after $T$. At the readout (dotted) the early samples stand above
$V_{th}$ and the late ones below. With exact input times Brian2 gives $w \cdot \phi$ to rounding error. Clock-driven
inputs act up to a step late, so $V(T)$ comes out too low by up to $K \lVert w \rVert_1\,dt / \tau$; the
perceptron left a sample closer to the threshold than that (its functional margin above), and that sample
changes sides.

## Why margins shrink in $\phi$ space

The feature map squeezes spike times: its slope is $\frac{K}{\tau} e^{-(T - t)/\tau} \le \frac{K}{\tau}$, so
two samples that differ by $\Delta t$ in a spike time differ by less than $\frac{K}{\tau}\Delta t$ in $\phi$.
The gap between the classes is at $t = b_1 = 1$ ms, so the best hyperplane's margin (the distance from it to
the closest sample) shrinks by about the slope there, $\frac{K}{\tau} e^{-(T - b_1)/\tau}$. For
$\tau \gg T$ that is just $K/\tau$; for $\tau$ shorter than $T - b_1$ the early spikes saturate ($\phi_j
\approx K$ for all of them) and the margin shrinks again. The thesis' Table 5.2 shows the same: margins an order
of magnitude smaller in $\phi$ than in $x$.
"""),
    code("""
ratios = shrink_curve(model, demo.x, demo.y)
for tau_ms, ratio in ratios.items():
    slope = model.neuron.K / tau_ms * np.exp(-(model.T - model.data.b1) / tau_ms)
    print(f"tau = {tau_ms:>5g} ms: margin in phi / in x = {ratio:.2g} (slope at the boundary {slope:.2g})")
plot_margin_shrink(model, demo.x, demo.y)
"""),
    text(r"""
A smaller margin means less room for noise on $V(T)$ or on the weights before a decision flips, and, for the
perceptron, more mistakes: Novikoff's bound $R^2/\gamma^2$ grows as the margin $\gamma$ shrinks.

## A fixed threshold needs a small step

Novikoff's theorem (§5.3) holds for a perceptron started from $w = 0$ whose hyperplane passes through the
origin: then $\eta$ only scales $w$ and does not matter. A fixed $V_{th} \ne 0$ breaks that. The good weights
form a narrow band, and a large step can jump over it back and forth for ever. The smallest case (the thesis
summary's check): one sample per class, $\phi_+ = 1.0$ and $\phi_- = 0.9$, $V_{th} = 1$, so $w$ must land in
$[1, 1/0.9) \approx [1, 1.11)$:
"""),
    code("""
c = model.convergence
toy_f, toy_y = np.array([[c.toy_phi_plus], [c.toy_phi_minus]]), np.array([1, -1])
for eta in (0.1, 0.3, 1.0, 3.0, 7.0, 10.0):
    toy = perceptron.train(toy_f, toy_y, eta=eta, threshold=c.toy_threshold, max_epochs=1000)
    print(f"eta = {eta:>4g}: " + (f"converged in {toy.epochs} epochs, w = {toy.w[0]:.2f}" if toy.converged
                                  else f"still wrong after {toy.epochs} epochs"))
"""),
    text(r"""
Whether a large step lands in the band is luck ($\eta = 1$ and $\eta = 10$ happen to hit $w = 1$ exactly);
small steps always do. The summary's bound makes this precise: if some $v$ separates the samples at $V_{th}$ with
margin $\gamma_v$, each mistake changes $\lVert w - v \rVert^2$ by at most $-2\eta\gamma_v + \eta^2 R^2$, so
Algorithm 1 converges whenever $\eta < 2\gamma_v / R^2$ (a sufficient condition, not a necessary one).

Kotak's 1-D task, 100 samples per class, visited in the order drawn (all of class $+1$ first):
"""),
    code("""
runs = step_sizes(model)
for label, run in runs.items():
    print(f"{label:>26}: {run.mistakes:>4} mistakes, " + (f"converged in {run.epochs} epochs" if run.converged
                                                          else f"not converged in {run.epochs} epochs"))
x1, y1 = model.two_classes(c.n_per_class, c.d, model.training.seed)
f1 = model.features(x1, tau)
bound = perceptron.fixed_threshold_bound(f1, y1, model.threshold(tau), 0.01)
print(f"converges for every eta < 2 gamma_v / R^2 = {bound.eta_max:.3f}; at eta = 0.01 within "
      f"{bound.bound:.0f} mistakes")
plot_step_sizes(runs)
"""),
    text(r"""
## The learned threshold

The way out: learn $V_{th}$ too, as the weight of one more input that is always $-c$ (here $c = \max \lVert
\phi \rVert$, so that it moves at the pace of the other weights). With $z = [\phi, -c]$ the decision is
$u \cdot z \ge 0$, a hyperplane through the origin again. Started from $u = 0$, every $u$ is $\eta$ times a sum of
samples $\pm z$, so $\eta$ scales the weights and the threshold alike and every decision stays the same: the
mistakes do not depend on $\eta$ at all, and Novikoff's bound holds.
"""),
    code("""
for eta in (0.01, 1.0, 100.0):
    learned = perceptron.train(f1, y1, eta=eta, learn_threshold=True, max_epochs=1000, shuffle=False)
    print(f"eta = {eta:>6g}: {learned.mistakes} mistakes, V_th learned = {learned.threshold:.3g}")
novikoff = perceptron.mistake_bound(f1, y1)
print(f"Novikoff: at most R^2 / gamma^2 = {novikoff.bound:.0f} mistakes")
"""),
    text(r"""
The bound is loose (the classes touch at $t = 1$ ms, so the best margin $\gamma$ is tiny), but it holds for
every step, as no bound can for a fixed threshold.

## Try it

* `trained(model, tau=20)`: the regime that the threshold recipe assumes ($\tau \gg T$). $V_{th}$ becomes 0.05,
  $\phi$ twenty times flatter, and Algorithm 1 with $\eta = 0.01$ takes over a hundred epochs.
* `trained(model, n=200, d=1)`: in one dimension the classes touch at $t = 1$ ms; the more samples, the closer
  the closest pair, and the margin tends to 0.
* `trained(model, learn_threshold=True)`, `trained(model, eta=1.0)`, `step_sizes(model, etas=(0.001, 0.03,
  3.0))`: other steps, with and without a fixed threshold.
* `trained(model, x=spike_times, y=labels)`: your own spike times (ms, samples by inputs) and labels in
  $\{-1, +1\}$.
* The whole chapter (Table 5.2's margins for both $\tau$, the step sizes, the Brian2 check on the large set):
  `brainnets.nlif.experiment.run("runs/nlif", quick=True)`.
"""),
]

MARGIN_PROPAGATION = [
    text(r"""
# Margin propagation: a dot product without multiplications (Kotak, ch. 2-4)

A neuron's pre-activation is a dot product, $w^\top x = \sum_i w_i x_i$: $D$ multiplications. Margin
propagation (MP) computes something proportional to it with additions, comparisons and one division by a small
integer. The road there (`brainnets.mp.approximation`):

1. A dot product is a difference of squares: $w^\top x = \tfrac12\left(f(w + x) - f(w - x)\right)$ with
   $f(u) = \tfrac12 u^\top u$.
2. Replace the square by a log-sum-exp surrogate (Eq. 2.2), which grows like it near 0:
   $f(u, \gamma) = \gamma^2 D \log \sum_{i=1}^{2D} e^{p_i / \gamma}$ on the $2D$-vector $p = [u; -u]$.
3. Approximate the exponential piecewise-linearly, $e^x \approx [1 + x]_+$. The sum of exponentials, set to one
   by a normalising shift $\alpha$, becomes the **MP equation**
   $$\sum_i \,[p_i - \alpha]_+ = \gamma ,$$
   and $\log \sum e^{p_i/\gamma}$ becomes $\alpha / \gamma$ (up to a constant that cancels). So
   $$y_{MP} = \tfrac12\,\gamma D\,\big(\alpha(p) - \alpha(q)\big), \qquad p = [w + x;\, -w - x], \quad
   q = [w - x;\, -w + x] \quad \text{(Eq. 2.8).}$$

Solving the MP equation needs only comparisons, sums and one division (`brainnets.mp.solvers`): that is the
whole neuron. The constant $\gamma > 0$ sets how many entries take part, and with it the quality of the
approximation.
"""),
    code("""
import numpy as np

from brainnets.demos.margin_propagation import (dot_products, plot_dot_products, plot_spike_time,
                                                plot_water_filling, spike_time, threshold, P)

%matplotlib inline
"""),
    text(r"""
## The threshold as water-filling

Read the MP equation from the top: draw the entries $p_i$ as bars and lower a line $\alpha$ from above. The
parts of the bars above the line, $[p_i - \alpha]_+$, grow as it falls; stop when they add up to $\gamma$. The
left side falls continuously and strictly while it is positive, so $\alpha$ is unique. Only the $k$ bars above
it (the *active set* $S$) count, and on them the equation is linear:
$$\alpha = \frac{\sum_{i \in S} p_i - \gamma}{k}.$$
The sort solver sorts $p$, tries $k = 1, 2, \dots$ and keeps the last $k$ whose bar still stands above its
candidate $\alpha$; the bisection solver halves an interval on the sign of $\sum_i [p_i - \alpha]_+ - \gamma$.

This is also a **projection onto a simplex**: $u_i = [p_i - \alpha]_+$ is the point of
$\{u \ge 0, \sum_i u_i = \gamma\}$ closest to $p$ (the sparsemax of $p$, scaled by $\gamma$). Minimising
$\lVert u - p \rVert^2$ under the constraint $\sum u_i = \gamma$ with a multiplier $\alpha$ gives $u_i = p_i - \alpha$,
and $u \ge 0$ clips it at 0: the threshold is the multiplier. The shaded parts below are that projection.
"""),
    code("""
print("p =", P)
for gamma in (0.5, 2.0, 5.0):
    alpha = threshold(P, gamma)
    above = np.clip(np.array(P) - alpha, 0, None)
    print(f"gamma = {gamma:g}: alpha = {alpha:.4f}, {int((above > 0).sum())} active, "
          f"sum of [p_i - alpha]_+ = {above.sum():.4f}")
plot_water_filling()
"""),
    text(r"""
What to look at: a small $\gamma$ lets only the tallest bars through ($\alpha$ just below the maximum, at least
$\max p - \gamma$); a large one floods more of them and pulls $\alpha$ down. Once every bar is active, $\alpha =
(\sum_i p_i - \gamma)/n$ just tracks the mean.

## MP against the true dot product

Random pairs of 16-dimensional vectors of norm 1, and $y_{MP}$ of each pair for a range of $\gamma$. For each
$\gamma$, the least-squares slope of $y_{MP}$ on $w^\top x$ and their correlation:
"""),
    code("""
result = dot_products(n=400, D=16, gammas=(0.001, 0.003, 0.03, 0.3, 3.0, 30.0, 100.0), seed=0)
for gamma in (0.001, 0.003, 0.03, 0.3, 3.0, 30.0, 100.0):
    print(f"gamma = {gamma:>6g}: slope {result.slopes[gamma]:>7.3f}, correlation {result.correlations[gamma]:.2f}")
plot_dot_products(result)
""", gallery=True),
    text(r"""
The scatter divides each $y_{MP}$ by its slope, so that "proportional" is the diagonal whatever the scale.

* **In the middle** (here $\gamma$ about 0.5 to 10) $y_{MP}$ follows $w^\top x$ closely (correlation above
  0.9), but with a slope that depends on $\gamma$ and is not 1. An MP layer therefore computes $w^\top x$ up to a
  factor; porting a trained network needs a per-layer rescale or a suitable $\gamma$
  (`brainnets.mp.porting`, `brainnets.mp.layers.calibrate`).
* **Very small $\gamma$**: only the largest entry is active, $\alpha(p) = \max_i p_i - \gamma$, so
  $y_{MP} = \tfrac12\gamma D\,(\lVert w + x \rVert_\infty - \lVert w - x \rVert_\infty)$: a difference of
  maximum norms instead of squared norms. The slope shrinks in proportion to $\gamma$ and the correlation
  settles at a lower value, whatever $\gamma$.
* **Very large $\gamma$**: every entry is active for both $p$ and $q$, and since both sum to 0,
  $\alpha(p) = \alpha(q) = -\gamma / 2D$: $y_{MP} = 0$ for every pair. The approximation collapses, first for
  the pairs with the widest spread (the flat row of points at 0 for $\gamma = 30$), then for all.

## MP as a spike time

A neuron without leak, each of whose inputs switches on a unit current from its spike time $t_i$ on, holds
$$v(t) = \sum_i\, [t - t_i]_+ \qquad (\text{time in units of } \tau_c),$$
and fires when $v$ reaches $\gamma$. Send input $i$ at $t_i = c - p_i$ (the larger $p_i$, the earlier) and write
the output time as $t_{out} = c - \alpha$: the firing condition is $\sum_i [p_i - \alpha]_+ = \gamma$, the MP
equation. The neuron solves it without sorting: the inputs arrive already sorted in time, each one adds one to
the slope of $v$, and the inputs that come after the output spike are exactly the inactive entries $p_i \le
\alpha$. `brainnets.mp.spiking.spiking_threshold` builds this neuron in Brian2 (the $\tau \to \infty$ limit of
Kotak's n-LIF neuron), with exact spike times inside each time step, and also as plain clock-driven Brian2, whose
spikes sit at the end of the step that detects them.
"""),
    code("""
run = spike_time(P, gamma=1.0, dt=2.0 ** -5)
print(f"sort solver: alpha = {run.alpha:.4f}, so the output spike is due at c - alpha = {run.c - run.alpha:.4f}")
print(f"exact spike times: |alpha_Brian2 - alpha| {'below' if abs(run.exact_alpha - run.alpha) < 1e-9 else 'ABOVE'} "
      f"1e-9")
clock_error = abs(run.clock_alpha - run.alpha)
print(f"clock-driven (dt = {run.dt:g}): |alpha_Brian2 - alpha| = {clock_error:.4f} = {clock_error / run.dt:.2f} dt")
plot_spike_time(run)
"""),
    text(r"""
What to look at: $v$ is flat until the earliest input (the largest $p_i$) and bends up at every input before
the spike; it crosses $\gamma$ exactly at $c - \alpha$. The grey inputs come too late to matter: they are the
bars that stay below the water line. Between events $v$ is a straight line, so the exact crossing can be traced
back from the overshoot, and Brian2 then agrees with the sort solver to rounding error. Clock-driven, the inputs
and the output each land at the end of their steps, and the spike time, hence $\alpha$, is off by up to a step
or so.

## Try it

* `plot_water_filling(p=[...], gammas=(...))`: your own vector; find the $\gamma$ at which a new bar joins the
  active set (where $\gamma$ equals $\sum_{i \in S} (p_i - p_j)$ for the next bar $p_j$).
* `dot_products(D=256)` or `dot_products(K=3.0)` and `plot_dot_products(...)`: where the useful range of
  $\gamma$ moves as the dimension or the norms grow (the error bounds of ch. 3 scale with $K$ and $D$).
* `spike_time(P, gamma=3.0, dt=2.0 ** -8)`: a larger $\gamma$ admits more inputs before the spike; a finer step
  shrinks the clock-driven error.
* The whole chapter (the solvers' agreement and memory, Table 2.1, the error bounds, an MLP ported to MP, the
  spiking check): `brainnets.mp.experiment.run("runs/mp", quick=True)`.
"""),
]

# name -> the cells of its notebook, for every demo of brainnets.demos.DEMOS. (A comment, not a doc comment: the
# API reference would print every lesson.)
LESSONS: dict[str, list[Cell]] = {
    "membranes": MEMBRANES,
    "stdp-window": STDP_WINDOW,
    "receptive-fields": RECEPTIVE_FIELDS,
    "cochlea": COCHLEA,
    "compression": COMPRESSION,
    "ttfs-timing": TTFS_TIMING,
    "clock-vs-exact": CLOCK_VS_EXACT,
    "nlif-perceptron": NLIF_PERCEPTRON,
    "margin-propagation": MARGIN_PROPAGATION,
}
