"""Fault injection: bad input and a hostile machine end in one line and exit status 2, and leave nothing behind."""
from __future__ import annotations

import re
import subprocess
import threading
import time
import warnings
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import brian2
import distributed
from brian2 import NeuronGroup, ms, run, second

from brainnets import cache, cli
from brainnets.config import ConfigError, UnusualValueWarning, read_toml
from brainnets.devices import BuildError, build_standalone, use_device
from brainnets.nlif.experiment import NLIFModel
from brainnets.resources import shipped_models
from brainnets.stdp.compression import Compression
from brainnets.stdp.model import DiehlCookModel
from brainnets.stdp.multimodal import MultimodalModel
from brainnets.checkpoint import CorruptFileError, RunFolderError, check_run_folder, load_arrays, save_arrays_atomic
from brainnets.stdp.phases import PhasedExperiment
from brainnets.studies import arms
from brainnets.ttfs.experiment import TTFSModel


def refused(capsys, *argv: str) -> str:
    """Run ``brainnets ARGV`` in this process; it must exit 2 with one error line on stderr (after any
    ``warning:`` lines of unusual values), which is returned."""
    assert cli.main(list(argv)) == 2
    lines = [line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_an_output_folder_under_a_regular_file_is_refused_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a_file").write_text("not a folder")
    message = refused(capsys, "train", "--train", "10", "--test", "10", "--out", "a_file/run")
    assert "a_file/run" in message and "Not a directory" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_a_model_that_is_a_folder_is_refused_before_anything_is_written(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    message = refused(capsys, "train", "--model", "models", "--train", "10", "--test", "10", "--out", "run")
    assert message == "error: models: a folder, not a model file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models"]


def test_the_multimodal_comparison_needs_two_neurons(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    message = refused(capsys, "multimodal", "--n-total", "1", "--out", "run")
    assert "--n-total must be >= 2" in message
    assert list(tmp_path.iterdir()) == []


def test_a_truncated_checkpoint_is_named_not_a_zip_traceback(tmp_path):
    path = tmp_path / "checkpoint.npz"
    save_arrays_atomic(path, {"w": np.arange(1000.0)})
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CorruptFileError, match="checkpoint.npz: truncated or corrupt"):
        load_arrays(path)
    assert cli.one_line(CorruptFileError(f"{path}: truncated or corrupt")) is not None


def test_a_missing_optional_extra_names_the_pip_line():
    assert cli.one_line(ModuleNotFoundError("No module named 'torch'", name="torch")) == (
        "torch is not installed; this command needs it: pip install 'brainnets[gradient]'")
    assert "brainnets[cuda]" in cli.one_line(ModuleNotFoundError("x", name="brian2cuda.device"))
    assert cli.one_line(ModuleNotFoundError("No module named 'numpy'", name="numpy")) is None  # unexpected
    assert cli.one_line(OSError("no file name: unexpected")) is None
    assert cli.one_line(RuntimeError("unexpected")) is None


class _FakeArmProcess:
    """Stands in for an arm's process: the arm named "bad" stops on a user error (exit status 2) as soon as
    another arm runs (on a loaded machine the other may start late), "broken" at once on an unexpected error
    (1); any other runs until it is terminated."""

    terminated: list[str] = []
    another_runs = threading.Event()

    def __init__(self, command):
        self.name = Path(command[4]).name.split(".")[0]  # [python, -m, brainnets, run-arm, ARM_FILE, ...]
        self.stopped = threading.Event()
        if self.name not in ("bad", "broken"):
            _FakeArmProcess.another_runs.set()

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        return False

    def wait(self):
        if self.name == "bad":
            _FakeArmProcess.another_runs.wait(timeout=30)
        if self.name in ("bad", "broken"):
            return {"bad": 2, "broken": 1}[self.name]
        self.stopped.wait(timeout=30)
        return -15

    def terminate(self):
        _FakeArmProcess.terminated.append(self.name)
        self.stopped.set()


def test_an_arm_that_stops_on_a_user_error_stops_its_study_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(_FakeArmProcess, "terminated", [])
    monkeypatch.setattr(_FakeArmProcess, "another_runs", threading.Event())
    arm = partial(arms.run_arm_process, "multimodal", _Settings(), {})
    # the study's cluster runs its arms in threads of this process, beside the fake; it starts (and stops)
    # with the real Popen
    with distributed.LocalCluster(n_workers=2, **{**arms.LOCAL_CLUSTER, "processes": False}) as cluster, \
            monkeypatch.context() as patch:
        patch.setattr(subprocess, "Popen", _FakeArmProcess)
        with pytest.raises(subprocess.CalledProcessError):  # an unexpected failure keeps its traceback
            arm(tmp_path / "broken")
        started = time.perf_counter()
        with pytest.raises(arms.ArmError, match="bad stopped"):  # and the arm still running is stopped with it
            arms.run_arms({"slow": partial(arm, tmp_path / "slow"), "bad": partial(arm, tmp_path / "bad")},
                          scheduler=cluster.scheduler_address, progress=False)
        assert _FakeArmProcess.terminated == ["slow"] and time.perf_counter() - started < 10


def test_the_cache_has_a_documented_place_a_size_and_a_clear(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BRAINNETS_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache" / "cochleagrams").mkdir(parents=True)
    (tmp_path / "cache" / "cochleagrams" / "one.npz").write_bytes(b"x" * 2048)
    assert cli.main(["cache"]) == 0
    assert capsys.readouterr().out.strip() == f"{tmp_path / 'cache'}: 1 files, 0.0 MiB"
    assert cache.clear() == 2048 and not (tmp_path / "cache").exists()
    assert cli.main(["cache", "clear"]) == 0  # clearing an absent cache is fine


@dataclass(frozen=True)
class _Settings:
    """Stands in for an experiment's settings: run_arm_process only writes them to the arm file."""


@pytest.mark.parametrize("change, message", [
    ({"excitatory": {"tau_m": "0.001 ms"}}, r"\[excitatory\]\.tau_m = 1\. us is shorter than the time step"),
    ({"inhibitory": {"tau_gi": "0.1 ms"}}, r"\[inhibitory\]\.tau_gi = 100\. us is shorter than the time step"),
    ({"protocol": {"weight_sum": 1e30}}, r"weight_sum = 1e\+30 over 784 inputs asks for weights above w_max = 1"),
])
def test_values_without_physical_sense_are_refused_in_one_line(tmp_path, capsys, monkeypatch, change, message):
    monkeypatch.chdir(tmp_path)
    table, values = next(iter(change.items()))
    model = tmp_path / "model.toml"
    key, value = next(iter(values.items()))
    model.write_text(f'base = "diehl_cook_2015"\n[{table}]\n{key} = {value!r}\n'.replace("'", '"'))
    line = refused(capsys, "train", "--model", str(model), "--n-exc", "5", "--train", "5", "--test", "5",
                   "--out", "run")
    assert re.search(message, line), line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.toml"]


def test_a_write_killed_mid_way_leaves_nothing_later_runs_trip_on(tmp_path):
    """A kill during an atomic write leaves its .NAME.XXXX.tmp; the next run in that folder removes it, and a
    run killed before its first checkpoint still counts as one (the leftover is not something of value)."""
    run = tmp_path / "run"
    run.mkdir()
    (run / ".checkpoint.npz.abc123.tmp").write_bytes(b"half of a checkpoint")
    (run / "checkpoint.npz").write_bytes(b"a whole one")
    check_run_folder(run, resume=True, checkpoint=run / "checkpoint.npz")
    assert [p.name for p in run.iterdir()] == ["checkpoint.npz"]
    experiment = PhasedExperiment.__new__(PhasedExperiment)
    experiment.out = tmp_path / "early"
    experiment.out.mkdir()
    (experiment.out / "settings.json").write_text("{}")
    (experiment.out / ".settings.json.x1.tmp").write_text("{")
    assert experiment._killed_before_first_checkpoint()


def test_a_pruning_threshold_that_would_prune_everything_is_refused_up_front(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = refused(capsys, "compress", "run", "--threshold", "1.5", "--train", "24", "--test", "5", "--out", "run")
    assert line == "error: pruning threshold 1.5 is not below w_max = 1: every synapse would be pruned"
    assert list(tmp_path.iterdir()) == []


def test_resume_never_continues_an_unrelated_folder_or_another_study(tmp_path, monkeypatch):
    settings = {"audio_only": _Settings()}
    with pytest.raises(RunFolderError, match="holds no study to continue"):
        arms.begin_study(tmp_path / "elsewhere", "comparison", settings, resume=True)
    assert not (tmp_path / "elsewhere").exists()
    arms.begin_study(tmp_path / "study", "comparison", settings, resume=False)
    arms.begin_study(tmp_path / "study", "comparison", settings, resume=True)  # the same study: fine
    with pytest.raises(RunFolderError, match="holds a comparison study, not a sweep one"):
        arms.begin_study(tmp_path / "study", "sweep", settings, resume=True)
    with pytest.raises(RunFolderError, match=r"other arms or settings \(image_only\)"):
        arms.begin_study(tmp_path / "study", "comparison", {**settings, "image_only": _Settings()}, resume=True)


def test_legal_but_unusual_values_warn_in_one_line_and_go_on(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnusualValueWarning)  # no shipped model is unusual
        for name in shipped_models():
            if name.startswith(("diehl_cook", "rathi2018")):
                (MultimodalModel if "multimodal" in name else DiehlCookModel).load(name)
    with pytest.warns(UnusualValueWarning, match=r"\[excitatory\]\.tau_m = '5000 ms' is far from the usual 1-1000 ms"):
        model = DiehlCookModel.load("diehl_cook_2015", overrides={"excitatory": {"tau_m": "5000 ms"}})
    assert model.excitatory.tau_m == 5 * second
    cli._one_line_warning(UnusualValueWarning("x = 3 is far from the usual 1-2; going on"), UnusualValueWarning,
                          "file.py", 1)
    assert capsys.readouterr().err == "warning: x = 3 is far from the usual 1-2; going on\n"


def test_a_project_that_does_not_compile_is_named_with_the_compilers_first_error(tmp_path):
    use_device("cpp", tmp_path / "project")
    try:
        group = NeuronGroup(3, "dv/dt = -v / (10*ms) : 1")  # noqa: F841 (run() finds it by its name)
        run(1 * ms)
        brian2.get_device().insert_code("main", "this is not C++;")
        with pytest.raises(BuildError, match=r"project did not compile: main\.cpp:\d+:\d+: error: "):
            build_standalone(tmp_path / "project", run=False, compile=True)
    finally:
        use_device("runtime")
    assert not (tmp_path / "project" / "objects.h.gch").exists()
    assert cli.one_line(BuildError("x")) == "x"


def _constants_of(model: str) -> list[tuple[str, str, str]]:
    """(model, table, key) of every constant a shipped model file gives, in tables and their sub-tables."""
    def walk(table: dict, where: str):
        for key, value in table.items():
            if isinstance(value, dict):
                yield from walk(value, f"{where}.{key}" if where else key)
            elif where:
                yield model, where, key
    return list(walk(read_toml(model), ""))


def _load_changed(tmp_path, model: str, table: str, key: str, value: str):
    """``model`` with ``[table].key = value``, read as the experiments read it."""
    changed = tmp_path / "changed.toml"
    changed.write_text(f'base = "{model}"\n[{table}]\n{key} = {value}\n')
    return LOADERS[model](changed)


#: Every shipped model file but the tuned multimodal one (its own keys are the literal one's) -> what reads it.
LOADERS = {"diehl_cook_2015": DiehlCookModel.load, "rathi2018_multimodal": MultimodalModel.load,
           "rathi2021_compression": Compression.load, "stanojevic2023_ttfs": TTFSModel.load,
           "kotak_nlif": NLIFModel.load}


@pytest.mark.parametrize("model, table, key", [constant for model in LOADERS for constant in _constants_of(model)])
def test_every_constant_of_a_model_file_is_checked_for_its_kind(tmp_path, model, table, key):
    """A value of the wrong kind (a length, where a time, a voltage, a number or a word is due) is refused with
    the table and key named (an ensemble's sub-table as the ensemble's base file calls it)."""
    ensemble, _, sub_table = table.partition(".")
    named = rf"\[{table}\]\.{key}: expected|\[{ensemble}\]: .*\[{sub_table}\]\.{key}: expected"
    with pytest.raises(ConfigError, match=named if key != "base" else r"model file not found: 1 metre"):
        _load_changed(tmp_path, model, table, key, '"1 metre"')


@pytest.mark.parametrize("change, message", [
    ({"excitatory": {"v_reset": "-40 mV"}}, "v_reset = -40. mV is not below the threshold -52. mV"),
    ({"inhibitory": {"E_exc": "-50 mV"}}, "E_exc = -50. mV is not above the threshold -40. mV: no input"),
    ({"inhibitory": {"E_inh": "-30 mV"}}, "inhibition would excite"),
    ({"excitatory": {"theta_init": "90 mV"}}, "E_exc = 0. V is not above the threshold 18. mV"),
    ({"excitatory": {"tau_m": "-100 ms"}}, r"\[excitatory\]\.tau_m: must be > 0"),
    ({"protocol": {"t_rest": "-150 ms"}}, r"\[protocol\]\.t_rest: must be >= 0"),
])
def test_constants_that_make_a_neuron_silent_or_meaningless_are_refused(change, message):
    with pytest.raises(ConfigError, match=message):
        DiehlCookModel.load("diehl_cook_2015", overrides=change)
