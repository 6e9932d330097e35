"""The unimodal ensemble: Diehl & Cook's two-layer network with its presentation protocol.

Topology (Rathi 2021, 2.2.2 and 3.4.1): Poisson inputs -> excitatory neurons, all-to-all and plastic;
excitatory -> inhibitory one-to-one; each inhibitory neuron -> every excitatory neuron except its
partner (lateral inhibition). The E->I and I->E weights are fixed.

Before every presentation while learning, each excitatory neuron's input weights are rescaled to sum
to ``weight_sum`` (Diehl & Cook's normalization). That happens inside the simulation, at the start of
each slot, in three ``run_regularly`` steps: clear the per-neuron sums, add up the weights, rescale
(:data:`NORMALIZE_INPUT_WEIGHTS`); :func:`normalize_columns` is its numpy twin, for weights outside a
simulation.

:class:`PresentedNetwork` puts layers, their protocol and any links between layers into one network;
:class:`UnimodalEnsemble` is the network of one layer shown images.
"""
from __future__ import annotations

import numpy as np
from brian2 import Network, Synapses, defaultclock

from ..config import ConfigError
from ..neurons import excitatory_group, inhibitory_group
from ..synapses import FixedWeights
from .model import DiehlCookModel
from .protocol import Protocol, Stream

NORMALIZE_INPUT_WEIGHTS = [
    # (object, code, order) - run at the start of every slot, in this order
    ("exc", "input_weight_sum = 0", -3),
    ("input_synapses", "input_weight_sum_post += w", -2),
    # learning * weight_sum / sum + (1 - learning): rescale while learning (1), leave the weights alone at test time
    # (0), exactly either way, without a pow() per synapse. A neuron whose every weight was pruned has sum 0; its
    # weights stay 0 (the added 1 only avoids 0/0).
    ("input_synapses", "w = w * (learning_post * weight_sum / (input_weight_sum_post + int(input_weight_sum_post == 0))"
                       " + (1 - learning_post))", -1),
]


def normalize_columns(weights: np.ndarray, total: float) -> tuple[np.ndarray, np.ndarray]:
    """Numpy twin of :data:`NORMALIZE_INPUT_WEIGHTS` while learning: each column (a neuron's input weights)
    rescaled to sum to ``total``; returns the weights and the gain of each column. An all-zero column stays
    zero, with gain 1."""
    sums = weights.sum(axis=0)
    gains = np.where(sums > 0, total / np.where(sums > 0, sums, 1.0), 1.0)
    return weights * gains, gains


class DiehlCookLayer:
    """Excitatory and inhibitory populations fed by plastic synapses from any ``source`` group.

    ``inhibition=False`` leaves out the inhibitory population, ``homeostasis=False`` keeps theta at its
    initial value (the ablations of Rathi 3.6). ``connections`` (a boolean (n_input, n_exc) matrix)
    makes the input synapses sparse; by default they are all-to-all. ``name`` prefixes the names of the
    Brian2 objects, so that several layers can share a network.

    Nothing random is drawn by Brian2 at build time: the input delays and initial weights come from
    ``rng``, drawn for the full matrix whatever ``connections`` is, so that a seed gives every synapse
    the same delay on every device and in every sparse version of the network.

    ``copies`` > 1 builds that many independent copies of the layer side by side, for a ``source`` of as many
    copies of the input (copy c's neurons and synapses after those of copies 0..c-1, each copy's as the first
    one's); ``plastic=False`` leaves out the learning rule (the input synapses only deliver their weights): a
    frozen network, evaluated many images at once (:class:`~.simulation.BatchedSimulation`).
    """

    def __init__(self, model: DiehlCookModel, n_exc: int, source, *, connections: np.ndarray | None = None,
                 inhibition: bool = True, homeostasis: bool = True, rng: np.random.Generator, name: str = "",
                 copies: int = 1, plastic: bool = True):
        n_input = len(source) // copies
        if n_exc < 1 or n_input < 1:
            raise ValueError(f"n_exc and n_input must be >= 1, got {n_exc}, {n_input}")
        self.model, self.n_exc, self.n_input = model, n_exc, n_input
        if connections is None:
            connections = np.ones((n_input, n_exc), dtype=bool)
        if connections.shape != (n_input, n_exc):
            raise ValueError(f"connections must have shape {(n_input, n_exc)}, got {connections.shape}")
        self.connections = connections
        w_max = getattr(model.stdp, "w_max", None)
        if w_max is not None and model.protocol.weight_sum > w_max * n_input:  # even all inputs at w_max fall short
            raise ConfigError(f"{model.source} [protocol].weight_sum = {model.protocol.weight_sum:g} over {n_input} "
                              f"inputs asks for weights above w_max = {w_max:g}")
        self.inhibition, self.homeostasis, self.copies, self.plastic = inhibition, homeostasis, copies, plastic
        self.name = name
        prefix = f"{name}_" if name else ""
        defaultclock.dt = model.dt
        self.exc = excitatory_group(copies * n_exc, model.excitatory, homeostasis=homeostasis,
                                    extra_model="input_weight_sum : 1", name=f"{prefix}exc", method=model.method)
        self.rule = rule = model.stdp if plastic else FixedWeights()
        self.input_synapses = Synapses(
            source, self.exc, rule.model, on_pre=rule.on_pre, on_post=rule.on_post,
            namespace={**rule.namespace(model.dt), "weight_sum": model.protocol.weight_sum},
            name=f"{prefix}input_synapses")
        # input-major order, the order of connections[connections] (see weights()); copy after copy
        pre, post = np.nonzero(connections)
        self.input_synapses.connect(i=per_copy(pre, n_input, copies), j=per_copy(post, n_exc, copies))
        exists = connections.ravel()
        delays = rng.uniform(0, 1, n_input * n_exc) * model.connectivity.input_delay_max
        self.input_synapses.delay = np.tile(delays[exists], copies)
        self.initial_weights = rng.uniform(model.connectivity.w_input_init_low,
                                           model.connectivity.w_input_init_high, n_input * n_exc)[exists]
        self.inh = None
        self.objects = [self.exc, self.input_synapses]
        if inhibition:
            c = model.connectivity
            self.inh = inhibitory_group(copies * n_exc, model.inhibitory, name=f"{prefix}inh", method=model.method)
            exc_to_inh = Synapses(self.exc, self.inh, on_pre="ge_post += w_exc_to_inh",
                                  namespace={"w_exc_to_inh": c.w_exc_to_inh}, name=f"{prefix}exc_to_inh")
            exc_to_inh.connect(j="i")
            inh_to_exc = Synapses(self.inh, self.exc, on_pre="gi_post += w_inh_to_exc",
                                  namespace={"w_inh_to_exc": c.w_inh_to_exc}, name=f"{prefix}inh_to_exc")
            partner, other = np.nonzero(~np.eye(n_exc, dtype=bool))  # every neuron of the copy but the partner
            inh_to_exc.connect(i=per_copy(partner, n_exc, copies), j=per_copy(other, n_exc, copies))
            self.objects += [self.inh, exc_to_inh, inh_to_exc]

    def normalize_every(self, period) -> None:
        """Rescale the input weights (while learning) at the start of every ``period``: every slot. A layer
        that is not plastic never learns: nothing to rescale."""
        if not self.plastic:
            return
        owners = {"exc": self.exc, "input_synapses": self.input_synapses}
        for owner, code, order in NORMALIZE_INPUT_WEIGHTS:
            owners[owner].run_regularly(code, dt=period, when="start", order=order,
                                        name=f"{owners[owner].name}_normalize_{-order}")

    def state_variables(self) -> dict:
        """Dynamic state that must survive from one run to the next: ``{group: [names]}``."""
        neuron_state = ["v", "ge", "gi", "lastspike"]
        state = {self.exc: neuron_state + ["theta"], self.input_synapses: list(self.rule.state_variables)}
        if self.inh is not None:
            state[self.inh] = neuron_state
        return state

    def time_stamps(self) -> set:
        """(group name, variable) pairs that hold absolute times."""
        stamps = {(group.name, "lastspike") for group in (self.exc, self.inh) if group is not None}
        return stamps | {(self.input_synapses.name, name) for name in self.rule.time_stamps}

    def initial_state(self) -> dict:
        """Values at the start of training, keyed ``(group name, variable)``; others keep Brian2's."""
        state = {(self.input_synapses.name, "w"): np.tile(self.initial_weights, self.copies)}
        for name, values in self.rule.initial_state(self.copies * len(self.initial_weights)).items():
            state[(self.input_synapses.name, name)] = values
        return state

    def weights(self, state: dict) -> np.ndarray:
        """The input weight matrix (n_input, n_exc) held in a state dict; 0 where no synapse exists."""
        matrix = np.zeros((self.n_input, self.n_exc))
        matrix[self.connections] = state[(self.input_synapses.name, "w")]
        return matrix

    def with_weights(self, state: dict, weights: np.ndarray) -> dict:
        """``state`` with the input weights replaced by those of the matrix ``weights``."""
        return {**state, (self.input_synapses.name, "w"): weights[self.connections]}

    def restricted_state(self, state: dict, connections: np.ndarray) -> dict:
        """``state`` for the same network with only the synapses in ``connections`` (a subset of ours)."""
        if (connections & ~self.connections).any():
            raise ValueError("connections must be a subset of the existing synapses")
        keep = connections[self.connections]
        owner = self.input_synapses.name
        return {key: (value[keep] if key[0] == owner else value) for key, value in state.items()}


def per_copy(indices: np.ndarray, size: int, copies: int) -> np.ndarray:
    """Neuron ``indices`` of one copy of a group of ``size`` neurons, for each of ``copies`` copies in turn."""
    return (np.arange(copies)[:, None] * size + np.asarray(indices)[None, :]).ravel()


class PresentedNetwork:
    """Layers fed by the streams of one :class:`Protocol`, plus ``links``: further plastic parts between
    them (objects with ``objects`` and the state methods of a layer). What
    :class:`~.simulation.EnsembleSimulation` runs; ``layers`` are judged in the protocol's order."""

    def __init__(self, protocol: Protocol, layers: list[DiehlCookLayer], links: list | None = None):
        self.protocol, self.layers, self.links = protocol, layers, links or []
        for layer in layers:
            layer.normalize_every(protocol.model.slot_steps * protocol.model.dt)
        watched = protocol.watch([layer.exc for layer in layers])
        parts = [*layers, *self.links]
        self.network = Network(*[obj for part in parts for obj in part.objects], *watched)

    @property
    def parts(self) -> list:
        return [*self.layers, *self.links]

    @property
    def model(self) -> DiehlCookModel:
        return self.protocol.model

    @property
    def n_exc(self) -> int:
        return sum(layer.n_exc for layer in self.layers)

    def state_variables(self) -> dict:
        """Dynamic state that must survive from one run to the next: ``{group: [names]}``."""
        state = {self.protocol.group: ["retries"] + [f"intensity_{name}" for name in self.protocol.layers]}
        for part in self.parts:
            state.update(part.state_variables())
        return state

    def time_stamps(self) -> set:
        """(group name, variable) pairs that hold absolute times."""
        return set().union(*(part.time_stamps() for part in self.parts))

    def initial_state(self) -> dict:
        """Values at the start of training, keyed ``(group name, variable)``; others keep Brian2's."""
        return {key: value for part in self.parts for key, value in part.initial_state().items()}

    @property
    def copies(self) -> int:
        return self.protocol.copies

    def replicated(self, state: dict) -> dict:
        """This network's state made of the state of one copy of it (a network built alike with ``copies=1``,
        plastic or not): every copy starts as that one; what only a plastic network carries is left out, and
        what ``state`` does not hold keeps its value as built."""
        return {(group.name, name): np.tile(np.asarray(state[(group.name, name)]), self.copies)
                for group, names in self.state_variables().items() for name in names
                if (group.name, name) in state}


class UnimodalEnsemble(PresentedNetwork):
    """One :class:`DiehlCookLayer` shown images by the in-simulation :class:`Protocol`."""

    def __init__(self, model: DiehlCookModel, n_exc: int, n_input: int = 784, *,
                 slots_per_run: int = 100, connections: np.ndarray | None = None, inhibition: bool = True,
                 homeostasis: bool = True, rng: np.random.Generator, copies: int = 1, plastic: bool = True):
        protocol = Protocol(model, [Stream("", n_input, model.protocol.rate_per_pixel)], ["exc"], slots_per_run,
                            copies=copies)
        self.layer = DiehlCookLayer(model, n_exc, protocol.inputs[""], connections=connections,
                                    inhibition=inhibition, homeostasis=homeostasis, rng=rng, copies=copies,
                                    plastic=plastic)
        super().__init__(protocol, [self.layer])

    def stimuli(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """The stimulus of every stream for a run showing ``images``."""
        return {"": images}
