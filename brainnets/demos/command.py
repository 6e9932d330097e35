"""Teaching demos: small runs of the package's models, drawn as figures (PNG files) in well under a minute.

    brainnets demo --list                                # the demos and what each shows
    brainnets demo membranes                             # figures into runs/demos/membranes/
    brainnets demo receptive-fields --out figures/rf     # ... or anywhere else

OUT must be a new or empty folder: finished results are never overwritten. Each demo has a notebook that
explains it step by step, docs/tutorials/NAME.ipynb (a gallery: docs/tutorials/README.md).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from . import DEMOS, find
from .figures import save_figures

DEFAULT_OUT = Path("runs") / "demos"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", metavar="NAME", help="the demo to run (--list names them)")
    parser.add_argument("--list", action="store_true", help="list the demos, one line each")
    parser.add_argument("--out", type=Path, help=f"folder for the figures (default: {DEFAULT_OUT}/NAME)")


def listing() -> str:
    width = max(map(len, DEMOS))
    return "\n".join(f"{name:<{width}}  {description}" for name, (_, description) in DEMOS.items())


def run(args: argparse.Namespace) -> None:
    if args.list:
        print(listing())
        return
    if args.name is None:
        raise ValueError("name a demo to run; brainnets demo --list shows them")
    demo = find(args.name)
    out = args.out if args.out is not None else DEFAULT_OUT / args.name
    if out.exists() and (not out.is_dir() or any(out.iterdir())):  # refused before the run, not after it
        raise ValueError(f"{out} exists and is not an empty folder; choose another --out")
    for path in save_figures(demo(), out):
        print(f"wrote {path}")
