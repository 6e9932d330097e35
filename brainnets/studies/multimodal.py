"""Unimodal and cross-modal STDP ensembles on MNIST + spoken digits (Rathi 2021, chapter 3).

Trains, at equal total size N, the arms of the chapter's comparison: an image ensemble of N neurons, an
audio ensemble of N neurons, and two ensembles of N/2 joined by cross-modal STDP synapses, with and without
those synapses. Each arm is labelled on its training pairs and tested on test pairs; the multimodal arms
also with the audio, then the image, missing. --noise adds the noisy-MNIST arms (trained and tested on
degraded images): image only, multimodal without and with cross-modal synapses.

With no options it runs a small configuration on the shipped data (MNIST and the synthetic spoken digits)
and prints the results table::

    brainnets multimodal

A larger run on the Free Spoken Digit Dataset::

    brainnets multimodal --audio fsdd:../shared/data/fsdd/recordings --n-total 400 \\
        --train 10000 --test 2000 --noise awgn awgn_contrast --out runs/multimodal_400

Each arm trains in its own process and folder under OUT/arms, checkpointed, as a task of a Dask cluster: a
local one of --jobs workers (two arms at a time), or the running one --scheduler names, whose workers must see
OUT at the same path; --resume continues a killed run. OUT/metrics.json holds every arm's accuracies,
OUT/accuracies.png shows them, and OUT/cochleagram.png the corpus' first "0" as the audio ensemble receives it
(Fig. 3.4).

--manual adds the arm whose cross-modal links are made by hand after 5,000 pairs (Rathi 3.8). --sweep runs
instead the study of Figs. 3.11 and 3.12 at N neurons: learned and hand-made links at each of --fractions,
the ensembles without links, and learned links at the model's fraction for each of --seeds (which links join
neurons of the same label); OUT/sweep.json, OUT/fig3_11_fractions.png and OUT/fig3_12_links.png::

    brainnets multimodal --sweep --audio fsdd:../shared/data/fsdd/recordings --train 5000 \\
        --out runs/multimodal_sweep

Speaker-independent evaluation: ``--split speaker:NAME[,NAME...]`` tests on the named speakers and trains on
the others, ``--test-audio fsdd:FOLDER`` tests on another corpus, and ``--speakers`` trains the audio-only
and multimodal arms once per speaker of the corpus with that speaker held out (OUT/speakers.json); these
score every test utterance once (``--test-pairing each_once``)::

    brainnets multimodal --speakers --audio fsdd:../shared/data/fsdd/recordings --out runs/multimodal_speakers

Every arm reports its accuracy under the model's vote (``accuracy``; ``[readout].vote`` of the model file: the
thesis' pooled vote in both shipped models), under each vote (``readout.vote_pooled``, ``readout.vote_per_sense``)
and under a logistic regression of the spike counts fitted on the training pairs (``readout.linear``).

--validate is for choosing constants the thesis leaves open without looking at the test set: training
uses MNIST training images below 50,000 and part of the training utterances, and the "test" pairs are
MNIST training images from 50,000 on with the training utterances held out of training.
"""
from __future__ import annotations

import argparse
import json
from functools import partial
from pathlib import Path

import numpy as np

from ..audio import AudioFrontend, cached_ear_response, fill_cache, normalize
from ..checkpoint import check_run_folder, write_json_atomic
from ..datasets import LabelledImages, load_mnist
from ..devices import DEVICES
from ..plotting import plot_bars, plot_cochleagram, plot_lines, plot_link_census
from ..provenance import command_line_of, options_given, provenance
from ..resources import model_file, package_folder
from ..spoken_digits import (SPLITS, SpokenDigits, load_spoken_digits, named_test_speakers, shared_recordings,
                              split_spoken_digits)
from ..stdp.multimodal import MultimodalModel
from ..stdp.multimodal_experiment import TEST_PAIRINGS, MultimodalExperiment, MultimodalSettings
from ..stdp.readout import VOTES
from .arms import add_cluster_arguments, begin_study, from_table, run_arm_process, run_arms

#: The model the main job uses: the literal one with the deviations chosen on held-out data.
DEFAULT_MODEL = "rathi2018_multimodal_tuned"
#: The thesis-literal model, whose committed results the table prints beside the tuned model's.
LITERAL_MODEL = "rathi2018_multimodal"

#: Rathi 2021 on MNIST + TI46, for the table: 100 neurons (3.6.5, 3.8: 18 % cross-modal links) and the
#: largest networks, 6400 neurons (3.6.1-3.6.4, where the noisy and missing-input numbers come from).
THESIS_100 = {"image_only": 0.816, "multimodal": 0.85, "multimodal_no_crossmodal": 0.823, "manual": 0.876}
THESIS_6400 = {"image_only": 0.932, "audio_only": 0.960, "multimodal": 0.980, "multimodal_no_crossmodal": 0.946,
               "noisy_awgn/image_only": 0.862, "noisy_awgn/multimodal_no_crossmodal": 0.902,
               "noisy_awgn/multimodal": 0.932, "noisy_awgn_contrast/image_only": 0.518,
               "noisy_awgn_contrast/multimodal_no_crossmodal": 0.734, "noisy_awgn_contrast/multimodal": 0.828,
               "missing_audio": 0.939, "missing_image": 0.968}

#: The first MNIST training image that --validate holds out of training.
FIRST_HELD_OUT = 50000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help="model file (TOML), or the name of a shipped model (default: %(default)s)")
    parser.add_argument("--audio", default="shipped", help="shipped, fsdd:FOLDER or ti46:FOLDER")

    def split(text: str) -> str:  # the form only: the names are checked against the corpus by run
        try:
            named_test_speakers(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        return text

    parser.add_argument("--split", type=split, default="utterance",
                        help="utterance: every speaker in train and test (TI46-like); speaker: disjoint speakers, "
                             "the test ones drawn; speaker:NAME[,NAME...]: those speakers test, the others train; "
                             f"ti46: TI46's own sessions (one of {', '.join(SPLITS)} or speaker:NAME[,NAME...])")
    parser.add_argument("--test-audio", metavar="SOURCE",
                        help="score on the utterances of this corpus (fsdd:FOLDER, ti46:FOLDER or shipped), all of "
                             "them; training still uses the training part of --audio's --split")
    parser.add_argument("--test-pairing", choices=TEST_PAIRINGS, default=None,
                        help="how a test image finds its utterance: random (drawn with replacement) or each_once "
                             "(every test utterance once before any again); default: each_once with --speakers, "
                             "--test-audio or a speaker:NAME split, random otherwise (as the committed results)")
    parser.add_argument("--n-total", type=int, default=100, help="excitatory neurons of every arm, all ensembles")
    parser.add_argument("--train", type=int, default=1500, help="training pairs (first K MNIST training images)")
    parser.add_argument("--test", type=int, default=1000, help="test pairs (first M MNIST test images)")
    parser.add_argument("--assign", type=int, default=None, help="label on the first K training pairs")
    parser.add_argument("--validate", action="store_true",
                        help=f"score on held-out training data (MNIST training images from {FIRST_HELD_OUT} on), "
                             "never the test set")
    parser.add_argument("--noise", nargs="*", default=[], choices=["awgn", "awgn_contrast"],
                        help="also the noisy-MNIST arms")
    parser.add_argument("--manual", action="store_true",
                        help="also the arm with cross-modal links made by hand after 5,000 pairs (Rathi 3.8)")
    parser.add_argument("--arms", nargs="+", metavar="ARM",
                        help="train only these arms of the comparison (e.g. audio_only), to study one of them")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", choices=DEVICES, default="cpp")
    parser.add_argument("--eval-copies", type=int, default=1,
                        help="label and test each arm with this many frozen copies of it in one simulation "
                             "(default: 1, the trained network one pair at a time)")
    add_cluster_arguments(parser)
    parser.add_argument("--out", default="runs/multimodal", help="output folder; must be new unless --resume")
    parser.add_argument("--summary", help="also add this size's results to a summary JSON file")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    sweep = parser.add_argument_group("the cross-modal sweep (Figs. 3.11, 3.12)")
    sweep.add_argument("--sweep", action="store_true", help="run the sweep instead of the comparison")
    sweep.add_argument("--fractions", type=float, nargs="+", default=[0.06, 0.12, 0.18, 0.26, 0.34],
                       help="shares of the neuron pairs joined by cross-modal links")
    sweep.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4],
                       help="seeds of the learned links at the model's fraction (Fig. 3.12)")
    speakers = parser.add_argument_group("leave one speaker out")
    speakers.add_argument("--speakers", action="store_true",
                          help="instead of the comparison: the audio-only and multimodal arms trained once per "
                               "speaker of --audio, that speaker held out for the test, and once on --split "
                               "(utterance) to compare; OUT/speakers.json")


# -- the arms ----------------------------------------------------------------------------------------------

def _half(n_total: int) -> int:
    """The image ensemble's share of ``n_total`` neurons split into two ensembles."""
    if n_total < 2:
        raise ValueError(f"--n-total must be >= 2 (two ensembles of at least one neuron), got {n_total}")
    return n_total // 2


def comparison_arms(n_total: int, noises: list[str], manual: bool = False) -> dict[str, dict]:
    """Name -> what sets each arm of the comparison apart (fields of :class:`MultimodalSettings`): sizes,
    cross-modal synapses, image noise."""
    half = _half(n_total)
    found = {"image_only": {"n_image": n_total, "n_audio": 0},
             "audio_only": {"n_image": 0, "n_audio": n_total},
             "multimodal": {"n_image": half, "n_audio": n_total - half},
             "multimodal_no_crossmodal": {"n_image": half, "n_audio": n_total - half, "crossmodal": "none"}}
    if manual:
        found["multimodal_manual"] = {"n_image": half, "n_audio": n_total - half, "crossmodal": "manual"}
    for noise in noises:
        for name in ("image_only", "multimodal_no_crossmodal", "multimodal"):
            found[f"noisy_{noise}/{name}"] = {**found[name], "image_noise": noise}
    return found


def sweep_arms(n_total: int, fractions: list[float], seeds: list[int], seed: int, model_fraction: float) -> dict:
    """Name -> what sets each arm of Figs. 3.11 and 3.12 apart (the same arm is trained once)."""
    half = _half(n_total)
    sizes = {"n_image": half, "n_audio": n_total - half}
    found = {"no_crossmodal": {**sizes, "crossmodal": "none"}}
    runs = [(kind, fraction, seed) for fraction in fractions for kind in ("stdp", "manual")]
    runs += [("stdp", model_fraction, other) for other in seeds]
    for kind, fraction, run_seed in runs:
        found[f"{kind}_{fraction:g}_seed{run_seed}"] = {**sizes, "crossmodal": kind, "crossmodal_fraction": fraction,
                                                        "seed": run_seed}
    return found


#: The arms of the leave-one-speaker-out study (--speakers).
SPEAKER_ARMS = ("audio_only", "multimodal")


def speaker_folds(speakers: list[str], reference_split: str) -> dict[str, str]:
    """Fold -> its split, for --speakers: each speaker held out (``speaker:NAME``), and ``reference_split``
    (fold ``<split>_split``, e.g. ``utterance_split``) to compare them with."""
    if named_test_speakers(reference_split) is not None or reference_split == "speaker":
        raise ValueError(f"--speakers holds out each speaker in turn; --split gives the split to compare them "
                         f"with (utterance or ti46), got {reference_split!r}")
    odd = [name for name in speakers if "," in name or name != name.strip()]
    if odd:
        raise ValueError(f"speaker {odd[0]!r}: a name with a comma or surrounding spaces cannot be held out by name")
    return {**{name: f"speaker:{name}" for name in speakers}, f"{reference_split}_split": reference_split}


def speaker_plan(n_total: int, folds: dict[str, str]) -> dict[str, tuple[dict, str]]:
    """``fold/arm`` -> (what sets the arm apart, the fold's split), for every fold and :data:`SPEAKER_ARMS`."""
    arms = comparison_arms(n_total, [])
    return {f"{fold}/{name}": (arms[name], split) for fold, split in folds.items() for name in SPEAKER_ARMS}


def pairing_of(args: argparse.Namespace, split: str) -> str:
    """--test-pairing, or by default each_once where speakers or corpora are held out, random otherwise."""
    if args.test_pairing:
        return args.test_pairing
    held_out = args.speakers or args.test_audio or named_test_speakers(split) is not None
    return "each_once" if held_out else "random"


def arm_settings(args: argparse.Namespace, arm: dict, split: str | None = None) -> MultimodalSettings:
    """The settings of one arm: what every arm shares, from the options, and what sets ``arm`` apart;
    ``split`` when it is not --split (a fold of --speakers)."""
    split = split or args.split
    scored_on = ", held-out validation" if args.validate else ""
    tested_on = f"; test utterances from {args.test_audio}" if args.test_audio and not args.validate else ""
    shared = {"model": args.model, "n_train": args.train, "n_test": args.test, "n_assign": args.assign,
              "seed": args.seed, "device": args.device, "audio": f"{args.audio} ({split} split{scored_on}){tested_on}",
              "test_pairing": pairing_of(args, split), "eval_copies": args.eval_copies}
    return MultimodalSettings(**{**shared, **arm})


def scoring_corpus(source: str, train: SpokenDigits) -> SpokenDigits:
    """The corpus ``source`` names (--test-audio), sharing no recording with the training utterances."""
    corpus = load_spoken_digits(source)
    shared = shared_recordings(train, corpus)
    if shared:
        raise ValueError(f"--test-audio {source}: {len(shared)} of its recordings are also training utterances "
                         f"(e.g. {shared[0]}); hold them out with --split or test on other recordings")
    return corpus


def held_out(train_images: LabelledImages, train_audio, split: str, seed: int):
    """(images, audio), each as (train, test), made from training data alone: MNIST training images below
    FIRST_HELD_OUT for training and the rest for scoring; the training utterances split again (TI46's own
    sessions cannot split twice, so its training part is split by utterance)."""
    images = (train_images[:FIRST_HELD_OUT], train_images[FIRST_HELD_OUT:])
    return images, split_spoken_digits(train_audio, "utterance" if split == "ti46" else split, seed=seed)


def run_arm(settings: dict, data: dict, out: Path, resume: bool, progress: bool) -> dict:
    """One arm of a study (:mod:`.arms`), in this process: ``data`` says which spoken digits (``audio``), how
    they split (``split``), whether to score on held-out training data (``validate``) and, if it has
    ``test_audio``, which corpus to test on instead of the split's test part."""
    settings = from_table(MultimodalSettings, settings)
    train_images = load_mnist("train")
    audio = split_spoken_digits(load_spoken_digits(data["audio"]), data["split"], seed=settings.seed)
    if data["validate"]:
        split = data["split"]
        if named_test_speakers(split) is not None:  # not among the training speakers: hold out a drawn one
            split = "speaker" if len(set(audio[0].speakers.tolist())) > 1 else "utterance"
        images, audio = held_out(train_images, audio[0], split, settings.seed)
    else:
        images = (train_images, load_mnist("test"))
        if data.get("test_audio"):
            audio = (audio[0], scoring_corpus(data["test_audio"], audio[0]))
    return MultimodalExperiment(settings, images, audio, out, resume=resume, progress=progress).run()


def train(settings: MultimodalSettings, data: dict, out: Path) -> dict:
    """One arm trained into ``out`` in its own process, unless ``out`` holds it finished (a killed one is
    resumed); returns its metrics. ``data`` as for :func:`run_arm`."""
    return run_arm_process("multimodal", settings, data, out)


# -- the results -------------------------------------------------------------------------------------------

def summarize(results: dict[str, dict], args: argparse.Namespace) -> dict:
    """One network size's entry of docs/results/multimodal/summary.json; ``readout`` repeats its accuracies
    under the thesis' vote and under the linear readout of the spike counts (None for an arm whose metrics
    predate it), keyed as the entry is."""
    multimodal = results["multimodal"]
    entry = {"n_total": args.n_total, "n_train": args.train, "n_test": args.test, "seed": args.seed,
             "audio_dataset": args.audio, "split": args.split,
             **{name: results[name]["accuracy"] for name in ("image_only", "audio_only", "multimodal",
                                                             "multimodal_no_crossmodal")},
             "missing_audio": multimodal["accuracy_missing_audio"],
             "missing_image": multimodal["accuracy_missing_image"],
             "crossmodal_same_label_fraction": multimodal["crossmodal"]["same_label_fraction"],
             "crossmodal": multimodal["crossmodal"]}
    for noise in args.noise:
        entry[f"noisy_{noise}"] = {name: results[f"noisy_{noise}/{name}"]["accuracy"]
                                   for name in ("image_only", "multimodal_no_crossmodal", "multimodal")}

    def readout(kind: str) -> dict:
        def accuracy(arm: str, key: str = "accuracy"):
            metrics = results[arm]
            return metrics[key] if kind == "vote" else (metrics.get("readout", {}).get(kind) or {}).get(key)
        block = {name: accuracy(name)
                 for name in ("image_only", "audio_only", "multimodal", "multimodal_no_crossmodal")}
        block["missing_audio"] = accuracy("multimodal", "accuracy_missing_audio")
        block["missing_image"] = accuracy("multimodal", "accuracy_missing_image")
        for noise in args.noise:
            block[f"noisy_{noise}"] = {name: accuracy(f"noisy_{noise}/{name}")
                                       for name in ("image_only", "multimodal_no_crossmodal", "multimodal")}
        return block
    entry["vote"] = multimodal.get("vote", "pooled")  # the vote of the plain accuracies
    entry["readout"] = {kind: readout(kind) for kind in ("vote", "linear", *(f"vote_{vote}" for vote in VOTES))}
    return entry


def add_to_summary(path: Path, entry: dict) -> None:
    """Put ``entry`` into the summary file, replacing an earlier one of the same size."""
    document = json.loads(path.read_text()) if path.exists() else {"sizes": []}
    document["sizes"] = sorted([e for e in document["sizes"] if e["n_total"] != entry["n_total"]] + [entry],
                               key=lambda e: e["n_total"])
    write_json_atomic(path, document)


def link_census(metrics: dict) -> dict:
    """An arm's accuracy and how many of its kept cross-modal links join neurons of the same label."""
    links = metrics["crossmodal"]
    correct = round(links["same_label_fraction"] * links["n_kept"])
    return {"seed": metrics["seed"], "fraction": metrics["crossmodal_fraction"], "accuracy": metrics["accuracy"],
            "n_links": links["n_links"], "n_kept": links["n_kept"], "correct": correct,
            "incorrect": links["n_kept"] - correct, "same_label_fraction": links["same_label_fraction"],
            "same_label_weight_share": links["same_label_weight_share"]}


def report_sweep(results: dict[str, dict], args: argparse.Namespace, out: Path, model_fraction: float) -> dict:
    """Figs. 3.11 (accuracy against the share of linked pairs) and 3.12 (correct links per seed)."""
    curves = {kind: [link_census(results[f"{kind}_{fraction:g}_seed{args.seed}"]) for fraction in args.fractions]
              for kind in ("stdp", "manual")}
    seeds = [link_census(results[f"stdp_{model_fraction:g}_seed{seed}"]) for seed in args.seeds]
    unlinked = results["no_crossmodal"]["accuracy"]
    labels = {"stdp": "links learned by STDP", "manual": "links made by hand"}
    plot_lines({labels[kind]: ([c["fraction"] for c in curve], [100 * c["accuracy"] for c in curve])
                for kind, curve in curves.items()},
               out / "fig3_11_fractions.png", xlabel="cross-modal links / neuron pairs", ylabel="accuracy (%)",
               title=f"{args.n_total} neurons, {args.train} training pairs ({args.audio})",
               points={"no cross-modal links": (0.0, 100 * unlinked),
                       "thesis, STDP links at 18 %": (0.18, 100 * THESIS_100["multimodal"])})
    plot_link_census(seeds, out / "fig3_12_links.png",
                     title=f"learned links at {model_fraction:g} of the pairs, {args.n_total} neurons")
    return {"fractions": curves, "seeds": seeds, "no_crossmodal": unlinked,
            "thesis_100_neurons": {"stdp_at_0.18": THESIS_100["multimodal"], "manual_best": THESIS_100["manual"],
                                   "no_crossmodal": THESIS_100["multimodal_no_crossmodal"],
                                   "same_label_fraction": "> 0.70 (Fig. 3.12)"}}


def draw_a_zero(corpus: SpokenDigits, frontend: AudioFrontend, path: Path) -> None:
    """Fig. 3.4: the cochleagram of the corpus' first "0", Lyon's ear in real time, normalized as the front end
    normalizes (what the thesis' audio ensemble receives, before any ON/OFF split or stretching)."""
    zeros = np.flatnonzero(corpus.labels == 0)
    first = int(zeros[0]) if zeros.size else 0  # a corpus without a "0" shows its first utterance
    probabilities = normalize(cached_ear_response(corpus.waveforms[first], int(corpus.sample_rates[first]), frontend),
                              frontend)
    plot_cochleagram(probabilities, path, frame_rate=frontend.rate_hz / frontend.decimation,
                     center_frequencies=frontend.center_frequencies(),
                     title=f'"{corpus.labels[first]}", {corpus.paths[first].name}')


def literal_results(args: argparse.Namespace) -> dict | None:
    """The thesis-literal model's committed accuracies (arm -> accuracy, linear, missing_audio, missing_image)
    for the configuration the options describe, when the package ships them (reference/multimodal_literal.json)
    and the run uses another model; else None."""
    if args.validate or model_file(args.model).resolve() == model_file(LITERAL_MODEL).resolve():
        return None
    document = json.loads((package_folder("reference") / "multimodal_literal.json").read_text())
    asked = {"audio": args.audio, "split": args.split, "n_total": args.n_total, "n_train": args.train,
             "n_test": args.test}
    return next((run["arms"] for run in document["runs"] if all(run[key] == value for key, value in asked.items())),
                None)


def table(results: dict[str, dict], literal: dict | None = None) -> str:
    """The results as a Markdown table beside the thesis' numbers: accuracies by the thesis' vote, and the
    linear readout of the spike counts on the full test; with ``literal`` (:func:`literal_results`), the
    thesis-literal model's vote accuracy in the same configuration too."""
    def percent(value):
        return "" if value is None else f"{100 * value:.1f} %"

    literal_column = " literal model |" if literal else ""
    lines = ["| arm | accuracy | linear readout | missing audio | missing image |" + literal_column +
             " thesis, 100 neurons | thesis, 6400 neurons |",
             "|---|---|---|---|---|---|---|" + ("---|" if literal else "")]
    for name, metrics in results.items():
        cells = [metrics.get(key) for key in ("accuracy", "accuracy_missing_audio", "accuracy_missing_image")]
        cells.insert(1, metrics.get("readout", {}).get("linear", {}).get("accuracy"))
        if literal:
            cells.append(literal.get(name, {}).get("accuracy"))
        cells += [THESIS_100.get(name), THESIS_6400.get(name)]
        lines.append(f"| {name} | " + " | ".join(percent(value) for value in cells) + " |")
    return "\n".join(lines)


def accuracies_json(results: dict[str, dict]) -> str:
    return json.dumps({name: metrics["accuracy"] for name, metrics in results.items()}, indent=2)


# -- the study ---------------------------------------------------------------------------------------------

def run(args: argparse.Namespace) -> dict:
    """The comparison (or, with --sweep, the sweep; with --speakers, leave one speaker out) the options
    describe; returns the document it writes."""
    out = Path(args.out)
    check_run_folder(out, args.resume,
                     finished="speakers.json" if args.speakers else "sweep.json" if args.sweep else "metrics.json")
    if args.speakers and (args.sweep or args.noise or args.manual or args.test_audio or args.summary):
        raise ValueError("--speakers trains the audio-only and multimodal arms only: leave out --sweep, --noise, "
                         "--manual, --test-audio and --summary")
    if args.arms and (args.speakers or args.summary):
        raise ValueError("--arms picks arms of the comparison or the sweep: leave out --speakers and --summary, "
                         "which need every arm")
    if args.test_audio and args.validate:
        raise ValueError("--validate never scores on test utterances: leave out --test-audio")
    origin = provenance()
    corpus = load_spoken_digits(args.audio)  # a bad --audio fails here, before any arm starts
    model = MultimodalModel.load(args.model)
    model_fraction = model.crossmodal.fraction
    if args.speakers:
        plan = speaker_plan(args.n_total, speaker_folds(sorted(set(corpus.speakers.tolist())), args.split))
    else:
        arms = (sweep_arms(args.n_total, args.fractions, args.seeds, args.seed, model_fraction) if args.sweep
                else comparison_arms(args.n_total, args.noise, args.manual))
        if args.arms:
            unknown = sorted(set(args.arms) - set(arms))
            if unknown:
                raise ValueError(f"--arms: no arm {unknown[0]!r}; the arms are {', '.join(arms)}")
            arms = {name: arm for name, arm in arms.items() if name in args.arms}
        plan = {name: (arm, args.split) for name, arm in arms.items()}
    test_audio = None
    for split in dict.fromkeys(split for _, split in plan.values()):  # a bad --split fails here too
        train_audio, _ = split_spoken_digits(corpus, split, seed=args.seed)
        if args.test_audio:
            test_audio = scoring_corpus(args.test_audio, train_audio)
    settings = {name: arm_settings(args, arm, split) for name, (arm, split) in plan.items()}  # and bad settings
    begin_study(out, "speakers" if args.speakers else "sweep" if args.sweep else "comparison", settings, args.resume)
    out.mkdir(parents=True, exist_ok=True)
    for audio in (corpus, test_audio) if test_audio is not None else (corpus,):  # once, not in every arm
        fill_cache(audio, model.frontend, workers=args.jobs, progress=not args.quiet)
    draw_a_zero(corpus, model.frontend, out / "cochleagram.png")
    given = {"test_audio": args.test_audio} if args.test_audio else {}
    results = run_arms({name: partial(train, settings[name],
                                      {"audio": args.audio, "split": split, "validate": args.validate, **given},
                                      out / "arms" / name)
                        for name, (_, split) in plan.items()}, jobs=args.jobs, scheduler=args.scheduler,
                       progress=not args.quiet, folders={name: out / "arms" / name for name in plan})
    command = command_line_of(["multimodal"], options_given(args, add_arguments))
    if args.speakers:
        document = {**report_speakers(results, plan, args), **origin, "command": command}
        write_json_atomic(out / "speakers.json", document)
        print(speakers_table(document))
        return document
    if args.sweep:
        document = {**report_sweep(results, args, out, model_fraction), **origin, "command": command}
        write_json_atomic(out / "sweep.json", document)
        print(accuracies_json(results))
        return document
    document = {"arms": results, "scored_on": "held-out training data" if args.validate else "test set",
                "thesis_100_neurons": THESIS_100, "thesis_6400_neurons": THESIS_6400, **origin, "command": command}
    write_json_atomic(out / "metrics.json", document)
    if args.summary:
        add_to_summary(Path(args.summary), {**summarize(results, args), "git_commit": origin["git_commit"]})
    plot_bars({name.replace("/", "\n"): 100 * metrics["accuracy"] for name, metrics in results.items()},
              out / "accuracies.png", ylabel="test accuracy (%)",
              title=f"{args.n_total} neurons per arm, {args.train} training pairs ({args.audio})")
    print(table(results, literal_results(args)))
    print(accuracies_json(results))
    return document


# -- leave one speaker out (--speakers) --------------------------------------------------------------------

def report_speakers(results: dict[str, dict], plan: dict[str, tuple[dict, str]], args: argparse.Namespace) -> dict:
    """speakers.json: each fold's accuracies (the multimodal arm's also with either input missing) and how many
    test utterances it scored, the mean and range over the held-out speakers, and the reference split's."""
    folds = dict.fromkeys(name.split("/")[0] for name in plan)
    speakers = [fold for fold in folds if named_test_speakers(plan[f"{fold}/{SPEAKER_ARMS[0]}"][1]) is not None]
    keys = ("accuracy", "accuracy_missing_audio", "accuracy_missing_image", "accuracy_per_ensemble",
            "test_utterances")
    per_fold = {fold: {arm: {key: results[f"{fold}/{arm}"][key] for key in keys if key in results[f"{fold}/{arm}"]}
                       for arm in SPEAKER_ARMS} for fold in folds}

    def over_speakers(arm: str, key: str) -> dict | None:
        values = [per_fold[speaker][arm].get(key) for speaker in speakers]
        if any(value is None for value in values):
            return None
        return {"mean": float(np.mean(values)), "min": float(np.min(values)), "max": float(np.max(values))}

    means = {arm: {key: found for key in keys[:3] if (found := over_speakers(arm, key)) is not None}
             for arm in SPEAKER_ARMS}
    reference = next(fold for fold in folds if fold not in speakers)
    some = results[f"{speakers[0]}/{SPEAKER_ARMS[0]}"]
    return {"held_out_speakers": {speaker: per_fold[speaker] for speaker in speakers},
            "over_speakers": means, "reference_split": plan[f"{reference}/{SPEAKER_ARMS[0]}"][1],
            "reference": per_fold[reference],
            "scored_on": "held-out training data" if args.validate else "test set",
            "test_pairing": some.get("test_pairing"), "audio_dataset": args.audio, "n_total": args.n_total,
            "n_train": args.train, "n_test": args.test, "seed": args.seed}


def speakers_table(document: dict) -> str:
    """speakers.json as a Markdown table: one row per held-out speaker, their mean, the reference split."""
    def row(name: str, fold: dict) -> str:
        cells = [f"{100 * fold[arm]['accuracy']:.1f} %" for arm in SPEAKER_ARMS]
        used = fold[SPEAKER_ARMS[0]].get("test_utterances", {})
        return f"| {name} | " + " | ".join(cells) + f" | {used.get('scored', '')} of {used.get('available', '')} |"

    lines = ["| test speakers | " + " | ".join(SPEAKER_ARMS) + " | test utterances scored |",
             "|---|" + "---|" * (len(SPEAKER_ARMS) + 1)]
    lines += [row(speaker, fold) for speaker, fold in document["held_out_speakers"].items()]
    means = document["over_speakers"]
    lines.append("| mean over speakers | " + " | ".join(f"{100 * means[arm]['accuracy']['mean']:.1f} %"
                                                     for arm in SPEAKER_ARMS) + " | |")
    lines.append(row(f"all ({document['reference_split']} split)", document["reference"]))
    return "\n".join(lines)
