"""The compression study of Rathi 2021 ch. 2 at 100 neurons: the runs behind Figs. 2.5-2.8 and a summary.

Stages (each run is one `brainnets compress run`, in its own process, in WORK/<name>):
  full   60,000 training images in 12 batches, first step after 3: the baseline, and threshold 0.15 with
         continuous, 3-level and 2-level weights (Fig. 2.5 receptive fields, Fig. 2.8 energy)
  sweep  the same schedule on the first --sweep-train images: baseline and thresholds 0.05 ... 0.30 for
         each weight kind (Fig. 2.6 a, c)
  order  at the connectivity that pruning during training reaches (on the sweep schedule at each of
         --order-thresholds, on the full schedule at 0.15): pruning once at the end, and a random
         sparse network (Fig. 2.7)

Runs train side by side on a local Dask cluster of --jobs workers, or on the cluster --scheduler names
(whose workers see WORK and OUT at the same paths). A finished run's metrics are copied to
OUT/runs/<name>.json and count as done from then on, so a study can be continued on another machine from
the committed results; a killed run resumes from its checkpoint in WORK. Writes OUT/summary.json and the
figures.

    brainnets compress study --work runs/compression --out docs/results/compression
"""
from __future__ import annotations

import argparse
import json
import shutil
from functools import partial
from pathlib import Path

import numpy as np

from ..checkpoint import write_json_atomic
from ..plotting import plot_bars, plot_lines
from ..provenance import command_line_of, options_given
from ..stdp.experiment import Settings
from . import unimodal
from .arms import add_cluster_arguments, run_arm_process, run_arms
from .prune_quantize import SCHEDULE, schedule


STAGES = ("full", "sweep", "order")
KINDS = ("3", "continuous", "2")  # the order runs are started in: the thesis's recommended setting first
FULL_TRAIN, FULL_THRESHOLD = 60000, 0.15  # the full schedule, at the thesis's best MNIST threshold (2.5.2)
THESIS_ENERGY = {"continuous": 3.1, "2": 2.4}  # Rathi 2.5.4, MNIST, threshold 0.15


class Study:
    def __init__(self, args):
        self.args = args
        self.out, self.work = Path(args.out), Path(args.work)

    # -- runs ----------------------------------------------------------------------------------------
    def settings(self, n_train: int, mode: str, threshold: float = 0.0, levels: str = "continuous",
                 connectivity: float | None = None) -> Settings:
        """What ``brainnets compress run`` would train with these options (the schedule file's other values)."""
        a = self.args
        compression = schedule(SCHEDULE, levels, mode=mode, threshold=threshold, n_batches=a.batches,
                               first_step=a.first_step,
                               connectivity=float(f"{connectivity:.6f}") if connectivity is not None else None)
        return Settings(model=a.model, n_exc=a.n_exc, n_train=n_train, n_test=a.test, seed=a.seed,
                        compression=compression)

    @staticmethod
    def name(n_train: int, mode: str, threshold: float = 0.0, levels: str = "continuous",
             connectivity: float | None = None) -> str:
        if mode == "baseline":
            return f"n{n_train}_baseline"
        if connectivity is not None:
            return f"n{n_train}_{mode}_c{connectivity:.4f}"
        return f"n{n_train}_{mode}_t{threshold:.2f}_{levels}"

    def task(self, **run):
        name = self.name(**run)
        return name, partial(finished_run, self.settings(**run), self.work / name, self.out / "runs")

    def run_arms(self, tasks: dict) -> dict[str, dict]:
        return run_arms(tasks, jobs=self.args.jobs, scheduler=self.args.scheduler)

    def plan(self, stage: str) -> dict:
        a = self.args
        if stage == "full":
            tasks = [self.task(n_train=FULL_TRAIN, mode="baseline")]
            tasks += [self.task(n_train=FULL_TRAIN, mode="during", threshold=FULL_THRESHOLD, levels=k) for k in KINDS]
        elif stage == "sweep":
            tasks = [self.task(n_train=a.sweep_train, mode="baseline")]
            tasks += [self.task(n_train=a.sweep_train, mode="during", threshold=t, levels=k)
                      for k in KINDS for t in a.thresholds]
        else:
            points = [(a.sweep_train, t) for t in a.order_thresholds] + [(FULL_TRAIN, FULL_THRESHOLD)]
            reference = self.run_arms(dict(self.task(n_train=n, mode="during", threshold=t) for n, t in points))
            tasks = [self.task(n_train=metrics["n_train"], mode=mode, connectivity=metrics["connectivity"])
                     for metrics in reference.values() for mode in ("end", "random")]
        return dict(tasks)

    # -- results -------------------------------------------------------------------------------------
    def summary(self) -> list[dict]:
        runs = {path.stem: json.loads(path.read_text()) for path in sorted((self.out / "runs").glob("*.json"))}
        baselines = {m["n_train"]: m for m in runs.values() if m["compression"]["mode"] == "baseline"}
        rows = []
        for name, m in runs.items():
            c, base = m["compression"], baselines.get(m["n_train"])
            steps = m["compression_steps"]
            rows.append({
                "name": name, "mode": c["mode"], "n_train": m["n_train"], "n_test": m["n_test"],
                "threshold": steps[-1]["threshold"] if steps else (0.0 if c["mode"] == "baseline" else None),
                "levels": c["levels"] or "continuous", "connectivity": m["connectivity"],
                "nonzero_fraction": m["nonzero_fraction"],
                "n_synapses": m["n_synapses"], "accuracy": m["accuracy"],
                "energy_ratio": base["test_exc_spikes"] / m["test_exc_spikes"] if base else None,
                "synaptic_ops_ratio": base["test_synaptic_ops"] / m["test_synaptic_ops"] if base else None,
            })
        return rows

    def figures(self, rows: list[dict]) -> None:
        a, out = self.args, self.out

        def select(**match):
            return sorted((r for r in rows if all(r[k] == v for k, v in match.items())),
                          key=lambda r: r["connectivity"])

        def kind(levels):
            return "continuous" if levels == "continuous" else f"{levels}-level"

        sweep = {kind(k): select(n_train=a.sweep_train, mode="during", levels=k if k == "continuous" else int(k))
                 for k in KINDS}
        baseline = select(n_train=a.sweep_train, mode="baseline")
        # the thesis's baseline dot: all synapses exist, but STDP has driven many weights to 0
        base_point = {"baseline": (0.0, baseline[0]["nonzero_fraction"])} if baseline else {}
        if any(sweep.values()):
            plot_lines({k: ([r["threshold"] for r in v], [r["connectivity"] for r in v]) for k, v in sweep.items()},
                       out / "fig2_6a_connectivity.png", "pruning threshold", "connectivity",
                       f"Connectivity vs threshold ({a.sweep_train} training images)", points=base_point)
            plot_lines({k: ([r["connectivity"] for r in v], [100 * r["accuracy"] for r in v])
                        for k, v in sweep.items()}, out / "fig2_6c_accuracy.png", "connectivity",
                       "test accuracy (%)", f"Accuracy vs connectivity ({a.sweep_train} training images)",
                       points={"baseline": (baseline[0]["nonzero_fraction"], 100 * baseline[0]["accuracy"])}
                       if baseline else None)
        ways = (("pruned during training", "during"), ("pruned at the end", "end"),
                ("random sparse from the start", "random"))
        order = {label: select(n_train=a.sweep_train, mode=mode, levels="continuous") for label, mode in ways}
        if order["pruned at the end"]:
            plot_lines({k: ([r["connectivity"] for r in v], [100 * r["accuracy"] for r in v])
                        for k, v in order.items()}, out / "fig2_7_order.png", "connectivity", "test accuracy (%)",
                       f"Three ways to a sparse network ({a.sweep_train} training images)")
        full_order = {label: select(n_train=FULL_TRAIN, mode=mode, levels="continuous") for label, mode in ways}
        if all(full_order.values()):
            plot_bars({k.replace(" ", "\n", 1): 100 * v[0]["accuracy"] for k, v in full_order.items()},
                      out / "fig2_7_order_full.png", ylabel="test accuracy (%)",
                      title=f"Three ways to connectivity {full_order['pruned at the end'][0]['connectivity']:.3f}"
                            f" ({FULL_TRAIN:,} training images)")
        energy = {kind(r["levels"]): r["energy_ratio"] for r in select(n_train=FULL_TRAIN, mode="during")}
        if energy:
            plot_bars(energy, out / "fig2_8_energy.png", ylabel="test spikes, baseline / pruned",
                      title=f"Energy improvement, threshold {FULL_THRESHOLD}",
                      reference={kind(k): v for k, v in THESIS_ENERGY.items()})


def finished_run(settings: Settings, folder: Path, finished: Path) -> dict:
    """The metrics of the run ``settings`` describe: ``finished/<name>.json`` if it finished before, else those
    of the run trained into ``folder`` (in its own process; ``<name>`` is its name), then kept there (and, on
    the full schedule, its receptive fields in ``finished/<name>_fields.png``)."""
    stored = finished / f"{folder.name}.json"
    if stored.exists():
        return json.loads(stored.read_text())
    metrics = run_arm_process("unimodal", settings, {"data_dir": None}, folder)
    if metrics["n_train"] == FULL_TRAIN:  # the receptive fields of Fig. 2.5
        shutil.copyfile(folder / "receptive_fields.png", finished / f"{folder.name}_fields.png")
    write_json_atomic(stored, metrics)
    return metrics


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    parser.add_argument("--model", default=unimodal.DEFAULT_MODEL,
                        help="model file (TOML), or the name of a shipped model (default: %(default)s)")
    parser.add_argument("--n-exc", type=int, default=100)
    parser.add_argument("--test", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--first-step", type=int, default=3)
    parser.add_argument("--sweep-train", type=int, default=12000, help="training images of the sweep schedule")
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.05, 0.1, 0.15, 0.2, 0.25, 0.3])
    parser.add_argument("--order-thresholds", type=float, nargs="+", default=[0.1, 0.2, 0.3])
    add_cluster_arguments(parser)
    parser.add_argument("--work", required=True, help="folder for the individual runs")
    parser.add_argument("--out", required=True, help="folder for summary.json, figures and runs/*.json")


def run(args: argparse.Namespace) -> list[dict]:
    """Every stage asked for, then OUT/summary.json and the figures; returns the summary's rows."""
    study = Study(args)
    (study.out / "runs").mkdir(parents=True, exist_ok=True)
    for stage in args.stages:
        study.run_arms(study.plan(stage))
    rows = study.summary()
    write_json_atomic(study.out / "summary.json", {
        "runs": rows, "n_exc": args.n_exc, "seed": args.seed, "batches": args.batches,
        "first_step": args.first_step, "sweep_train": args.sweep_train,
        "command": command_line_of(["compress", "study"], options_given(args, add_arguments))})
    study.figures(rows)
    for row in rows:
        print(f"{row['name']:32s} connectivity {row['connectivity']:.3f}  accuracy {row['accuracy']:.4f}  "
              f"energy x{row['energy_ratio'] or np.nan:.2f}")
    return rows
