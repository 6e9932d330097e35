"""Small networks with known answers, shared by the TTFS tests."""
import numpy as np

from brainnets.ttfs.layers import Conv, Dense, MaxPool
from brainnets.ttfs.relu import BatchNorm, HiddenLayer, ReLUNetwork
from brainnets.ttfs.spec import Readout, SNNSpec, SpikingLayer


def small_convnet(rng) -> ReLUNetwork:
    """conv 3@3x3 (padded, batch norm, 2x2 max pool) -> dense 20 -> 4 logits, on 8x8 inputs."""
    bn = BatchNorm(rng.normal(0, .1, 3), rng.uniform(.5, 2, 3), rng.uniform(.5, 2, 3) * [1, -1, 1],
                   rng.normal(0, .1, 3))
    conv = HiddenLayer(Conv(rng.normal(0, .4, (3, 1, 3, 3)), (1, 8, 8), padding=1), rng.normal(0, .1, 3), bn,
                       MaxPool((3, 8, 8)))
    dense = HiddenLayer(Dense(rng.normal(0, .4, (20, 48))), rng.normal(0, .1, 20))
    return ReLUNetwork((1, 8, 8), [conv, dense], Dense(rng.normal(0, .5, (4, 20))), rng.normal(0, .1, 4))


def one_neuron(weights, theta, t_min=1.0, t_max=3.0, alpha=0.0, t_ramp=None) -> SNNSpec:
    """Inputs -> one spiking neuron -> a readout that copies it."""
    layer = SpikingLayer(Dense(np.array([weights], dtype=float)), np.array([alpha]), np.array([theta]),
                         t_min if t_ramp is None else t_ramp, t_min, t_max)
    return SNNSpec((len(weights),), [layer], Readout(Dense(np.ones((1, 1))), np.zeros(1), t_min, t_max))
