"""Where a result came from: code version, libraries and machine, recorded beside every number."""
from __future__ import annotations

import os
import platform
import shlex
import subprocess
from argparse import ArgumentParser, Namespace
from pathlib import Path
from typing import Callable

import brian2
import numpy as np


def git_commit() -> str:
    """The commit of the source tree, with ``+dirty`` if it has uncommitted changes; '' outside git."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""
    return commit + ("+dirty" if dirty else "")


def provenance() -> dict:
    return {"git_commit": git_commit(), "brian2_version": brian2.__version__, "numpy_version": np.__version__,
            "python": platform.python_version(), "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine()}


def command_line_of(command_words: list[str], argv: list[str]) -> str:
    """How a subcommand was called: ``brainnets COMMAND [SUBCOMMAND] ARGS``."""
    return shlex.join(["brainnets", *command_words, *argv])


def options_given(args: Namespace, add_arguments: Callable[[ArgumentParser], None]) -> list[str]:
    """The arguments in ``args`` that differ from their defaults, as command-line words in the order
    ``add_arguments`` declares them.

    Rebuilt from the parsed options because ``sys.argv`` differs between the ``brainnets`` command, a script
    of ``scripts/`` and a caller of :func:`brainnets.cli.main` such as a test.
    """
    parser = ArgumentParser(add_help=False)
    add_arguments(parser)
    positionals, options = [], []
    for action in parser._actions:
        value = getattr(args, action.dest, action.default)
        if value == action.default:
            continue
        values = [str(item) for item in (value if isinstance(value, list) else [value])]
        if not action.option_strings:
            positionals += values
        else:
            options += [action.option_strings[-1], *(values if action.nargs != 0 else [])]
    return positionals + options
