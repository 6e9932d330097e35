"""The MP experiment: every number and figure of the thesis' ch. 2-4 analogues, in one call.

:func:`run` checks the solvers against each other, recomputes Table 2.1, sweeps the errors against the
bounds (Figs 3.1-3.5), ports a trained MLP (Figs 3.6, 3.8, 3.9), measures the solvers' memory and latency
(Fig. 4.1), works out the memory arithmetic of sec. 2.3 and runs MP as a spike time in Brian2. Settings and
their sources: ``brainnets/models/kotak_mp.toml``; ``quick=True`` shrinks every part to a smoke test.
"""
from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..checkpoint import write_json_atomic
from ..config import read_toml
from ..datasets import load_mnist
from ..plotting import plot_bars, plot_lines
from . import approximation, memory, porting, spiking
from .layers import Gamma
from .solvers import condat_threshold, excess, threshold_bisection, threshold_sort

MODEL = "kotak_mp"

#: What ``quick=True`` replaces in the model file: small enough for a test.
QUICK = {
    "solvers": {"agreement_draws": 20},
    "table_2_1": {"draws": 50},
    "error_bounds": {"gammas": [0.5, 3.0, 30.0], "Ds": [10, 100], "Ks": [1.0, 5.0], "draws": 20},
    "porting": {"hidden": [16], "epochs": 1, "n_train": 2000, "n_validation": 100, "n_calibration": 50,
                "n_test": 100, "gammas": [1.0, 30.0], "rhos": [0.1, 1.0], "dropouts": [0.0, 0.2]},
    "memory": {"hidden": [20, 40], "batch": 4, "repeats": 1},
    "spiking": {"problems": 5, "inputs": 10, "dt": 2.0 ** -6},
}


def settings(quick: bool = False) -> dict:
    config = read_toml(MODEL)
    if quick:
        config = {name: {**table, **QUICK.get(name, {})} for name, table in config.items()}
    return config


def run(out: Path, *, quick: bool = False, seed: int = 0) -> dict:
    """Compute everything, write the figures (PNG) and ``results.json`` into ``out``; return the results."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = settings(quick)
    progress = not quick
    parts = {
        "solver_agreement": lambda: solver_agreement(config["solvers"], seed),
        "table_2_1": lambda: table_2_1(config["table_2_1"], seed),
        "error_bounds": lambda: error_bounds(config["error_bounds"], seed, out),
        "mp_port": lambda: port_mlp(config["porting"], seed, out, progress),
        "solver_memory": lambda: solver_memory(config["memory"], config["porting"]["form"], seed, out,
                                                progress),
        "memory_arithmetic": memory.memory_arithmetic,
        "spiking": lambda: spiking_check(config["spiking"], seed),
    }
    results, seconds = {}, {}
    for name, compute in tqdm(parts.items(), desc="MP experiment", disable=not progress):
        start = time.perf_counter()
        results[name] = compute()
        seconds[name] = time.perf_counter() - start
    results["solver_agreement_max_abs"] = results["solver_agreement"]["max_abs_sort_vs_bisection"]
    results["seconds"] = seconds
    results["quick"], results["seed"] = quick, seed
    write_json_atomic(out / "results.json", results)
    return results


# ---- parts -------------------------------------------------------------------------------------------------

def solver_agreement(config: dict, seed: int) -> dict:
    """Sort vs bisection vs Condat on float64 ``p ~ N(0, 1)`` of each length, ``gamma`` log-uniform."""
    generator = torch.Generator().manual_seed(seed)
    worst = {"sort_vs_bisection": 0.0, "sort_vs_condat": 0.0, "residual_sort": 0.0, "residual_bisection": 0.0}
    low, high = math.log(config["agreement_gamma_low"]), math.log(config["agreement_gamma_high"])
    for n in config["agreement_lengths"]:
        p = torch.randn(config["agreement_draws"], n, dtype=torch.float64, generator=generator)
        gamma = torch.exp(low + (high - low) * torch.rand(len(p), dtype=torch.float64, generator=generator))
        by_sort, by_bisection = threshold_sort(p, gamma), threshold_bisection(p, gamma)
        by_condat = torch.tensor([condat_threshold(row.numpy(), float(g)) for row, g in zip(p, gamma)],
                                 dtype=torch.float64)
        for key, value in (("sort_vs_bisection", by_sort - by_bisection), ("sort_vs_condat", by_sort - by_condat),
                           ("residual_sort", excess(p, by_sort, gamma)),
                           ("residual_bisection", excess(p, by_bisection, gamma))):
            worst[key] = max(worst[key], float(value.abs().max()))
    return {"max_abs_sort_vs_bisection": worst["sort_vs_bisection"],
            "max_abs_sort_vs_condat": worst["sort_vs_condat"],
            "max_abs_residual_sort": worst["residual_sort"],
            "max_abs_residual_bisection": worst["residual_bisection"],
            "within_tolerance": max(worst.values()) <= config["tolerance"],
            "set": f"{config['agreement_draws']} float64 vectors p ~ N(0, 1) of each length "
                   f"{config['agreement_lengths']}, gamma log-uniform in [{config['agreement_gamma_low']}, "
                   f"{config['agreement_gamma_high']}], seed {seed}"}


def table_2_1(config: dict, seed: int) -> list[dict]:
    """Table 2.1's rows (:func:`~brainnets.mp.approximation.table_2_1`), each with the thesis' row beside."""
    rows = approximation.table_2_1(config["D"], config["gamma"], config["K"], config["draws"],
                                   torch.Generator().manual_seed(seed))
    keys = ("dot", "y_nair", "y_thesis", "error_nair", "error_thesis")
    for n, row in enumerate(rows):
        row["thesis"] = {key: config[f"thesis_{key}"][n] for key in keys}
    return rows


def error_bounds(config: dict, seed: int, out: Path) -> dict:
    """The sweeps of Figs 3.1-3.5, their figures, and a summary: fitted log-log slopes and the largest ratio of
    a measured error to its bound."""
    generator = torch.Generator().manual_seed(seed)
    K, D, gamma, draws = config["K"], config["D"], config["gamma"], config["draws"]
    lse_sweeps = {
        "gamma": [approximation.lse_error_point(K, g, D, draws, generator) for g in config["gammas"]],
        "D": [approximation.lse_error_point(K, gamma, d, draws, generator) for d in config["Ds"]],
        "K": [approximation.lse_error_point(k, gamma, D, draws, generator) for k in config["Ks"]],
    }
    mp_sweeps = {
        "gamma": [approximation.mp_error_point(K, g, D, draws, generator) for g in config["gammas"]],
        "D": [approximation.mp_error_point(K, gamma, d, draws, generator) for d in config["Ds"]],
    }
    figure = {"gamma": ("3_1", "gamma"), "D": ("3_2", "D"), "K": ("3_3", "K")}
    for axis, rows in lse_sweeps.items():
        number, label = figure[axis]
        plot_lines({"mean |y_LSE - w^T x|": _xy(rows, axis, "mean_error"),
                    "max |y_LSE - w^T x|": _xy(rows, axis, "max_error"),
                    "K^4 / (gamma^2 D)": _xy(rows, axis, "bound_shape")},
                   out / f"fig_{number}_lse_error_vs_{axis}.png", label, "absolute error",
                   f"LSE vs dot product ({_fixed(config, axis)})", log=True)
    for axis, number in (("gamma", "3_4"), ("D", "3_5")):
        rows = mp_sweeps[axis]
        plot_lines({"max |f - MP| (offset of Eq. 2.6)": _xy(rows, axis, "max_gap"),
                    "max |f - MP| (offset-free Eq. 2.1)": _xy(rows, axis, "max_gap_offset_free"),
                    "bound gamma^2 D ln(1 + 2D/e)": _xy(rows, axis, "bound"),
                    "mean |y_MP - w^T x|": _xy(rows, axis, "mean_y_mp_error")},
                   out / f"fig_{number}_mp_error_vs_{axis}.png", axis, "absolute error",
                   f"MP vs LSE ({_fixed(config, axis)})", log=True)
    asymptotic = [r for r in lse_sweeps["gamma"] if r["gamma"] ** 2 * r["D"] >= 10 * r["K"] ** 2]
    return {
        "lse": {axis: {"max_ratio_to_shape": max(r["max_error"] / r["bound_shape"] for r in rows),
                       "slope_of_mean": _slope(rows, axis, "mean_error")} for axis, rows in lse_sweeps.items()},
        "lse_gamma_slope_asymptotic": _slope(asymptotic, "gamma", "mean_error") if len(asymptotic) > 1 else None,
        "lse_leading_term_max_residual_asymptotic": max((r["leading_term_residual"] for r in asymptotic),
                                                        default=None),
        "mp": {axis: {"max_ratio_to_bound": max(r["max_ratio"] for r in rows),
                      "max_ratio_offset_free": max(r["max_ratio_offset_free"] for r in rows),
                      "min_signed_gap": min(r["min_gap"] for r in rows),
                      "max_y_mp_error_over_total_bound": max(r["max_y_mp_error"] / r["total_bound"] for r in rows)}
               for axis, rows in mp_sweeps.items()},
        "expected": {"lse_slope_gamma": -2, "lse_slope_K": 4, "lse_slope_D_bound_shape": -1,
                     "lse_slope_D_spread_vectors": -1.5,
                     "mp_max_ratio": "<= 1 with the offset; without it, where every entry is active, "
                                     "(ln 2D + 1/2D) / ln(1 + 2D/e) (about (L + 1) / L, L = ln(1 + 2D/e))"},
        "sweeps": {"lse": lse_sweeps, "mp": mp_sweeps},
    }


def _xy(rows: list[dict], axis: str, key: str) -> tuple[list, list]:
    return [r[axis] for r in rows], [r[key] for r in rows]


def _slope(rows: list[dict], axis: str, key: str) -> float:
    """Least-squares slope of ``log key`` against ``log axis``."""
    x = np.log([r[axis] for r in rows])
    y = np.log([max(r[key], 1e-300) for r in rows])
    return float(np.polyfit(x, y, 1)[0])


def _fixed(config: dict, axis: str) -> str:
    return ", ".join(f"{name} = {config[name]:g}" for name in ("K", "D", "gamma") if name != axis)


def port_mlp(config: dict, seed: int, out: Path, progress: bool) -> dict:
    """The porting experiment (:mod:`~brainnets.mp.porting`) with its figures."""
    fields = {field.name for field in dataclasses.fields(porting.PortingSettings)}
    chosen = porting.PortingSettings(**{k: tuple(v) if isinstance(v, list) else v
                                        for k, v in config.items() if k in fields})
    result = porting.run_porting(chosen, seed=seed, progress=progress)
    del result["model"], result["network"]  # the figures and numbers below are what is kept
    result["chosen_settings"] = [g.label() + f", rescale {g.rescale:.4g}" for g in result["chosen_settings"]]
    rows = result["rows"]
    for mlp in result["mlps"]:
        dropout = mlp["dropout"]
        for kind in ("gamma", "rho"):
            series = {}
            for family in (kind, f"{kind}+rescale"):
                mine = [r for r in rows if r["family"] == family and r["dropout"] == dropout]
                x = [math.log10(r["value"]) for r in mine]
                series[f"{family}, validation"] = (x, [r["validation_accuracy"] for r in mine])
                series[f"{family}, test"] = (x, [r["test_accuracy"] for r in mine])
            x = series[f"{kind}, test"][0]
            series["MLP, test"] = ([min(x), max(x)], [mlp["mlp_test_accuracy"]] * 2)
            plot_lines(series, out / f"fig_3_6_port_accuracy_vs_{kind}_dropout{dropout:g}.png", f"log10 {kind}",
                       "accuracy", f"MP port of the {'-'.join(map(str, result['architecture']))} MLP "
                       f"(dropout {dropout:g}, {result['form']})")
    values = {}
    for layer in result["correlations"]:
        n = layer["layer"]
        values[f"h{n} mean act."] = layer["mean_activation_r"]
        values[f"h{n} pooled"] = layer["pooled_r"]
        values[f"h{n} neuron median"] = layer["neuron_r_median"]
    plot_bars(values, out / "fig_3_8_3_9_activation_correlation.png", "Pearson r",
              "MLP vs MP hidden activations, chosen setting, test images")
    return result


def solver_memory(config: dict, form: str, seed: int, out: Path, progress: bool) -> list[dict]:
    """Fig. 4.1: the same network's forward pass with each solver, on the first test images."""
    x = porting.pixels(load_mnist("test").images[:config["batch"]])
    rows = memory.solver_costs(x, config["hidden"], Gamma(config["gamma"]), form=form, repeats=config["repeats"],
                               seed=seed, progress=progress)
    hidden = [r["hidden"] for r in rows]
    plot_lines({solver: (hidden, [r[f"{solver}_peak_bytes"] for r in rows]) for solver in ("sort", "bisection")},
               out / "fig_4_1_peak_memory.png", "hidden neurons h", "peak tensor memory (bytes)",
               f"784 x h x 10 MP forward, batch {config['batch']}, CPU", log=True)
    plot_lines({solver: (hidden, [r[f"{solver}_seconds"] for r in rows]) for solver in ("sort", "bisection")},
               out / "fig_4_1_latency.png", "hidden neurons h", "seconds per batch",
               f"784 x h x 10 MP forward, batch {config['batch']}, CPU", log=True)
    return rows


def spiking_check(config: dict, seed: int) -> dict:
    """Brian2 MP neurons against the sort solver, exact and clock-driven."""
    rng = np.random.default_rng(seed)
    p = rng.normal(size=(config["problems"], config["inputs"]))
    gamma = rng.uniform(config["gamma_low"], config["gamma_high"], config["problems"])
    truth = threshold_sort(torch.from_numpy(p), torch.from_numpy(gamma)).numpy()
    result = {"problems": config["problems"], "inputs": config["inputs"], "dt": config["dt"]}
    for semantics in ("exact", "clock"):
        run = spiking.spiking_threshold(p, gamma, dt=config["dt"], semantics=semantics)
        result[f"{semantics}_max_abs"] = float(np.abs(run.alpha - truth).max())
        result[f"{semantics}_between_steps"] = int(run.between.sum())
    result["clock_max_abs_over_dt"] = result["clock_max_abs"] / config["dt"]
    return result
