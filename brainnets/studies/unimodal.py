"""Train the unimodal Diehl & Cook ensemble with power-law STDP on an image data set, then label and test it.

Example (Rathi 2021 ch. 2 baseline, 100 neurons, one epoch of MNIST):
    brainnets train --n-exc 100 --out runs/dc100
The same network on Fashion-MNIST, or on any folder of IDX files in MNIST's layout:
    brainnets train --dataset fashion_mnist --n-exc 100 --train 10000 --test 10000 --out runs/fashion100
    brainnets train --dataset idx:path/to/folder --out runs/mine
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..datasets import load_images
from ..devices import DEVICES
from ..stdp.experiment import Settings, UnimodalExperiment
from .arms import from_table

DEFAULT_MODEL = "diehl_cook_2015"

SUMMARY_KEYS = ("accuracy", "n_exc", "n_train", "n_test", "connectivity", "train_ms_per_image", "train_seconds",
                "eval_seconds")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of every unimodal experiment."""
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help="model file (TOML), or the name of a shipped model (default: %(default)s)")
    parser.add_argument("--dataset", default="mnist",
                        help="mnist (shipped), fashion_mnist (Debian's dataset-fashion-mnist) or idx:FOLDER "
                             "(four IDX files in MNIST's layout)")
    parser.add_argument("--n-exc", type=int, default=100, help="excitatory neurons")
    parser.add_argument("--train", type=int, default=60000, help="training images (the first K of the data set)")
    parser.add_argument("--test", type=int, default=10000, help="test images (the first M of the data set)")
    parser.add_argument("--assign", type=int, default=None,
                        help="label the neurons on the first K training images (default: all of --train)")
    parser.add_argument("--epochs", type=int, default=1, help="passes through the training images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", choices=DEVICES, default="cpp",
                        help="Brian2 runtime, C++ standalone (default) or CUDA standalone")
    parser.add_argument("--no-inhibition", action="store_true", help="leave out lateral inhibition")
    parser.add_argument("--no-homeostasis", action="store_true", help="keep every threshold fixed")
    parser.add_argument("--no-test-repeats", action="store_true",
                        help="show every test image once, even one that makes fewer than the protocol's minimum "
                             "of spikes (D&C repeat it brighter); the spike count of Rathi's energy measure")
    parser.add_argument("--slots-per-run", type=int, default=250,
                        help="presentations per compiled run (checkpoint granularity)")
    parser.add_argument("--eval-copies", type=int, default=1,
                        help="label and test with this many frozen copies of the trained network, each showing its "
                             "own images, in one simulation (default: 1, the trained network one image at a time)")
    parser.add_argument("--checkpoint-every", type=float, default=60.0, metavar="SECONDS",
                        help="write a checkpoint after the first compiled run that ends this long after the last "
                             "one (0: after every run)")
    parser.add_argument("--data", default=None, help="folder holding mnist/ (default: the package's shipped data)")
    parser.add_argument("--out", required=True, help="output folder; must be new unless --resume")
    parser.add_argument("--resume", action="store_true", help="continue the run checkpointed in --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def settings_from(args: argparse.Namespace, **settings) -> Settings:
    """The experiment's settings from the options (``settings`` adds or overrides fields)."""
    return Settings(model=args.model, dataset=args.dataset, n_exc=args.n_exc, n_train=args.train, n_test=args.test,
                    n_assign=args.assign, epochs=args.epochs, seed=args.seed, device=args.device,
                    inhibition=not args.no_inhibition, homeostasis=not args.no_homeostasis,
                    test_repeats=not args.no_test_repeats, eval_copies=args.eval_copies,
                    slots_per_run=args.slots_per_run, checkpoint_seconds=args.checkpoint_every, **settings)


def train(settings: Settings, out: str | Path, data_dir: str | Path | None = None, resume: bool = False,
          progress: bool = True) -> dict:
    """Train, label and test one network on ``settings.dataset`` (MNIST from ``data_dir`` if given)."""
    experiment = UnimodalExperiment(settings, load_images(settings.dataset, "train", data_dir),
                                    load_images(settings.dataset, "test", data_dir), out, resume=resume,
                                    progress=progress)
    return experiment.run()


def run_arm(settings: dict, data: dict, out: Path, resume: bool, progress: bool) -> dict:
    """One unimodal arm of a study (:mod:`.arms`)."""
    return train(from_table(Settings, settings), out, data.get("data_dir"), resume, progress)


def run(args: argparse.Namespace, **settings) -> dict:
    """Run the experiment the options describe; prints a summary and returns the metrics."""
    metrics = train(settings_from(args, **settings), args.out, args.data, resume=args.resume,
                    progress=not args.quiet)
    print(json.dumps({key: metrics[key] for key in SUMMARY_KEYS}, indent=2))
    return metrics
