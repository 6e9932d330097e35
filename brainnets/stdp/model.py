"""The Diehl & Cook network's constants, read from a model file such as ``models/diehl_cook_2015.toml``."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from brian2 import Hz, Quantity, ms

from ..config import ConfigError, choice, chosen_by, load_section, quantity, read_toml, require_table
from ..neurons import INTEGRATION_METHODS, ConductanceLIFParams, ExcitatoryParams
from ..synapses import STDP_RULES, DiehlCookTraceSTDP, PowerLawSTDP


@dataclass(frozen=True)
class SimulationParams:
    dt: Quantity = quantity(ms, positive=True)
    method: str = choice(*INTEGRATION_METHODS)


@dataclass(frozen=True)
class ConnectivityParams:
    w_exc_to_inh: float = quantity(nonnegative=True)
    w_inh_to_exc: float = quantity(nonnegative=True)
    w_input_init_low: float = quantity(nonnegative=True)
    w_input_init_high: float = quantity(nonnegative=True)
    input_delay_max: Quantity = quantity(ms, nonnegative=True)


@dataclass(frozen=True)
class ProtocolParams:
    """How one image is shown (Diehl & Cook's training loop, Rathi 3.4.1), and in which order the unimodal
    experiment shows the training images: the file's, or a fresh permutation drawn from the seed each epoch."""

    t_present: Quantity = quantity(ms, positive=True, usual=(10, 10000))
    t_rest: Quantity = quantity(ms, nonnegative=True)
    rate_per_pixel: Quantity = quantity(Hz, positive=True)
    intensity_start: float = quantity(positive=True)
    intensity_step: float = quantity(nonnegative=True)
    min_spikes: float = quantity(nonnegative=True)
    max_retries: float = quantity(nonnegative=True)
    weight_sum: float = quantity(positive=True)
    training_order: str = choice("dataset", "shuffled")


@dataclass(frozen=True)
class DiehlCookModel:
    """Every constant of the network: one field per table of its model file, ``source`` the file it came from."""

    simulation: SimulationParams
    excitatory: ExcitatoryParams
    inhibitory: ConductanceLIFParams
    connectivity: ConnectivityParams
    stdp: PowerLawSTDP | DiehlCookTraceSTDP = chosen_by("rule", STDP_RULES,
                                                        elsewhere={"diehl_cook_trace": "stdp_trace"})
    protocol: ProtocolParams
    source: str

    @classmethod
    def load(cls, path: str | Path, overrides: dict | None = None) -> "DiehlCookModel":
        """The model file at ``path``; ``overrides`` ({table: {key: value}}) replace some of its constants."""
        document = read_toml(path)
        for table_name, table in (overrides or {}).items():
            if not isinstance(table, dict):
                raise ConfigError(f"overrides of {path}: [{table_name}] must be a table, got {table!r}")
            document[table_name] = {**require_table(document, table_name, path), **table}
        source = str(path) if not overrides else f"{path} with {overrides}"
        model = load_section(cls, document, str(path), source=source)
        model.check()
        return model

    @property
    def dt(self) -> Quantity:
        return self.simulation.dt

    @property
    def method(self) -> str:
        return self.simulation.method

    def check(self) -> None:
        """Relations between constants that no single field can check."""
        p = self.protocol
        for name in ("t_present", "t_rest"):
            steps = float(getattr(p, name) / self.dt)
            if abs(steps - round(steps)) > 1e-9:
                raise ConfigError(f"{self.source} [protocol].{name} must be a whole number of dt steps")
        c = self.connectivity
        if c.w_input_init_low > c.w_input_init_high:
            raise ConfigError(f"{self.source} [connectivity]: w_input_init_low > w_input_init_high")
        if self.protocol.t_rest < c.input_delay_max:
            raise ConfigError(f"{self.source}: t_rest must cover input_delay_max, so that no input "
                              "spike is in flight when a run ends")
        for section in ("excitatory", "inhibitory"):
            for name in ("tau_m", "tau_ge", "tau_gi"):
                tau = getattr(getattr(self, section), name)
                if tau < self.dt:  # the integrators step over the whole decay: the neuron model is lost
                    raise ConfigError(f"{self.source} [{section}].{name} = {tau} is shorter than the time step "
                                      f"dt = {self.dt}")

    @property
    def slot_steps(self) -> int:
        """Time steps of one presentation plus its rest."""
        return round(float((self.protocol.t_present + self.protocol.t_rest) / self.dt))

    @property
    def present_steps(self) -> int:
        return round(float(self.protocol.t_present / self.dt))
