"""Training speed of BATS against a time-stepped surrogate-gradient training in snnTorch, in one run.

The same 784-800-10 network, images, coding, targets, optimiser, dtype and threads on both sides, taking turns
batch by batch (brainnets.spike_time.bench); snnTorch steps Synaptic neurons at ``--dt`` (1 ms).

Example:
    brainnets study spike-time-bench --images 1000 --out docs/results/spike_time/bench.json
"""
from __future__ import annotations

import argparse

from ..checkpoint import check_new_result, write_json_atomic
from ..datasets import load_images
from ..provenance import command_line_of, options_given, provenance


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--images", type=int, default=1000, help="training images timed (after a warm-up batch)")
    parser.add_argument("--threads", type=int, default=None, help="threads of both sides (default: all cores)")
    parser.add_argument("--dt", type=float, default=1e-3, help="snnTorch's time step (s)")
    parser.add_argument("--float64", action="store_true", help="also time BATS in float64")
    parser.add_argument("--out", required=True, help="the JSON file to write (must not exist)")


def run(args: argparse.Namespace) -> int:
    from ..spike_time.bench import benchmark

    check_new_result(args.out)
    train = load_images("mnist", "train")
    result = benchmark(train.images, train.labels, args.images, args.threads, dt=args.dt, bats_float64=args.float64)
    result.update(provenance(), command=command_line_of(["study", "spike-time-bench"],
                                                        options_given(args, add_arguments)))
    write_json_atomic(args.out, result)
    print(f"BATS {result['bats_images_per_second']:.1f} images/s, snnTorch {result['snntorch_images_per_second']:.1f}"
          f" images/s: ratio {result['ratio']:.2f}")
    return 0
