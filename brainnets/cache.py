"""The cache: what brainnets computed once and keeps to save time.

It holds the ear responses of spoken digits (``cochleagrams/``), the teaching demos' compiled C++ standalone
projects (``demos/``, one folder per network size and variant: :mod:`brainnets.demos.learning`), so that later
runs only relink them, and the compiled objects of every C++ standalone network built (``builds/``, by content:
:mod:`brainnets.build_cache`), so that a network built again compiles only its main.cpp. ``brainnets cache``
shows where it is and how large; ``brainnets cache clear`` empties it (everything in it is computed or compiled
again when needed). ``$BRAINNETS_CACHE`` puts it elsewhere (default ``~/.cache/brainnets``).
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from .resources import cache_dir


def size_of(folder: Path) -> tuple[int, int]:
    """(files, bytes) under ``folder``; (0, 0) when it does not exist."""
    files = [path for path in folder.rglob("*") if path.is_file()] if folder.is_dir() else []
    return len(files), sum(path.stat().st_size for path in files)


def describe(folder: Path | None = None) -> str:
    folder = cache_dir() if folder is None else folder
    files, size = size_of(folder)
    return f"{folder}: {files} files, {size / 2**20:.1f} MiB"


def clear(folder: Path | None = None) -> int:
    """Remove the cache folder and everything in it; returns the bytes freed."""
    folder = cache_dir() if folder is None else folder
    _, size = size_of(folder)
    if folder.is_dir():
        shutil.rmtree(folder)
    return size


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=["show", "clear"], default="show",
                        help="show (default) where the cache is and its size, or clear it")


def run(args: argparse.Namespace) -> None:
    if args.action == "clear":
        print(f"cleared {cache_dir()} ({clear() / 2**20:.1f} MiB freed)")
    else:
        print(describe())
