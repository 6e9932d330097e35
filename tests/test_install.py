"""The package installed as a user installs it (``pip install .``, not editable) works from any folder: the
``brainnets`` command finds its models and data inside the installed package."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent


@pytest.fixture
def installed(tmp_path_factory):
    """A virtual environment holding a regular (non-editable) install of this source tree; the libraries
    come from the environment running the tests, so nothing is downloaded."""
    wheels, venv = tmp_path_factory.mktemp("wheels"), tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(wheels), str(REPOSITORY)], check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps",
                    *map(str, wheels.glob("brainnets-*.whl"))], check=True, capture_output=True)
    return venv / "bin"


def run_outside(bin_dir: Path, folder: Path, *arguments: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != "BRAINNETS_DATA"}
    return subprocess.run([str(bin_dir / "brainnets"), *arguments], cwd=folder, env=environment,
                          capture_output=True, text=True)


@pytest.mark.long_running
def test_the_installed_command_runs_from_a_folder_outside_the_repository(installed, tmp_path):
    # one test, as the installation is its costly part (xdist would make it again for a second test elsewhere)
    help_text = run_outside(installed, tmp_path, "--help")
    assert help_text.returncode == 0, help_text.stderr
    for command in ("train", "multimodal", "compress", "ttfs", "study", "info"):
        assert command in help_text.stdout
    python_dash_m = subprocess.run([str(installed / "python"), "-m", "brainnets", "--help"], cwd=tmp_path,
                                   capture_output=True, text=True)
    assert python_dash_m.returncode == 0 and "run-arm" in python_dash_m.stdout  # the same command

    info = run_outside(installed, tmp_path, "info")
    assert info.returncode == 0, info.stderr
    assert str(installed.parent) in info.stdout  # the models and data of the installed copy, not the source tree
    assert "diehl_cook_2015" in info.stdout and "mnist (train)            ok" in info.stdout

    trained = run_outside(installed, tmp_path, "train", "--n-exc", "10", "--train", "100", "--test", "100",
                          "--out", "tiny", "--quiet")
    assert trained.returncode == 0, trained.stderr
    assert (tmp_path / "tiny" / "metrics.json").is_file()
