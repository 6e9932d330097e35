"""One network, many devices: the same code gives the same spikes on the runtime and in C++ standalone,
and generates a CUDA project that nvcc compiles."""
import numpy as np
import pytest

from brian2 import Network, NeuronGroup, SpikeMonitor, defaultclock, ms, seed

from brainnets import build_cache
from brainnets.devices import DeviceError, build_standalone, read_clock_once, use_device
from brainnets.stdp.ensemble import UnimodalEnsemble
from brainnets.stdp.simulation import EnsembleSimulation
from cuda_builds import compiles_cuda, stdp_project


def run_twice(model, images, device, directory):
    """Two consecutive runs of a small ensemble: the second starts from the state the first left."""
    use_device(device, directory)
    ensemble = UnimodalEnsemble(model, 10, slots_per_run=6, rng=np.random.default_rng(7))
    sim = EnsembleSimulation(ensemble, device, directory, seed=7)
    first = sim.present(images[:6], learning=True)
    second = sim.present(images[first.n_done:first.n_done + 6], learning=True)
    return first, second, sim.state


@pytest.mark.long_running
def test_cpp_standalone_reproduces_the_runtime_spike_for_spike(model, mnist_train, tmp_path):
    """Brian2's standalone generator is numpy's Mersenne Twister, seeded the same way per run, so the
    two devices must agree exactly, including across the state carried between runs. (The C++ network loop
    is ours, reading the CPU clock once per run: :func:`read_clock_once`.)"""
    images = mnist_train.images[:12]
    runtime = run_twice(model, images, "runtime", None)
    cpp = run_twice(model, images, "cpp", tmp_path / "cpp")
    use_device("runtime")
    for ours, theirs in zip(runtime[:2], cpp[:2]):
        assert ours.n_done == theirs.n_done > 0
        np.testing.assert_array_equal(ours.counts, theirs.counts)
        np.testing.assert_array_equal(ours.tries, theirs.tries)
    assert runtime[1].counts.sum() > 0
    for key, value in runtime[2].items():
        np.testing.assert_allclose(cpp[2][key], value, rtol=1e-9, atol=1e-12, err_msg=str(key))


def test_the_cpp_network_loop_reads_the_cpu_clock_once_per_run(tmp_path):
    """Brian2's template is recognised (a Brian2 that changes it fails here, not silently slower), and the
    clock read moves from each step to after the loop."""
    from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject
    brian2s = CPPStandaloneCodeObject.templater.network(None, None, maximum_run_time=None).cpp_file
    ours = read_clock_once(brian2s)
    def each_step(network_cpp):  # the loop over time steps, to its closing brace
        start = network_cpp.index("while(clock && clock->running())")
        return network_cpp[start:network_cpp.index("\n    }\n", start)]

    per_run_time = "elapsed_realtime = (double)(current - start)"
    assert per_run_time in each_step(brian2s) and per_run_time not in each_step(ours)
    assert ours.count(per_run_time) == 1


def spikes_of_a_small_network(directory, tau_ms=10):
    use_device("cpp", directory)
    defaultclock.dt = 0.1 * ms  # an earlier network in the process may have left another
    seed(3)
    group = NeuronGroup(10, "dv/dt = (1.1 - v) / tau : 1", threshold="v > 1", reset="v = 0", method="exact",
                        namespace={"tau": tau_ms * ms})
    group.v = "rand()"
    spikes = SpikeMonitor(group)
    Network(group, spikes).run(50 * ms)
    build_standalone(directory)
    return spikes.i[:].copy(), spikes.t[:].copy()


def test_a_network_built_again_compiles_only_its_main(tmp_path, monkeypatch):
    """The second build of one network (its objects left to the garbage collector in between, as a resumed run
    or another arm leaves them) takes every object but main.o from the build cache and runs the same; another
    network does not."""
    monkeypatch.setenv("BRAINNETS_CACHE", str(tmp_path / "cache"))
    restored = []
    restore = build_cache.restore
    monkeypatch.setattr(build_cache, "restore", lambda *args: restored.append(restore(*args)) or restored[-1])
    first = spikes_of_a_small_network(tmp_path / "first")
    again = spikes_of_a_small_network(tmp_path / "again")
    other = spikes_of_a_small_network(tmp_path / "other", tau_ms=12)
    use_device("runtime")
    assert restored == [False, True, False]
    assert len(first[0]) > 0
    for ours, theirs in zip(first, again):
        np.testing.assert_array_equal(ours, theirs)
    assert len(list((tmp_path / "cache" / "builds").iterdir())) == 2


def test_unknown_device():
    with pytest.raises(DeviceError, match="unknown device 'gpu'"):
        use_device("gpu")


@compiles_cuda
def test_cuda_project_generates_and_one_kernel_of_each_kind_compiles(tmp_path):
    """A 10-neuron ensemble's project (tests/cuda_builds.py: the kernels compiled and why)."""
    stdp_project(tmp_path)


@pytest.mark.slow
@compiles_cuda
def test_cuda_project_compiles_whole(tmp_path):
    stdp_project(tmp_path, kernels=None)
    assert (tmp_path / "main").stat().st_size > 0
