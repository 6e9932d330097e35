"""Check another simulator's spike times against Brian2, spike by spike.

The network is a NIR graph (what snnTorch, Norse, Lava, SpiNNaker's and NEST's tools export); the input and the
other simulator's output are spike files (:mod:`brainnets.crosscheck.spikes`: times with their unit, neuron
indices, layer names). Brian2 simulates the graph on the same input, the two runs are matched neuron by neuron
(:mod:`brainnets.crosscheck.compare`), and OUT gets:

- ``report.json``: count mismatches per neuron and per layer, the timing errors of the paired spikes (max,
  median, 99th percentile), the first divergence (time, layer, neuron; a count or a timing difference), van
  Rossum and Victor-Purpura distances (elephant);
- ``report.png``: the raster where the runs first part, and the timing errors per layer;
- ``brian2_spikes.npz``: Brian2's spikes, as a spike file.

``--semantics`` says what Brian2 simulates: ``discrete``, the forward-Euler time step that discrete-time
simulators (snnTorch, Norse) take, at their --dt, which must reproduce them exactly; ``clock``, the graph's
ODEs on Brian2's clock, threshold and reset on the grid; ``exact``, event-accurate spike times (NEST's precise
models' semantics; single-layer graphs for now). The layers compared are those in THEIRS.

    brainnets crosscheck brainnets/data/crosscheck/snntorch_net.nir --input brainnets/data/crosscheck/input.npz \\
        --spikes brainnets/data/crosscheck/snntorch_spikes.npz --semantics discrete --dt 0.1 --out runs/crosscheck
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..checkpoint import RunFolderError, write_json_atomic
from ..exact.lif import StepTooLong
from ..plotting import plot_crosscheck
from ..provenance import command_line_of, options_given, provenance
from .compare import compare_spikes, paired_errors
from .spikes import SpikeFileError, read_spike_file, read_spikes, to_events, write_spikes

SEMANTICS = ("discrete", "clock", "exact")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("graph", type=Path, help="the network, a NIR file (.nir)")
    parser.add_argument("--input", type=Path, required=True, help="the input spikes (a spike file; layers = the "
                                                                 "graph's input nodes)")
    parser.add_argument("--spikes", type=Path, required=True, help="the other simulator's spikes (a spike file)")
    parser.add_argument("--out", type=Path, required=True, help="folder for report.json, report.png, brian2_spikes.npz")
    parser.add_argument("--semantics", choices=SEMANTICS, default="exact", help="what Brian2 simulates (see above)")
    parser.add_argument("--dt", type=float, default=0.1, help="Brian2's time step, ms (discrete: the other's step)")
    parser.add_argument("--exact-step", type=float, default=None,
                        help="exact semantics: the step (ms) in which Brian2 processes events (default: --dt); only "
                             "a neuron firing twice within one step needs a shorter one")
    parser.add_argument("--duration", type=float,
                        help="simulated and compared time, ms (default: the t_stop of THEIRS, else their or the "
                             "input's last spike plus one step)")
    parser.add_argument("--reset", choices=("value", "subtract"), default="value",
                        help="value: v = v_reset at a spike (NIR's rule); subtract: v -= v_threshold one step later "
                             "(snnTorch's default neuron, which NIR files cannot express)")
    parser.add_argument("--tolerance", type=float, default=1e-6,
                        help="a paired spike further apart than this (ms) is a timing difference")


def read_graph(path: Path):
    """The NIR graph of ``path``; a missing or unreadable file raises an error naming it."""
    import nir

    if not path.is_file():
        raise SpikeFileError(f"{path}: no such NIR file")
    try:
        return nir.read(str(path))
    except Exception as error:  # h5py and nir raise many kinds; the file is what is wrong
        raise SpikeFileError(f"{path}: not a readable NIR graph ({type(error).__name__}: {error})") from None


def run(args: argparse.Namespace) -> dict:
    """Simulate, compare, write the report; returns it."""
    from ..devices import use_device
    from .nir_graph import simulate_graph

    if (args.out / "report.json").exists():
        raise RunFolderError(f"{args.out} holds a finished report; finished results are never overwritten")
    if (args.dt <= 0 or (args.duration is not None and args.duration <= 0) or args.tolerance < 0
            or (args.exact_step is not None and args.exact_step <= 0)):
        raise ValueError("--dt, --exact-step and --duration must be > 0 and --tolerance >= 0")
    graph = read_graph(args.graph)
    inputs = read_spikes(args.input)
    theirs, t_stop = read_spike_file(args.spikes)
    last = max([float(train[-1]) for spikes in (inputs, theirs) for trains in spikes.values() for train in trains
                if len(train)] + [0.0])
    duration = args.duration or t_stop or last + args.dt
    use_device("runtime")  # NIR graphs run in Brian2's runtime mode, whatever a caller in this process set before
    try:
        ours = simulate_graph(graph, {name: to_events(inputs, name) for name in inputs}, duration, args.dt,
                              args.semantics, reset=args.reset, exact_step_ms=args.exact_step)
    except StepTooLong as error:
        raise StepTooLong(f"{error.args[0].split('; ')[0]}; pass a shorter --exact-step") from None
    missing = sorted(set(theirs) - set(ours))
    if missing:
        raise ValueError(f"{args.spikes}: layer(s) {', '.join(missing)} are not spiking nodes of {args.graph} "
                         f"(those are: {', '.join(ours)})")
    # both runs over the same time: spikes from duration on are beyond the run compared
    ours = {name: [train[train < duration] for train in ours[name]] for name in theirs}
    theirs = {name: [train[train < duration] for train in trains] for name, trains in theirs.items()}
    report = {**compare_spikes(ours, theirs, args.tolerance), "semantics": args.semantics, "reset": args.reset,
              "dt_ms": args.dt, "exact_step_ms": args.exact_step,
              "duration_ms": duration, "graph": str(args.graph), "input": str(args.input), "spikes": str(args.spikes),
              **provenance(), "command": command_line_of(["crosscheck"], options_given(args, add_arguments))}
    args.out.mkdir(parents=True, exist_ok=True)
    write_spikes(args.out / "brian2_spikes.npz", ours)
    plot_crosscheck(ours, theirs, report, {name: paired_errors(ours[name], theirs[name]) for name in ours}, args.out / "report.png",
                    title=f"{args.graph.name}: Brian2 ({args.semantics}, dt {args.dt:g} ms) against {args.spikes.name}")
    write_json_atomic(args.out / "report.json", report)
    first = report["first_divergence"]
    print(f"{report['n_spikes_reference']} Brian2 spikes, {report['n_spikes_other']} theirs; "
          f"{report['count_mismatches']} neurons with other counts; largest timing error "
          f"{report['timing']['max_ms']} ms; first divergence: "
          + (f"{first['kind']} at {first['time_ms']:.6g} ms, {first['layer']}[{first['neuron']}]" if first else "none"))
    return report
