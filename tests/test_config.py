import dataclasses

import pytest
from brian2 import mV, ms

from brainnets.config import ConfigError, parse_quantity
from brainnets.stdp.model import DiehlCookModel
from brainnets.synapses import PowerLawSTDP


def test_model_file_holds_the_published_constants(model):
    assert model.dt == 0.5 * ms
    assert model.excitatory.v_thresh == -52 * mV and model.excitatory.theta_offset == 20 * mV
    assert model.excitatory.tau_m == 100 * ms and model.inhibitory.tau_m == 10 * ms
    assert model.connectivity.w_exc_to_inh == 10.4 and model.connectivity.w_inh_to_exc == 17.0
    assert isinstance(model.stdp, PowerLawSTDP)
    assert (model.stdp.eta, model.stdp.tau, model.stdp.offset, model.stdp.mu) == (0.002, 20 * ms, 0.4, 0.9)
    assert model.stdp.pairing == "all_to_all"
    assert model.protocol.weight_sum == 78.0 and model.protocol.min_spikes == 5
    assert (model.slot_steps, model.present_steps) == (1000, 700)
    assert model.method == "euler"


@pytest.mark.parametrize("text, expected", [("-65 mV", -65 * mV), ("1e7 ms", 1e7 * ms), ("0.5ms", 0.5 * ms),
                                            ("3", 3.0)])
def test_parse_quantity(text, expected):
    assert parse_quantity(text, "x") == expected


@pytest.mark.parametrize("text", ["", "fast", "20 parsecs", "1..2 ms"])
def test_parse_quantity_rejects_nonsense(text):
    with pytest.raises(ConfigError, match="field"):
        parse_quantity(text, "field")


def _write_model(tmp_path, old, new):
    text = open("models/diehl_cook_2015.toml").read()
    assert old in text
    path = tmp_path / "model.toml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize("old, new, message", [
    ('tau_m = "100 ms"', 'tau_m = "100 mV"', r"\[excitatory\]\.tau_m: expected a quantity in"),
    ('tau_m = "100 ms"', 'tau_m = "-100 ms"', r"tau_m: must be > 0"),
    ('tau_m = "100 ms"', 'tau_m = "nan ms"', r"tau_m"),
    ('tau_m = "100 ms"', 'tau_mm = "100 ms"', r"unknown key\(s\) \['tau_mm'\]"),
    ('eta = 0.002', 'eta = "fast"', r"\[stdp\]\.eta"),
    ('rule = "power_law"', 'rule = "hebb"', r"\[stdp\]\.rule: expected one of"),
    ('pairing = "all_to_all"', 'pairing = "all"', r"\[stdp\]\.pairing: expected one of"),
    ('method = "euler"', 'method = "rk4"', r"\[simulation\]\.method: expected one of"),
    ('t_present = "350 ms"', 't_present = "350.2 ms"', r"whole number of dt steps"),
    ('[protocol]', '[protocl]', r"missing table \[protocol\]"),
    ('dt = "0.5 ms"', 'dt = 0.5 ms', r"not valid TOML"),
])
def test_bad_model_files_name_what_is_wrong(tmp_path, old, new, message):
    with pytest.raises(ConfigError, match=message):
        DiehlCookModel.load(_write_model(tmp_path, old, new))


def test_missing_model_file(tmp_path):
    with pytest.raises(ConfigError, match="model file not found"):
        DiehlCookModel.load(tmp_path / "absent.toml")


def test_trace_rule_is_selectable(tmp_path):
    model = DiehlCookModel.load(_write_model(tmp_path, 'rule = "power_law"', 'rule = "diehl_cook_trace"'))
    assert type(model.stdp).__name__ == "DiehlCookTraceSTDP"
    assert model.stdp.nu_post == 0.01 and model.stdp.tau_post2 == 40 * ms


def test_parameter_sets_are_frozen(model):
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.stdp.eta = 1.0
