"""One arm of a study: an experiment described by a settings file, run in its own process, as a Dask task.

A study writes ``<out>.arm.json`` beside the arm's output folder: which kind of experiment, its settings
dataclass as a table, and where its data comes from. ``python -m brainnets run-arm <out>.arm.json`` runs it
into ``<out>`` (resuming a checkpoint left there), so arms train side by side, each with its own compiled
Brian2 project, and a killed study resumes arm by arm.

:func:`run_arms` hands a study's arms to ``dask.distributed``: a ``LocalCluster`` of ``--jobs`` workers on
this machine, or the running cluster whose scheduler ``--scheduler ADDRESS`` names. Each worker runs one arm
at a time and starts the arm's own process, so every worker must see the study's folders at the same paths
(one machine, or a shared file system) and have brainnets installed. Point a study at a cluster with::

    dask scheduler                                             # prints its address: tcp://10.0.0.5:8786
    dask worker tcp://10.0.0.5:8786 --nworkers 4 --nthreads 1  # on each machine: 4 arms at a time there
    brainnets study seeds --seeds 0 1 2 3 --scheduler tcp://10.0.0.5:8786 --work runs/seeds --out seeds
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import json
import logging
import signal
import subprocess
import sys
import threading
import time
import typing
import uuid
from pathlib import Path
from typing import Callable, Iterator

from tqdm import tqdm

from ..checkpoint import RunFolderError, hold_folder, write_json_atomic
from ..stdp.phases import PROGRESS_FILE

#: kind -> "module:function" running one arm: ``function(settings_table, data_table, out, resume, progress)``,
#: which writes the arm's ``metrics.json`` into ``out``. A kind not listed here may be such a "module:function"
#: itself: an experiment of another package (or of a test) run as an arm.
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

    ``kind`` is one of :data:`RUNNERS` or a runner's "module:function", ``settings`` the experiment's settings
    dataclass, ``data`` says where its data comes from. An arm killed earlier (``out`` holds a checkpoint) is
    resumed.
    """
    if kind not in RUNNERS and ":" not in kind:
        raise ValueError(f"arm kind must be one of {sorted(RUNNERS)} or a runner's module:function, got {kind!r}")
    out = Path(out)
    metrics = out / "metrics.json"
    if not metrics.exists():
        write_json_atomic(arm_file(out), {"kind": kind, "settings": dataclasses.asdict(settings), "data": data})
        command = [sys.executable, "-m", "brainnets", "run-arm", str(arm_file(out)), "--quiet"]
        if (out / "checkpoint.npz").exists():
            command.append("--resume")
        study = getattr(_study_of_this_thread, "name", None)
        with _start_arm(command, study, out) as process:
            try:
                status = process.wait()
            finally:
                _forget(process, study)
        if status == 2:
            raise ArmError(f"the arm in {out} stopped (its error is printed above, or, on a cluster given by "
                           "--scheduler, in its worker's log)")
        if status != 0:
            raise subprocess.CalledProcessError(status, command)
    return json.loads(metrics.read_text())


# A worker runs the arms of any number of studies (a cluster given by --scheduler outlives them), so the arm
# processes are kept by study: a study that fails stops its own arms only.
_running: dict[str | None, set[subprocess.Popen]] = {}
_stopped: set[str] = set()
_arms_lock = threading.Lock()
_study_of_this_thread = threading.local()


def _start_arm(command: list[str], study: str | None, out: Path) -> subprocess.Popen:
    with _arms_lock:  # no arm starts after its study has stopped the ones running
        if study in _stopped:
            raise ArmError(f"the arm in {out} was not started: its study stopped")
        process = subprocess.Popen(command)
        _running.setdefault(study, set()).add(process)
    return process


def _forget(process: subprocess.Popen, study: str | None) -> None:
    with _arms_lock:
        running = _running.get(study, set())
        running.discard(process)
        if not running:
            _running.pop(study, None)


def _stop_arms_of(study: str) -> None:
    """Stop every arm process of ``study`` running on this worker, and any it would start from now on (each
    resumes from its last checkpoint when the study does)."""
    with _arms_lock:
        _stopped.add(study)
        for process in _running.pop(study, set()):
            process.terminate()


def _run_task(study: str, task: Callable[[], dict]) -> dict:
    """``task()`` on a worker, its arm processes kept as ``study``'s."""
    _study_of_this_thread.name = study
    try:
        return task()
    finally:
        _study_of_this_thread.name = None


#: How the local cluster of :func:`run_arms` starts: worker processes, as on a real cluster, so that a task
#: that only works inside the study's own process fails here too; one thread each, as each runs one arm; and
#: quiet, as the study itself reports an arm's error.
LOCAL_CLUSTER = {"processes": True, "threads_per_worker": 1, "dashboard_address": None,
                 "silence_logs": logging.CRITICAL}


#: A local cluster without workers this long has lost them for good (a worker that dies is restarted within
#: seconds): the study stops instead of waiting for ever.
LOST_CLUSTER_SECONDS = 60


@contextlib.contextmanager
def _client(jobs: int, scheduler: str | None) -> Iterator:
    from distributed import Client, LocalCluster  # here: every brainnets command and arm imports this module

    if scheduler is not None:
        try:
            client = Client(scheduler)
        except OSError as error:
            raise ValueError(f"--scheduler {scheduler}: no Dask scheduler answers there ({error})") from None
        with client:
            yield client
        return
    if jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {jobs}")
    with LocalCluster(n_workers=jobs, **LOCAL_CLUSTER) as cluster, Client(cluster) as client:
        if LOCAL_CLUSTER["processes"]:
            client.run(_leave_ctrl_c_to_the_study)
        yield client


def _leave_ctrl_c_to_the_study() -> None:
    """Ctrl-C reaches a local worker and its arm processes too: there it is ignored, and the study stops the
    arms (as it does when one fails) without a worker dying in the middle."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_arms(tasks: dict[str, Callable[[], dict]], jobs: int = 2, scheduler: str | None = None,
             progress: bool = True, folders: dict[str, Path] | None = None) -> dict[str, dict]:
    """Run every task as a ``dask.distributed`` task, started in the order given; returns ``{name: result}``.

    A task is a picklable callable of no arguments (a :func:`functools.partial` of a module-level function,
    such as :func:`run_arm_process`, and plain arguments) returning the arm's metrics; it runs on a worker,
    which must see the same folders as this process. With ``scheduler`` None the tasks run on a local
    cluster of ``jobs`` worker processes, one arm each at a time; else on the running cluster whose
    scheduler has that address.

    A task is handed to the cluster when one of its worker threads is free, in the order given. When a task
    fails, or the study is interrupted (Ctrl-C), the tasks not started are dropped and the arm processes
    running are stopped (each resumes from its checkpoint when the study is run again); then
    the error is raised. The progress bar counts the tasks finished, or, given each task's output
    ``folders``, the items its experiment has shown (its :data:`~brainnets.stdp.phases.PROGRESS_FILE`),
    over the arms started so far."""
    import distributed

    study = uuid.uuid4().hex
    waiting = list(tasks.items())
    running: dict = {}  # future -> the arm's name
    results: dict[str, dict] = {}
    with _client(jobs, scheduler) as client, \
            tqdm(total=len(tasks), desc="arms finished", unit="arm",
                 disable=not progress or folders is not None) as bar, \
            tqdm(desc="items shown, all arms", unit="item", disable=not progress or folders is None) as items:
        first_look, last_state = True, None
        workers_seen = time.monotonic()
        try:
            while waiting or running:
                threads = sum(client.nthreads().values())
                # An arm is handed over only when a worker thread is free for it: handed over earlier, the
                # scheduler may queue it behind a long arm on a busy worker while another worker idles.
                while waiting and len(running) < threads:
                    name, task = waiting.pop(0)
                    running[client.submit(_run_task, study, task, key=f"arm {name} {study}", pure=False)] = name
                finished = set()
                if running:
                    try:
                        finished = distributed.wait(list(running), timeout=2.0, return_when="FIRST_COMPLETED").done
                    except distributed.TimeoutError:
                        pass
                else:
                    time.sleep(0.5)
                for future in finished:
                    results[running.pop(future)] = future.result()
                    bar.update()
                if scheduler is None and threads:
                    workers_seen = time.monotonic()
                elif scheduler is None and time.monotonic() - workers_seen > LOST_CLUSTER_SECONDS:
                    raise RuntimeError(f"the local Dask cluster has had no workers for {LOST_CLUSTER_SECONDS} s")
                if folders is not None:
                    shown = [_progress_of(folder) for folder in folders.values()]
                    state = (sum(total for _, total in shown), sum(done for done, _ in shown), len(results))
                    if first_look:  # what a resumed study had done: not counted in the rate
                        items.n = items.initial = items.last_print_n = state[1]
                        first_look = False
                    if state != last_state:  # one line per change: a log is not a terminal
                        items.total = state[0]
                        items.set_postfix_str(f"{len(results)} of {len(tasks)} arms finished", refresh=False)
                        if not items.update(state[1] - items.n):
                            items.refresh()
                        last_state = state
        except BaseException:  # one arm failed (or the user stopped the study): the other arms stop too
            with contextlib.suppress(Exception):  # the error to report is the arm's, not a lost worker's
                client.run(_stop_arms_of, study, on_error="ignore")
                client.cancel(list(running))
            raise
        return {name: results[name] for name in tasks}


def _progress_of(folder: Path) -> tuple[int, int]:
    """(items shown, items in all) of the experiment running in ``folder``; (0, 0) before it starts."""
    try:
        told = json.loads((Path(folder) / PROGRESS_FILE).read_text())
        return int(told["done"]), int(told["total"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0, 0


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of every study that runs many arms: where its arms run (see :func:`run_arms`)."""
    parser.add_argument("--jobs", type=int, default=2,
                        help="arms trained at the same time: the workers of the Dask cluster started on this machine "
                             "(default: %(default)s)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run the arms on the running Dask cluster whose scheduler has this address (e.g. "
                             "tcp://10.0.0.5:8786) instead: every worker must see the study's folders at the same "
                             "paths, and runs one arm per thread at a time")


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
    module_name, function = RUNNERS.get(document["kind"], document["kind"]).split(":")
    runner = getattr(importlib.import_module(module_name), function)
    out = path.parent / path.name[:-len(".arm.json")]
    runner(document["settings"], document["data"], out, resume=args.resume, progress=not args.quiet)
    return 0
