"""``brainnets study revote``: a finished multimodal comparison scored again under another vote, from the spike
counts its arms saved, after checking that those counts give the accuracies the arms recorded."""
import json

import numpy as np
from brainnets.cli import main

# image neurons 0-1 fire loudly and say 0 weakly; audio neurons 2-3 fire little and say 1 clearly (label 1):
# the pooled vote answers 0, each sense with one say answers 1 (test_readout.py works the numbers)
ASSIGNMENTS = np.array([0, 1, 0, 1])
LOUD_IMAGE = np.array([[30, 10, 0, 3]] * 3 + [[0, 10, 0, 3]])  # the last item: the image agrees
LABELS = np.array([1, 1, 1, 1])


ARMS = ("image_only", "audio_only", "multimodal", "multimodal_no_crossmodal")


def finished_study(folder, pooled_accuracy=0.25):
    """A study whose four arms all hold the two-sense network above (a real study's single-sense arms vote
    the same under every vote)."""
    missing = {"test_missing_image_counts": LOUD_IMAGE * [0, 0, 1, 1], "test_missing_audio_counts": LOUD_IMAGE * [1, 1, 0, 0]}
    for name in ARMS:
        arm = folder / "arms" / name
        arm.mkdir(parents=True)
        np.savez(arm / "responses.npz", test_counts=LOUD_IMAGE, test_labels=LABELS, train_labels=LABELS,
                 **(missing if name == "multimodal" else {}))
        np.savez(arm / "network.npz", assignments=ASSIGNMENTS)
    arms = {name: {"accuracy": pooled_accuracy, "sizes": {"audio": 2, "image": 2},
                   "readout": {"linear": {"accuracy": 0.5}}} for name in ARMS}
    arms["multimodal"].update(accuracy_missing_image=1.0, accuracy_missing_audio=0.25,
                              crossmodal={"same_label_fraction": 0.75})
    (folder / "metrics.json").write_text(json.dumps({
        "arms": arms, "git_commit": "abc",
        "command": f"brainnets multimodal --n-total 4 --train 10 --test 4 --out {folder}"}))
    return folder


def test_revote_reads_the_saved_counts_out_under_another_vote(tmp_path, capsys):
    study = finished_study(tmp_path / "mm")
    out, summary = tmp_path / "per_sense.json", tmp_path / "summary.json"
    assert main(["study", "revote", str(study), "--vote", "per_sense", "--out", str(out),
                 "--summary", str(summary)]) == 0
    arm = json.loads(out.read_text())["arms"]["multimodal"]
    assert arm["vote"] == "per_sense" and arm["accuracy"] == 1.0 and arm["accuracy_missing_image"] == 1.0
    assert arm["readout"]["vote_pooled"] == {"accuracy": 0.25, "accuracy_missing_image": 1.0,
                                             "accuracy_missing_audio": 0.25}
    assert arm["readout"]["vote"] == arm["readout"]["vote_per_sense"] and arm["readout"]["linear"] == {"accuracy": 0.5}
    assert np.array(arm["confusion_matrix"])[1, 1] == 4
    entry, = json.loads(summary.read_text())["sizes"]
    assert (entry["n_total"], entry["n_train"], entry["vote"], entry["multimodal"]) == (4, 10, "per_sense", 1.0)
    assert entry["readout"]["vote_pooled"]["multimodal"] == 0.25 and entry["readout"]["linear"]["multimodal"] == 0.5
    assert entry["revoted"]["vote"] == "per_sense" and entry["git_commit"] == "abc"
    capsys.readouterr()
    assert main(["study", "revote", str(study), "--vote", "pooled", "--out", str(out)]) == 2
    assert "exists; finished results are never overwritten" in capsys.readouterr().err


def test_revote_refuses_counts_that_do_not_give_the_recorded_accuracies(tmp_path, capsys):
    study = finished_study(tmp_path / "mm", pooled_accuracy=0.5)
    assert main(["study", "revote", str(study), "--vote", "per_sense", "--out", str(tmp_path / "x.json")]) == 2
    assert "do not give the recorded accuracies (accuracy 0.5 against 0.25)" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
    assert main(["study", "revote", str(tmp_path), "--vote", "pooled", "--out", str(tmp_path / "y.json")]) == 2
    assert "no metrics.json" in capsys.readouterr().err
