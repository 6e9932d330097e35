"""scripts/validate.py refuses held-out images that the network was trained on."""
import json

import numpy as np


def test_validation_images_must_lie_beyond_the_training_images(script, tmp_path, capsys):
    validate = script("validate")
    run = tmp_path / "run"
    run.mkdir()
    np.savez(run / "network.npz", weights=np.zeros((784, 2)), theta=np.zeros(2))
    (run / "settings.json").write_text(json.dumps({"n_train": 1000, "model": "models/diehl_cook_2015.toml"}))
    out = tmp_path / "scores.json"
    assert validate.main(["--network", str(run / "network.npz"), "--assign", "500:900", "--validate",
                          "1000:1100", "--out", str(out)]) == 2
    assert "trained on the first 1000 training images" in capsys.readouterr().err
    assert not out.exists()
