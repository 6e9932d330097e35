"""Where a result came from: code version, libraries and machine, recorded beside every number."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

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


def command_line(script: str, argv: list[str] | None) -> str:
    """How a script was called, relative to the repository root: ``python scripts/NAME.py ARGS``."""
    return f"python scripts/{Path(script).name} " + " ".join(argv if argv is not None else sys.argv[1:])
