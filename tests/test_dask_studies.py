"""Studies run their arms as ``dask.distributed`` tasks: on a local cluster of ``--jobs`` worker processes, or on
a running cluster (``--scheduler``). The arms here are real arm processes (``brainnets run-arm``) of a tiny
experiment defined below, so that no Brian2 project is compiled."""
import argparse
import dataclasses
import json
import os
import signal
import threading
import time
from functools import partial
from pathlib import Path

import dask
import distributed
import pytest

from brainnets.checkpoint import write_json_atomic
from brainnets.cli import main
from brainnets.studies import ablation, arms, compression_study, multimodal, scan, seeds

#: The tiny experiment's runner, as the arm's process imports it (this folder is put on its PYTHONPATH).
ECHO = f"{Path(__file__).stem}:echo_arm"


@dataclasses.dataclass
class Echo:
    """The tiny experiment: its metrics are twice ``value``, after ``seconds``, once the arm in the folder
    ``after`` has started (an error if it has not within 30 s); ``fail``: it stops on that error instead."""
    value: int
    seconds: float = 0.0
    fail: bool = False
    after: str = ""


def echo_arm(settings: dict, data: dict, out: Path, resume: bool, progress: bool) -> dict:
    """Runs in the arm's own process, as ``brainnets run-arm`` runs an experiment."""
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "process.json", {"pid": os.getpid(), "worker": os.getppid(), "resumed": resume})
    (out / "checkpoint.npz").touch()  # as a real experiment leaves one, for a killed arm to resume from
    deadline = time.monotonic() + 30
    while settings["after"] and not (Path(settings["after"]) / "process.json").exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the arm in {settings['after']} never started")
        time.sleep(0.1)
    if settings["fail"]:
        raise ValueError(f"arm {settings['value']} fails")
    time.sleep(settings["seconds"])
    metrics = {"value": 2 * settings["value"]}
    write_json_atomic(out / "metrics.json", metrics)
    return metrics


def echo_tasks(folder: Path, **arms_settings: Echo) -> dict:
    return {name: partial(arms.run_arm_process, ECHO, settings, {}, folder / name)
            for name, settings in arms_settings.items()}


@pytest.fixture
def echo_arms(monkeypatch):
    """The arms' processes (started by the workers, which inherit this environment) find :func:`echo_arm`."""
    here = str(Path(__file__).resolve().parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")])))


def process_of(folder: Path) -> dict:
    return json.loads((folder / "process.json").read_text())


def ended(pid: int, seconds: float = 10.0) -> bool:
    """Whether process ``pid`` ends within ``seconds`` (a zombie no one has reaped yet has ended)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except FileNotFoundError:
            return True
        time.sleep(0.1)
    return False


def test_arms_on_a_two_worker_local_cluster_give_what_the_serial_run_gives(tmp_path, echo_arms):
    plan = {"c": Echo(3), "a": Echo(1), "b": Echo(2)}
    parallel = arms.run_arms(echo_tasks(tmp_path / "parallel", **plan), jobs=2, progress=False)
    serial = arms.run_arms(echo_tasks(tmp_path / "serial", **plan), jobs=1, progress=False)
    assert parallel == serial == {"c": {"value": 6}, "a": {"value": 2}, "b": {"value": 4}}
    assert list(parallel) == list(plan)
    assert len({process_of(tmp_path / "parallel" / name)["worker"] for name in plan}) == 2
    assert len({process_of(tmp_path / "serial" / name)["worker"] for name in plan}) == 1


def test_an_arm_waiting_starts_on_the_first_worker_free(tmp_path, echo_arms):
    # "long" runs until the last arm has started: the others run one after another on the other worker, none
    # queued behind "long" (Dask's scheduler may queue a task on a busy worker when it is given them all at once)
    plan = {"long": Echo(0, after=str(tmp_path / "d")), **{name: Echo(value) for value, name in enumerate("abcd", 1)}}
    assert arms.run_arms(echo_tasks(tmp_path, **plan), jobs=2, progress=False) == {
        name: {"value": 2 * settings.value} for name, settings in plan.items()}
    assert len({process_of(tmp_path / name)["worker"] for name in "abcd"}) == 1


def test_a_finished_arm_is_never_rerun(tmp_path, echo_arms):
    finished = tmp_path / "b" / "metrics.json"
    finished.parent.mkdir()
    finished.write_text(json.dumps({"value": "from before"}))
    before = finished.stat().st_mtime_ns
    results = arms.run_arms(echo_tasks(tmp_path, a=Echo(1), b=Echo(2)), jobs=2, progress=False)
    assert results == {"a": {"value": 2}, "b": {"value": "from before"}}
    assert finished.stat().st_mtime_ns == before and not (tmp_path / "b" / "process.json").exists()


def test_a_failing_arm_stops_the_study_with_its_error_and_the_killed_arms_resume(tmp_path, echo_arms):
    plan = {"slow": Echo(1, seconds=60), "failing": Echo(2, fail=True, after=str(tmp_path / "slow")),
            "later": Echo(3, seconds=60)}
    started = time.monotonic()
    with pytest.raises(arms.ArmError, match=f"the arm in {tmp_path / 'failing'} stopped"):
        arms.run_arms(echo_tasks(tmp_path, **plan), jobs=2, progress=False)
    assert time.monotonic() - started < 30  # the slow arm was stopped, not waited for
    assert ended(process_of(tmp_path / "slow")["pid"])
    assert not any((tmp_path / name / "metrics.json").exists() for name in plan)

    plan = {name: Echo(settings.value) for name, settings in plan.items()}
    assert arms.run_arms(echo_tasks(tmp_path, **plan), jobs=2, progress=False) == {
        "slow": {"value": 2}, "failing": {"value": 4}, "later": {"value": 6}}
    assert process_of(tmp_path / "slow")["resumed"] and process_of(tmp_path / "failing")["resumed"]


def test_ctrl_c_stops_the_arms_running(tmp_path, echo_arms):
    # Python's own Ctrl-C handler, whatever an earlier test in this process left (once, under xdist, no
    # KeyboardInterrupt came)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)

    def press_ctrl_c_once_the_arm_runs():
        while not (tmp_path / "slow" / "process.json").exists():
            time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=press_ctrl_c_once_the_arm_runs, daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            arms.run_arms(echo_tasks(tmp_path, slow=Echo(1, seconds=60)), jobs=1, progress=False)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert time.monotonic() - started < 30
    assert ended(process_of(tmp_path / "slow")["pid"])


def test_arms_run_on_the_cluster_a_scheduler_address_names(tmp_path, echo_arms):
    with distributed.LocalCluster(n_workers=2, **arms.LOCAL_CLUSTER) as cluster, distributed.Client(cluster) as client:
        workers = set(client.run(os.getpid).values())
        results = arms.run_arms(echo_tasks(tmp_path, a=Echo(1), b=Echo(2)), scheduler=cluster.scheduler_address,
                                progress=False)
        assert results == {"a": {"value": 2}, "b": {"value": 4}}
        assert {process_of(tmp_path / name)["worker"] for name in "ab"} <= workers
        assert len(cluster.workers) == 2  # the study leaves a cluster it did not start running


@pytest.mark.parametrize("study", [seeds, ablation, scan, compression_study, multimodal])
def test_every_study_of_many_arms_takes_jobs_and_scheduler(study):
    parser = argparse.ArgumentParser()
    study.add_arguments(parser)
    options = {option for action in parser._actions for option in action.option_strings}
    assert {"--jobs", "--scheduler"} <= options


def test_a_study_hands_its_arms_to_the_scheduler_given(tmp_path, monkeypatch):
    """The study's command line reaches the cluster: its arms (faked, in this process) run on its workers."""
    trained = {}

    def train(kind, settings, data, out):
        trained[out.name] = distributed.get_worker().address
        return {"accuracy": 0.5 + settings.seed / 10}

    monkeypatch.setattr(arms, "run_arm_process", train)
    with distributed.LocalCluster(n_workers=2, **{**arms.LOCAL_CLUSTER, "processes": False}) as cluster:
        assert main(["study", "seeds", "--seeds", "0", "1", "--train", "10", "--work", str(tmp_path / "w"),
                     "--out", str(tmp_path / "seeds"), "--scheduler", cluster.scheduler_address]) == 0
        assert set(trained) == {"seed_0", "seed_1"}
        assert set(trained.values()) <= set(cluster.scheduler_info["workers"])
    assert json.loads((tmp_path / "seeds.json").read_text())["accuracy"] == {"0": 0.5, "1": 0.6}


def test_a_scheduler_that_does_not_answer_is_reported_in_one_line(tmp_path, capsys):
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        assert main(["study", "seeds", "--seeds", "0", "--work", str(tmp_path / "w"), "--out", str(tmp_path / "s"),
                     "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "error: --scheduler tcp://127.0.0.1:1: no Dask scheduler answers there" in capsys.readouterr().err


def test_the_items_bar_prints_a_line_only_when_something_changed(tmp_path, echo_arms, monkeypatch, capsys):
    """The study's bar over the arms' items: one line per change (a log file showed every line twice, once
    from the count's update and again from the refresh), none while nothing moves."""
    told = iter([(0, 10)] * 2 + [(4, 10)] * 6)
    monkeypatch.setattr(arms, "_progress_of", lambda folder: next(told, (10, 10)))
    plan = {"a": Echo(1, seconds=4), "b": Echo(2, seconds=4)}
    arms.run_arms(echo_tasks(tmp_path, **plan), jobs=2, progress=True,
                  folders={name: tmp_path / name for name in plan})
    lines = [line.strip() for line in capsys.readouterr().err.replace("\r", "\n").splitlines()
             if "items shown" in line]
    assert lines and all(first != second for first, second in zip(lines, lines[1:]))
    # at most: the start, the close, and five states (the items told 0, 8 and 20 of 20, each arm's end)
    assert len(lines) <= 7
