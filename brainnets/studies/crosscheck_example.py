"""Make the files of crosscheck's worked example: a small snnTorch network, its NIR file, an input and its spikes.

Linear(20, 10) -> Leaky -> Linear(10, 5) -> Leaky, weights and per-neuron decay (beta) and thresholds drawn with
--seed, reset to zero (the reset NIR files express), run by snnTorch for --steps steps of 0.1 ms (the step its
NIR exporter assumes) on Bernoulli input spikes (probability 0.15 per step). OUT gets ``snntorch_net.nir``,
``input.npz`` and ``snntorch_spikes.npz`` (spike files; the k-th step's spikes at k x 0.1 ms). The package ships
the files this command made with its defaults in ``brainnets/data/crosscheck/``:

    brainnets study crosscheck-example --out brainnets/data/crosscheck
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..checkpoint import write_bytes_atomic, write_json_atomic
from ..crosscheck.spikes import from_tensor, write_spikes
from ..provenance import command_line_of, options_given, provenance

#: snnTorch's NIR exporter writes tau = 1e-4 s / (1 - beta): one step is 0.1 ms.
DT_MS = 0.1
#: The NIR node names of the two Leaky layers (snnTorch names the nodes by their place in the Sequential).
LAYERS = ("1", "3")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", type=int, default=200, help="time steps of the run")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True, help="folder for the three files")


def snntorch_run(steps: int, seed: int):
    """The network (exported to NIR), the input spikes (steps, 20) and each layer's spikes (steps, n)."""
    import snntorch as snn
    import torch
    from snntorch import utils
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(seed)
    fc1, fc2 = torch.nn.Linear(20, 10), torch.nn.Linear(10, 5)
    with torch.no_grad():
        fc1.weight.uniform_(-0.4, 0.6)
        fc2.weight.uniform_(-0.4, 0.9)
    lif1, lif2 = (snn.Leaky(beta=torch.rand(n) * 0.4 + 0.55, threshold=torch.rand(n) * 0.5 + 0.75, init_hidden=True,
                            reset_mechanism="zero") for n in (10, 5))
    net = torch.nn.Sequential(fc1, lif1, fc2, lif2)
    graph = export_to_nir(net, torch.zeros(1, 20), ignore_dims=[0])
    utils.reset(net)
    x = (torch.rand(steps, 20) < 0.15).float()
    hidden, output = [], []
    with torch.no_grad():
        for t in range(steps):
            hidden.append(lif1(fc1(x[t:t + 1]))[0])
            output.append(lif2(fc2(hidden[-1][None]))[0])
    return graph, x.numpy(), {LAYERS[0]: torch.stack(hidden).numpy(), LAYERS[1]: torch.stack(output).numpy()}


def run(args: argparse.Namespace) -> dict:
    import tempfile

    import nir

    graph, x, layers = snntorch_run(args.steps, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:  # nir.write takes a path; the copy into OUT is atomic
        nir.write(Path(scratch) / "net.nir", graph)
        write_bytes_atomic(args.out / "snntorch_net.nir", (Path(scratch) / "net.nir").read_bytes())
    run_ms = args.steps * DT_MS  # the last step starts at (steps - 1) x DT_MS
    write_spikes(args.out / "input.npz", {"input": from_tensor(x, DT_MS)}, t_stop_ms=run_ms)
    write_spikes(args.out / "snntorch_spikes.npz",
                 {name: from_tensor(tensor, DT_MS) for name, tensor in layers.items()}, t_stop_ms=run_ms)
    made = {"steps": args.steps, "dt_ms": DT_MS, "input_spikes": int(x.sum()),
            "spikes": {name: int(tensor.sum()) for name, tensor in layers.items()}, **provenance(),
            "command": command_line_of(["study", "crosscheck-example"], options_given(args, add_arguments))}
    write_json_atomic(args.out / "made_by.json", made)
    print(made["spikes"])
    return made
