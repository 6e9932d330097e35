"""Every bad input and fault listed in the faults issue, tried as a user would, in a fresh process: exit status 2,
one line naming the cause, no traceback, within 5 seconds of CPU time (its start-up included), and no file left
behind."""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from brainnets import cli
from brainnets.checkpoint import save_arrays_atomic
from brainnets.devices import gpu_present
from brainnets.stdp.phases import model_digest
from brainnets.studies import unimodal

REPO = Path(__file__).resolve().parent.parent
SMALL_RUN = ("--n-exc", "5", "--train", "5", "--test", "5")


@dataclass
class Case:
    argv: list[str]                                     # brainnets ARGV, or a script's path and its ARGV
    message: str                                        # what the one line must contain
    setup: Callable[[Path], None] = lambda folder: None
    without: str | None = None                          # a module to hide, as if its extra were not installed
    script: bool = False
    skip: str | None = None
    env: dict[str, str] = field(default_factory=dict)


def model_with(table: str, key: str, value: str) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        (folder / "model.toml").write_text(f'base = "diehl_cook_2015"\n[{table}]\n{key} = {value}\n')
    return setup


def a_file_named(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_text("not a folder")


def a_folder_named(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).mkdir()


def a_corrupt_recording(folder: Path) -> None:
    (folder / "audio").mkdir()
    (folder / "audio" / "0_speaker_0.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt garbage")


def a_run(checkpoint: str, model_edited: bool = False) -> Callable[[Path], None]:
    """A run folder as ``brainnets train SMALL_RUN --out run`` leaves it after a checkpoint: its settings and a
    ``checkpoint`` that is "truncated" or "whole"; ``model_edited``: the model file was changed since."""
    def setup(folder: Path) -> None:
        settings = unimodal.settings_from(cli.build_parser().parse_args(["train", *SMALL_RUN, "--out", "run"]))
        digest = "0" * 64 if model_edited else model_digest(settings.model)
        (folder / "run").mkdir()
        (folder / "run" / "settings.json").write_text(json.dumps({**settings.identity(), "model_sha256": digest}))
        save_arrays_atomic(folder / "run" / "checkpoint.npz", {"weights": np.zeros((784, 5))})
        if checkpoint == "truncated":
            path = folder / "run" / "checkpoint.npz"
            path.write_bytes(path.read_bytes()[:300])
    return setup


def unwritable_folder() -> tuple[str, Callable[[Path], None]]:
    """A place no folder can be made in: a read-only folder, or (for root, whom permissions do not stop) sysfs."""
    if os.geteuid() == 0:
        return "/sys/brainnets_run", lambda folder: None
    def setup(folder: Path) -> None:
        (folder / "read_only").mkdir(mode=0o555)
    return "read_only/run", setup


UNWRITABLE, MAKE_UNWRITABLE = unwritable_folder()

CASES = {
    "a membrane time constant of 0.001 ms": Case(
        ["train", "--model", "model.toml", *SMALL_RUN, "--out", "run"], "is shorter than the time step",
        model_with("excitatory", "tau_m", '"0.001 ms"')),
    "an input-weight sum of 1e30": Case(
        ["train", "--model", "model.toml", *SMALL_RUN, "--out", "run"], "asks for weights above w_max",
        model_with("protocol", "weight_sum", "1e30")),
    "train_multimodal.py --n-total 1": Case(
        [str(REPO / "scripts" / "train_multimodal.py"), "--n-total", "1", "--out", "run"], "--n-total must be >= 2",
        script=True),
    "--out in a folder that cannot be written": Case(
        ["train", *SMALL_RUN, "--out", UNWRITABLE], UNWRITABLE, MAKE_UNWRITABLE),
    "--out under a regular file": Case(
        ["train", *SMALL_RUN, "--out", "a_file/run"], "a_file/run: Not a directory", a_file_named("a_file")),
    "--model pointing at a folder": Case(
        ["train", "--model", "models", *SMALL_RUN, "--out", "run"], "models: a folder, not a model file",
        a_folder_named("models")),
    "the CUDA device without a GPU": Case(
        ["train", "--device", "cuda", *SMALL_RUN, "--out", "run"], "the 'cuda' device",
        skip="this machine has a GPU" if gpu_present() else None),
    "the CUDA device without brian2cuda": Case(
        ["train", "--device", "cuda", *SMALL_RUN, "--out", "run"], "pip install 'brainnets[cuda]'",
        without="brian2cuda"),
    "a corrupt .wav": Case(
        ["multimodal", "--audio", "fsdd:audio", "--out", "run"], "0_speaker_0.wav", a_corrupt_recording),
    "a truncated checkpoint": Case(
        ["train", *SMALL_RUN, "--out", "run", "--resume"], "checkpoint.npz: truncated or corrupt",
        a_run("truncated")),
    "the TTFS command without the torch extra": Case(
        ["ttfs", "--out", "run"], "pip install 'brainnets[gradient]'", without="torch"),
    "an arm the multimodal job does not have": Case(
        ["multimodal", "--arms", "no_such_arm", "--out", "run"], "--arms: no arm 'no_such_arm'"),
    "prune --threshold 1.5": Case(
        ["compress", "run", "--threshold", "1.5", "--train", "24", "--test", "5", "--out", "run"],
        "every synapse would be pruned"),
    "--resume in an unrelated folder": Case(
        ["train", *SMALL_RUN, "--out", "photos", "--resume"], "--resume: no checkpoint in photos",
        lambda folder: (folder / "photos").mkdir() or (folder / "photos" / "cat.jpg").write_bytes(b"\xff\xd8")),
    "--resume of a study in an unrelated folder": Case(
        ["multimodal", "--out", "photos", "--resume"], "holds no study to continue",
        lambda folder: (folder / "photos").mkdir() or (folder / "photos" / "cat.jpg").write_bytes(b"\xff\xd8")),
    "--resume after the model file was edited": Case(
        ["train", *SMALL_RUN, "--out", "run", "--resume"], "another version of the model file",
        a_run("whole", model_edited=True)),
}


#: ``brainnets ARGV`` in a fresh process, the module {hidden} (if not None) importable no more.
BRAINNETS = """
import sys
class Uninstalled:
    def find_spec(self, name, path=None, target=None):
        if "{hidden}" != "None" and name.split(".")[0] == "{hidden}":
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Uninstalled())
from brainnets.cli import main
sys.exit(main(sys.argv[1:]))
"""


def everything_in(folder: Path) -> dict[str, bytes | None]:
    return {str(path.relative_to(folder)): path.read_bytes() if path.is_file() else None
            for path in folder.rglob("*")}


@pytest.mark.parametrize("name", CASES)
def test_each_listed_fault_ends_in_one_line_within_5_seconds_leaving_nothing(name, tmp_path):
    case = CASES[name]
    if case.skip:
        pytest.skip(case.skip)
    case.setup(tmp_path)
    before = everything_in(tmp_path)
    command = [sys.executable, *case.argv] if case.script else [sys.executable, "-c", BRAINNETS.format(
        hidden=case.without), *case.argv]
    environment = {**os.environ, "BRAINNETS_CACHE": str(tmp_path / "cache"), **case.env}
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=environment, timeout=120)
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # the child's CPU time: what it did before refusing, whatever else shares the machine's cores
    seconds = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("warning: ")]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and case.message in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert seconds < 5, f"{seconds:.1f} s"
    assert everything_in(tmp_path) == before
    assert not Path("/sys/brainnets_run").exists()
