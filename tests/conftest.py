import gc
import os
from pathlib import Path

#: The suite keeps a brainnets cache of its own, apart from the user's (set before brainnets is imported, which
#: reads it; xdist's workers inherit it): ``$BRAINNETS_TEST_CACHE``, or ``brainnets-tests`` in the user's cache
#: folder. What it holds is keyed by what it was computed from (compiled objects by their sources, ear responses
#: by their parameters), so a later run of the suite compiles only what changed and gets the same results; on a
#: fresh machine it starts empty.
os.environ["BRAINNETS_CACHE"] = os.environ.get("BRAINNETS_TEST_CACHE") or str(
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "brainnets-tests")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from brian2 import prefs  # noqa: E402

from brainnets.datasets import load_mnist  # noqa: E402
from brainnets.devices import use_device  # noqa: E402
from brainnets.stdp.model import DiehlCookModel  # noqa: E402

MODEL_FILE = "diehl_cook_2015"


def pytest_collection_finish(session):
    """What the imports of the collected tests built lives as long as the process: frozen out of the garbage
    collector's sight, so that the full collection made whenever a network is rebuilt (``devices.use_device``)
    scans only what the tests themselves made: some 300,000 objects fewer, 0.5 s a collection."""
    gc.freeze()


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


#: Markers of tests that go first, in this order (a stable sort: the rest keep their order). Under xdist (-n 2)
#: the CUDA compiles start at once, one worker compiling while the other goes on; NEST is first simulated in a
#: fresh worker (one NEST kernel once crashed in its reset in a worker where earlier tests had left a Dask event
#: loop); the long tests then start before the short ones, so that the workers end together.
FIRST = ("compiles_cuda", "uses_nest", "long_running")


def pytest_collection_modifyitems(items):
    def rank(item):
        return next((k for k, marker in enumerate(FIRST) if item.get_closest_marker(marker)), len(FIRST))
    items.sort(key=rank)


@pytest.fixture
def cifar10_folder(tmp_path):
    """A folder of CIFAR-10's python layout (``data_batch_1``-``5``, ``test_batch``) holding ``per_batch`` random
    images per batch, labels 0-9 in turn: ``cifar10_folder(per_batch)`` returns it."""
    import pickle

    def make(per_batch: int = 4) -> Path:
        folder = tmp_path / "cifar-10-batches-py"
        folder.mkdir()
        rng = np.random.default_rng(10)
        for name in [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]:
            batch = {b"data": rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8),
                     b"labels": [k % 10 for k in range(per_batch)], b"batch_label": name.encode()}
            (folder / name).write_bytes(pickle.dumps(batch))
        return folder
    return make
