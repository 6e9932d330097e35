"""BP, DFA, FG-W, FG-A and FDFA on fully connected networks (Bacho 2023, ch. 4): brainnets.feedback."""
import inspect
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from brainnets.config import read_toml
from brainnets.feedback.methods import (METHODS, bp, dfa, fdfa, feedback_kind, fg_a, fg_w, forward, make_net,
                                        mean_loss, output_error)
from brainnets.feedback.training import estimator_for, mnist_comparison, train
from brainnets.feedback.variance import fit_slopes, plot_variance, true_feedback, variance_rows

F64 = torch.float64


def problem(sizes, activation="relu", feedback=None, batch=5, seed=0):
    generator = torch.Generator().manual_seed(seed)
    net = make_net(sizes, activation, feedback=feedback, generator=generator, dtype=F64)
    x = torch.randn(batch, sizes[0], generator=generator, dtype=F64)
    labels = torch.randint(sizes[-1], (batch,), generator=generator)
    return net, x, labels


def draws(estimator, net, x, labels, n, seed=1):
    generator = torch.Generator().manual_seed(seed)
    samples = [estimator(net, x, labels, generator) for _ in range(n)]
    return [torch.stack(layer) for layer in zip(*samples)]


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_bp_equals_torch_autograd_of_the_same_module(activation):
    net, x, labels = problem([6, 5, 4, 3], activation)
    layers = []
    for index, w in enumerate(net.weights):
        linear = nn.Linear(w.shape[1], w.shape[0], bias=False, dtype=F64)
        linear.weight.data.copy_(w)
        layers += [linear] + ([nn.ReLU() if activation == "relu" else nn.Tanh()] if index < 2 else [])
    model = nn.Sequential(*layers)
    F.cross_entropy(model(x), labels).backward()
    expected = [m.weight.grad for m in model if isinstance(m, nn.Linear)]
    for got, want in zip(bp(net, x, labels), expected):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-14)


def test_output_error_is_the_gradient_of_the_loss_per_sample():
    net, x, labels = problem([4, 3, 3])
    out = forward(net, x)[1][-1].detach().requires_grad_()
    F.cross_entropy(out, labels, reduction="sum").backward()
    torch.testing.assert_close(output_error(out.detach(), labels), out.grad)


@pytest.fixture(scope="module")
def tiny():
    return problem([3, 4, 2], batch=3)


@pytest.fixture(scope="module")
def fg_w_draws(tiny):
    return draws(fg_w, *tiny, 2000)


def fg_a_means(net, x, labels, copies=100, n=40):
    """n estimates, each the mean of ``copies`` independent FG-A estimates: FG-A draws one perturbation per
    sample, so the batch repeated ``copies`` times averages that many estimates in one forward pass."""
    return draws(fg_a, net, x.repeat(copies, 1), labels.repeat(copies), n)


def assert_unbiased(samples, true):
    """The mean of the samples is within 5 standard errors (their own spread / sqrt n) of the true gradient."""
    for layer, g in zip(samples, true):
        error = (layer.mean(0) - g).abs()
        standard_error = layer.std(0) / math.sqrt(len(layer))
        assert torch.all(error <= 5 * standard_error + 1e-12), (error / standard_error).max()


def test_fg_w_is_unbiased(tiny, fg_w_draws):
    assert_unbiased(fg_w_draws, bp(*tiny))


def test_fg_a_is_unbiased(tiny):
    assert_unbiased(fg_a_means(*tiny), bp(*tiny))


def test_fg_w_variance_is_lemma_4(tiny, fg_w_draws):
    """Var[(g . v) v_ij] = g_ij^2 + ||g||^2 over all the weights (Lemma 4, Prop. 5): jvp is exact, so only the
    sampling error of the variance (relative sqrt(2/n) for a Gaussian spread; a little more here) separates them."""
    true = bp(*tiny)
    total = sum(g.square().sum() for g in true)
    n = len(fg_w_draws[0])
    for samples, g in zip(fg_w_draws, true):
        torch.testing.assert_close(samples.var(0), g.square() + total, rtol=8 * math.sqrt(2 / n), atol=0)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_dfa_with_the_output_weights_as_feedback_is_bp(activation):
    """With one hidden layer and a linear output, ∂y^(2)/∂y^(1) = W^(2) exactly (Eq. 111)."""
    net, x, labels = problem([5, 6, 3], activation, feedback="random")
    net.feedback = [net.weights[1].clone()]
    for got, want in zip(dfa(net, x, labels), bp(net, x, labels)):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-14)


def test_dfa_feedback_is_fixed_and_fdfa_starts_from_zero():
    net, x, labels = problem([5, 6, 6, 3], feedback="random")
    before = [b.clone() for b in net.feedback]
    dfa(net, x, labels)
    assert all(torch.equal(b, b0) for b, b0 in zip(net.feedback, before))
    assert [b.shape for b in net.feedback] == [(3, 6), (3, 6)]
    fresh = make_net([5, 6, 6, 3], feedback=feedback_kind("FDFA"))
    assert all(torch.count_nonzero(b) == 0 for b in fresh.feedback)


@pytest.mark.parametrize("sizes", [[6, 8, 3], [6, 8, 7, 3]])
def test_fdfa_feedback_converges_to_the_mean_jacobian(sizes):
    """Eq. 106 is an exponential average of d ⊗ u whose expectation is E[∂y^(L)/∂y^(l)] (Eq. 110): on a fixed
    batch B ends within the O(sqrt(alpha)) noise of that average."""
    net, x, labels = problem(sizes, feedback="zero", batch=32)
    target = true_feedback(net, x)
    generator = torch.Generator().manual_seed(2)
    cosines = []
    for step in range(600):
        fdfa(net, x, labels, generator, alpha=0.03)
        if step in (20, 599):
            cosines.append([float(F.cosine_similarity(b.flatten(), t.flatten(), 0))
                            for b, t in zip(net.feedback, target)])
    assert all(c > 0.95 for c in cosines[-1]), cosines
    assert all(late > early for early, late in zip(*cosines))
    if len(sizes) == 3:  # Eq. 111: the penultimate feedback of a linear output is the output weights
        torch.testing.assert_close(target[0], net.weights[-1])


def test_fdfa_with_converged_feedback_and_small_alpha_is_bp_in_the_last_hidden_layer():
    net, x, labels = problem([5, 6, 3], feedback="zero")
    net.feedback = [net.weights[1].clone()]
    got = fdfa(net, x, labels, torch.Generator().manual_seed(0), alpha=1e-9)
    for g, want in zip(got, bp(net, x, labels)):
        torch.testing.assert_close(g, want, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_lowers_the_training_loss(method):
    generator = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 8, generator=generator, dtype=F64) * 2
    labels = torch.randint(3, (96,), generator=generator)
    x = centres[labels] + torch.randn(96, 8, generator=generator, dtype=F64)
    before = mean_loss(make_net([8, 16, 16, 3], feedback=feedback_kind(method),
                                generator=torch.Generator().manual_seed(0), dtype=F64), x, labels)
    net, history = train(method, [8, 16, 16, 3], x, labels, epochs=40, batch_size=32, lr=1e-2, alpha=0.05, seed=0)
    assert mean_loss(net, x, labels) < 0.7 * before, (before, history[-1])


def test_estimator_for_names_every_method_and_refuses_others():
    assert all(callable(estimator_for(name, 0.1)) for name in METHODS)
    with pytest.raises(ValueError, match="unknown method"):
        estimator_for("FA", 0.1)


def test_variance_scaling_matches_table_12(tmp_path):
    """FG-W grows with n_1 and n_0, FG-A with n_1 only, FDFA as alpha^2 (Props. 5-7, Figs. 37-38)."""
    rows = variance_rows(hidden_sizes=(8, 64), input_copies=(1, 8), alphas=(1e-2, 1e-1), base_inputs=16,
                         base_hidden=16, batch=8, draws=60)
    slopes = fit_slopes(rows)
    assert slopes[("FG-W", "n1")] > 0.7 and slopes[("FG-W", "n0")] > 0.5
    assert slopes[("FG-A", "n1")] > 0.7 and abs(slopes[("FG-A", "n0")]) < 0.2
    assert slopes[("FDFA", "alpha")] == pytest.approx(2, abs=0.15)
    fdfa_rows = [r for r in rows if r["method"] == "FDFA"]
    assert all(r["cosine"] > 0.99 for r in fdfa_rows)
    paths = plot_variance(rows, tmp_path)
    assert [p.name for p in paths] == ["fdfa_variance_n1.png", "fdfa_variance_n0.png", "fdfa_variance_alpha.png"]
    assert all(p.stat().st_size > 0 for p in paths)


def test_constants_file_reads_and_names_what_the_code_uses():
    config = read_toml("bacho2024_fdfa")
    assert config["network"]["activation"] in ("relu", "tanh")
    assert config["fdfa"]["alpha"] == config["training"]["lr"] == 1e-4  # [B] Sec 4.8.3
    assert set(config["variance"]) >= {"hidden_sizes", "input_copies", "alphas", "draws"}
    assert set(config["mnist_quick"]) >= {"train_images", "epochs", "lr", "alpha", "batch_size", "seed"}


def test_variance_constants_are_the_arguments_of_variance_rows():
    inspect.signature(variance_rows).bind(**read_toml("bacho2024_fdfa")["variance"])


@pytest.mark.slow
def test_mnist_comparison_orders_the_methods_as_table_14():
    """784-256-10, 1 epoch on 10,000 images (about 40 s on 2 cores). Measured: train loss / test accuracy
    BP 0.64 / 88.9 %, FDFA 0.66 / 87.3 %, DFA 1.03 / 87.4 %, FG-A 2.12 / 37.3 %, FG-W 2.27 / 24.1 %."""
    rows = {r["method"]: r for r in mnist_comparison(read_toml("bacho2024_fdfa"))}
    loss = {m: r["train_loss"] for m, r in rows.items()}
    assert loss["BP"] < loss["DFA"] and loss["FDFA"] < loss["DFA"] < loss["FG-A"] < loss["FG-W"]
    assert rows["BP"]["test_accuracy"] > 0.85 and rows["FDFA"]["test_accuracy"] > 0.85
    assert rows["FG-W"]["test_accuracy"] > 0.15  # above chance, far below the rest
