"""The suite's CUDA builds, run in the background while the other tests run.

A CUDA project of brian2cuda is some 50 nvcc runs of ~9 s of CPU each (every file includes thrust), while
pytest keeps one core busy. So conftest.py starts this script when the suite begins, niced, on what the
machine has left, and the tests that check its builds run last (`cuda_builds` fixture).

    python tests/cuda_builds.py DIRECTORY

generates, one after the other, the project of a small TTFS network (only the kernels it alone has: spike
monitors recording a variable) and of a small STDP network (compiled and linked whole), each in DIRECTORY/NAME, and
marks each DIRECTORY/NAME.ok, or DIRECTORY/NAME.failed with the error.
"""
import os
import subprocess
import sys
import traceback
from pathlib import Path

import brian2
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from ttfs_nets import small_convnet  # noqa: E402

from brainnets.devices import build_standalone, use_device  # noqa: E402
from brainnets.stdp.ensemble import UnimodalEnsemble  # noqa: E402
from brainnets.stdp.model import DiehlCookModel  # noqa: E402
from brainnets.stdp.simulation import EnsembleSimulation  # noqa: E402
from brainnets.ttfs import mapping, reference  # noqa: E402

#: The kernels only the TTFS reference has: its spike monitors record a variable (brian2cuda 1.0a7's monitor
#: kernel needs the loop invariants off for that, see devices.py). The rest is in the STDP project.
TTFS_KERNELS = ("code_objects/layer1_spikes_codeobject.o", "code_objects/readout_spikes_codeobject.o")


def stdp_project(directory: Path) -> None:
    """A 10-neuron unimodal ensemble, its project compiled and linked."""
    use_device("cuda", directory)
    try:
        ensemble = UnimodalEnsemble(DiehlCookModel.load("diehl_cook_2015"), 10, slots_per_run=4,
                                    rng=np.random.default_rng(0))
        EnsembleSimulation(ensemble, "cuda", directory)
    finally:
        use_device("runtime")


def ttfs_project(directory: Path, kernels=TTFS_KERNELS) -> None:
    """A small TTFS network's project generated, and ``kernels`` compiled (all, and linked: None)."""
    rng = np.random.default_rng(9)
    x = rng.uniform(0, 1, (2, 64))
    pre = mapping.preprocess(small_convnet(rng), x, delta=0.01, b_low=10)
    spec = mapping.convert(pre.network, mapping.window_lengths(pre.max_activations, 0.5, 0.25))
    use_device("cuda", directory)
    try:
        reference.ReferenceNetwork(spec, x, 2.0 ** -6).run()
        if kernels is None:
            build_standalone(directory, run=False, compile=True)
            return
        brian2.get_device().build(directory=str(directory), run=False, compile=False)
    finally:
        use_device("runtime")
    subprocess.run(["make", f"-j{os.cpu_count() or 1}", *kernels], cwd=directory, check=True, capture_output=True)


BUILDS = {"ttfs": ttfs_project, "stdp": stdp_project}  # the short one first


def main(directory: Path) -> None:
    for name, build in BUILDS.items():
        try:
            build(directory / name)
            (directory / f"{name}.ok").touch()
        except Exception as error:  # noqa: BLE001  (reported by the test that waits for it)
            output = getattr(error, "stderr", b"") or b""
            (directory / f"{name}.failed").write_text(traceback.format_exc() + output.decode(errors="replace"))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
