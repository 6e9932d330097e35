"""Memory and latency of MP layers: the thesis' arithmetic (sec. 2.3) and the solvers compared (ch. 4).

**Arithmetic.** A layer of ``D_in -> D_out`` neurons on a batch ``B`` holds, per output neuron and sample, a
``2 D_in``-vector ``z`` (:meth:`~brainnets.mp.layers.MPLinear.branch`), so one ``z`` tensor takes
``B * 2 D_in * D_out * itemsize`` bytes and ``z+`` and ``z-`` together twice that. For the thesis' example
(``B = 128``, 784-8000-10, float32) one ``z`` is ``128 * 1568 * 8000 * 4 = 6.42e9`` B (5.98 GiB) and both
``12.8e9`` B; the thesis prints "~3 GB", which is one branch of one ``z``, ``128 * 784 * 8000 * 4 = 3.2e9`` B
(Kotak notes sec. 3.2).

**Measurement** (Fig. 4.1 analogue, on the CPU). The thesis ran Condat's algorithm in C beside a GPU
sort; here both solvers are PyTorch CPU code, so the comparison is between the algorithms' working sets:
the sort solver's sorted copy, its indices and two prefix tensors against the bisection's one temporary.
Peak memory is read from PyTorch's own allocator: the profiler (``profile_memory=True``) records every CPU
tensor allocation and release with its size, and the peak is the largest running total over the forward
pass, counted from its start (inputs and weights excluded). ``tracemalloc`` sees only Python's allocator,
not tensors, and the RSS keeps freed pages, so neither measures this. Latency is the median wall time of
separate, unprofiled forward passes.

Both solvers see the same network, built one ``z`` at a time (:meth:`~brainnets.mp.layers.MPLinear.forward`).
The sort's peak is ``z`` plus the sort's values and int64 indices (4 ``z``-sizes in float32); the bisection's
is building ``z`` itself (its two halves and their concatenation, 2 ``z``-sizes), as its solve needs ``z``
and one temporary.
"""
from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch
from torch.profiler import ProfilerActivity, profile
from tqdm import tqdm

from .layers import Gamma, MPLinear, MPNetwork

#: The thesis' example of sec. 2.3, and the value it prints.
THESIS_EXAMPLE = {"batch": 128, "d_in": 784, "d_out": 8000, "itemsize": 4}
THESIS_CLAIM_BYTES = 3e9


def z_tensor_bytes(batch: int, d_in: int, d_out: int, itemsize: int = 4) -> int:
    """Bytes of one ``z`` tensor, ``(batch, d_out, 2 d_in)``."""
    return batch * 2 * d_in * d_out * itemsize


def memory_arithmetic() -> dict:
    """The thesis' example worked out, beside its printed value."""
    one = z_tensor_bytes(**THESIS_EXAMPLE)
    branch = one // 2
    return {**THESIS_EXAMPLE, "one_z_bytes": one, "one_z_gib": one / 2 ** 30, "both_z_bytes": 2 * one,
            "one_branch_bytes": branch, "thesis_claim_bytes": THESIS_CLAIM_BYTES,
            "thesis_formula_as_printed": one / (1024 ** 2 * 1000),
            "note": "the thesis' ~3 GB is one branch (B x 784 x 8000 x 4 B) of one z tensor; one z is "
                    f"{one:.3g} B, z+ and z- together {2 * one:.3g} B"}


def peak_allocated(run: Callable[[], object]) -> int:
    """The peak of PyTorch CPU tensor memory (bytes) allocated by ``run()`` over what existed before it."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as profiler:
        run()
    with tempfile.TemporaryDirectory() as folder:
        trace = Path(folder) / "trace.json"
        profiler.export_chrome_trace(str(trace))
        events = json.loads(trace.read_text())["traceEvents"]
    allocations = sorted((event["ts"], event["args"]["Bytes"]) for event in events
                         if event.get("name") == "[memory]" and event["args"].get("Device Type", 0) == 0)
    total = peak = 0
    for _, size in allocations:
        total += size
        peak = max(peak, total)
    return peak


def latency(run: Callable[[], object], repeats: int) -> float:
    """Median wall time (s) of ``repeats`` calls of ``run``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def mp_net(hidden: int, gamma: Gamma, *, form: str, solver: str, seed: int, inputs: int = 784,
           classes: int = 10) -> MPNetwork:
    """A ``inputs x hidden x classes`` MP network with PyTorch's default initialization of linear layers."""
    torch.manual_seed(seed)
    return MPNetwork([MPLinear(inputs, hidden, gamma, form=form, solver=solver),
                      MPLinear(hidden, classes, gamma, form=form, solver=solver)])


@torch.no_grad()
def solver_costs(x: torch.Tensor, hidden_sizes, gamma: Gamma, *, form: str, repeats: int, seed: int,
                 progress: bool = True) -> list[dict]:
    """Per hidden size, peak bytes and median seconds of one forward pass of ``x`` through the same
    ``784 x h x 10`` network with each solver, and their agreement (largest difference of the float32 outputs,
    relative to the largest output)."""
    rows = []
    for hidden in tqdm(list(hidden_sizes), desc="solver memory", disable=not progress):
        row, outputs = {"hidden": int(hidden), "batch": len(x)}, {}
        for solver in ("sort", "bisection"):
            net = mp_net(hidden, gamma, form=form, solver=solver, seed=seed)
            row[f"{solver}_peak_bytes"] = peak_allocated(lambda: outputs.__setitem__(solver, net(x)))
            row[f"{solver}_seconds"] = latency(lambda: net(x), repeats)
        row["memory_ratio"] = row["bisection_peak_bytes"] / row["sort_peak_bytes"]
        row["latency_ratio"] = row["bisection_seconds"] / row["sort_seconds"]
        row["max_output_difference_relative"] = float((outputs["sort"] - outputs["bisection"]).abs().max()
                                                      / outputs["sort"].abs().max())
        rows.append(row)
    return rows
