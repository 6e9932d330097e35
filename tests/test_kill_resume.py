"""A small run killed at random moments (SIGKILL to its process group) and resumed each time ends bit-identical
to an unbroken run (brainnets study kill-resume)."""
from __future__ import annotations

import json

import pytest

from brainnets import cli


def kill_resume(tmp_path, kills: int, device: str, n_train: int, n_test: int) -> dict:
    (tmp_path / "work").mkdir()
    assert cli.main(["study", "kill-resume", "--kills", str(kills), "--device", device, "--train", str(n_train),
                     "--test", str(n_test), "--work", str(tmp_path / "work"),
                     "--out", str(tmp_path / "report.json")]) == 0
    return json.loads((tmp_path / "report.json").read_text())


@pytest.mark.long_running
def test_a_run_killed_twice_resumes_bit_identical(tmp_path):
    report = kill_resume(tmp_path, kills=2, device="cpp", n_train=20, n_test=5)
    assert report["identical"], report["differences"]
    assert report["kills_landed"] >= 1


@pytest.mark.slow
@pytest.mark.parametrize("device", ["cpp", "runtime"])
def test_a_run_killed_twenty_times_resumes_bit_identical(tmp_path, device):
    report = kill_resume(tmp_path, kills=20, device=device, n_train=60, n_test=20)  # enough runs for 20 kills
    assert report["identical"], report["differences"]
    assert report["kills_landed"] == 20
