"""The brainnets command: one subcommand per job, each a module of brainnets.studies.

Every subcommand module has ``add_arguments(parser)`` and ``run(args)``. Errors caused by the user's input
or the machine (a bad value, a missing, unreadable or corrupt file, a folder that cannot be written, an
optional extra not installed) are reported in one line (``error: ...``) with exit status 2, never as a
traceback; unexpected errors keep theirs.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from .checkpoint import RunFolderError
from .config import ConfigError, UnusualValueWarning
from .datasets import DataError
from .devices import DeviceError

#: name -> (module, one line of help), in the order ``brainnets --help`` lists them.
COMMANDS = {
    "train": ("brainnets.studies.unimodal", "train, label and test one STDP ensemble on an image data set"),
    "multimodal": ("brainnets.studies.multimodal",
                   "image and spoken-digit ensembles with cross-modal STDP (Rathi ch. 3; the main job)"),
    "compress": ("brainnets.studies.compression", "STDP-based pruning and weight quantization (Rathi ch. 2)"),
    "ttfs": ("brainnets.studies.ttfs", "ReLU network -> exact TTFS spiking network, checked in Brian2 (Stanojevic)"),
    "crosscheck": ("brainnets.crosscheck.command", "check another simulator's spike times against Brian2, spike by spike"),
    "spike-time": ("brainnets.studies.spike_time",
                   "exact spike-time gradients (BATS, Fast & Deep), spiking DFA / SFDFA, FDFA: train, test, check in Brian2"),
    "timestep": ("brainnets.studies.timestep",
                 "time-stepped SNNs: conversion, STDB, DIET-SNN, Jiang's noise training: train, test, check in Brian2"),
    "kotak": ("brainnets.studies.kotak", "margin propagation and the n-LIF perceptron: every result of Kotak's thesis"),
    "study": ("brainnets.studies.study", "many unimodal runs and measurements: seeds, scans, ablation, validation, benchmark"),
    "demo": ("brainnets.demos.command", "teaching demos: small runs of the models drawn as figures (--list)"),
    "make-spoken-digits": ("brainnets.studies.make_spoken_digits",
                           "synthesize the shipped spoken-digit corpus with espeak-ng"),
    "info": ("brainnets.info", "versions, Brian2 devices, shipped models and data found"),
    "cache": ("brainnets.cache", "where the cache (cochleagrams, compiled demo projects) is, its size; `clear` empties it"),
    "run-arm": ("brainnets.studies.arms", "one arm of a study from its settings file (the studies run this)"),
}


def user_errors() -> tuple[type[Exception], ...]:
    """Errors caused by the user's input: reported in one line, without a traceback."""
    from .stdp.experiment import ExperimentError
    from .studies.arms import ArmError
    return (ConfigError, DataError, DeviceError, ExperimentError, RunFolderError, ArmError, ValueError,
            FileNotFoundError)


def help_text(docstring: str) -> str:
    """A module docstring as ``--help`` shows it: reST's ``::`` before a code block read as a colon."""
    return docstring.replace("::\n", ":\n")


def add_subcommands(parser: argparse.ArgumentParser, commands: dict[str, tuple[str, str]],
                    metavar: str = "COMMAND") -> None:
    """One subcommand of ``parser`` per entry of ``commands`` (name -> (module, one line of help)). Each module
    adds its options (``add_arguments``) and runs the subcommand (``run``); a module whose ``add_arguments``
    adds subcommands of its own has no ``run``: the innermost subcommand's runs."""
    subcommands = parser.add_subparsers(dest=f"{metavar.lower()}_{id(parser)}", required=True, metavar=metavar)
    for name, (module_name, summary) in commands.items():
        module = importlib.import_module(module_name)
        command = subcommands.add_parser(name, help=summary, description=help_text(module.__doc__),
                                         formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(command)
        if hasattr(module, "run"):
            command.set_defaults(run=module.run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="brainnets", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_subcommands(parser, COMMANDS)
    return parser


#: Optional modules -> the extra of setup.cfg that installs them.
EXTRAS = {"torch": "gradient", "brian2cuda": "cuda", "nir": "crosscheck", "elephant": "crosscheck",
          "nest": "peers", "snntorch": "peers", "norse": "peers"}


def one_line(error: BaseException) -> str | None:
    """The one-line report of an expected failure, or None for an unexpected one (its traceback is kept)."""
    if isinstance(error, user_errors()):
        return str(error)
    if isinstance(error, ModuleNotFoundError) and (error.name or "").split(".")[0] in EXTRAS:
        module = error.name.split(".")[0]
        return f"{module} is not installed; this command needs it: pip install 'brainnets[{EXTRAS[module]}]'"
    if isinstance(error, OSError) and error.filename is not None:  # a file or folder the OS refused
        return f"{error.filename}: {error.strerror or error}"
    return None


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _show_warnings(others):
    """Unusual values as one line each (``warning: ...``); other warnings as ``others`` shows them."""
    def show(message, category, *rest, **named):
        if issubclass(category, UnusualValueWarning):
            _one_line_warning(message, category, *rest)
        else:
            others(message, category, *rest, **named)
    return show


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("always", UnusualValueWarning)
        warnings.showwarning = _show_warnings(warnings.showwarning)
        try:
            args.run(args)
            return 0
        except Exception as error:
            message = one_line(error)
            if message is None:
                raise
            print(f"error: {message}", file=sys.stderr)
            return 2


def script(*command: str) -> int:
    """What ``scripts/<name>.py ARGS`` runs: ``brainnets COMMAND [SUBCOMMAND] ARGS``."""
    return main([*command, *sys.argv[1:]])
