"""Two simulators' spikes of one network, matched neuron by neuron: where and how they part. Every comparison
of spike trains in the package (the crosscheck report, the NEST and peer studies, the tests) goes through here.

A neuron whose two trains differ in length has a count mismatch. The trains of a neuron whose counts agree are
paired in order (the k-th spike with the k-th spike), and the pairs give the timing errors (a neuron with a
missing spike would pair every later spike with the wrong one; its story is told by the first divergence). The first divergence is the
earliest moment at which the two runs stop telling the same story: the earliest paired spike whose times
differ by more than ``tolerance_ms`` (a timing difference), or the earliest spike one run has and the other
lacks once every earlier spike of that neuron was paired (a count difference). Van Rossum and Victor-Purpura
distances come from ``elephant``; a layer's figure is their mean and largest value over its neurons.
"""
from __future__ import annotations

import warnings

import numpy as np

from .spikes import Spikes

#: Defaults of the distances: van Rossum's kernel time constant and Victor-Purpura's cost of shifting a
#: spike by 1 ms (shifts longer than 2 / q cost more than deleting and inserting the spike).
VAN_ROSSUM_TAU_MS = 1.0
VICTOR_PURPURA_Q_PER_MS = 1.0

#: The timing errors :func:`agreement` reports (ms).
ERROR_MEASURES = ("max_abs_dt", "median_abs_dt", "mean_abs_dt")


def neuron_divergence(ours: np.ndarray, theirs: np.ndarray, tolerance_ms: float) -> dict | None:
    """Where one neuron's two trains first disagree, or None if they never do."""
    n = min(len(ours), len(theirs))
    late = np.flatnonzero(np.abs(ours[:n] - theirs[:n]) > tolerance_ms)
    timing = ({"time_ms": float(min(ours[late[0]], theirs[late[0]])), "kind": "timing", "spike": int(late[0]),
               "reference_ms": float(ours[late[0]]), "other_ms": float(theirs[late[0]])} if late.size else None)
    count = None
    if len(ours) != len(theirs):
        extra = ours[n] if len(ours) > n else theirs[n]
        count = {"time_ms": float(extra), "kind": "count", "spike": n,
                 "reference_ms": float(ours[n]) if len(ours) > n else None,
                 "other_ms": float(theirs[n]) if len(theirs) > n else None}
    found = [d for d in (timing, count) if d is not None]
    return min(found, key=lambda d: d["time_ms"]) if found else None


def distances(ours: list[np.ndarray], theirs: list[np.ndarray], t_stop_ms: float) -> dict[str, np.ndarray]:
    """Per neuron: van Rossum distance (tau :data:`VAN_ROSSUM_TAU_MS`) and Victor-Purpura distance
    (q :data:`VICTOR_PURPURA_Q_PER_MS`) between the two trains, by ``elephant``."""
    import neo
    import quantities as pq
    from elephant.spike_train_dissimilarity import van_rossum_distance, victor_purpura_distance

    van_rossum, victor_purpura = np.zeros(len(ours)), np.zeros(len(ours))
    for j, (a, b) in enumerate(zip(ours, theirs)):
        if len(a) == 0 and len(b) == 0:
            continue
        pair = [neo.SpikeTrain(train * pq.ms, t_stop=t_stop_ms * pq.ms) for train in (a, b)]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            distance = van_rossum_distance(pair, time_constant=VAN_ROSSUM_TAU_MS * pq.ms)[0, 1]
        van_rossum[j] = 0.0 if np.isnan(distance) else distance  # nan: a square rounded below 0 for equal trains
        victor_purpura[j] = victor_purpura_distance(pair, cost_factor=VICTOR_PURPURA_Q_PER_MS / pq.ms)[0, 1]
    return {"van_rossum": van_rossum, "victor_purpura": victor_purpura}


def summary(values: np.ndarray) -> dict:
    return {"mean": float(values.mean()), "max": float(values.max())} if len(values) else {"mean": 0.0, "max": 0.0}


def timing_summary(errors: np.ndarray) -> dict:
    if not len(errors):
        return {"n_pairs": 0, "max_ms": None, "median_ms": None, "p99_ms": None}
    return {"n_pairs": int(len(errors)), "max_ms": float(errors.max()), "median_ms": float(np.median(errors)),
            "p99_ms": float(np.percentile(errors, 99))}


def paired_errors(ours: list, theirs: list) -> np.ndarray:
    """``|t_theirs - t_ours|`` (ms) of every paired spike: the k-th with the k-th, on the neurons whose counts
    agree."""
    return np.concatenate([np.zeros(0)] + [np.abs(np.asarray(b, dtype=float) - np.asarray(a, dtype=float))
                                           for a, b in zip(ours, theirs) if len(a) == len(b)])


def agreement(ours: list, theirs: list) -> dict:
    """One layer's two runs (a list of spike-time arrays per neuron each; ``ours`` is the reference): spike counts,
    the neurons whose counts differ, and the largest, median and mean timing error (ms) of the paired spikes
    (None where no neuron's count agrees; 0 where they agree on no spike)."""
    if len(ours) != len(theirs):
        raise ValueError(f"{len(ours)} neurons in the reference, {len(theirs)} in the other run")
    counts_a = np.array([len(t) for t in ours], dtype=np.int64)
    counts_b = np.array([len(t) for t in theirs], dtype=np.int64)
    errors = paired_errors(ours, theirs)
    same = counts_a == counts_b
    stats = dict.fromkeys(ERROR_MEASURES)
    if same.any():
        stats = ({"max_abs_dt": float(errors.max()), "median_abs_dt": float(np.median(errors)),
                  "mean_abs_dt": float(errors.mean())} if errors.size else dict.fromkeys(ERROR_MEASURES, 0.0))
    return {"count_mismatches": int((~same).sum()), **stats, "n_paired_spikes": int(errors.size),
            "n_spikes_reference": int(counts_a.sum()), "n_spikes_other": int(counts_b.sum())}


def fraction_matched(times: list, reference: list, tol_ms: float) -> float:
    """The fraction of the reference's spikes that ``times`` has, same neuron, within ``tol_ms`` (whatever the
    counts)."""
    hits = total = 0
    for ours, theirs in zip(times, reference):
        theirs = np.asarray(theirs, dtype=float)
        total += theirs.size
        if theirs.size and len(ours):
            ours = np.sort(np.asarray(ours, dtype=float))
            k = np.searchsorted(ours, theirs)
            left, right = ours[np.clip(k - 1, 0, len(ours) - 1)], ours[np.clip(k, 0, len(ours) - 1)]
            hits += int((np.minimum(np.abs(left - theirs), np.abs(right - theirs)) <= tol_ms).sum())
    return hits / total if total else 1.0


def compare_spikes(ours: Spikes, theirs: Spikes, tolerance_ms: float = 1e-6) -> dict:
    """The comparison of every layer the two runs share (``ours`` is the reference): per layer the neurons whose
    counts differ, the timing errors of the paired spikes, the distances; over all layers the same totals and
    the first divergence. Layers of different sizes, or present in only one run, are refused by name."""
    only = sorted(set(ours) ^ set(theirs))
    if only:
        raise ValueError(f"layer(s) {', '.join(only)} in only one of the two runs; both need the same layers")
    t_stop = max([float(train[-1]) for spikes in (ours, theirs) for trains in spikes.values() for train in trains
                  if len(train)] + [0.0]) + 1.0
    for name in ours:
        if len(ours[name]) != len(theirs[name]):
            raise ValueError(f"layer {name}: {len(ours[name])} neurons in the reference, {len(theirs[name])} in the "
                             "other run")
    errors = {name: paired_errors(ours[name], theirs[name]) for name in ours}
    layers, first = {}, None
    for name in ours:
        a, b = ours[name], theirs[name]
        counts_a, counts_b = np.array([len(t) for t in a]), np.array([len(t) for t in b])
        for j, (x, y) in enumerate(zip(a, b)):
            divergence = neuron_divergence(x, y, tolerance_ms)
            if divergence is not None and (first is None or divergence["time_ms"] < first["time_ms"]):
                first = {**divergence, "layer": name, "neuron": j}
        dist = distances(a, b, t_stop)
        mismatched = np.flatnonzero(counts_a != counts_b)
        layers[name] = {"n_neurons": len(a), "n_spikes_reference": int(counts_a.sum()),
                        "n_spikes_other": int(counts_b.sum()), "count_mismatches": int(len(mismatched)),
                        "count_difference_per_neuron": (counts_b - counts_a).tolist(),
                        "timing": timing_summary(errors[name]),
                        "van_rossum": summary(dist["van_rossum"]), "victor_purpura": summary(dist["victor_purpura"])}
    return {"tolerance_ms": tolerance_ms, "van_rossum_tau_ms": VAN_ROSSUM_TAU_MS,
            "victor_purpura_q_per_ms": VICTOR_PURPURA_Q_PER_MS,
            "count_mismatches": sum(layer["count_mismatches"] for layer in layers.values()),
            "n_spikes_reference": sum(layer["n_spikes_reference"] for layer in layers.values()),
            "n_spikes_other": sum(layer["n_spikes_other"] for layer in layers.values()),
            "timing": timing_summary(np.concatenate([np.zeros(0), *errors.values()])), "first_divergence": first,
            "layers": layers}
