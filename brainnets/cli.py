"""Shared behaviour of the command-line scripts: the experiment options and clean error reports."""
from __future__ import annotations

import argparse
import functools
import json
import sys

from .checkpoint import RunFolderError
from .config import ConfigError
from .datasets import DataError, load_mnist
from .devices import DEVICES, DeviceError
from .stdp.experiment import ExperimentError, Settings, UnimodalExperiment

#: Errors caused by the user's input: reported in one line, without a traceback.
USER_ERRORS = (ConfigError, DataError, DeviceError, ExperimentError, RunFolderError, ValueError)

SUMMARY_KEYS = ("accuracy", "n_exc", "n_train", "n_test", "connectivity", "train_ms_per_image", "train_seconds",
                "eval_seconds")


def fail_cleanly(main):
    """Report a user error as ``error: <what was wrong>`` and exit with status 2."""
    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except USER_ERRORS as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    return wrapper


def experiment_parser(description: str) -> argparse.ArgumentParser:
    """The options every unimodal experiment script takes."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="models/diehl_cook_2015.toml", help="model file (TOML)")
    parser.add_argument("--n-exc", type=int, default=100, help="excitatory neurons")
    parser.add_argument("--train", type=int, default=60000, help="training images (first K of MNIST)")
    parser.add_argument("--test", type=int, default=10000, help="test images (first M of MNIST)")
    parser.add_argument("--assign", type=int, default=None,
                        help="label the neurons on the first K training images (default: all of --train)")
    parser.add_argument("--epochs", type=int, default=1, help="passes through the training images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", choices=DEVICES, default="cpp",
                        help="Brian2 runtime, C++ standalone (default) or CUDA standalone")
    parser.add_argument("--no-inhibition", action="store_true", help="leave out lateral inhibition")
    parser.add_argument("--no-homeostasis", action="store_true", help="keep every threshold fixed")
    parser.add_argument("--slots-per-run", type=int, default=250,
                        help="presentations per compiled run (checkpoint granularity)")
    parser.add_argument("--data", default=None, help="folder holding mnist/ (default: the package's data/)")
    parser.add_argument("--out", required=True, help="output folder; must be new unless --resume")
    parser.add_argument("--resume", action="store_true", help="continue the run checkpointed in --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def run_experiment(args: argparse.Namespace, **settings) -> dict:
    """Run the experiment the options describe (``settings`` adds or overrides fields); prints a summary."""
    settings = Settings(model=args.model, n_exc=args.n_exc, n_train=args.train, n_test=args.test,
                        n_assign=args.assign, epochs=args.epochs, seed=args.seed, device=args.device,
                        inhibition=not args.no_inhibition, homeostasis=not args.no_homeostasis,
                        slots_per_run=args.slots_per_run, **settings)
    experiment = UnimodalExperiment(settings, load_mnist("train", args.data), load_mnist("test", args.data),
                                    args.out, resume=args.resume, progress=not args.quiet)
    metrics = experiment.run()
    print(json.dumps({key: metrics[key] for key in SUMMARY_KEYS}, indent=2))
    return metrics
