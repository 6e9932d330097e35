"""Margin propagation and the n-LIF perceptron (Kotak, M.Tech thesis, IISc): every result of the thesis' text.

``mp``: the MP solvers (sort + prefix sum, and the simplex projection without a sorted copy) and their agreement,
Table 2.1 (the LSE surrogate with both scalings), the error sweeps against the bounds (3.2) and (3.9), an MLP's
weights ported to MP against gamma (Fig. 3.6), memory and latency of both solvers for 784 x h x 10 (Fig. 4.1)
with the thesis' memory arithmetic corrected, and MP as the spike time of a Brian2 integrator (:mod:`brainnets.mp`).
``nlif``: the n-LIF perceptron of ch. 5 (Table 5.2's margins, convergence and the mistake bound, one trained
weight vector simulated in Brian2; :mod:`brainnets.nlif`). Both write their figures into OUT and their numbers
into OUT/summary.json.

Examples:
    brainnets kotak --out docs/results/kotak
    brainnets kotak --part nlif --quick --out /tmp/kotak_quick
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..checkpoint import check_new_result, write_json_atomic
from ..provenance import command_line_of, options_given, provenance

PARTS = ("mp", "nlif")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--part", nargs="+", choices=PARTS, default=list(PARTS), help="which parts to run")
    parser.add_argument("--quick", action="store_true", help="small sizes: a check in seconds, not the results")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="folder of summary.json and the figures (summary.json must be new)")


def run(args: argparse.Namespace) -> dict:
    from ..mp import experiment as mp_experiment
    from ..nlif import experiment as nlif_experiment

    out = Path(args.out)
    check_new_result(out / "summary.json")
    out.mkdir(parents=True, exist_ok=True)
    experiments = {"mp": mp_experiment, "nlif": nlif_experiment}
    summary = {}
    for part in args.part:
        print(f"{part} ...")
        summary.update(experiments[part].run(out, quick=args.quick, seed=args.seed))
    summary.update(provenance(), quick=args.quick,
                   command=command_line_of(["kotak"], options_given(args, add_arguments)))
    write_json_atomic(out / "summary.json", summary)
    print(f"wrote {out / 'summary.json'}")
    return summary
