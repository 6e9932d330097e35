import os
import shutil
import tempfile

import numpy as np
import pytest
from brian2 import prefs

from brainnets.datasets import load_mnist
from brainnets.devices import use_device
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


def pytest_configure(config):
    """The suite starts from an empty brainnets cache of its own (compiled objects, ear responses, demo builds),
    shared by its xdist workers, which inherit the variable: what it does and how long it takes never depend
    on earlier runs, and it leaves the user's cache alone."""
    if not hasattr(config, "workerinput"):
        config.brainnets_cache = os.environ["BRAINNETS_CACHE"] = tempfile.mkdtemp(prefix="brainnets-test-cache-")


def pytest_unconfigure(config):
    if hasattr(config, "brainnets_cache"):
        shutil.rmtree(config.brainnets_cache, ignore_errors=True)


def pytest_collection_modifyitems(items):
    """The tests that compile CUDA code first: under xdist (-n 2) one worker compiles while the
    other goes on, rather than both waiting for a compile at the end."""
    items.sort(key=lambda item: item.get_closest_marker("compiles_cuda") is None)  # stable: the rest keep their order
