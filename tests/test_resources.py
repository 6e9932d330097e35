"""Shipped model files are found by name, by their source-tree path (as recorded results spell it) or as
any file the user names."""
from brainnets.resources import model_file, models_dir, shipped_models


def test_a_shipped_model_is_found_by_name_or_by_its_recorded_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no models/ folder here
    expected = models_dir() / "diehl_cook_2015.toml"
    assert model_file("diehl_cook_2015") == expected
    assert model_file("models/diehl_cook_2015.toml") == expected
    assert "rathi2018_multimodal" in shipped_models()


def test_a_file_the_user_names_wins_and_an_unknown_name_stays_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    own = tmp_path / "models" / "diehl_cook_2015.toml"
    own.parent.mkdir()
    own.write_text("")
    assert model_file("models/diehl_cook_2015.toml") == own.relative_to(tmp_path)
    assert model_file("elsewhere/diehl_cook_2015.toml").as_posix() == "elsewhere/diehl_cook_2015.toml"
    assert model_file("no_such_model").as_posix() == "no_such_model"
