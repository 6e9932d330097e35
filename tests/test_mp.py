"""Margin propagation (brainnets.mp) against analytic results, numpy oracles and autograd checks."""
import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from brainnets.config import read_toml  # noqa: E402
from brainnets.mp import approximation, experiment, memory, porting, spiking  # noqa: E402
from brainnets.mp.layers import Gamma, MPLinear, MPNetwork, calibrate, port  # noqa: E402
from brainnets.mp.solvers import (condat_threshold, excess, mp_threshold, threshold_bisection,  # noqa: E402
                                  threshold_sort)

F64 = torch.float64


@pytest.fixture(autouse=True)
def one_thread(torch_one_thread):
    """Every test here runs with torch on one thread."""


@pytest.fixture
def generator():
    return torch.Generator().manual_seed(1234)


def random_problems(generator, shape=(3, 4, 60)):
    p = 2 * torch.randn(*shape, dtype=F64, generator=generator)
    gamma = torch.exp(torch.empty(shape[:-1], dtype=F64).uniform_(math.log(1e-2), math.log(1e2), generator=generator))
    return p, gamma


# ---- solvers -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("solve", [threshold_sort, threshold_bisection])
def test_threshold_solves_the_mp_equation(solve, generator):
    p, gamma = random_problems(generator)
    alpha = solve(p, gamma)
    assert alpha.shape == p.shape[:-1]
    assert excess(p, alpha, gamma).abs().max() <= 1e-9
    # the bracket of the module docstring
    assert (alpha >= p.amax(-1) - gamma - 1e-12).all() and (alpha < p.amax(-1)).all()


def test_solvers_agree_with_each_other_and_with_condat(generator):
    worst = 0.0
    for n in (1, 2, 6, 100, 2000):
        p, gamma = random_problems(generator, (8, n))
        by_sort, by_bisection = threshold_sort(p, gamma), threshold_bisection(p, gamma)
        by_condat = torch.tensor([condat_threshold(row.numpy(), float(g)) for row, g in zip(p, gamma)], dtype=F64)
        worst = max(worst, float((by_sort - by_bisection).abs().max()), float((by_sort - by_condat).abs().max()))
    print(f"max |alpha_sort - alpha_other| = {worst:.3g}")
    assert worst <= 1e-9


def test_threshold_closed_forms():
    gamma = 0.7
    # one entry: [p - alpha]_+ = gamma
    assert threshold_sort(torch.tensor([[2.0]], dtype=F64), gamma).item() == pytest.approx(2.0 - gamma)
    # ties: k equal entries share gamma
    tied = torch.tensor([[1.0, 1.0, 1.0, -5.0]], dtype=F64)
    for solve in (threshold_sort, threshold_bisection):
        assert solve(tied, gamma).item() == pytest.approx(1.0 - gamma / 3, abs=1e-15)
    # gamma so large that every entry is active: alpha = (sum p - gamma) / n
    p = torch.tensor([[0.3, -1.2, 2.5, 0.0]], dtype=F64)
    for solve in (threshold_sort, threshold_bisection):
        assert solve(p, 100.0).item() == pytest.approx((p.sum().item() - 100.0) / 4, abs=1e-12)


def test_threshold_rejects_nonpositive_gamma():
    with pytest.raises(ValueError, match="gamma > 0"):
        mp_threshold(torch.zeros(2, 3), 0.0)
    with pytest.raises(ValueError, match="unknown MP solver"):
        mp_threshold(torch.zeros(2, 3), 1.0, solver="heap")


@pytest.mark.parametrize("solver", ["sort", "bisection"])
def test_gradient_passes_gradcheck(solver, generator):
    p, gamma = random_problems(generator, (3, 7))
    p.requires_grad_(True)
    gamma.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p, g: mp_threshold(p, g, solver), (p, gamma), eps=1e-7, atol=1e-7)
    scalar = torch.tensor(0.9, dtype=F64, requires_grad=True)  # one gamma shared by every row
    assert torch.autograd.gradcheck(lambda p, g: mp_threshold(p, g, solver), (p, scalar), eps=1e-7, atol=1e-7)


def test_gradient_is_the_sparsemax_jacobian(generator):
    p, gamma = random_problems(generator, (5, 30))
    p.requires_grad_(True)
    gamma.requires_grad_(True)
    alpha = mp_threshold(p, gamma)
    alpha.sum().backward()
    active = (p > alpha.unsqueeze(-1)).to(F64)
    k = active.sum(-1, keepdim=True)
    assert torch.allclose(p.grad, active / k)
    assert torch.allclose(gamma.grad, -1 / k.squeeze(-1))


@pytest.mark.parametrize("c", [0.1, 3.7])
def test_scaling_law_and_offset_invariance(c, generator):
    p, gamma = random_problems(generator, (6, 40))
    alpha = threshold_sort(p, gamma)
    assert torch.allclose(threshold_sort(c * p, c * gamma), c * alpha, rtol=1e-12, atol=1e-12)
    assert torch.allclose(threshold_sort(p + c, gamma), alpha + c, rtol=1e-12, atol=1e-12)
    w, x = torch.randn(2, 6, 25, dtype=F64, generator=generator)
    assert torch.allclose(approximation.y_mp(c * w, c * x, c * 2.0), c ** 2 * approximation.y_mp(w, x, 2.0),
                          rtol=1e-10, atol=1e-12)


def test_y_mp_degenerates_at_large_gamma(generator):
    w, x = torch.randn(2, 10, 50, dtype=F64, generator=generator)
    p, q = approximation.pq(w, x)
    assert torch.allclose(p.sum(-1), torch.zeros(10, dtype=F64), atol=1e-12)
    edge = 2 * 50 * torch.maximum(p.amax(-1), q.amax(-1)).max().item()  # every entry active beyond it
    assert approximation.y_mp(w, x, 1.01 * edge).abs().max() <= 1e-9
    assert approximation.y_mp(w, x, 0.2 * edge).abs().min() > 1e-6


def test_y_mp_one_dimension_closed_form():
    # D = 1: alpha(p) = |w + x| - gamma while gamma <= 2 |w + x|, so y = gamma (|w + x| - |w - x|) / 2
    w, x = torch.tensor([[2.0]], dtype=F64), torch.tensor([[1.0]], dtype=F64)
    assert approximation.y_mp(w, x, 1.0).item() == pytest.approx(0.5 * (3.0 - 1.0))


# ---- LSE, bounds ---------------------------------------------------------------------------------------------

def test_lse_is_equation_2_2_and_the_scalings_differ_by_gamma_d(generator):
    w, x = approximation.sphere_pairs(4, 30, 2.0, generator)
    gamma, D = 0.8, 30
    direct = gamma ** 2 * D * np.log((np.exp((w + x).numpy() / gamma) + np.exp(-(w + x).numpy() / gamma)).sum(-1))
    p, _ = approximation.pq(w, x)
    assert np.allclose(approximation.lse(p, gamma).numpy(), direct, rtol=1e-13)
    ratio = approximation.y_lse(w, x, gamma) / approximation.y_lse(w, x, gamma, "nair")
    assert torch.allclose(ratio, torch.full_like(ratio, gamma * D))
    assert torch.allclose(w.norm(dim=-1), torch.full((4,), 2.0, dtype=F64))


def test_lse_error_follows_its_leading_term(generator):
    w, x = approximation.sphere_pairs(20, 100, 5.0, generator)
    for gamma in (10.0, 30.0):
        error = approximation.y_lse(w, x, gamma) - (w * x).sum(-1)
        leading = approximation.lse_leading_error(w, x, gamma)
        assert (error - leading).abs().max() <= 2e-3 * error.abs().max()


def test_mp_lse_bound_holds_with_the_offset_and_fails_without(generator):
    for D in (2, 10, 100):
        w, x = approximation.sphere_pairs(50, D, 3.0, generator)
        p, _ = approximation.pq(w, x)
        for gamma in (0.05, 1.0, 20.0):
            f = approximation.lse(p, gamma)
            gap = f - approximation.mp_with_offset(p, gamma)
            bound = approximation.mp_lse_bound(gamma, D)
            assert (gap >= -1e-9).all() and (gap <= bound).all()
            offset_free = f - approximation.mp(p, gamma)
            assert torch.allclose(offset_free - gap, torch.full_like(gap, gamma ** 2 * D))
    # every entry active and p << gamma: alpha = -gamma / 2D and f ~ gamma^2 D ln 2D, so the offset-free gap
    # is gamma^2 (D ln 2D + 1/2), above the bound gamma^2 D ln(1 + 2D/e) (~ (L + 1) / L times it)
    point = approximation.mp_error_point(3.0, 1000.0, 100, 5, generator)
    expected = (math.log(200) + 1 / 200) / math.log1p(200 / math.e)
    assert point["max_ratio_offset_free"] == pytest.approx(expected, rel=1e-4)


def test_table_2_1_rows(generator):
    rows = approximation.table_2_1([100, 1000], 1.0, 5.0, 200, generator)
    for row in rows:
        assert row["column_ratio"] == pytest.approx(row["gamma_D"])
        assert row["mean_error_thesis"] < 0.3 * row["mean_error_nair"]


# ---- layers --------------------------------------------------------------------------------------------------

def layer_with(form, gamma, generator, bias="none", **options):
    layer = MPLinear(12, 5, gamma, form=form, bias=bias, dtype=F64, **options)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(5, 12, dtype=F64, generator=generator))
        if layer.bias is not None:
            layer.bias.copy_(torch.randn(5, dtype=F64, generator=generator))
    return layer


def test_pq_layer_is_y_mp(generator):
    layer = layer_with("pq", Gamma(1.5), generator)
    x = torch.randn(4, 12, dtype=F64, generator=generator)
    expected = torch.stack([approximation.y_mp(w.expand(4, 12), x, 1.5) for w in layer.weight], -1)
    assert torch.allclose(layer(x), expected, rtol=1e-12, atol=1e-12)


def test_zpm_layer_does_not_depend_on_the_offset(generator):
    x = torch.rand(4, 12, dtype=F64, generator=generator)
    outputs = [layer_with("zpm", Gamma(2.0), torch.Generator().manual_seed(5), offset=a)(x) for a in (0.0, 2.0)]
    assert torch.allclose(*outputs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("form", ["pq", "zpm"])
def test_bias_through_mp_is_a_constant_input(form, generator):
    layer = layer_with(form, Gamma(1.0), generator, bias="input")
    plain = MPLinear(13, 5, Gamma(1.0), form=form, bias="none", dtype=F64)
    with torch.no_grad():
        plain.weight.copy_(torch.cat([layer.weight, layer.bias[:, None]], 1))
    x = torch.rand(3, 12, dtype=F64, generator=generator)
    assert torch.allclose(layer(x), plain(torch.cat([x, torch.ones(3, 1, dtype=F64)], 1)))


@pytest.mark.parametrize("form", ["pq", "zpm"])
def test_relative_gamma_makes_the_layer_homogeneous(form, generator):
    layer = layer_with(form, Gamma(0.2, relative=True), generator)
    x = torch.randn(3, 12, dtype=F64, generator=generator)
    y = layer(x)
    with torch.no_grad():
        layer.weight.mul_(3.0)
    assert torch.allclose(layer(3.0 * x), 9.0 * y, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("form", ["pq", "zpm"])
def test_sweep_and_solvers_agree_with_forward(form, generator):
    layer = layer_with(form, Gamma(1.0), generator, bias="input")
    x = torch.rand(3, 12, dtype=F64, generator=generator)
    settings = [Gamma(0.3), Gamma(5.0, rescale=2.0), Gamma(0.1, relative=True)]
    for setting, swept in zip(settings, layer.sweep(x, settings)):
        assert torch.allclose(swept, layer(x, setting), rtol=1e-12, atol=1e-12)
        layer.solver = "bisection"
        assert torch.allclose(layer(x, setting), swept, rtol=1e-9, atol=1e-9)
        layer.solver = "sort"


def test_layer_gradient_passes_gradcheck(generator):
    layer = layer_with("zpm", Gamma(0.5, relative=True), generator, bias="input")
    x = torch.rand(2, 12, dtype=F64, generator=generator, requires_grad=True)
    assert torch.autograd.gradcheck(layer, (x,), eps=1e-7, atol=1e-6)


def test_calibrate_fits_least_squares_per_layer(generator):
    model = porting.mlp((6,)).double()
    network = port(model, Gamma(1.0), form="pq")
    x = torch.rand(20, 784, dtype=F64, generator=generator)
    (fitted,) = calibrate(network, x, [[Gamma(1.0), Gamma(1.0)]])
    first = network.layers[0]
    y, target = first(x, Gamma(1.0)), first.linear(x)
    assert fitted[0].rescale == pytest.approx(float((y * target).sum() / (y * y).sum()))
    h = torch.relu(first(x, fitted[0]))  # the second layer is fitted on the rescaled first layer
    y2, target2 = network.layers[1](h, Gamma(1.0)), network.layers[1].linear(h)
    assert fitted[1].rescale == pytest.approx(float((y2 * target2).sum() / (y2 * y2).sum()))


def test_port_copies_the_mlp_and_sweeps_like_forward(generator):
    torch.manual_seed(0)
    model = porting.mlp((8, 6))
    network = port(model, Gamma(1.0))
    assert len(network.layers) == 3
    assert torch.equal(network.layers[1].weight, model[3].weight)
    images = np.random.default_rng(0).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = np.arange(7) % 10
    settings = [[Gamma(3.0)] * 3, [Gamma(0.2, relative=True)] * 3]
    by_sweep = porting.accuracies(network, images, labels, settings, chunk=4, progress=False)
    x = porting.pixels(images)
    direct = [float((network(x, s).argmax(1).numpy() == labels).mean()) for s in settings]
    assert np.allclose(by_sweep, direct)
    correlations = porting.activation_correlations(model, network, x, settings[1])
    assert [row["layer"] for row in correlations] == [1, 2]


def test_mp_network_relu_between_layers_only(generator):
    layers = [layer_with("pq", Gamma(1.0), generator), MPLinear(5, 3, Gamma(1.0), dtype=F64)]
    outputs = MPNetwork(layers).activations(torch.randn(4, 12, dtype=F64, generator=generator))
    assert (outputs[0] >= 0).all() and (outputs[1] < 0).any()


# ---- memory --------------------------------------------------------------------------------------------------

def test_memory_formula_matches_a_real_z_tensor():
    layer = MPLinear(7, 3, Gamma(1.0), bias="none")
    z = layer.branch(torch.rand(5, 7), +1)
    assert z.nbytes == memory.z_tensor_bytes(5, 7, 3, z.element_size())
    arithmetic = memory.memory_arithmetic()
    assert arithmetic["one_z_bytes"] == 128 * 1568 * 8000 * 4 == 6_422_528_000
    assert arithmetic["one_branch_bytes"] == pytest.approx(3.2e9, rel=0.01)  # what the thesis' "3 GB" counts


def test_peak_allocated_sees_tensor_memory():
    def run():
        a = torch.ones(1000, 1000)  # 4 MB, freed before the next
        del a
        return torch.ones(500, 1000)  # 2 MB
    peak = memory.peak_allocated(run)
    assert 4_000_000 <= peak <= 4_100_000


# ---- spiking -------------------------------------------------------------------------------------------------

def test_spiking_mp_neuron_matches_the_solver():
    rng = np.random.default_rng(3)
    p = rng.normal(size=(6, 15))
    gamma = rng.uniform(0.2, 2.0, 6)
    truth = threshold_sort(torch.from_numpy(p), torch.from_numpy(gamma)).numpy()
    dt = 2.0 ** -8
    exact = spiking.spiking_threshold(p, gamma, dt=dt)
    assert not exact.between.any()
    assert np.abs(exact.alpha - truth).max() <= 1e-9
    clock = np.abs(spiking.spiking_threshold(p, gamma, dt=dt, semantics="clock").alpha - truth)
    assert 1e-6 < clock.max() <= 2 * dt


def test_spiking_exact_when_arrivals_share_the_crossing_step():
    # a coarse step: many inputs land in the crossing's step; exact unless the crossing falls between two
    rng = np.random.default_rng(4)
    p = rng.normal(size=(8, 30))
    gamma = rng.uniform(0.2, 2.0, 8)
    truth = threshold_sort(torch.from_numpy(p), torch.from_numpy(gamma)).numpy()
    dt = 2.0 ** -3
    run = spiking.spiking_threshold(p, gamma, dt=dt)
    c = p.max(1) + 2 * dt
    shared = (np.floor((c[:, None] - p) / dt) == np.floor(run.t_out / dt)[:, None]).sum(1)
    assert (shared[~run.between] >= 1).any()  # the test does reach the case
    assert np.abs(run.alpha - truth)[~run.between].max() <= 1e-9
    assert np.abs(run.alpha - truth)[run.between].max(initial=0) < dt


# ---- model file and the experiment ---------------------------------------------------------------------------

def test_model_file_reads():
    config = read_toml("kotak_mp")
    assert config["table_2_1"]["thesis_error_thesis"] == [0.0924, 0.0545, 0.0242]
    assert config["memory"]["hidden"] == [500, 1000, 2000, 4000]
    assert set(config) == set(experiment.QUICK)


def test_quick_experiment(tmp_path):
    results = experiment.run(tmp_path, quick=True)
    assert {"solver_agreement_max_abs", "table_2_1", "error_bounds", "mp_port", "solver_memory",
            "memory_arithmetic", "spiking"} <= set(results)
    assert results["solver_agreement_max_abs"] <= 1e-9
    assert results["solver_agreement"]["within_tolerance"]
    assert [row["D"] for row in results["table_2_1"]] == [100, 500, 1000]
    assert results["table_2_1"][0]["thesis"]["error_thesis"] == 0.0924
    assert results["error_bounds"]["mp"]["gamma"]["max_ratio_to_bound"] <= 1
    assert results["spiking"]["exact_max_abs"] <= 1e-9
    assert len(list(tmp_path.glob("*.png"))) >= 10
    assert json.loads((tmp_path / "results.json").read_text())["quick"] is True
