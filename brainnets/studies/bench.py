"""Training speed: brainnets' compiled path against the per-image Brian2 runtime loop of published ports.

Both learn from the same MNIST images with the same network (the shipped model diehl_cook_2015 by default) in
one invocation. Compilation is excluded from both: ours is built once before timing; the plain loop is warmed
up on a few other images first. Writes OUT.json (ms per image and their ratio, plain / ours) and OUT.png.

    brainnets study bench --images 300 --out docs/results/bench_training
"""
from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from ..checkpoint import write_json_atomic
from ..datasets import load_mnist
from ..devices import use_device
from ..plotting import plot_bars
from ..provenance import command_line_of, options_given, provenance
from ..stdp.baseline import PerImageLoop
from ..stdp.ensemble import UnimodalEnsemble
from ..stdp.model import DiehlCookModel
from ..stdp.simulation import EnsembleSimulation
from .unimodal import DEFAULT_MODEL


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help="model file (TOML), or the name of a shipped model (default: %(default)s)")
    parser.add_argument("--images", type=int, default=300, help="timed training images, the same for both")
    parser.add_argument("--warmup", type=int, default=5, help="untimed images for the plain loop's compilation")
    parser.add_argument("--n-exc", type=int, default=100, help="excitatory neurons")
    parser.add_argument("--device", choices=("cpp", "cuda"), default="cpp", help="the standalone device of ours")
    parser.add_argument("--slots-per-run", type=int, default=250, help="presentations per compiled run of ours")
    parser.add_argument("--threads", type=int, default=1,
                        help="OpenMP threads of the compiled C++ projects (default: 1, no OpenMP; more: not reproducible "
                             "to the last spike)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="writes OUT.json and OUT.png")


def time_ours(model, images, n_exc, device, seed, slots_per_run, threads: int = 1) -> dict:
    with tempfile.TemporaryDirectory() as build_dir:
        started = time.perf_counter()
        use_device(device, build_dir, threads=threads)
        ensemble = UnimodalEnsemble(model, n_exc, slots_per_run=slots_per_run, rng=np.random.default_rng(seed))
        sim = EnsembleSimulation(ensemble, device, build_dir, seed=seed)
        build = time.perf_counter() - started
        started, done, presentations = time.perf_counter(), 0, 0
        while done < len(images):
            shown = sim.present(images[done:done + slots_per_run], learning=True)
            done += shown.n_done
            presentations += int(shown.tries.sum())
        elapsed = time.perf_counter() - started
    return {"ms_per_image": 1000 * elapsed / len(images), "seconds": elapsed, "build_seconds": build,
            "presentations": presentations}


def time_plain(model, images, warmup, n_exc, seed) -> dict:
    use_device("runtime")
    loop = PerImageLoop(model, n_exc, rng=np.random.default_rng(seed))
    started = time.perf_counter()
    loop.train(warmup)
    compile_and_warmup = time.perf_counter() - started
    started = time.perf_counter()
    presentations = loop.train(images)
    elapsed = time.perf_counter() - started
    return {"ms_per_image": 1000 * elapsed / len(images), "seconds": elapsed,
            "warmup_seconds": compile_and_warmup, "presentations": presentations}


def run(args: argparse.Namespace) -> dict:
    """Time both on the same images; writes OUT.json and OUT.png and returns the result."""
    origin = provenance()  # the code as it was when the benchmark started
    model = DiehlCookModel.load(args.model)
    train = load_mnist("train")
    images = train.images[args.warmup:args.warmup + args.images]
    ours = time_ours(model, images, args.n_exc, args.device, args.seed, args.slots_per_run, args.threads)
    plain = time_plain(model, images, train.images[:args.warmup], args.n_exc, args.seed)
    result = {
        "ours_ms_per_image": ours["ms_per_image"], "plain_ms_per_image": plain["ms_per_image"],
        "ratio": plain["ms_per_image"] / ours["ms_per_image"], "ours": ours, "plain": plain,
        "ours_description": f"{args.device} standalone, built once, {args.slots_per_run} presentations per "
                            "device.run, protocol and normalization inside the simulation",
        "plain_description": "Brian2 runtime (Cython), PoissonGroup rates set from Python, normalization in "
                             "numpy, run() per presentation and per rest",
        "n_images": args.images, "n_exc": args.n_exc, "threads": args.threads, "model": args.model, **origin,
        "command": command_line_of(["study", "bench"], options_given(args, add_arguments)),
    }
    write_json_atomic(f"{args.out}.json", result)
    plot_bars({"plain Brian2 runtime\n(one run() per image)": plain["ms_per_image"],
               f"brainnets\n({args.device} standalone)": ours["ms_per_image"]},
              f"{args.out}.png", ylabel="wall time per training image (ms)",
              title=f"{args.n_exc} neurons, {args.images} MNIST images: {result['ratio']:.1f}x faster")
    print(f"plain {plain['ms_per_image']:.1f} ms/image, ours {ours['ms_per_image']:.1f} ms/image, "
          f"ratio {result['ratio']:.1f}")
    return result
