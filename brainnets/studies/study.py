"""Many unimodal runs, and measurements of trained networks: one subcommand per study.

Examples (``brainnets study STUDY --help`` for the options of each):
    brainnets study seeds --n-exc 100 --seeds 0 1 2 3 4 --work runs/seeds_100 --out results/seeds_100
    brainnets study scan --set stdp.eta 0.001 0.002 0.003 --work runs/scan_eta --out results/eta
    brainnets study ablation --train 5000 --test 5000 --work runs/ablation_5k --out results/ablation_100
    brainnets study validate --network runs/base_12k/network.npz --threshold 0.15 --out results/validation.json
    brainnets study ensemble-stats runs/mm100/arms/multimodal --json results/ensemble_statistics.json
    brainnets study bench --images 300 --out results/bench_training
    brainnets study kill-resume --kills 20 --out results/kill_resume.json
    brainnets study nest-precise --out results/nest_precise
    brainnets study peers --out results/peers
    brainnets study revote runs/mm100 --vote per_sense --out results/mm100_per_sense.json
    brainnets study spike-time-gradcheck --out results/spike_time/gradcheck.json
    brainnets study spike-time-bench --images 1000 --out results/spike_time/bench.json
    brainnets study spike-time-summary runs/spike_time/* --out results/spike_time
    brainnets study timestep-summary runs/timestep/* --out results/timestep
"""
from __future__ import annotations

import argparse

from ..cli import add_subcommands

#: name -> (module, one line of help), in the order ``brainnets study --help`` lists them.
STUDIES = {
    "seeds": ("brainnets.studies.seeds", "the same unimodal network trained with several seeds"),
    "scan": ("brainnets.studies.scan", "choose a model constant on held-out training images"),
    "ablation": ("brainnets.studies.ablation", "lateral inhibition and homeostasis switched off (Rathi 3.6)"),
    "validate": ("brainnets.studies.validate", "score trained networks on held-out training images"),
    "ensemble-stats": ("brainnets.studies.ensemble_statistics",
                       "how differentiated the excitatory neurons of trained ensembles are"),
    "bench": ("brainnets.studies.bench", "training speed against the per-image Brian2 runtime loop"),
    "bench-eval": ("brainnets.studies.bench_eval",
                   "evaluation speed: one image at a time against frozen copies showing many at once"),
    "dask-bench": ("brainnets.studies.dask_bench", "a study's arms on a Dask cluster against one after the other"),
    "kill-resume": ("brainnets.studies.kill_resume",
                    "kill a small run at random moments, resume it each time, compare with an unbroken run"),
    "nest-precise": ("brainnets.studies.nest_precise",
                     "Brian2's exact-time LIF layers against NEST's precise models, plain Brian2 beside them"),
    "crosscheck-example": ("brainnets.studies.crosscheck_example",
                           "make the files of crosscheck's worked example (an snnTorch network and its spikes)"),
    "peers": ("brainnets.studies.peers",
              "snnTorch, Norse and NEST against Brian2: discrete steps reproduced, discretization error against dt"),
    "revote": ("brainnets.studies.revote", "score a finished multimodal comparison again under another vote"),
    "spike-time-gradcheck": ("brainnets.studies.spike_time_gradcheck",
                             "BATS and Fast & Deep gradients against finite differences (gradcheck.json)"),
    "spike-time-bench": ("brainnets.studies.spike_time_bench",
                         "BATS training speed against snnTorch's time-stepped surrogate gradients (bench.json)"),
    "spike-time-summary": ("brainnets.studies.spike_time_summary",
                           "finished spike-time runs as summary.json and sparsity.json"),
    "timestep-choice": ("brainnets.studies.timestep_choice",
                        "choose a conversion's reduced T on the run's validation images (the largest that loses)"),
    "timestep-summary": ("brainnets.studies.timestep_summary",
                         "finished timestep runs as summary.json and alpha_ablation.json"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_subcommands(parser, STUDIES, metavar="STUDY")
