"""BATS and Fast & Deep gradients against central finite differences in float64, as one JSON file.

Small random two-layer networks (brainnets.spike_time.gradcheck): the largest relative error over the entries
whose finite difference keeps the spike pattern, with the counts checked and skipped.

Example:
    brainnets study spike-time-gradcheck --out docs/results/spike_time/gradcheck.json
"""
from __future__ import annotations

import argparse

from ..checkpoint import check_new_result, write_json_atomic
from ..provenance import command_line_of, options_given, provenance


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3], help="random problems")
    parser.add_argument("--out", required=True, help="the JSON file to write (must not exist)")


def run(args: argparse.Namespace) -> int:
    from ..spike_time.gradcheck import report

    check_new_result(args.out)
    result = {**report(tuple(args.seeds)), **provenance(),
              "command": command_line_of(["study", "spike-time-gradcheck"], options_given(args, add_arguments))}
    write_json_atomic(args.out, result)
    for method in ("bats", "fast_deep"):
        print(f"{method:>10}: max relative error {result[method]['max_relative_error']:.2e} "
              f"({result[method]['entries_checked']} entries checked, {result[method]['entries_skipped']} skipped)")
    return 0
