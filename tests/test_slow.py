"""Full-size acceptance runs (tens of minutes each): pytest -m slow."""
import pytest

from brainnets.stdp.experiment import Settings, UnimodalExperiment

pytestmark = pytest.mark.slow


# 100 neurons: the five-seed spread's lower edge, mean - 3 s.d. = 79.42 - 3 x 0.55 % (issue 23 accepts 79.4 +- 0.55 %
# as the faithful result, beside the thesis' 81.6 %; docs/results/unimodal_mnist_100_seeds.json)
@pytest.mark.parametrize("n_exc, floor", [(100, 0.777), (400, 0.85)])
def test_one_epoch_of_mnist_reaches_the_thesis_accuracy(mnist_train, mnist_test, tmp_path, n_exc, floor):
    settings = Settings(model="diehl_cook_2015", n_exc=n_exc)
    metrics = UnimodalExperiment(settings, mnist_train, mnist_test, tmp_path / "run", progress=False).run()
    assert metrics["accuracy"] >= floor
    assert metrics["train_ms_per_image"] <= 30 * n_exc / 100
