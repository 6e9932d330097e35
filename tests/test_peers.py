"""The peers study (brainnets.studies.peers): snnTorch and Norse reproduced step for step by Brian2's discrete
semantics, their discretisation error against the exact semantics shrinking with their step, NEST precise at
rounding level; and its helpers."""
import argparse
import json

import numpy as np
import pytest

pytest.importorskip("nir")
pytest.importorskip("snntorch")
pytest.importorskip("norse.torch")
pytestmark = pytest.mark.uses_nest  # its study fixture simulates NEST

from brainnets.crosscheck.compare import ERROR_MEASURES  # noqa: E402
from brainnets.devices import use_device  # noqa: E402
from brainnets.studies import peers  # noqa: E402

SMALL = ["--neurons", "32", "--steps", "200", "--divisors", "1", "2", "4", "--exact-divisor", "32"]


def _args(words):
    parser = argparse.ArgumentParser()
    peers.add_arguments(parser)
    return parser.parse_args(words)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    pytest.importorskip("nest")
    use_device("runtime")
    out = tmp_path_factory.mktemp("peers") / "peers"
    rows = peers.run(_args(SMALL + ["--nest-dts", "0.05", "--out", str(out)]))
    return out, rows


def test_the_study_writes_a_row_per_peer_and_the_figure(study):
    out, rows = study
    assert json.loads(out.with_suffix(".json").read_text()) == json.loads(json.dumps(rows))
    assert out.with_suffix(".png").stat().st_size > 0
    assert [row["peer"] for row in rows] == ["snnTorch", "Norse", "NEST"]
    assert [row["model"] for row in rows] == ["snntorch.Leaky (reset to zero)", "norse LIFBoxCell",
                                              "nest iaf_psc_delta_ps"]
    for row in rows:
        assert row["n_spikes"] > 300
        assert set(row["exact"]) >= {"count_mismatches", "max_abs_dt", "median_abs_dt", "slopes", "reference"}
        assert "exact_error_slope_vs_dt" in row and row["exact_error_slope_measure"] in ERROR_MEASURES
        assert row["command"].startswith("brainnets study peers --neurons 32")
        assert row["git_commit"] and row["brian2_version"]


def test_snntorch_and_norse_are_reproduced_step_for_step_at_every_dt(study):
    _, rows = study
    for row in rows[:2]:
        assert row["discrete"]["count_mismatches"] == 0 and row["discrete"]["max_abs_dt"] == 0.0
        assert row["dts_ms"] == [row["dt_ms"], row["dt_ms"] / 2, row["dt_ms"] / 4]
        assert row["graph_tau_relative_spread"] < 1e-9  # the exported graphs hold the same tau at every dt
        for entry in row["dt_sweep"]:
            assert entry["discrete"]["count_mismatches"] == 0 and entry["discrete"]["max_abs_dt"] == 0.0
            assert entry["discrete"]["n_spikes_other"] == entry["n_spikes"] > 300


def test_the_discretisation_error_shrinks_with_the_peers_dt(study):
    _, rows = study
    for row in rows[:2]:
        medians = [entry["exact"]["median_abs_dt"] for entry in row["dt_sweep"]]
        assert medians[-1] < medians[0] / 2
        assert row["exact_error_slope_vs_dt"] > 0.5
        assert row["exact"]["count_mismatches"] < row["n_neurons"] / 2
        assert row["exact"]["max_abs_dt"] > 0
        # the exact solution does not depend on its own step (which only groups the events)
        twice = row["exact"]["reference"]["against_twice_the_step"]
        assert twice["count_mismatches"] == 0 and twice["max_abs_dt"] < 1e-9
    # the same network in units of dt_ref: Norse's errors are snnTorch's times 10
    np.testing.assert_allclose(rows[1]["exact"]["median_abs_dt"], 10 * rows[0]["exact"]["median_abs_dt"],
                               rtol=1e-9)


def test_nest_precise_agrees_with_the_exact_layer_at_every_dt(study):
    _, rows = study
    nest = rows[2]
    assert nest["discrete"] is None and nest["dts_ms"] == [0.1, 0.05]
    for entry in nest["dt_sweep"]:
        assert entry["exact"]["count_mismatches"] == 0 and entry["exact"]["max_abs_dt"] < 1e-9


def test_the_exact_reference_can_come_from_the_dt_ref_graph_alone(tmp_path):
    use_device("runtime")
    words = ["--neurons", "8", "--steps", "60", "--divisors", "1", "2", "--exact-divisor", "8",
             "--no-exact-each-dt", "--peers", "snnTorch", "--out", str(tmp_path / "p")]
    (row,) = peers.run(_args(words))
    assert row["exact"]["graphs_simulated"] == "the dt_ref graph's"
    assert "--no-exact-each-dt" in row["command"]
    assert all(entry["exact_mapping_difference"] < 1e-12 for entry in row["dt_sweep"])
    assert row["discrete"]["count_mismatches"] == 0


def test_slope_is_the_log_log_fit():
    dts = [0.1, 0.05, 0.025]
    assert peers.slope(dts, [3 * dt for dt in dts]) == pytest.approx(1.0)
    assert peers.slope(dts, [1e-14, 1e-14, 1e-14]) == pytest.approx(0.0, abs=1e-9)
    assert peers.slope(dts, [None, 0.05, None]) is None
