"""What this installation has: versions, the Brian2 devices that can run, the shipped models and data found."""
from __future__ import annotations

import argparse
import importlib.metadata
import platform
import shutil

from . import __version__
from .cache import describe
from .datasets import FASHION_MNIST_DIR, DataError, load_mnist
from .resources import data_dir, models_dir, shipped_models
from .spoken_digits import AudioDataError, load_shipped

LIBRARIES = ("brian2", "brian2cuda", "numpy", "scipy", "lyon", "torch", "matplotlib")


def version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def found(load) -> str:
    try:
        return f"ok ({len(load())} items)"
    except (DataError, AudioDataError) as error:
        return f"missing or corrupt: {error}"


def report() -> dict[str, dict[str, str]]:
    compiler = shutil.which("g++") or shutil.which("c++")
    return {
        "versions": {"brainnets": __version__, "python": platform.python_version(),
                     **{name: version(name) for name in LIBRARIES}},
        "devices": {"runtime": "yes (numpy / Cython)",
                    "cpp": f"yes ({compiler})" if compiler else "no C++ compiler found",
                    "cuda": ("yes (nvcc found)" if shutil.which("nvcc") and version("brian2cuda") != "not installed"
                             else "no (needs brian2cuda and nvcc)")},
        "models": {"folder": str(models_dir()), "shipped": ", ".join(shipped_models())},
        "cache": {"folder": describe()},
        "data": {"folder": str(data_dir()),
                 "mnist (train)": found(lambda: load_mnist("train")),
                 "spoken digits (shipped)": found(lambda: load_shipped()),
                 "fashion_mnist": str(FASHION_MNIST_DIR) if FASHION_MNIST_DIR.is_dir()
                 else "not installed (Debian's dataset-fashion-mnist)"},
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> None:
    for section, entries in report().items():
        print(f"{section}:")
        for name, value in entries.items():
            print(f"  {name:<24} {value}")
