import dataclasses
from dataclasses import dataclass

import pytest
from brian2 import Quantity, mV, ms

from brainnets import audio, config
from brainnets.config import ConfigError, choice, load_section, parse_quantity, quantity
from brainnets.resources import model_file
from brainnets.stdp import model as model_module
from brainnets.stdp import multimodal
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
    text = model_file("diehl_cook_2015").read_text()
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
    ('[protocol]', '[protocl]', r"model.toml: unknown key\(s\) \['protocl'\]; known keys are \[.*'protocol'"),
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


def test_missing_tables_are_named(tmp_path):
    text = model_file("diehl_cook_2015").read_text()
    path = tmp_path / "model.toml"
    path.write_text(text[:text.index("[protocol]")])
    with pytest.raises(ConfigError, match=r"model.toml: missing table \[protocol\]"):
        DiehlCookModel.load(path)
    trace_rule = text.replace('rule = "power_law"', 'rule = "diehl_cook_trace"')
    path.write_text(trace_rule[:trace_rule.index("[stdp_trace]")] + trace_rule[trace_rule.index("[protocol]"):])
    with pytest.raises(ConfigError, match=r"missing table \[stdp_trace\] \(stdp.rule = 'diehl_cook_trace'\)"):
        DiehlCookModel.load(path)


def test_overrides_replace_constants_and_are_checked_like_the_file(model):
    changed = DiehlCookModel.load("diehl_cook_2015", overrides={"stdp": {"eta": 0.1}, "simulation": {"dt": "1 ms"}})
    assert changed.stdp.eta == 0.1 and changed.dt == 1 * ms
    assert dataclasses.replace(changed, stdp=model.stdp, simulation=model.simulation,
                               source=model.source) == model
    with pytest.raises(ConfigError, match=r"\[stdp\]\.eta: must be >= 0"):
        DiehlCookModel.load("diehl_cook_2015", overrides={"stdp": {"eta": -1}})
    with pytest.raises(ConfigError, match=r"overrides of diehl_cook_2015: \[stdp\] must be a table"):
        DiehlCookModel.load("diehl_cook_2015", overrides={"stdp": 3})


def test_every_model_file_is_read_once(monkeypatch):
    reads = []

    def counting_read_toml(path):
        reads.append(model_file(path).resolve())
        return config.read_toml(path)

    for module in (model_module, multimodal, audio):
        monkeypatch.setattr(module, "read_toml", counting_read_toml)
    multimodal.MultimodalModel.load("rathi2018_multimodal")
    assert reads.count(model_file("rathi2018_multimodal").resolve()) == 1
    assert reads.count(model_file("diehl_cook_2015").resolve()) == 2  # the base of each ensemble


# ------------------------------------------------------------------------- what load_section can read

@dataclass(frozen=True)
class Inner:
    tau: Quantity = quantity(ms, positive=True)


@dataclass(frozen=True)
class Outer:
    count: int = quantity(positive=True)
    inner: Inner
    on: bool = True
    kind: str = choice("a", "b")
    levels: int | None = quantity(positive=True, default=None, none_as="continuous")

    def __post_init__(self):
        if self.levels is not None and self.levels > self.count:
            raise ValueError(f"levels {self.levels} > count {self.count}")


def test_load_section_reads_numbers_booleans_choices_and_sub_tables():
    table = {"count": 3, "inner": {"tau": "5 ms"}, "on": False, "kind": "b", "levels": 2}
    outer = load_section(Outer, table, "f.toml [outer]")
    assert outer == Outer(count=3, inner=Inner(5 * ms), on=False, kind="b", levels=2)
    assert type(outer.count) is int and type(outer.levels) is int
    assert load_section(Outer, {"count": 3.0, "inner": {"tau": "5 ms"}}, "f.toml") == Outer(3, Inner(5 * ms))
    assert load_section(Outer, {**table, "levels": "continuous"}, "f.toml [outer]").levels is None


@pytest.mark.parametrize("change, message", [
    ({"count": 2.5}, r"^f.toml \[outer\].count: expected a whole number, got 2.5$"),
    ({"count": True}, r"\[outer\].count: expected a number"),
    ({"on": 1}, r"^f.toml \[outer\].on: expected true or false, got 1$"),
    ({"kind": "c"}, r"^f.toml \[outer\].kind: expected one of \['a', 'b'\], got 'c'$"),
    ({"levels": "discrete"}, r"\[outer\].levels: expected '<number> <unit>'"),
    ({"inner": {"tau": "5 mV"}}, r"^f.toml \[outer.inner\].tau: expected a quantity in"),
    ({"inner": {"tau": "5 ms", "tau2": 1}}, r"^f.toml \[outer.inner\]: unknown key\(s\) \['tau2'\]"),
    ({"inner": {}}, r"^f.toml \[outer.inner\]: missing key 'tau'$"),
    ({"inner": 3}, r"^f.toml \[outer.inner\]: expected a table, got 3$"),
    ({"inner": None}, r"^f.toml: missing table \[outer.inner\]$"),
    ({"levels": 4}, r"^f.toml \[outer\]: levels 4 > count 3$"),  # the class's own check
])
def test_load_section_names_the_file_and_key_that_are_wrong(change, message):
    table = {"count": 3, "inner": {"tau": "5 ms"}, **change}
    table = {key: value for key, value in table.items() if value is not None}
    with pytest.raises(ConfigError, match=message):
        load_section(Outer, table, "f.toml [outer]")


def test_given_fields_come_from_the_caller_not_the_file(model):
    document = config.read_toml("diehl_cook_2015")
    assert load_section(DiehlCookModel, document, "x", source="here").source == "here"
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['source'\]"):
        load_section(DiehlCookModel, {**document, "source": "file"}, "x", source="here")


def test_a_model_file_with_a_base_holds_only_what_differs(tmp_path):
    tuned = config.read_toml("rathi2018_multimodal_tuned")
    literal = config.read_toml("rathi2018_multimodal")
    assert tuned["audio_frontend"]["contrast"] == "on_off" and literal["audio_frontend"]["contrast"] == "level"
    assert tuned["audio_frontend"]["ear_q"] == literal["audio_frontend"]["ear_q"]  # kept from the base
    assert tuned["audio_ensemble"]["stdp"]["tau"] == literal["audio_ensemble"]["stdp"]["tau"]
    assert tuned["crossmodal"]["conductance_per_weight"] != literal["crossmodal"]["conductance_per_weight"]
    assert tuned["crossmodal"]["stdp"] == literal["crossmodal"]["stdp"]  # a nested table merged key by key
    mine = tmp_path / "mine.toml"  # elsewhere, naming a shipped base
    mine.write_text('base = "rathi2018_multimodal_tuned"\n[crossmodal]\nfraction = 0.1\n')
    model = multimodal.MultimodalModel.load(mine)
    assert model.crossmodal.fraction == 0.1 and model.frontend.contrast == "on_off"
    loop = tmp_path / "loop.toml"
    loop.write_text('base = "loop.toml"\n')
    with pytest.raises(ConfigError, match="bases lead back to itself"):
        config.read_toml(loop)
