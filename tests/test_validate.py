"""``brainnets study validate`` refuses held-out images that the network was trained on."""
import json

import numpy as np

from brainnets.cli import main


def test_validation_images_must_lie_beyond_the_training_images(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    np.savez(run / "network.npz", weights=np.zeros((784, 2)), theta=np.zeros(2))
    (run / "settings.json").write_text(json.dumps({"n_train": 1000, "model": "diehl_cook_2015"}))
    out = tmp_path / "scores.json"
    assert main(["study", "validate", "--network", str(run / "network.npz"), "--assign", "500:900", "--validate",
                 "1000:1100", "--out", str(out)]) == 2
    assert "trained on the first 1000 training images" in capsys.readouterr().err
    assert not out.exists()


def test_held_out_images_are_given_as_start_stop(tmp_path, capsys):
    assert main(["study", "validate", "--network", "x.npz", "--assign", "50000", "--out",
                 str(tmp_path / "scores.json")]) == 2
    assert "--assign takes training images as START:STOP, got '50000'" in capsys.readouterr().err
