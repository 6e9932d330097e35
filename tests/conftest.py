import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from brian2 import prefs

from brainnets.datasets import load_mnist
from brainnets.devices import nvcc_path, use_device
from brainnets.stdp.model import DiehlCookModel

MODEL_FILE = "diehl_cook_2015"


@pytest.fixture(scope="session")
def model():
    return DiehlCookModel.load(MODEL_FILE)


@pytest.fixture(scope="session")
def mnist_train():
    return load_mnist("train")


@pytest.fixture(scope="session")
def mnist_test():
    return load_mnist("test")


@pytest.fixture
def numpy_runtime():
    """Brian2 runtime with the numpy target: equations are checked without compiling anything."""
    use_device("runtime")
    prefs.codegen.target = "numpy"
    yield
    prefs.reset_to_defaults()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def torch_one_thread():
    """The test machine's cores are shared, and torch's many small operations run fastest on one thread."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class CudaBuilds:
    """The background process of tests/cuda_builds.py, and a wait for one of its builds."""

    def __init__(self):
        self.directory = Path(tempfile.mkdtemp(prefix="brainnets-cuda-builds-"))
        self.log = self.directory / "log"  # a file, not a pipe: a full pipe would stall the builds
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("cuda_builds.py")), str(self.directory)],
                stdout=log, stderr=subprocess.STDOUT, preexec_fn=lambda: os.nice(10))

    def wait(self, name: str, timeout: float = 1800) -> Path:
        """The project directory of build ``name`` once it has succeeded; fails the test otherwise."""
        deadline = time.monotonic() + timeout
        while not (self.directory / f"{name}.ok").exists():
            failed = self.directory / f"{name}.failed"
            if failed.exists():
                pytest.fail(f"the background CUDA build {name!r} failed:\n{failed.read_text()[-3000:]}")
            if self.process.poll() is not None and not (self.directory / f"{name}.ok").exists():
                pytest.fail(f"the background CUDA builds ended ({self.process.returncode}) without {name!r}: "
                            f"{self.log.read_text(errors='replace')[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"the background CUDA build {name!r} took over {timeout:.0f} s")
            time.sleep(1)
        return self.directory / name

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def pytest_collection_modifyitems(session, config, items):
    """Tests that check the CUDA builds run last, and the builds start now, in the background."""
    waiting = [item for item in items if "cuda_builds" in getattr(item, "fixturenames", ())]
    if waiting and nvcc_path() is not None:
        items[:] = [item for item in items if item not in waiting] + waiting
        config.stash[CUDA_BUILDS] = CudaBuilds()


def pytest_unconfigure(config):
    if CUDA_BUILDS in config.stash:
        config.stash[CUDA_BUILDS].close()


CUDA_BUILDS = pytest.StashKey[CudaBuilds]()


@pytest.fixture(scope="session")
def cuda_builds(request):
    if nvcc_path() is None:
        pytest.skip("no nvcc on this machine: the CUDA projects cannot be compiled")
    return request.config.stash[CUDA_BUILDS]
