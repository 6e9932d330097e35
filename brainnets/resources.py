"""The files the package ships: model files (``brainnets/models/*.toml``) and data (``brainnets/data/``).

Found through :mod:`importlib.resources`, so they are there after ``pip install .`` as in a source tree, and
from any working folder. ``$BRAINNETS_DATA`` points the data at another folder of the same layout, and
``$BRAINNETS_CACHE`` the cache (:func:`cache_dir`) at another folder.
"""
from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path


def package_folder(name: str) -> Path:
    """A folder inside the installed package (a real folder: the package is never imported from a zip)."""
    return Path(str(files("brainnets").joinpath(name)))


def models_dir() -> Path:
    return package_folder("models")


def data_dir() -> Path:
    """``$BRAINNETS_DATA`` if set, else the data shipped with the package."""
    if "BRAINNETS_DATA" in os.environ:
        return Path(os.environ["BRAINNETS_DATA"])
    return package_folder("data")


def cache_dir() -> Path:
    """Where brainnets keeps what it can compute again (the cochleagram cache): ``$BRAINNETS_CACHE``, or
    ``~/.cache/brainnets`` (``$XDG_CACHE_HOME/brainnets`` where that is set)."""
    if "BRAINNETS_CACHE" in os.environ:
        return Path(os.environ["BRAINNETS_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "brainnets"


def shipped_models() -> list[str]:
    """Names of the model files the package ships, e.g. ``"diehl_cook_2015"``."""
    return sorted(path.stem for path in models_dir().glob("*.toml"))


def model_file(spec: str | Path) -> Path:
    """The model file ``spec`` names: an existing file, or a shipped model by its name (``"diehl_cook_2015"``)
    or by its path in the source tree (``"models/diehl_cook_2015.toml"``, as recorded results spell it)."""
    path = Path(spec)
    if path.is_file():
        return path
    shipped = models_dir() / f"{path.stem}.toml"
    names_a_shipped_model = path.suffix in ("", ".toml") and path.parent.name in ("", "models")
    return shipped if names_a_shipped_model and shipped.is_file() else path
