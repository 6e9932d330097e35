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

Each arm trains in its own process and folder under OUT/arms (two at a time, --jobs), checkpointed; --resume
continues a killed run. OUT/metrics.json holds every arm's accuracies, OUT/accuracies.png shows them, and
OUT/cochleagram.png the corpus' first "0" as the audio ensemble receives it (Fig. 3.4).

--manual adds the arm whose cross-modal links are made by hand after 5,000 pairs (Rathi 3.8). --sweep runs
instead the study of Figs. 3.11 and 3.12 at N neurons: learned and hand-made links at each of --fractions,
the ensembles without links, and learned links at the model's fraction for each of --seeds (which links join
neurons of the same label); OUT/sweep.json, OUT/fig3_11_fractions.png and OUT/fig3_12_links.png::

    brainnets multimodal --sweep --audio fsdd:../shared/data/fsdd/recordings --train 5000 \\
        --out runs/multimodal_sweep

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

from ..audio import AudioFrontend, cochleagram, fill_cache
from ..checkpoint import check_run_folder, write_json_atomic
from ..datasets import LabelledImages, load_mnist
from ..devices import DEVICES
from ..plotting import plot_bars, plot_cochleagram, plot_lines, plot_link_census
from ..provenance import command_line_of, options_given, provenance
from ..spoken_digits import SPLITS, SpokenDigits, load_spoken_digits, split_spoken_digits
from ..stdp.multimodal import MultimodalModel
from ..stdp.multimodal_experiment import MultimodalExperiment, MultimodalSettings
from .arms import from_table, run_all, run_arm_process

DEFAULT_MODEL = "rathi2018_multimodal"

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
    parser.add_argument("--split", choices=SPLITS, default="utterance",
                        help="utterance: every speaker in train and test (TI46-like); speaker: disjoint speakers")
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
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", choices=DEVICES, default="cpp")
    parser.add_argument("--jobs", type=int, default=2, help="arms trained at the same time")
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


# -- the arms ----------------------------------------------------------------------------------------------

def comparison_arms(n_total: int, noises: list[str], manual: bool = False) -> dict[str, dict]:
    """Name -> what sets each arm of the comparison apart (fields of :class:`MultimodalSettings`): sizes,
    cross-modal synapses, image noise."""
    half = n_total // 2
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
    half = n_total // 2
    sizes = {"n_image": half, "n_audio": n_total - half}
    found = {"no_crossmodal": {**sizes, "crossmodal": "none"}}
    runs = [(kind, fraction, seed) for fraction in fractions for kind in ("stdp", "manual")]
    runs += [("stdp", model_fraction, other) for other in seeds]
    for kind, fraction, run_seed in runs:
        found[f"{kind}_{fraction:g}_seed{run_seed}"] = {**sizes, "crossmodal": kind, "crossmodal_fraction": fraction,
                                                        "seed": run_seed}
    return found


def arm_settings(args: argparse.Namespace, arm: dict) -> MultimodalSettings:
    """The settings of one arm: what every arm shares, from the options, and what sets ``arm`` apart."""
    scored_on = ", held-out validation" if args.validate else ""
    shared = {"model": args.model, "n_train": args.train, "n_test": args.test, "n_assign": args.assign,
              "seed": args.seed, "device": args.device, "audio": f"{args.audio} ({args.split} split{scored_on})"}
    return MultimodalSettings(**{**shared, **arm})


def held_out(train_images: LabelledImages, train_audio, split: str, seed: int):
    """(images, audio), each as (train, test), made from training data alone: MNIST training images below
    FIRST_HELD_OUT for training and the rest for scoring; the training utterances split again (TI46's own
    sessions cannot split twice, so its training part is split by utterance)."""
    images = (train_images[:FIRST_HELD_OUT], train_images[FIRST_HELD_OUT:])
    return images, split_spoken_digits(train_audio, "utterance" if split == "ti46" else split, seed=seed)


def run_arm(settings: dict, data: dict, out: Path, resume: bool, progress: bool) -> dict:
    """One arm of a study (:mod:`.arms`), in this process: ``data`` says which spoken digits (``audio``), how
    they split (``split``), and whether to score on held-out training data (``validate``)."""
    settings = from_table(MultimodalSettings, settings)
    train_images = load_mnist("train")
    audio = split_spoken_digits(load_spoken_digits(data["audio"]), data["split"], seed=settings.seed)
    if data["validate"]:
        images, audio = held_out(train_images, audio[0], data["split"], settings.seed)
    else:
        images = (train_images, load_mnist("test"))
    return MultimodalExperiment(settings, images, audio, out, resume=resume, progress=progress).run()


# -- the results -------------------------------------------------------------------------------------------

def summarize(results: dict[str, dict], args: argparse.Namespace) -> dict:
    """One network size's entry of docs/results/multimodal/summary.json."""
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
    """Fig. 3.4: the corpus' first "0" as the audio ensemble receives it (the whole presentation window)."""
    zeros = np.flatnonzero(corpus.labels == 0)
    first = int(zeros[0]) if zeros.size else 0  # a corpus without a "0" shows its first utterance
    probabilities = cochleagram(corpus.waveforms[first], int(corpus.sample_rates[first]), frontend)
    plot_cochleagram(probabilities, path, frame_rate=frontend.rate_hz / frontend.decimation,
                     center_frequencies=frontend.center_frequencies(),
                     title=f'"{corpus.labels[first]}", {corpus.paths[first].name}')


def table(results: dict[str, dict]) -> str:
    """The results as a Markdown table beside the thesis' numbers."""
    def percent(value):
        return "" if value is None else f"{100 * value:.1f} %"

    lines = ["| arm | accuracy | missing audio | missing image | thesis, 100 neurons | thesis, 6400 neurons |",
             "|---|---|---|---|---|---|"]
    for name, metrics in results.items():
        cells = [metrics.get(key) for key in ("accuracy", "accuracy_missing_audio", "accuracy_missing_image")]
        cells += [THESIS_100.get(name), THESIS_6400.get(name)]
        lines.append(f"| {name} | " + " | ".join(percent(value) for value in cells) + " |")
    return "\n".join(lines)


def accuracies_json(results: dict[str, dict]) -> str:
    return json.dumps({name: metrics["accuracy"] for name, metrics in results.items()}, indent=2)


# -- the study ---------------------------------------------------------------------------------------------

def run(args: argparse.Namespace) -> dict:
    """The comparison (or, with --sweep, the sweep) the options describe; returns the document it writes."""
    out = Path(args.out)
    check_run_folder(out, args.resume, finished="sweep.json" if args.sweep else "metrics.json")
    origin = provenance()
    corpus = load_spoken_digits(args.audio)  # a bad --audio fails here, before any arm starts
    model = MultimodalModel.load(args.model)
    model_fraction = model.crossmodal.fraction
    plan = (sweep_arms(args.n_total, args.fractions, args.seeds, args.seed, model_fraction) if args.sweep
            else comparison_arms(args.n_total, args.noise, args.manual))
    settings = {name: arm_settings(args, arm) for name, arm in plan.items()}  # bad settings fail here too
    out.mkdir(parents=True, exist_ok=True)
    fill_cache(corpus, model.frontend, workers=args.jobs, progress=not args.quiet)  # once, not in every arm
    draw_a_zero(corpus, model.frontend, out / "cochleagram.png")
    data = {"audio": args.audio, "split": args.split, "validate": args.validate}
    results = run_all({name: partial(run_arm_process, "multimodal", arm, data, out / "arms" / name)
                       for name, arm in settings.items()}, args.jobs)
    command = command_line_of(["multimodal"], options_given(args, add_arguments))
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
    print(table(results))
    print(accuracies_json(results))
    return document
