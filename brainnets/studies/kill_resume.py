"""Kill a small training run at random moments, resume it after each kill, and compare its end with an unbroken run.

Each attempt is killed after a random number (0 to 2) of its own new checkpoints, then a random part of the
time between two checkpoints (with none: a random moment before the first one, start-up and compilation
included), so that kills fall into every phase, into compilations and into checkpoint writes. The whole
process group is killed with SIGKILL, compiler included, as ``kill -9`` or a lost machine would; the run then
goes on with ``--resume`` in the same folder. Its results must equal the unbroken run's: every entry of
``metrics.json`` but times and provenance, and every array of ``network.npz`` and ``responses.npz``.

Example (the acceptance run of the faults issue):
    brainnets study kill-resume --kills 20 --out docs/results/faults/kill_resume.json
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..checkpoint import LEFTOVER_PATTERN, check_new_result, load_arrays, write_json_atomic
from ..devices import DEVICES
from ..provenance import command_line_of, options_given, provenance

#: metrics.json entries that differ between any two runs (times, the machine): not compared.
UNCOMPARED = {"build_seconds", "train_seconds", "train_ms_per_image", "eval_seconds", "python", "processor", "cpus",
              "brian2_version", "numpy_version", "git_commit"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kills", type=int, default=20, help="kills before the run is let finish")
    parser.add_argument("--train", type=int, default=60, help="training images of the small run (5 neurons)")
    parser.add_argument("--test", type=int, default=20, help="test images of the small run")
    parser.add_argument("--device", choices=DEVICES, default="cpp")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    parser.add_argument("--work", default=None, help="folder for the two runs (default: a temporary one)")
    parser.add_argument("--out", required=True, help="JSON file of the kills and the comparison")


def train_command(out: Path, n_train: int, n_test: int, device: str, resume: bool) -> list[str]:
    """The small run: 5 neurons, a checkpoint after every compiled run of 5 presentations."""
    return [sys.executable, "-m", "brainnets", "train", "--n-exc", "5", "--train", str(n_train), "--test",
            str(n_test), "--slots-per-run", "5", "--checkpoint-every", "0", "--device", device, "--quiet",
            "--out", str(out), *(["--resume"] if resume else [])]


class _Checkpoints:
    """Watches a run folder's checkpoint.npz: how many times it was written since this watch began."""

    def __init__(self, folder: Path):
        self.path = folder / "checkpoint.npz"
        self.seen = self._stamp()
        self.writes = 0

    def _stamp(self):
        try:
            return self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def poll(self) -> int:
        stamp = self._stamp()
        if stamp is not None and stamp != self.seen:
            self.seen, self.writes = stamp, self.writes + 1
        return self.writes


def run_unbroken(out: Path, command: list[str]) -> tuple[float, float]:
    """Run ``command`` to its end; returns (seconds to its first checkpoint, median seconds between two)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    checkpoints, written_at = _Checkpoints(out), []
    while process.poll() is None:
        if checkpoints.poll() > len(written_at):
            written_at.append(time.perf_counter() - started)
        time.sleep(0.005)
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, command)
    if len(written_at) < 2:
        raise ValueError("the unbroken run wrote fewer than two checkpoints; give it more images")
    return written_at[0], float(np.median(np.diff(written_at)))


def _resumes_from(folder: Path) -> str:
    """Where the checkpoint in ``folder`` stands: 'phase N, item K', or 'the start' without one."""
    if not (folder / "checkpoint.npz").exists():
        return "the start"  # with or without a folder: the next attempt starts afresh
    progress = json.loads(str(load_arrays(folder / "checkpoint.npz")["progress"]))
    return f"phase {progress['phase']}, item {progress['position']}"


def kill_and_resume(work: Path, kills: int, n_train: int, n_test: int, device: str, seed: int) -> dict:
    """The unbroken run in ``work/unbroken``, the killed one in ``work/killed``; returns the report."""
    rng = np.random.default_rng(seed)
    unbroken_first, interval = run_unbroken(work / "unbroken",
                                            train_command(work / "unbroken", n_train, n_test, device, False))
    first, killed, log, finished = unbroken_first, work / "killed", [], False
    while len(log) < kills and not finished:
        after = int(rng.integers(0, 3))  # the attempt's own new checkpoints before the kill
        delay = rng.uniform(0, interval if after else first)
        command = train_command(killed, n_train, n_test, device, resume=killed.exists())
        finished, seconds, to_first = _attempt(command, killed, after, delay)
        if to_first is not None:  # a resumed attempt builds faster than a fresh one: time it anew
            first = to_first
        if not finished:
            log.append({"seconds_after_start": round(seconds, 3), "after_checkpoints": after,
                        "half_written_files": len(list(killed.glob(LEFTOVER_PATTERN))),
                        "resumes_from": _resumes_from(killed)})
    if not finished:
        subprocess.run(train_command(killed, n_train, n_test, device, resume=True), stdout=subprocess.DEVNULL,
                       check=True)
    differences = compare_runs(work / "unbroken", killed)
    return {"kills": log, "kills_landed": len(log), "identical": not differences, "differences": differences,
            "device": device, "n_train": n_train, "n_test": n_test,
            "unbroken_seconds_to_first_checkpoint": round(unbroken_first, 3),
            "unbroken_seconds_between_checkpoints": round(interval, 3)}


def _attempt(command: list[str], folder: Path, after: int, delay: float) -> tuple[bool, float, float | None]:
    """Start ``command``; kill its process group ``delay`` seconds after its ``after``-th new checkpoint, unless
    it ends first. Returns (it finished, seconds it ran, seconds to its first new checkpoint or None)."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)
    checkpoints, started, to_first, deadline = _Checkpoints(folder), time.perf_counter(), None, None
    while process.poll() is None:
        writes, now = checkpoints.poll(), time.perf_counter()
        if writes and to_first is None:
            to_first = now - started
        if deadline is None and writes >= after:
            deadline = now + delay
        if deadline is not None and now >= deadline:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return False, time.perf_counter() - started, to_first
        time.sleep(0.002)
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, command)
    return True, time.perf_counter() - started, to_first


def compare_runs(expected: Path, actual: Path) -> list[str]:
    """What differs between two finished runs' results (empty: they are identical)."""
    differences = []
    metrics = [json.loads((folder / "metrics.json").read_text()) for folder in (expected, actual)]
    for key in sorted((set(metrics[0]) | set(metrics[1])) - UNCOMPARED):
        if metrics[0].get(key) != metrics[1].get(key):
            differences.append(f"metrics.json: {key}")
    for name in ("network.npz", "responses.npz"):
        arrays = [load_arrays(folder / name) for folder in (expected, actual)]
        for key in sorted(set(arrays[0]) | set(arrays[1])):
            if key not in arrays[0] or key not in arrays[1] or not np.array_equal(arrays[0][key], arrays[1][key]):
                differences.append(f"{name}: {key}")
    return differences


def run(args: argparse.Namespace) -> dict:
    out = Path(args.out)
    check_new_result(out)
    if args.kills < 1:
        raise ValueError(f"--kills must be >= 1, got {args.kills}")
    origin = provenance()
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(args.work or temporary)
        for name in ("unbroken", "killed"):
            check_new_result(work / name)
        report = kill_and_resume(work, args.kills, args.train, args.test, args.device, args.seed)
    document = {**report, **origin, "command": command_line_of(["study", "kill-resume"],
                                                                 options_given(args, add_arguments))}
    write_json_atomic(out, document)
    print(f"{report['kills_landed']} kills; the resumed run is "
          f"{'identical to' if report['identical'] else 'NOT identical to'} the unbroken one"
          + ("" if report["identical"] else f": {', '.join(report['differences'])}"))
    return document
