"""A NIR graph (``nir.read(path)``) as a Brian2 network, simulated on given input spikes.

Someone ran a network in snnTorch, Norse, NEST, Lava... and exported it to NIR; :func:`simulate_graph` gives
the Brian2 reference of its spike times on the same input spikes.

**The graph.** Neuron nodes (``IF``, ``LIF``, ``CubaLIF``, ``LI``, ``I``) become one ``NeuronGroup`` each.
Weighted nodes (``Affine``, ``Linear``, ``Scale``, ``Flatten``, ``Conv2d``, ``SumPool2d``) are not neurons:
every chain or tree of them between neuron nodes (or ``Input`` nodes) is collapsed into one sparse matrix
over flattened indices (C order; ``Conv2d`` with its stride, padding, dilation and groups, ``SumPool2d`` as a
grouped convolution with unit kernels), and each (source, target) pair gets one ``Synapses``. Several edges
into one node add up (NIR's rule). ``Affine`` and ``Conv2d`` biases become a constant input ``bias`` of the
target neurons. Recurrent edges (a neuron node feeding a weighted node that feeds it back, or any cycle through
neuron nodes) are supported: they act one step later. ``LI`` and ``I`` nodes have no spikes: they may only feed
``Output`` nodes. Any other node type, a nested ``NIRGraph``, and parameter combinations listed below are
refused with a ``ValueError`` that names the node.

**Units.** Time constants in the file are seconds (NIR's ODEs are unit-free otherwise); the API uses ms.
Parameters may be scalars or per neuron (snnTorch writes arrays of the layer's shape, Norse 0-d tensors).
Initial state: ``v = v_leak`` (``LIF``, ``CubaLIF``, ``LI``), ``v = 0`` (``IF``, ``I``), ``I = 0``.

**Spikes and the step.** Inputs are spike events ``(index, time_ms)``; an input at time ``t`` acts in step
``n = ceil(t / dt)``, i.e. at the first grid time ``n dt >= t`` (on-grid times: their own step). A neuron's
spike in step ``n`` is reported at ``n dt``: it is index ``n`` of the peer's spike tensor. The peers treat a
spike as the value 1 of their input tensor for one step, i.e. a pulse of area ``dt``, and discretise NIR's ODE
with that step; so does this module, for all semantics. What one input spike of weight ``w`` does:

* ``LIF``, ``LI``: ``v`` jumps by ``r w dt / tau`` (snnTorch writes ``r = tau / dt``: a jump of ``w``);
* ``CubaLIF``: ``I`` jumps by ``w_in w dt / tau_syn`` (snnTorch writes ``w_in = tau_syn / dt``: ``w``);
* ``IF``, ``I``: ``v`` jumps by ``r w``: here both peers ignore ``dt`` (Norse's ``IAFCell``: ``v += x``;
  snnTorch's importer: a ``Leaky`` fed ``x`` unscaled), so ``dv/dt = r I`` is read with time in steps, and a
  bias ``b`` adds ``r b`` per step.

**Threshold and reset.** Spike when ``v > v_threshold`` (strictly: NIR, snnTorch's ``mem > threshold``,
Norse's ``heaviside(v - v_th)``), checked once per step after the input, for every neuron node. Reset
(``reset='value'``, NIR's rule, the default): ``v = v_reset`` (NIR's default 0) at once; ``I`` is kept. This
is what snnTorch's own NIR importer runs (``reset_mechanism='zero', reset_delay=False``); for ``Leaky`` the
spikes are the same with ``reset_delay=True``, for ``Synaptic`` and ``RLeaky`` they are not. snnTorch's
*default* reset, ``'subtract'`` with ``reset_delay=True``, is not in the file (its exporter writes
``v_reset = 0`` whatever the mechanism): ``reset='subtract'`` reproduces it: the step after a spike takes
``v_threshold`` off ``v`` after the decay, ``v[t] = beta v[t-1] + x[t] - v_threshold s[t-1]`` (``clock``:
``v -= v_threshold`` at the spike).

**Semantics** (:data:`SEMANTICS`):

* ``'discrete'``: the peers' own update, once per step, in this order: the step's input ``x`` (summed weights
  of the spikes that arrived in it), the state update, the threshold, the reset. The state update is the
  forward-Euler step of the node's ODE with ``x`` (plus the bias) held over the step; ``CubaLIF`` updates ``I``
  first and ``v`` with the new ``I``::

      LIF, LI:  v = (1 - dt/tau) v + dt/tau v_leak + r dt/tau (x + b)          (snnTorch Leaky: beta v + x)
      CubaLIF:  I = (1 - dt/tau_syn) I + w_in dt/tau_syn (x + b)              (snnTorch Synaptic: alpha I + x)
                v = (1 - dt/tau_mem) v + dt/tau_mem v_leak + r dt/tau_mem I   (                  beta v + I)
      IF, I:    v = v + r (x + b)                                              (Norse IAFCell: v + x)

  There is no delay between layers: a spike in step ``n`` is input of the next layer in step ``n`` (as in a
  ``Sequential`` of snnTorch or Norse); a recurrent edge delivers it in step ``n + 1`` (snnTorch ``RLeaky``).
  Brian2 computes in float64, the peers in float32: a membrane within ~1e-7 of the threshold could be decided
  differently.
* ``'clock'``: the same jumps, threshold, reset and layer order on the same grid, but between steps the ODE
  (with the bias as a constant current) is integrated by Brian2 (``method='exact'``; ``'euler'`` for ``IF`` and
  ``I``, whose drift is constant); a crossing during a step is reported at the step's end.
* ``'exact'``: event-accurate times from :func:`brainnets.exact.lif.simulate_stack`, for a feed-forward chain
  (``Input ->`` weighted nodes ``->`` a ``LIF``, ``CubaLIF`` or ``IF`` node ``->`` weighted nodes ``->`` the next
  one ...; each layer's spikes reach the next at their own times, NIR's zero delay); input times are used as
  given (``>= 0``). See :func:`exact_layer_parameters` for the mapping onto NEST's units. ``LIF`` and ``IF``
  follow NIR's ODE as is (no refractory period; ``IF`` is ``'delta'`` with a 1e9 ms membrane time constant);
  the exact layer's step, ``exact_step_ms`` (``dt_ms`` by default), only groups the events, and a neuron that
  would spike twice within one step is an error. ``CubaLIF`` (``'exp'``) is refractory for one such step after
  each spike (its input current keeps flowing in). Recurrent graphs, skip connections and other neuron nodes
  are refused, as are ``CubaLIF`` biases.

**What the peers export** (snnTorch 1.0, Norse 1.1): snnTorch's ``export_to_nir`` assumes ``dt = 1e-4`` s
(use ``dt_ms=0.1``): ``Leaky`` -> ``LIF(tau = dt / (1 - beta), r = tau / dt, v_leak = 0, v_reset = 0)``,
``Synaptic`` -> ``CubaLIF(tau_syn = dt / (1 - alpha), tau_mem = dt / (1 - beta), r = tau_mem / dt,
w_in = tau_syn / dt)``, ``RLeaky`` -> ``LIF`` with a recurrent ``Affine``; its parameters must be per-neuron
tensors (a scalar ``beta`` makes a 0-d node that fails NIR's type check), and ``ignore_dims=[0]`` drops the
batch dimension. Norse's ``to_nir`` (default ``dt = 1e-3`` s, use ``dt_ms=1``) writes
``tau = dt / tau_inv``, i.e. ``dt`` times the real time constant (norse issue #411), and exports ``LIFCell``
as ``CubaLIF(w_in = 1, r = 1)`` although ``LIFCell`` adds its input to ``I`` unscaled (``i += x``, then ``v``
steps with the new ``i``, then ``i`` decays: the order above): :func:`repair_norse_export` turns such a file
into what Norse ran. ``LIFBoxCell`` -> ``LIF(r = 1)``, ``IAFCell`` -> ``IF(r = 1)``, ``LIBoxCell`` -> ``LI``;
per-neuron parameters need all of them per neuron (``v_leak`` too: NIR checks that the shapes agree).
"""
from __future__ import annotations

import copy
from contextlib import contextmanager
from dataclasses import dataclass, field

import nir
import numpy as np
from brian2 import (Clock, Network, NeuronGroup, SpikeMonitor, Synapses, TimedArray, get_device, ms, prefs,
                    second)
from brian2.devices.device import RuntimeDevice
from scipy import sparse

SEMANTICS = ("discrete", "clock", "exact")
RESETS = ("value", "subtract")

#: NIR neuron types by name, and the parameters each one has.
NEURON_PARAMS = {
    "LIF": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
    "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"),
    "IF": ("r", "v_threshold", "v_reset"),
    "LI": ("tau", "r", "v_leak"),
    "I": ("r",),
}
SPIKING = ("LIF", "CubaLIF", "IF")
WEIGHTED = ("Affine", "Linear", "Scale", "Flatten", "Conv2d", "SumPool2d")

CONVENTIONS = {
    "Input": "spike events (index, time_ms); an input at t acts in step ceil(t / dt); indices over the "
             "flattened shape (a leading batch dimension of 1 is harmless)",
    "Output": "reports the spikes of the spiking node that feeds it directly",
    "Affine": "y = W x + b (W: out x in); the bias is a constant input of the target neurons",
    "Linear": "y = W x (W: out x in)",
    "Scale": "y = scale * x, elementwise",
    "Flatten": "identity on the flattened (C-order) index",
    "Conv2d": "torch.nn.functional.conv2d on (C, H, W): stride, padding (int, pair, 'same', 'valid'), "
              "dilation, groups; bias per output channel, a constant input",
    "SumPool2d": "sum over kernel_size windows per channel, with stride and zero padding",
    "LIF": "tau dv/dt = v_leak - v + r I (tau in s); spike v > v_threshold, v = v_reset; a spike of weight w: "
           "v += r w dt / tau",
    "CubaLIF": "tau_syn dI/dt = -I + w_in S, tau_mem dv/dt = v_leak - v + r I (s); spike v > v_threshold, "
               "v = v_reset, I kept; a spike of weight w: I += w_in w dt / tau_syn; discrete: I, then v",
    "IF": "dv/dt = r I with t in steps (the peers ignore dt); spike v > v_threshold, v = v_reset; a spike of "
          "weight w: v += r w",
    "LI": "as LIF without spikes (may only feed Output)",
    "I": "as IF without spikes (may only feed Output)",
}


def node_conventions() -> dict[str, str]:
    """How each supported NIR node type is read (see the module's documentation for the details)."""
    return dict(CONVENTIONS)


# ---------------------------------------------------------------------------------------------------------
# Equations

#: Discrete semantics: the state is advanced once per step by ``run_regularly`` (``DISCRETE_STEP``).
#: ``IF`` and ``I`` are the voltage step with ``alpha_v = 1``, ``leak = 0``, ``gain_v = r``.
DISCRETE_STATE = """
v : 1
I : 1
x : 1                      # this step's input: summed weights of the spikes that arrived in it
pending : 1                # reset='subtract': taken off v in the next step (snnTorch's delayed reset)
alpha_v : 1 (constant)     # 1 - dt / tau
leak : 1 (constant)        # dt / tau * v_leak
gain_v : 1 (constant)      # r * dt / tau
alpha_i : 1 (constant)     # 1 - dt / tau_syn
gain_i : 1 (constant)      # w_in * dt / tau_syn
bias : 1 (constant)        # constant input (Affine and Conv2d biases)
v_threshold : 1 (constant)
v_reset : 1 (constant)
"""
VOLTAGE_STEP = "v = alpha_v * v + leak + gain_v * (x + bias) - pending\n"
CURRENT_STEP = ("I = alpha_i * I + gain_i * (x + bias)\n"
                "v = alpha_v * v + leak + gain_v * I - pending\n")
DISCRETE_STEP = {"LIF": VOLTAGE_STEP, "LI": VOLTAGE_STEP, "IF": VOLTAGE_STEP, "I": VOLTAGE_STEP,
                 "CubaLIF": CURRENT_STEP}
END_OF_STEP = "pending = 0\nx = 0\n"

#: Clock semantics: NIR's ODEs with the bias as a constant current; input spikes jump ``v`` (``I`` for
#: ``CubaLIF``) by their weight times the node's gain. ``step`` is dt (``IF``/``I``: time in steps).
CLOCK_PARAMS = """
tau : second (constant)
tau_syn : second (constant)
r : 1 (constant)
v_leak : 1 (constant)
w_in : 1 (constant)
bias : 1 (constant)
v_threshold : 1 (constant)
v_reset : 1 (constant)
"""
CLOCK_LEAKY = "dv/dt = (v_leak - v + r * bias) / tau : 1\n"
CLOCK_INTEGRATOR = "dv/dt = r * bias / step : 1\n"
CLOCK_CURRENT = """
dv/dt = (v_leak - v + r * I) / tau : 1
dI/dt = (w_in * bias - I) / tau_syn : 1
"""
CLOCK_EQUATIONS = {"LIF": CLOCK_LEAKY, "LI": CLOCK_LEAKY, "IF": CLOCK_INTEGRATOR, "I": CLOCK_INTEGRATOR,
                   "CubaLIF": CLOCK_CURRENT}

THRESHOLD = "v > v_threshold"
RESET = {("discrete", "value"): "v = v_reset", ("discrete", "subtract"): "pending = v_threshold",
         ("clock", "value"): "v = v_reset", ("clock", "subtract"): "v = v - v_threshold"}

#: An input node: fires in every step that holds spikes, ``c`` of them per index.
INPUT = "c = counts(t, i) : 1\n"


# ---------------------------------------------------------------------------------------------------------
# The graph: node kinds, parameters, shapes

def _kind(name: str, node) -> str:
    kind = type(node).__name__
    if kind in ("Input", "Output") or kind in NEURON_PARAMS or kind in WEIGHTED:
        return kind
    raise ValueError(f"NIR node {name!r} has type {kind}, which is not supported (supported: Input, Output, "
                     f"{', '.join(WEIGHTED)}, {', '.join(NEURON_PARAMS)})")


def _array(value) -> np.ndarray:
    """A float64 numpy array from a numpy array, a torch tensor or a number."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def _declared_shape(kind: str, node) -> tuple:
    """A neuron node's shape from its parameters (``()`` when they are all scalars)."""
    shapes = [_array(getattr(node, p)).shape for p in NEURON_PARAMS[kind] if getattr(node, p, None) is not None]
    return np.broadcast_shapes(*shapes) if shapes else ()


def _params(name: str, kind: str, node, size: int) -> dict[str, np.ndarray]:
    """The node's parameters, one value per neuron (``v_reset`` defaults to 0, ``w_in`` to 1)."""
    out = {}
    for p in NEURON_PARAMS[kind]:
        value = getattr(node, p, None)
        value = _array({"v_reset": 0.0, "w_in": 1.0}[p] if value is None else value).ravel()
        if value.size not in (1, size):
            raise ValueError(f"NIR node {name!r} ({kind}): {p} has {value.size} values for {size} neurons")
        out[p] = np.broadcast_to(value, (size,)).copy()
    for p in ("tau", "tau_syn", "tau_mem"):
        if p in out and np.any(out[p] <= 0):
            raise ValueError(f"NIR node {name!r} ({kind}): {p} must be > 0")
    return out


def _pair(value) -> tuple[int, int]:
    value = np.ravel(_array(value)).astype(int)
    return (int(value[0]), int(value[0])) if value.size == 1 else (int(value[0]), int(value[1]))


def _image(name: str, shape: tuple, channels: int | None = None, node=None) -> tuple[int, int, int]:
    """(C, H, W) of a convolution's or pooling's input from the shape feeding it (a leading batch dimension of
    1 is dropped; a flat input needs the Conv2d's ``input_shape``)."""
    shape = tuple(int(s) for s in shape)
    while len(shape) > 3 and shape[0] == 1:
        shape = shape[1:]
    if len(shape) == 2:
        shape = (1,) + shape
    if len(shape) != 3 and channels and getattr(node, "input_shape", None) is not None:
        spatial = tuple(int(s) for s in np.ravel(node.input_shape))
        if channels * int(np.prod(spatial)) == int(np.prod(shape)):
            shape = (channels,) + spatial
    if len(shape) != 3 or (channels is not None and shape[0] != channels):
        raise ValueError(f"NIR node {name!r}: cannot read its input of shape {shape} as "
                         f"({channels or 'C'}, H, W)")
    return shape


def conv2d_matrix(weight: np.ndarray, image: tuple[int, int, int], stride=1, padding=0, dilation=1,
                  groups: int = 1) -> tuple[sparse.csr_matrix, tuple[int, int, int]]:
    """The matrix (outputs x inputs, flattened C order) of ``torch.nn.functional.conv2d`` without bias on an
    input of shape ``image = (C, H, W)``, and the output shape."""
    c_out, c_in_group, kh, kw = weight.shape
    c_in, h, w = image
    if c_in != c_in_group * groups or c_out % groups:
        raise ValueError(f"conv2d: {c_in} input channels do not fit weight {weight.shape} with groups={groups}")
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    if isinstance(padding, (bytes, np.bytes_)):
        padding = padding.decode()
    if isinstance(padding, str):
        if padding == "valid":
            (ph, pw), (h_out, w_out) = (0, 0), ((h - dh * (kh - 1) - 1) // sh + 1, (w - dw * (kw - 1) - 1) // sw + 1)
        elif padding == "same" and (sh, sw) == (1, 1):
            (ph, pw), (h_out, w_out) = (dh * (kh - 1) // 2, dw * (kw - 1) // 2), (h, w)  # torch: extra at the end
        else:
            raise ValueError(f"conv2d: padding {padding!r} with stride {(sh, sw)} is not supported")
    else:
        ph, pw = _pair(padding)
        h_out, w_out = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    co, ci, ky, kx, oy, ox = np.meshgrid(np.arange(c_out), np.arange(c_in_group), np.arange(kh), np.arange(kw),
                                         np.arange(h_out), np.arange(w_out), indexing="ij", sparse=True)
    iy, ix = oy * sh - ph + ky * dh, ox * sw - pw + kx * dw
    channel = (co // (c_out // groups)) * c_in_group + ci
    shape = np.broadcast_shapes(co.shape, ci.shape, ky.shape, kx.shape, oy.shape, ox.shape)
    valid = np.broadcast_to((iy >= 0) & (iy < h) & (ix >= 0) & (ix < w), shape)
    rows = np.broadcast_to((co * h_out + oy) * w_out + ox, shape)[valid]
    cols = np.broadcast_to((channel * h + iy) * w + ix, shape)[valid]
    values = np.broadcast_to(weight[co, ci, ky, kx], shape)[valid]
    matrix = sparse.coo_matrix((values, (rows, cols)), shape=(c_out * h_out * w_out, c_in * h * w)).tocsr()
    return matrix, (c_out, h_out, w_out)


def _weighted_map(name: str, kind: str, node, shape: tuple):
    """(matrix, bias or None, output shape) of a weighted node fed by a signal of ``shape``."""
    n_in = int(np.prod(shape))
    if kind in ("Affine", "Linear"):
        weight = _array(node.weight)
        if weight.ndim != 2 or weight.shape[1] != n_in:
            raise ValueError(f"NIR node {name!r} ({kind}): weight {weight.shape} does not take {n_in} inputs")
        bias = _array(node.bias).ravel() if kind == "Affine" and node.bias is not None else None
        if bias is not None and bias.size not in (1, weight.shape[0]):
            raise ValueError(f"NIR node {name!r} (Affine): bias has {bias.size} values for {weight.shape[0]}")
        return sparse.csr_matrix(weight), bias, (weight.shape[0],)
    if kind == "Scale":
        scale = _array(node.scale).ravel()
        if scale.size not in (1, n_in):
            raise ValueError(f"NIR node {name!r} (Scale): {scale.size} factors for {n_in} inputs")
        return sparse.diags(np.broadcast_to(scale, (n_in,))).tocsr(), None, shape
    if kind == "Flatten":
        try:
            out = tuple(int(s) for s in nir.ir.utils.calc_flatten_output(list(shape), node.start_dim, node.end_dim))
        except (IndexError, ValueError):
            out = (n_in,)
        return sparse.identity(n_in, format="csr"), None, out if int(np.prod(out)) == n_in else (n_in,)
    if kind == "Conv2d":
        weight = _array(node.weight)
        if weight.ndim != 4:
            raise ValueError(f"NIR node {name!r} (Conv2d): weight must be (C_out, C_in / groups, kH, kW)")
        image = _image(name, shape, weight.shape[1] * int(node.groups), node)
        matrix, out = conv2d_matrix(weight, image, node.stride, node.padding, node.dilation, int(node.groups))
        bias = None if node.bias is None else np.repeat(np.broadcast_to(_array(node.bias).ravel(), (out[0],)),
                                                         out[1] * out[2])
        return matrix, bias, out
    # SumPool2d: a grouped convolution with unit kernels
    image = _image(name, shape)
    kernel = np.ones((image[0], 1) + _pair(node.kernel_size))
    matrix, out = conv2d_matrix(kernel, image, node.stride, node.padding, 1, image[0])
    return matrix, None, out


@dataclass
class Connection:
    """One collapsed path: ``weights[j, i]`` from neuron ``i`` of ``source`` to neuron ``j`` of ``target``."""
    source: str
    target: str
    weights: sparse.csr_matrix


@dataclass
class Layer:
    """A neuron node (or an Input node: ``kind == 'Input'``)."""
    name: str
    kind: str
    size: int
    params: dict = field(default_factory=dict)
    bias: np.ndarray | None = None  # summed constant input of each neuron
    rank: int = 0                   # position in the feed-forward order


@dataclass
class Collapsed:
    """The graph as neuron layers and weight matrices between them."""
    layers: dict[str, Layer]
    connections: list[Connection]
    outputs: dict[str, str]         # Output node -> the spiking node that feeds it


def collapse(graph: nir.NIRGraph) -> Collapsed:
    """Neuron and Input nodes, and the composed affine map between each pair of them."""
    nodes = dict(graph.nodes)
    kinds = {name: _kind(name, node) for name, node in nodes.items()}
    preds = {name: [] for name in nodes}
    for src, dst in graph.edges:
        if src not in nodes or dst not in nodes:
            raise ValueError(f"edge ({src!r}, {dst!r}) names a node that is not in the graph")
        preds[dst].append(src)
    is_source = {name: kinds[name] == "Input" or kinds[name] in NEURON_PARAMS for name in nodes}

    shapes: dict[str, tuple] = {}

    def output_shape(name, visiting=frozenset()):
        if name in shapes:
            return shapes[name]
        kind, node = kinds[name], nodes[name]
        if kind == "Input":
            shape = tuple(int(s) for s in np.atleast_1d(node.input_type["input"]))
        elif kind in NEURON_PARAMS:
            shape = tuple(_declared_shape(kind, node))
            if int(np.prod(shape)) <= 1:  # scalar parameters: the layer has the size of its input
                inputs = [output_shape(p, visiting | {name}) for p in preds[name] if p not in visiting]
                shape = next((s for s in inputs if s is not None), shape or (1,))
        elif name in visiting:
            return None
        else:
            inputs = [output_shape(p, visiting | {name}) for p in preds[name]]
            inputs = [s for s in inputs if s is not None]
            if not inputs:
                raise ValueError(f"NIR node {name!r} ({kind}) has no input")
            shape = _weighted_map(name, kind, node, inputs[0])[2]
        shapes[name] = shape
        return shape

    maps: dict[str, tuple] = {}

    def output_map(name, stack=()):
        """The node's output as ``({source: matrix}, constant)``."""
        if is_source[name]:
            n = int(np.prod(output_shape(name)))
            return {name: sparse.identity(n, format="csr")}, np.zeros(n)
        if name in maps:
            return maps[name]
        if name in stack:
            raise ValueError(f"NIR node {name!r} ({kinds[name]}) is on a loop without a neuron node")
        terms, constant = input_map(name, stack + (name,))
        matrix, bias, _ = _weighted_map(name, kinds[name], nodes[name], input_shape(name))
        terms = {s: matrix @ m for s, m in terms.items()}
        constant = matrix @ constant + (0.0 if bias is None else bias)
        maps[name] = terms, constant
        return maps[name]

    def input_shape(name):
        shapes_in = [output_shape(p) for p in preds[name]]
        sizes = {int(np.prod(s)) for s in shapes_in if s is not None}
        if len(sizes) > 1:
            raise ValueError(f"NIR node {name!r} ({kinds[name]}) gets inputs of different sizes {sorted(sizes)}")
        return next(s for s in shapes_in if s is not None)

    def input_map(name, stack=()):
        terms, constant = {}, None
        for p in preds[name]:
            p_terms, p_constant = output_map(p, stack)
            for s, m in p_terms.items():
                terms[s] = terms[s] + m if s in terms else m
            constant = p_constant if constant is None else constant + p_constant
        return terms, constant

    layers, connections, outputs = {}, [], {}
    for name, kind in kinds.items():
        if kind == "Input":
            layers[name] = Layer(name, kind, int(np.prod(output_shape(name))))
    for name, kind in kinds.items():
        if kind not in NEURON_PARAMS:
            continue
        size = int(np.prod(output_shape(name)))
        terms, constant = input_map(name)
        for source, weights in terms.items():
            if weights.shape != (size, int(np.prod(output_shape(source)))):
                raise ValueError(f"NIR node {name!r} ({kind}): input from {source!r} has shape {weights.shape}, "
                                 f"expected {size} neurons")
            if kinds[source] in ("LI", "I"):
                raise ValueError(f"NIR node {source!r} ({kinds[source]}) has no spikes: it may only feed Output "
                                 f"nodes, not {name!r}")
            weights = weights.tocsr()
            weights.eliminate_zeros()
            if weights.nnz:
                connections.append(Connection(source, name, weights))
        bias = np.zeros(size) if constant is None else np.broadcast_to(constant, (size,)).astype(float)
        layers[name] = Layer(name, kind, size, _params(name, kind, nodes[name], size), bias)
    for name, kind in kinds.items():
        if kind == "Output" and len(preds[name]) == 1 and kinds[preds[name][0]] in SPIKING:
            outputs[name] = preds[name][0]
    _rank(layers, connections)
    return Collapsed(layers, connections, outputs)


def _rank(layers: dict[str, Layer], connections: list[Connection]) -> None:
    """Number the neuron layers in feed-forward order (depth-first from the inputs; an edge back to a layer
    on the current path is recurrent and does not count)."""
    after = {name: [] for name in layers}
    for c in connections:
        after[c.source].append(c.target)
    order, state = [], {}

    def visit(name):
        state[name] = "open"
        for nxt in after[name]:
            if nxt not in state:
                visit(nxt)
        state[name] = "done"
        order.append(name)

    for name, layer in layers.items():
        if layer.kind == "Input" and name not in state:
            visit(name)
    for name in layers:
        if name not in state:
            visit(name)
    for rank, name in enumerate(reversed(order)):
        layers[name].rank = rank


# ---------------------------------------------------------------------------------------------------------
# Inputs

def input_steps(collapsed: Collapsed, inputs: dict, dt_ms: float, n_steps: int) -> dict[str, np.ndarray]:
    """For each Input node, the spike counts ``(n_steps, size)`` per step (an input at ``t`` counts in step
    ``ceil(t / dt)``, up to a relative 1e-9 of a step)."""
    names = [n for n, layer in collapsed.layers.items() if layer.kind == "Input"]
    unknown = set(inputs) - set(names)
    if unknown:
        raise ValueError(f"inputs name {sorted(unknown)}, which are not Input nodes of the graph ({names})")
    counts = {}
    for name in names:
        size = collapsed.layers[name].size
        index, times = _events(name, inputs.get(name), size)
        steps = np.ceil(times / dt_ms - 1e-9).astype(np.int64)
        keep = steps < n_steps
        table = np.zeros((n_steps, size))
        np.add.at(table, (steps[keep], index[keep]), 1.0)
        counts[name] = table
    return counts


def _events(name: str, events, size: int) -> tuple[np.ndarray, np.ndarray]:
    if events is None:
        return np.zeros(0, np.int64), np.zeros(0)
    index, times = (np.asarray(a) for a in events)
    index, times = index.astype(np.int64).ravel(), times.astype(float).ravel()
    if index.shape != times.shape:
        raise ValueError(f"input {name!r}: {index.size} indices but {times.size} times")
    if index.size and (index.min() < 0 or index.max() >= size):
        raise ValueError(f"input {name!r}: indices must lie in [0, {size})")
    if np.any(~np.isfinite(times)) or np.any(times < 0):
        raise ValueError(f"input {name!r}: times must be finite and >= 0 ms")
    return index, times


# ---------------------------------------------------------------------------------------------------------
# The Brian2 network (discrete and clock semantics)

@dataclass
class Built:
    """The Brian2 objects of a graph: run ``network`` for ``n_steps`` steps of ``dt_ms``."""
    network: Network
    groups: dict[str, NeuronGroup]
    monitors: dict[str, SpikeMonitor]
    collapsed: Collapsed
    dt_ms: float
    n_steps: int


def _discrete_values(layer: Layer, dt_s: float) -> dict[str, np.ndarray]:
    p = layer.params
    values = dict(bias=layer.bias, v=p.get("v_leak", np.zeros(layer.size)))
    if layer.kind in ("IF", "I"):
        values.update(alpha_v=1.0, leak=0.0, gain_v=p["r"])
    else:
        k = dt_s / p["tau_mem" if layer.kind == "CubaLIF" else "tau"]
        values.update(alpha_v=1.0 - k, leak=k * p["v_leak"], gain_v=p["r"] * k)
    if layer.kind == "CubaLIF":
        k = dt_s / p["tau_syn"]
        values.update(alpha_i=1.0 - k, gain_i=p["w_in"] * k)
    return values


def _clock_values(layer: Layer) -> dict:
    p = layer.params
    values = dict(bias=layer.bias, r=p["r"], v=p.get("v_leak", np.zeros(layer.size)))
    if layer.kind == "CubaLIF":
        values.update(tau=p["tau_mem"] * second, tau_syn=p["tau_syn"] * second, w_in=p["w_in"])
    elif "tau" in p:
        values["tau"] = p["tau"] * second
    if "v_leak" in p:
        values["v_leak"] = values["v"]
    return values


def jump_gain(layer: Layer, dt_s: float) -> np.ndarray:
    """What one input of weight 1 adds to ``v`` (``I`` for CubaLIF) of each neuron of ``layer``."""
    p = layer.params
    if layer.kind in ("IF", "I"):
        return p["r"]
    if layer.kind == "CubaLIF":
        return p["w_in"] * dt_s / p["tau_syn"]
    return p["r"] * dt_s / p["tau"]


def _neuron_group(layer: Layer, semantics: str, reset: str, dt_ms: float, clock: Clock, name: str) -> NeuronGroup:
    spiking = layer.kind in SPIKING
    threshold = dict(threshold=THRESHOLD, reset=RESET[semantics, reset]) if spiking else {}
    if semantics == "discrete":
        group = NeuronGroup(layer.size, DISCRETE_STATE, clock=clock, name=name, **threshold)
        values = _discrete_values(layer, dt_ms / 1000.0)
        group.run_regularly(DISCRETE_STEP[layer.kind] + END_OF_STEP, when="synapses", order=10 * layer.rank + 1,
                            name=f"{name}_step")
    else:
        equations = CLOCK_EQUATIONS[layer.kind]
        if layer.kind == "CubaLIF":
            same = np.isclose(layer.params["tau_syn"], layer.params["tau_mem"], rtol=1e-9, atol=0)
            if same.all():  # the general solution divides by tau_mem - tau_syn
                equations = equations.replace("tau_syn", "tau")
            elif same.any():
                raise ValueError(f"NIR node {layer.name!r} (CubaLIF): tau_syn == tau_mem for some neurons only "
                                 f"is not supported by the clock semantics")
        method = "euler" if layer.kind in ("IF", "I") else "exact"  # a constant drift: Euler is exact
        group = NeuronGroup(layer.size, equations + CLOCK_PARAMS, method=method, clock=clock, name=name,
                            namespace=dict(step=dt_ms * ms), **threshold)
        group.state_updater.when = "end"  # jumps, threshold and reset at t, then the ODE from t to t + dt
        values = _clock_values(layer)
    for key, value in values.items():
        setattr(group, key, value)
    if spiking:
        group.v_threshold = layer.params["v_threshold"]
        group.v_reset = layer.params["v_reset"]
        for part, offset in (("thresholder", 2), ("resetter", 3)):
            runner = getattr(group, part)["spike"]
            runner.when, runner.order = "synapses", 10 * layer.rank + offset
    return group


def build_network(graph: nir.NIRGraph, inputs: dict, duration_ms: float, dt_ms: float,
                  semantics: str = "discrete", reset: str = "value") -> Built:
    """The Brian2 network of ``graph`` (discrete or clock semantics) fed with ``inputs``; see
    :func:`simulate_graph`. Add monitors to ``built.network`` (e.g. of an LI node's ``v``) before running it."""
    if semantics not in ("discrete", "clock"):
        raise ValueError(f"build_network: semantics must be 'discrete' or 'clock', not {semantics!r}")
    if reset not in RESETS:
        raise ValueError(f"unknown reset {reset!r}; choose one of {RESETS}")
    collapsed = collapse(graph)
    n_steps = int(round(duration_ms / dt_ms))
    counts = input_steps(collapsed, inputs, dt_ms, n_steps)
    with _numpy_runtime():
        return _build(collapsed, counts, n_steps, dt_ms, semantics, reset)


def _build(collapsed: Collapsed, counts: dict, n_steps: int, dt_ms: float, semantics: str, reset: str) -> Built:
    clock = Clock(dt=dt_ms * ms)
    groups, monitors, network = {}, {}, Network()
    for index, (name, layer) in enumerate(collapsed.layers.items()):
        label = f"nir{index}_{layer.kind.lower()}"
        if layer.kind == "Input":
            group = NeuronGroup(layer.size, INPUT, threshold="c > 0", reset="", clock=clock, name=label,
                                namespace=dict(counts=TimedArray(counts[name], dt=dt_ms * ms)))
        else:
            group = _neuron_group(layer, semantics, reset, dt_ms, clock, label)
            if layer.kind in SPIKING:
                monitors[name] = SpikeMonitor(group, when="end", name=f"{label}_spikes")
                network.add(monitors[name])
        groups[name] = group
        network.add(group)
    dt_s = dt_ms / 1000.0
    for index, c in enumerate(collapsed.connections):
        target = collapsed.layers[c.target]
        weights = c.weights.tocoo()
        values = weights.data
        if semantics == "discrete":
            variable = "x"
        else:
            variable = "I" if target.kind == "CubaLIF" else "v"
            values = values * jump_gain(target, dt_s)[weights.row]
        count = " * c_pre" if collapsed.layers[c.source].kind == "Input" else ""
        synapses = Synapses(groups[c.source], groups[c.target], "w : 1 (constant)",
                            on_pre=f"{variable}_post += w{count}", clock=clock, name=f"nir_syn{index}",
                            namespace=groups[c.source].namespace)  # an Input's count table
        synapses.connect(i=weights.col, j=weights.row)
        synapses.w = values
        # before the target's update: this step's spikes of earlier layers, the last step's of later ones
        synapses.pre.when, synapses.pre.order = "synapses", 10 * target.rank
        network.add(synapses)
    return Built(network, groups, monitors, collapsed, dt_ms, n_steps)


@contextmanager
def _numpy_runtime():
    """Brian2's runtime mode with the numpy target (small networks: generating code beats compiling it)."""
    if not isinstance(get_device(), RuntimeDevice):
        raise RuntimeError("NIR graphs run in Brian2's runtime mode; call brainnets.devices.use_device('runtime')")
    target = prefs.codegen.target
    prefs.codegen.target = "numpy"
    try:
        yield
    finally:
        prefs.codegen.target = target


def run_network(built: Built) -> dict[str, list[np.ndarray]]:
    """Run a built network; the spike times of its spiking nodes (as :func:`simulate_graph`)."""
    with _numpy_runtime():
        built.network.run(built.n_steps * built.dt_ms * ms)
    out = {}
    for name, monitor in built.monitors.items():
        steps = np.round(np.asarray(monitor.t[:] / ms) / built.dt_ms).astype(np.int64)
        index = np.asarray(monitor.i[:])
        size = built.collapsed.layers[name].size
        out[name] = [np.sort(steps[index == j]) * built.dt_ms for j in range(size)]
    return out


# ---------------------------------------------------------------------------------------------------------
# Exact semantics: brainnets.exact.lif

EXACT_MODELS = {"LIF": "delta", "IF": "delta", "CubaLIF": "exp"}
#: ``IF`` as a leaky neuron with this membrane time constant (ms).
IF_TAU_MS = 1e9


def exact_layer_parameters(layer: Layer, dt_ms: float, step_ms: float | None = None
                           ) -> tuple[str, list[dict], np.ndarray]:
    """The model of :mod:`brainnets.exact.lif`, its parameters (NEST's units) for each neuron of ``layer``, and
    the factor that turns a NIR weight into that model's weight (mV for 'delta', pA for 'exp') per neuron.

    ``LIF`` -> 'delta': ``E_L = V_m = v_leak``, ``V_th``, ``V_reset``, ``tau_m = 1000 tau`` ms, ``C_m = tau_m``
    and ``I_e = r b`` (so that ``I_e / C_m = r b / tau_m``), weight ``r w dt / tau`` mV.
    ``CubaLIF`` -> 'exp': ``tau_m = 1000 tau_mem``, ``tau_syn_ex = tau_syn_in = 1000 tau_syn`` ms,
    ``C_m = tau_m / r`` (NEST's ``I / C_m`` is NIR's ``r I / tau_mem``), weight ``w_in w dt / tau_syn`` pA.
    ``IF`` -> 'delta' with ``tau_m = 1e9`` ms, ``C_m = 1``, ``I_e = r b / dt_ms``, weight ``r w`` mV.
    NIR has no refractory period: ``t_ref = 0`` for ``LIF`` and ``IF``; ``CubaLIF`` gets ``t_ref = step_ms``, the
    exact layer's step (``dt_ms`` by default), the least 'exp' allows. ``dt`` in the weights stays the peer's
    step ``dt_ms``: the area of an input pulse.
    """
    model, p, dt_s = EXACT_MODELS[layer.kind], layer.params, dt_ms / 1000.0
    step_ms = dt_ms if step_ms is None else step_ms
    params = []
    for j in range(layer.size):
        common = dict(V_th=p["v_threshold"][j], V_reset=p["v_reset"][j],
                      t_ref=step_ms if model == "exp" else 0.0)
        if layer.kind == "LIF":
            tau_m = 1000.0 * p["tau"][j]
            params.append(dict(common, E_L=p["v_leak"][j], V_m=p["v_leak"][j], tau_m=tau_m, C_m=tau_m,
                               I_e=p["r"][j] * layer.bias[j]))
        elif layer.kind == "IF":
            params.append(dict(common, E_L=0.0, V_m=0.0, tau_m=IF_TAU_MS, C_m=1.0,
                               I_e=p["r"][j] * layer.bias[j] / dt_ms))
        else:
            if layer.bias[j] != 0:
                raise ValueError(f"NIR node {layer.name!r} (CubaLIF): a bias is a current filtered by tau_syn, "
                                 f"which the exact semantics does not model")
            tau_m = 1000.0 * p["tau_mem"][j]
            params.append(dict(common, E_L=p["v_leak"][j], V_m=p["v_leak"][j], tau_m=tau_m,
                               C_m=tau_m / p["r"][j], tau_syn_ex=1000.0 * p["tau_syn"][j],
                               tau_syn_in=1000.0 * p["tau_syn"][j], I_e=0.0))
    return model, params, jump_gain(layer, dt_s)


def _exact_chain(collapsed: Collapsed) -> list[Layer]:
    """The neuron layers of a feed-forward chain (Input nodes -> layer 0 -> layer 1 -> ...), in order; any
    other topology is refused."""
    layers = collapsed.layers
    neurons = sorted((layer for layer in layers.values() if layer.kind != "Input"), key=lambda layer: layer.rank)
    kinds = [f"{layer.name!r} ({layer.kind})" for layer in neurons]
    if not neurons:
        raise ValueError("the exact semantics needs a LIF, CubaLIF or IF node; this graph has none")
    for layer in neurons:
        if layer.kind not in EXACT_MODELS:
            raise ValueError(f"the exact semantics takes LIF, CubaLIF and IF nodes only; NIR node {layer.name!r} "
                             f"is {layer.kind} (the graph's neuron nodes: {kinds})")
    sources = {layer.name: {c.source for c in collapsed.connections if c.target == layer.name} for layer in neurons}
    for c in collapsed.connections:
        source, target = layers[c.source], layers[c.target]
        if c.source == c.target or (source.kind != "Input" and source.rank >= target.rank):
            raise ValueError(f"the exact semantics does not take recurrent connections (NIR node {c.target!r} "
                             f"fed by {c.source!r})")
    for k, layer in enumerate(neurons):
        inputs = {s for s in sources[layer.name] if layers[s].kind == "Input"}
        spiking = sources[layer.name] - inputs
        if k == 0 and spiking:
            raise ValueError(f"the exact semantics: NIR node {layer.name!r} is the first neuron node but is fed by "
                             f"{sorted(spiking)}")
        if k > 0 and (inputs or spiking - {neurons[k - 1].name}):
            raise ValueError(f"the exact semantics takes a feed-forward chain of neuron nodes (Input -> "
                             f"{' -> '.join(n.name for n in neurons)}), each fed only by the one before it; NIR "
                             f"node {layer.name!r} is fed by {sorted(sources[layer.name])}")
    return neurons


def _simulate_exact(graph: nir.NIRGraph, inputs: dict, duration_ms: float, dt_ms: float, reset: str,
                    step_ms: float | None):
    from ..exact import lif

    if reset != "value":
        raise ValueError("the exact semantics has reset='value' only")
    collapsed = collapse(graph)
    chain = _exact_chain(collapsed)
    first = chain[0]
    # one input index space over all Input nodes
    offsets, weights, sources, times = {}, [], [], []
    for name, in_layer in collapsed.layers.items():
        if in_layer.kind == "Input":
            offsets[name] = sum(w.shape[0] for w in weights)
            matrix = sum((c.weights for c in collapsed.connections if c.source == name),
                         sparse.csr_matrix((first.size, in_layer.size)))
            weights.append(matrix.T.toarray())
            index, t = _events(name, inputs.get(name), in_layer.size)
            sources.append(index + offsets[name])
            times.append(t)
    unknown = set(inputs) - set(offsets)
    if unknown:
        raise ValueError(f"inputs name {sorted(unknown)}, which are not Input nodes of the graph")
    weights_per_layer = [np.concatenate(weights, axis=0) if weights else np.zeros((0, first.size))]
    for before, layer in zip(chain[:-1], chain[1:]):
        matrix = sum((c.weights for c in collapsed.connections if c.source == before.name),
                     sparse.csr_matrix((layer.size, before.size)))
        weights_per_layer.append(matrix.T.toarray())
    events = (np.concatenate(sources), np.concatenate(times))
    models, params_per_layer = [], []
    for k, layer in enumerate(chain):
        model, params, gain = exact_layer_parameters(layer, dt_ms, step_ms)
        models.append(model)
        params_per_layer.append(params[0] if all(p == params[0] for p in params) else params)
        weights_per_layer[k] = weights_per_layer[k] * gain[None, :]
    if weights_per_layer[0].shape[0] == 0:  # no Input node: one silent input channel
        weights_per_layer[0] = np.zeros((1, first.size))
    layer_times = lif.simulate_stack(models, params_per_layer, weights_per_layer, events, duration_ms,
                                     step_ms or dt_ms)
    out = {}
    for layer, spikes in zip(chain, layer_times):
        spikes = [np.asarray(t) for t in spikes]
        out[layer.name] = spikes
        out.update({o: spikes for o, src in collapsed.outputs.items() if src == layer.name})
    return out


# ---------------------------------------------------------------------------------------------------------
# The API

def simulate_graph(graph: "nir.NIRGraph", inputs: dict[str, tuple[np.ndarray, np.ndarray]], duration_ms: float,
                   dt_ms: float, semantics: str = "discrete", *, reset: str = "value",
                   exact_step_ms: float | None = None) -> dict[str, list[np.ndarray]]:
    """Spike times of a NIR graph driven by input spikes.

    ``inputs``: for each Input node name, ``(neuron indices, spike times in ms)`` (indices over its flattened
    shape; an Input node left out gets no spikes). ``duration_ms``: steps ``0 .. round(duration / dt) - 1`` are
    simulated. ``dt_ms``: the peer's time step (snnTorch's exporter: 0.1 ms, Norse's: 1 ms). ``semantics``:
    'discrete', 'clock' or 'exact' (see the module documentation); ``reset``: 'value' (NIR) or 'subtract'
    (snnTorch's default reset; not for 'exact'); ``exact_step_ms``: the exact semantics' processing step
    (``dt_ms`` by default; a neuron may spike once per step; for ``CubaLIF`` also its refractory period: smaller
    is closer to NIR, slower).

    Returns, for every spiking node (IF, LIF, CubaLIF) and every Output node fed directly by one, the spike
    times (ms) of each of its neurons: one sorted array per neuron, in flattened index order.
    """
    if semantics not in SEMANTICS:
        raise ValueError(f"unknown semantics {semantics!r}; choose one of {SEMANTICS}")
    if dt_ms <= 0 or duration_ms < 0:
        raise ValueError("dt_ms must be > 0 and duration_ms >= 0")
    if semantics == "exact":
        return _simulate_exact(graph, inputs, duration_ms, dt_ms, reset, exact_step_ms)
    built = build_network(graph, inputs, duration_ms, dt_ms, semantics, reset)
    out = run_network(built)
    out.update({o: out[src] for o, src in built.collapsed.outputs.items()})
    return out


def repair_norse_export(graph: nir.NIRGraph, dt_s: float = 1e-3) -> nir.NIRGraph:
    """A copy of a graph written by Norse's ``to_nir`` (Norse <= 1.1, time step ``dt_s``) that states what
    Norse runs: time constants divided by ``dt_s`` (Norse writes ``dt / tau_inv``, norse issue #411), and
    for ``CubaLIF`` (Norse's ``LIFCell``, which adds its input to ``I`` unscaled) ``w_in = tau_syn / dt``.
    Parameters become numpy arrays."""
    graph = copy.deepcopy(graph)
    for node in graph.nodes.values():
        for p in ("tau", "tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"):
            if getattr(node, p, None) is not None:
                setattr(node, p, _array(getattr(node, p)))
        for p in ("tau", "tau_syn", "tau_mem"):
            if getattr(node, p, None) is not None:
                setattr(node, p, getattr(node, p) / dt_s)
        if isinstance(node, nir.CubaLIF):
            node.w_in = node.w_in * node.tau_syn / dt_s
    return graph
