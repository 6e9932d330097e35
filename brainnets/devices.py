"""One switch between Brian2's runtime mode, C++ standalone and CUDA standalone (brian2cuda).

Networks are written once; :func:`use_device` chooses where they run. The standalone devices are set
up with ``build_on_run=False`` so that a network is built and compiled once and then run many times
with ``device.run(run_args=...)``.
"""
from __future__ import annotations

import gc
import io
import os
import re
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import brian2
from brian2 import prefs, set_device
from brian2.devices.cpp_standalone.device import CPPStandaloneDevice
from brian2.devices.device import all_devices

from . import build_cache

DEVICES = ("runtime", "cpp", "cuda")
_BRIAN_NAMES = {"runtime": "runtime", "cpp": "brainnets_cpp_standalone", "cuda": "cuda_standalone"}


#: Every file of a C++ standalone project includes objects.h, some 70,000 lines once the standard headers are
#: in, and parsing it anew for each of the ~90 files is most of the build. So make first precompiles it with
#: the project's own flags (GCC's objects.h.gch), then compiles every file with it force-included, and the
#: 45 MB .gch is removed after the build: a build takes about half as long. (Brian2 drops `-include FILE`
#: from its compiler flags, as it tests each word alone, so it goes into the compiler command instead.)
_PRECOMPILE_OBJECTS_H = "--eval 'objects.h.gch: objects.h ; $(CXX) $(filter-out -c,$(CXXFLAGS)) -x c++-header $< -o $@'"
_WITH_OBJECTS_H = "CXX=\"${CXX:-g++} -include objects.h\""


#: Brian2's C++ network loop (without OpenMP) reads the process's CPU clock after every time step, for a
#: `maximum_run_time` that brainnets never sets. That clock, std::clock(), is a system call (Linux has no vDSO
#: for a process CPU clock) of about 0.9 us here: a fifth of a training step of the 100-neuron network.
_CLOCK_EACH_STEP = ("        current = std::clock();\n"
                    "        elapsed_realtime = (double)(current - start)/(1 * CLOCKS_PER_SEC);\n")
_AFTER_THE_LOOP = "    if(!did_break_early) t = t_end;\n"


def read_clock_once(network_cpp: str) -> str:
    """Brian2's network.cpp with the CPU clock read once, after a run's last step, instead of after each step.

    The run's duration that Brian2 reports is the same. Code it does not recognise (another Brian2 version)
    is returned unchanged."""
    if network_cpp.count(_CLOCK_EACH_STEP) != 1 or network_cpp.count(_AFTER_THE_LOOP) != 1:
        return network_cpp
    once = _CLOCK_EACH_STEP.replace("\n        ", "\n    ").lstrip()
    return network_cpp.replace(_CLOCK_EACH_STEP, "").replace(_AFTER_THE_LOOP, f"    {once}{_AFTER_THE_LOOP}")


class ClockOnceCPPStandaloneDevice(CPPStandaloneDevice):
    """Brian2's C++ standalone device, its network loop without a system call per time step
    (:func:`read_clock_once`); the simulation is the same to the last spike. A network built before compiles
    only its main.cpp (:mod:`brainnets.build_cache`)."""

    def compile_source(self, directory, compiler, debug, clean):
        if clean or debug or not build_cache.enabled():
            return super().compile_source(directory, compiler, debug, clean)
        key = build_cache.key_of(directory)
        if not build_cache.restore(key, directory):
            super().compile_source(directory, compiler, debug, clean)
            build_cache.store(key, directory)
            return
        full_build = prefs.devices.cpp_standalone.make_cmd_unix
        prefs.devices.cpp_standalone.make_cmd_unix = "make"  # main.o and the link: no header to precompile
        try:
            super().compile_source(directory, compiler, debug, clean)
        finally:
            prefs.devices.cpp_standalone.make_cmd_unix = full_build

    def generate_network_source(self, writer, compiler):
        if self._maximum_run_time is not None:  # needs the clock at each step
            return super().generate_network_source(writer, compiler)
        network = self.code_object_class().templater.network(None, None, maximum_run_time=None)
        writer.write("network.cpp", read_clock_once(network.cpp_file))
        writer.write("network.h", network.h_file)


all_devices[_BRIAN_NAMES["cpp"]] = ClockOnceCPPStandaloneDevice()


class DeviceError(RuntimeError):
    """The requested device cannot be used on this machine."""


class BuildError(DeviceError):
    """A standalone project did not compile (no compiler, a missing header, generated code it refuses)."""


def use_device(kind: str, directory: str | Path | None = None, threads: int = 1) -> None:
    """Make ``kind`` ('runtime', 'cpp' or 'cuda') the device for the networks built next.

    Standalone projects are written to ``directory``. Calling it again starts afresh, so one process
    can build several networks one after the other. ``threads`` > 1 compiles a C++ project with OpenMP,
    each code object's loop shared out over that many threads (it can pay for large groups: many copies); a
    seed then no longer fixes a run to the last spike, as the threads add synaptic input in varying order.
    """
    if threads < 1 or (threads > 1 and kind != "cpp"):
        raise DeviceError(f"threads = {threads}: give 1, or more for the 'cpp' device only")
    if kind not in DEVICES:
        raise DeviceError(f"unknown device {kind!r}; choose one of {DEVICES}")
    current = brian2.get_device()
    if hasattr(current, "reinit"):
        current.reinit()
    # The last network's objects, collected now, leave their names free: Brian2 numbers a new object's name
    # (`..._codeobject_1`) while another holds it, and a network built again then differs in its sources.
    gc.collect()
    prefs.reset_to_defaults()
    if kind == "runtime":
        set_device("runtime")
        return
    # Brian2's default is an unbounded `make -j`: one compiler per source file at once, which on a
    # small machine (and nvcc needs ~0.6 GB each) runs it out of memory.
    jobs = f"-j{os.cpu_count() or 1}"
    if kind == "cpp":
        prefs.devices.cpp_standalone.make_cmd_unix = (f"make {_PRECOMPILE_OBJECTS_H} objects.h.gch && "
                                                      f"make {jobs} {_WITH_OBJECTS_H} && rm objects.h.gch")
        prefs.devices.cpp_standalone.extra_make_args_unix = []
        prefs.devices.cpp_standalone.openmp_threads = threads if threads > 1 else 0
        # Unrolled, the short per-step loops over a few hundred neurons run faster: the 100-neuron STDP network
        # trains 6-15 % faster (docs/results: "Why training is fast"), its spikes and weights unchanged to the last bit.
        prefs.codegen.cpp.extra_compile_args_gcc = [*prefs.codegen.cpp.extra_compile_args_gcc, "-funroll-loops"]
    else:
        prefs.devices.cpp_standalone.extra_make_args_unix = [jobs]
        _configure_cuda(Path(directory) if directory else Path.cwd())
    set_device(_BRIAN_NAMES[kind], build_on_run=False, directory=str(directory) if directory else None)


def build_standalone(directory: str | Path | None, **build_args) -> None:
    """``brian2.get_device().build(directory=directory, **build_args)``. Brian2 prints the whole compiler output
    when a build fails; instead, a :class:`BuildError` names the project and the compiler's first error."""
    silenced = io.StringIO()  # what Brian2 prints of the compiler's output, only after a failure
    try:
        with redirect_stdout(silenced), redirect_stderr(silenced):
            brian2.get_device().build(directory=str(directory) if directory else None, **build_args)
    except RuntimeError as error:
        if "compilation failed" not in str(error):
            raise
        Path(brian2.get_device().project_dir, "objects.h.gch").unlink(missing_ok=True)  # 45 MB, of no use now
        raise BuildError(f"the Brian2 project in {directory or 'output'} did not compile: "
                         f"{first_compiler_error(silenced.getvalue()) or error}") from None
    sys.stdout.write(silenced.getvalue())


def first_compiler_error(output: str) -> str | None:
    """The first line of a compiler's ``output`` that reports an error, or None."""
    for line in output.splitlines():
        if re.search(r"\berror\b", line, flags=re.IGNORECASE):
            return line.strip()
    return None


def check_runnable(kind: str) -> None:
    """Refuse, before any work, a device on which this machine cannot run networks (it may still generate and
    compile CUDA projects for another machine's GPU)."""
    if kind != "cuda":
        return
    import brian2cuda  # noqa: F401  (not installed: the command line names the extra that installs it)
    if nvcc_path() is None:
        raise DeviceError("the 'cuda' device needs nvcc (the CUDA toolkit) on the PATH")
    if not gpu_present():
        raise DeviceError("the 'cuda' device runs networks on an NVIDIA GPU, and nvidia-smi finds none on this "
                          "machine; use --device cpp")


def is_standalone(kind: str) -> bool:
    return kind in ("cpp", "cuda")


def nvcc_path() -> str | None:
    return shutil.which("nvcc")


def _cuda_version(nvcc: str) -> float:
    text = subprocess.run([nvcc, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"release (\d+\.\d+)", text)
    if not match:
        raise DeviceError(f"cannot read the CUDA version from `{nvcc} --version`")
    return float(match.group(1))


def gpu_present() -> bool:
    smi = shutil.which("nvidia-smi")
    return bool(smi) and subprocess.run([smi, "-L"], capture_output=True).returncode == 0


def _curand_dirs(private_lib: Path) -> tuple[Path, Path]:
    """Headers and library of cuRAND from the ``nvidia-curand`` wheel, when the toolkit lacks them.

    The wheel ships only ``libcurand.so.<major>``; the linker wants ``libcurand.so``, so a symlink is
    made in ``private_lib`` (inside the build directory, never inside site-packages).
    """
    try:
        import nvidia
    except ImportError:
        raise DeviceError("cuRAND not found: install the 'cuda' extra (pip install -e .[cuda])") from None
    for root in map(Path, nvidia.__path__):
        for include in sorted(root.glob("*/include/curand.h")):
            lib_dir = include.parent.parent / "lib"
            libraries = sorted(lib_dir.glob("libcurand.so*"))
            if libraries:
                private_lib.mkdir(parents=True, exist_ok=True)
                link = private_lib / "libcurand.so"
                if not link.exists():
                    link.symlink_to(libraries[0])
                return include.parent, lib_dir
    raise DeviceError("the nvidia-curand package has no curand.h / libcurand.so")


def _configure_cuda(build_dir: Path) -> None:
    nvcc = nvcc_path()
    if nvcc is None:
        raise DeviceError("the 'cuda' device needs nvcc (the CUDA toolkit) on the PATH")
    import brian2cuda  # noqa: F401  (registers the cuda_standalone device and its preferences)

    # brian2cuda 1.0a7's spike monitor kernel leaves out the loop invariants that Brian2 hoists out of a
    # recorded subexpression (the TTFS reference records one), so the generated code would not compile.
    prefs.codegen.loop_invariant_optimisations = False
    backend = prefs.devices.cuda_standalone.cuda_backend
    if not gpu_present():
        # Cross-compile: brian2cuda cannot query a GPU, so name one (H100-class, sm_90).
        backend.detect_gpus = False
        backend.gpu_id = 0
        backend.compute_capability = 9.0
        backend.cuda_runtime_version = _cuda_version(nvcc)
    toolkit_include = Path(nvcc).resolve().parent.parent / "include"
    if not (toolkit_include / "curand.h").exists():
        include, lib = _curand_dirs(build_dir / "curand_lib")
        prefs.codegen.cpp.include_dirs += [str(include)]
        prefs.codegen.cpp.library_dirs += [str(lib), str(build_dir / "curand_lib")]
        prefs.codegen.cpp.runtime_library_dirs += [str(lib)]
    if _cuda_version(nvcc) >= 13:  # CUDA 13's headers need C++17
        backend.extra_compile_args_nvcc = list(backend.extra_compile_args_nvcc) + ["-std=c++17"]
        prefs.codegen.cpp.extra_compile_args_gcc = list(prefs.codegen.cpp.extra_compile_args_gcc) + ["-std=c++17"]
