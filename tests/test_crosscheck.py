"""brainnets.crosscheck: the spike file, the neo reader, where two runs' spikes part, and the command."""
import json

import numpy as np
import pytest

from brainnets.crosscheck.compare import agreement, compare_spikes, fraction_matched, neuron_divergence
from brainnets.crosscheck.spikes import SpikeFileError, from_events, from_neo, read_spikes, write_spikes
from brainnets.resources import package_folder

RUN = {"hidden": [np.array([1.0, 5.0, 9.0]), np.array([]), np.array([2.5])], "out": [np.array([3.0, 7.25])]}


def test_a_spike_file_round_trips_in_any_time_unit(tmp_path):
    for unit in ("s", "ms", "us"):
        path = tmp_path / f"run_{unit}.npz"
        write_spikes(path, RUN, time_unit=unit)
        back = read_spikes(path)
        assert list(back) == ["hidden", "out"] and len(back["hidden"]) == 3  # the silent neuron is kept
        for name in RUN:
            for ours, theirs in zip(RUN[name], back[name]):
                np.testing.assert_allclose(theirs, ours, rtol=1e-12)
    assert str(np.load(tmp_path / "run_s.npz")["time_unit"]) == "s"
    np.testing.assert_allclose(np.load(tmp_path / "run_s.npz")["times"].max(), 9e-3)


def test_a_bad_spike_file_is_refused_naming_what_is_wrong(tmp_path):
    with pytest.raises(SpikeFileError, match="no such spike file"):
        read_spikes(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(SpikeFileError, match="not a readable"):
        read_spikes(tmp_path / "junk.npz")
    good = dict(times=np.array([1.0]), time_unit=np.array("ms"), neurons=np.array([0]), layer=np.array([0]),
                layer_names=np.array(["a"]), layer_sizes=np.array([1]))
    for change, message in [({"time_unit": np.array("min")}, "time_unit 'min'"),
                            ({"neurons": np.array([1])}, "outside its layer's size"),
                            ({"times": np.array([np.nan])}, "finite"),
                            ({"layer": np.array([3])}, r"layer indices must lie in \[0, 1\)")]:
        np.savez(tmp_path / "bad.npz", **{**good, **change})
        with pytest.raises(SpikeFileError, match=message):
            read_spikes(tmp_path / "bad.npz")
    np.savez(tmp_path / "short.npz", times=np.array([1.0]))
    with pytest.raises(SpikeFileError, match="missing time_unit, neurons"):
        read_spikes(tmp_path / "short.npz")


def test_neo_spike_trains_are_read_by_their_annotations():
    neo = pytest.importorskip("neo")
    import quantities as pq
    trains = [neo.SpikeTrain([0.001, 0.005] * pq.s, t_stop=1 * pq.s, layer="hidden", neuron=0),
              neo.SpikeTrain([2.5] * pq.ms, t_stop=10 * pq.ms, layer="hidden", neuron=2)]
    spikes = from_neo(trains)
    assert [len(t) for t in spikes["hidden"]] == [2, 0, 1]
    np.testing.assert_allclose(spikes["hidden"][0], [1.0, 5.0])
    with pytest.raises(SpikeFileError, match="annotation 'neuron'"):
        from_neo([neo.SpikeTrain([1.0] * pq.ms, t_stop=2 * pq.ms, layer="x")])


def test_identical_runs_agree_everywhere():
    report = compare_spikes(RUN, RUN)
    assert report["count_mismatches"] == 0 and report["first_divergence"] is None
    assert report["timing"]["max_ms"] == 0 and report["timing"]["n_pairs"] == 6
    assert report["layers"]["hidden"]["van_rossum"]["max"] == 0 and report["layers"]["out"]["victor_purpura"]["max"] == 0


def test_the_first_divergence_is_the_earliest_timing_or_count_difference():
    other = {"hidden": [np.array([1.0, 5.0, 9.0]), np.array([6.0]), np.array([2.5])],  # an extra spike at 6 ms
             "out": [np.array([3.0, 7.5])]}                                                # 7.25 -> 7.5
    report = compare_spikes(RUN, other)
    first = report["first_divergence"]
    assert (first["layer"], first["neuron"], first["kind"], first["time_ms"]) == ("hidden", 1, "count", 6.0)
    assert first["reference_ms"] is None and first["other_ms"] == 6.0
    assert report["layers"]["hidden"]["count_mismatches"] == 1
    assert report["layers"]["hidden"]["count_difference_per_neuron"] == [0, 1, 0]
    assert report["layers"]["out"]["timing"]["max_ms"] == pytest.approx(0.25)
    assert report["layers"]["out"]["van_rossum"]["max"] > 0 and report["layers"]["out"]["victor_purpura"]["max"] == \
        pytest.approx(0.25)  # one spike shifted by 0.25 ms at q = 1/ms
    # a timing difference below the tolerance is no divergence; above it, it is one
    assert neuron_divergence(np.array([1.0]), np.array([1.0 + 1e-9]), 1e-6) is None
    assert neuron_divergence(np.array([1.0, 2.0]), np.array([1.0, 2.1]), 1e-6)["kind"] == "timing"
    with pytest.raises(ValueError, match="layer\\(s\\) out in only one"):
        compare_spikes(RUN, {"hidden": RUN["hidden"]})


def test_events_become_per_neuron_trains_sorted_in_time():
    spikes = from_events({"a": (np.array([1, 0, 1]), np.array([5.0, 2.0, 1.0]), 3)})
    assert [t.tolist() for t in spikes["a"]] == [[2.0], [1.0, 5.0], []]


SHIPPED = package_folder("data") / "crosscheck"
EXAMPLE = [str(SHIPPED / "snntorch_net.nir"), "--input", str(SHIPPED / "input.npz"),
           "--spikes", str(SHIPPED / "snntorch_spikes.npz"), "--dt", "0.1"]


def test_the_worked_example_reproduces_snntorch_spike_for_spike_and_clock_semantics_parts_from_it(tmp_path, capsys):
    pytest.importorskip("nir")
    from brainnets.cli import main

    assert main(["crosscheck", *EXAMPLE, "--semantics", "discrete", "--out", str(tmp_path / "discrete")]) == 0
    report = json.loads((tmp_path / "discrete" / "report.json").read_text())
    assert report["count_mismatches"] == 0 and report["timing"]["max_ms"] == 0 and report["first_divergence"] is None
    assert report["n_spikes_other"] == report["n_spikes_reference"] == 548
    assert (tmp_path / "discrete" / "report.png").stat().st_size > 0
    assert read_spikes(tmp_path / "discrete" / "brian2_spikes.npz").keys() == {"1", "3"}
    assert main(["crosscheck", *EXAMPLE, "--semantics", "clock", "--out", str(tmp_path / "clock")]) == 0
    clock = json.loads((tmp_path / "clock" / "report.json").read_text())
    assert clock["first_divergence"] is not None and clock["timing"]["max_ms"] > 0
    capsys.readouterr()
    assert main(["crosscheck", *EXAMPLE, "--semantics", "discrete", "--out", str(tmp_path / "discrete")]) == 2
    assert "finished results are never overwritten" in capsys.readouterr().err
    assert main(["crosscheck", *EXAMPLE[:3], "--spikes", str(tmp_path / "none.npz"), "--out", str(tmp_path / "x")]) == 2
    assert "no such spike file" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_the_worked_example_in_exact_semantics_needs_a_shorter_step_and_says_so(tmp_path, capsys):
    """snnTorch's neurons fire at most once per 0.1 ms step; the exact solution of the same ODE fires some of them
    twice within one such step, which Brian2 can only emit with a shorter processing step."""
    pytest.importorskip("nir")
    from brainnets.cli import main

    assert main(["crosscheck", *EXAMPLE, "--semantics", "exact", "--out", str(tmp_path / "coarse")]) == 2
    assert "pass a shorter --exact-step" in capsys.readouterr().err and not (tmp_path / "coarse").exists()
    assert main(["crosscheck", *EXAMPLE, "--semantics", "exact", "--exact-step", "0.01",
                 "--out", str(tmp_path / "exact")]) == 0
    report = json.loads((tmp_path / "exact" / "report.json").read_text())
    assert report["n_spikes_other"] == 548 and report["exact_step_ms"] == 0.01 and report["count_mismatches"] > 0


def test_the_shipped_example_is_what_its_command_makes(tmp_path):
    pytest.importorskip("snntorch")
    from brainnets.cli import main

    assert main(["study", "crosscheck-example", "--out", str(tmp_path)]) == 0
    for name in ("input.npz", "snntorch_spikes.npz"):
        shipped = read_spikes(SHIPPED / name)
        made = read_spikes(tmp_path / name)
        assert shipped.keys() == made.keys()
        for layer in shipped:
            for a, b in zip(shipped[layer], made[layer]):
                np.testing.assert_array_equal(a, b)


def test_agreement_pairs_spikes_of_neurons_whose_counts_agree():
    ours = [np.array([1.0, 2.0]), np.array([3.0]), np.array([])]
    theirs = [np.array([1.5, 2.0]), np.array([3.0, 4.0]), np.array([])]
    result = agreement(ours, theirs)
    assert result["count_mismatches"] == 1 and result["n_paired_spikes"] == 2
    assert result["n_spikes_reference"] == 3 and result["n_spikes_other"] == 4
    assert result["max_abs_dt"] == 0.5 and result["median_abs_dt"] == 0.25 and result["mean_abs_dt"] == 0.25
    assert agreement([np.array([1.0])], [np.array([])])["max_abs_dt"] is None
    assert agreement([np.array([])], [np.array([])])["max_abs_dt"] == 0.0
    with pytest.raises(ValueError, match="2 neurons in the reference, 1"):
        agreement(ours[:2], ours[:1])


def test_fraction_matched_finds_each_reference_spike_within_the_tolerance_whatever_the_counts():
    assert fraction_matched([np.array([1.0, 2.05, 7.0])], [np.array([1.0, 2.0, 3.0, 4.0])], 0.1) == 0.5
    assert fraction_matched([np.array([])], [np.array([])], 0.1) == 1.0


def test_the_report_times_only_the_neurons_whose_counts_agree():
    other = {"hidden": [RUN["hidden"][0] + 0.5, np.array([4.0]), np.array([2.5])], "out": [np.array([3.0])]}
    report = compare_spikes(RUN, other)
    assert report["count_mismatches"] == 2
    assert report["timing"]["n_pairs"] == 4 and report["timing"]["max_ms"] == 0.5
