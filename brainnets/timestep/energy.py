"""Compute energy of a spiking network against its ANN twin (Rathi 2021, Sec 5.5, Eqs. 5.18-5.21).

An ANN layer does one multiply-accumulate (MAC) per weight use; its count is, for a convolution and a fully
connected layer::

    #OP_ANN = k_w k_h c_in h_out w_out c_out          (5.18)
    #OP_ANN = f_in f_out                              (5.19)

In the SNN an input spike costs one addition per synapse it reaches (its fan-out), so a layer whose input
neurons fire ``SpikeRate`` spikes each over the T steps does::

    #OP_SNN = SpikeRate × #OP_ANN                     (5.20)
    SpikeRate = (spikes of the input layer over all T steps) / (its neurons)      (5.21)

additions. A layer whose input is analog (the first layer under direct input coding) multiplies, and is counted
as the ANN's MACs, once per image, as Table 5.3 counts DIET-SNN's first layer. The ratio is then::

    E_ANN / E_SNN = Σ_l #OP_ANN,l e_MAC / (Σ_analog #OP_ANN,l e_MAC + Σ_spiking #OP_SNN,l e_ADD)

with the energies per operation of 45 nm CMOS, 32-bit floating point (Table 5.4, after Horowitz 2014), which
the model files hold as ``[energy] e_mac`` and ``e_add``. Pooling is not counted (Eqs. 5.18-5.19 count
convolutions and fully connected layers only); average pooling keeps a rate per neuron, so a layer after a
pooling step is driven at the rate of the spiking layer before the pool. Under Poisson input the first layer
adds too, at the input's own spike rate.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from torch import nn

from .network import TimestepNet


@dataclass(frozen=True)
class LayerCost:
    """One convolution or fully connected layer: its ANN operations (Eqs. 5.18-5.19) and the spike rate of its
    input (Eq. 5.21; ``None`` when the input is analog, the layer then costing MACs)."""

    kind: str
    ann_operations: int
    input_rate: float | None

    @property
    def snn_operations(self) -> float:
        """Eq. 5.20 for a spike-driven layer; the MAC count itself for an analog-driven one."""
        return self.ann_operations if self.input_rate is None else self.input_rate * self.ann_operations


@dataclass(frozen=True)
class Energy:
    """The compute energy of one image in both networks, in the unit of ``e_mac`` and ``e_add`` (pJ)."""

    layers: list[LayerCost]
    ann: float
    snn: float

    @property
    def ratio(self) -> float:
        """``E_ANN / E_SNN``: how many times less compute energy the SNN needs."""
        return self.ann / self.snn

    @property
    def first_layer_share(self) -> float:
        """The share of the ANN's operations done as MACs by the SNN too (Table 5.3's ``c``)."""
        analog = sum(layer.ann_operations for layer in self.layers if layer.input_rate is None)
        return analog / sum(layer.ann_operations for layer in self.layers)


def layer_costs(net: TimestepNet, layer_rates: Sequence[float], input_rate: float | None = None) -> list[LayerCost]:
    """The operations of each convolution and fully connected layer of ``net``, in order, with the spike rate
    that drives it: ``layer_rates`` per spiking layer (Eq. 5.21, as
    :func:`brainnets.timestep.conversion.evaluate` returns them), ``input_rate`` that of a Poisson input
    (``None``: direct, analog input)."""
    if len(layer_rates) != len(net.layer_neurons):
        raise ValueError(f"{len(net.layer_neurons)} spiking layers, but {len(layer_rates)} spike rates")
    shape = net.input_shape
    rate = input_rate
    spiking = 0
    costs = []
    for synapse, layer in zip(net.synapses, net.layers):
        if isinstance(synapse, nn.AvgPool2d):
            size = synapse.kernel_size
            shape = (shape[0], shape[1] // size, shape[2] // size)
            continue
        if isinstance(synapse, nn.Conv2d):
            (k_h, k_w), (s_h, s_w), (p_h, p_w) = synapse.kernel_size, synapse.stride, synapse.padding
            h_out = (shape[1] + 2 * p_h - k_h) // s_h + 1
            w_out = (shape[2] + 2 * p_w - k_w) // s_w + 1
            operations = k_w * k_h * synapse.in_channels * h_out * w_out * synapse.out_channels   # Eq. 5.18
            shape = (synapse.out_channels, h_out, w_out)
            kind = "conv"
        else:
            linear = synapse[-1]
            operations = linear.in_features * linear.out_features                                 # Eq. 5.19
            shape = (linear.out_features,)
            kind = "fc"
        costs.append(LayerCost(kind, operations, rate))
        if isinstance(layer, nn.Sequential):
            rate = float(layer_rates[spiking])
            spiking += 1
    return costs


def compute_energy(net: TimestepNet, layer_rates: Sequence[float], e_mac: float, e_add: float,
                   input_rate: float | None = None) -> Energy:
    """The compute energy per image of ``net`` as an ANN (all MACs) and as an SNN (additions driven by spikes,
    MACs where the input is analog)."""
    costs = layer_costs(net, layer_rates, input_rate)
    ann = sum(cost.ann_operations for cost in costs) * e_mac
    snn = sum(cost.snn_operations * (e_mac if cost.input_rate is None else e_add) for cost in costs)
    return Energy(costs, ann, snn)


def energy_ratio_vs_ann(net: TimestepNet, layer_rates: Sequence[float], document: dict,
                        input_rate: float | None = None) -> float:
    """``E_ANN / E_SNN`` with the energies per operation of the model file's ``[energy]`` table."""
    table = document["energy"]
    return compute_energy(net, layer_rates, float(table["e_mac"]), float(table["e_add"]), input_rate).ratio
