"""One arm of a study: an experiment described by a settings file, run in its own process.

A study writes ``<out>.arm.json`` beside the arm's output folder: which kind of experiment, its settings
dataclass as a table, and where its data comes from. ``python -m brainnets run-arm <out>.arm.json`` runs it
into ``<out>`` (resuming a checkpoint left there), so arms train side by side, each with its own compiled
Brian2 project, and a killed study resumes arm by arm.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import subprocess
import sys
import threading
import typing
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from ..checkpoint import RunFolderError, hold_folder, write_json_atomic
from ..stdp.phases import PROGRESS_FILE

#: kind -> "module:function" running one arm: ``function(settings_table, data_table, out, resume, progress)``.
RUNNERS = {
    "unimodal": "brainnets.studies.unimodal:run_arm",
    "multimodal": "brainnets.studies.multimodal:run_arm",
}


def from_table(cls, table: dict):
    """The dataclass ``cls`` from the table :func:`dataclasses.asdict` made of it (nested dataclasses too)."""
    hints = typing.get_type_hints(cls)
    values = {}
    for field in dataclasses.fields(cls):
        if field.name not in table:
            continue
        value, hint = table[field.name], hints[field.name]
        values[field.name] = from_table(hint, value) if dataclasses.is_dataclass(hint) else value
    unknown = sorted(set(table) - set(values))
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown setting(s) {unknown}")
    return cls(**values)


class ArmError(RuntimeError):
    """An arm stopped on an expected failure; its process has already reported it in one line."""


#: What a study writes into its folder when it starts: its kind and every arm's settings, for --resume to check.
STUDY_FILE = "study.json"


def begin_study(out: Path, kind: str, arms: dict[str, object], resume: bool) -> None:
    """Record a new study in ``out`` (its kind and each arm's settings dataclass), or, resuming, check that
    ``out`` holds this very study: --resume never writes into an unrelated folder or a study planned otherwise.
    ``out`` is this process's own from then on: a second study started on it is refused."""
    plan = {"kind": kind, "arms": {name: dataclasses.asdict(settings) for name, settings in arms.items()}}
    recorded = out / STUDY_FILE
    legacy = (out / "arms").is_dir() and not recorded.exists()  # a study started before studies recorded themselves
    if resume and not (recorded.exists() or legacy):
        raise RunFolderError(f"--resume: {out} holds no study to continue")
    out.mkdir(parents=True, exist_ok=True)
    hold_folder(out)
    if not resume:
        write_json_atomic(recorded, plan)
        return
    if legacy:
        return
    before = json.loads(recorded.read_text())
    if before["kind"] != kind:
        raise RunFolderError(f"--resume: {out} holds a {before['kind']} study, not a {kind} one")
    changed = sorted(name for name in set(before["arms"]) | set(plan["arms"])
                     if before["arms"].get(name) != json.loads(json.dumps(plan["arms"].get(name))))
    if changed:
        raise RunFolderError(f"--resume: {out} was planned with other arms or settings ({', '.join(changed)}); "
                             "give the options it was started with")


def arm_file(out: Path) -> Path:
    return out.parent / f"{out.name}.arm.json"


def run_arm_process(kind: str, settings, data: dict, out: str | Path) -> dict:
    """Run one arm in a new process unless ``out`` holds its finished run; returns the arm's metrics.

    ``settings`` is the experiment's settings dataclass, ``data`` says where its data comes from. An arm
    killed earlier (``out`` holds a checkpoint) is resumed.
    """
    if kind not in RUNNERS:
        raise ValueError(f"arm kind must be one of {sorted(RUNNERS)}, got {kind!r}")
    out = Path(out)
    metrics = out / "metrics.json"
    if not metrics.exists():
        write_json_atomic(arm_file(out), {"kind": kind, "settings": dataclasses.asdict(settings), "data": data})
        command = [sys.executable, "-m", "brainnets", "run-arm", str(arm_file(out)), "--quiet"]
        if (out / "checkpoint.npz").exists():
            command.append("--resume")
        with subprocess.Popen(command) as process:
            _running.add(process)
            if _stopped.is_set():  # the study stopped while this arm was starting
                process.terminate()
            try:
                status = process.wait()
            finally:
                _running.discard(process)
        if status == 2:
            raise ArmError(f"the arm in {out} stopped (its error is printed above)")
        if status != 0:
            raise subprocess.CalledProcessError(status, command)
    return json.loads(metrics.read_text())


#: The arm processes running now, stopped when one of their study's arms fails (and then ``_stopped`` is set).
_running: set[subprocess.Popen] = set()
_stopped = threading.Event()


def _stop_running_arms() -> None:
    """Stop every arm process running or starting (each resumes from its last checkpoint when the study does)."""
    _stopped.set()
    for process in list(_running):
        process.terminate()


def run_all(tasks: dict[str, Callable[[], dict]], jobs: int, progress: bool = True,
            folders: dict[str, Path] | None = None) -> dict[str, dict]:
    """Call every task, ``jobs`` at a time, in the order given; returns ``{name: result}``.

    The progress bar counts the tasks finished, or, given each task's output ``folders``, the items its
    experiment has shown (its :data:`~brainnets.stdp.phases.PROGRESS_FILE`), over the arms started so far."""
    with ThreadPoolExecutor(jobs) as pool, tqdm(total=len(tasks), desc="arms finished", unit="arm",
                                                 disable=not progress or folders is not None) as bar, \
            tqdm(desc="items shown, all arms", unit="item", disable=not progress or folders is None) as items:
        futures = {name: pool.submit(task) for name, task in tasks.items()}
        pending = set(futures.values())
        first_look = True
        _stopped.clear()
        try:
            while pending:
                finished, pending = wait(pending, timeout=2.0, return_when=FIRST_COMPLETED)
                for future in finished:
                    future.result()
                    bar.update()
                if folders is not None:
                    shown = [_progress_of(folder) for folder in folders.values()]
                    items.total = sum(total for _, total in shown)
                    done = sum(done for done, _ in shown)
                    if first_look:  # what a resumed study had done: not counted in the rate
                        items.n = items.initial = items.last_print_n = done
                        first_look = False
                    items.update(done - items.n)
                    items.set_postfix_str(f"{len(tasks) - len(pending)} of {len(tasks)} arms finished",
                                          refresh=False)
                    items.refresh()
        except BaseException:  # one arm failed (or the user stopped the study): the other arms stop too
            for future in pending:
                future.cancel()
            _stop_running_arms()
            raise
        return {name: future.result() for name, future in futures.items()}


def _progress_of(folder: Path) -> tuple[int, int]:
    """(items shown, items in all) of the experiment running in ``folder``; (0, 0) before it starts."""
    try:
        told = json.loads((Path(folder) / PROGRESS_FILE).read_text())
        return int(told["done"]), int(told["total"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0, 0


# -- the run-arm subcommand ------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("arm_file", help="<out>.arm.json, written by the study; the arm runs into <out>")
    parser.add_argument("--resume", action="store_true", help="continue the run checkpointed in <out>")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    path = Path(args.arm_file)
    if not path.name.endswith(".arm.json"):
        raise ValueError(f"{path}: an arm file is named <out>.arm.json")
    document = json.loads(path.read_text())
    module_name, function = RUNNERS[document["kind"]].split(":")
    runner = getattr(importlib.import_module(module_name), function)
    out = path.parent / path.name[:-len(".arm.json")]
    runner(document["settings"], document["data"], out, resume=args.resume, progress=not args.quiet)
    return 0
