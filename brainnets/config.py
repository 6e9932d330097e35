"""Reading model files: TOML tables of named constants into parameter dataclasses.

A model file (``models/*.toml``) writes each constant once, with its unit and source, e.g.
``tau_m = "100 ms"``. A parameter dataclass names the unit each field must have in its field
metadata; :func:`load_section` checks names, dimensions and values and says exactly what is wrong.
"""
from __future__ import annotations

import dataclasses
import math
import re
import sys
from pathlib import Path
from typing import Any, TypeVar

import brian2
from brian2 import Quantity
from brian2.units.fundamentalunits import DIMENSIONLESS, get_dimensions

from .resources import model_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


class ConfigError(ValueError):
    """A model file or a configuration value is missing, malformed or out of range."""


_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]+)?\s*$")

T = TypeVar("T")


def quantity(unit: Any = 1.0, *, positive: bool = False, nonnegative: bool = False, default: Any = dataclasses.MISSING):
    """A dataclass field holding a constant in ``unit`` (a Brian2 unit, or 1.0 for a number); a field with
    a ``default`` may be left out of the model file."""
    return dataclasses.field(default=default,
                             metadata={"unit": unit, "positive": positive, "nonnegative": nonnegative})


def choice(*options: str):
    """A dataclass field holding one of ``options`` (the first is the default)."""
    return dataclasses.field(default=options[0], metadata={"choices": options})


def parse_quantity(text: str, where: str) -> Quantity:
    """``"-65 mV"`` -> ``-65*mV``. ``where`` names the field for the error message."""
    match = _QUANTITY.match(text)
    if not match:
        raise ConfigError(f"{where}: expected '<number> <unit>' such as '20 ms', got {text!r}")
    number, unit_name = match.groups()
    if unit_name is None:
        return Quantity(float(number))
    unit = getattr(brian2.units, unit_name, None)
    if not isinstance(unit, Quantity):
        raise ConfigError(f"{where}: unknown unit {unit_name!r} in {text!r}")
    return float(number) * unit


def _convert(value: Any, spec: dataclasses.Field, where: str) -> Any:
    if "choices" in spec.metadata:
        if value not in spec.metadata["choices"]:
            raise ConfigError(f"{where}: expected one of {list(spec.metadata['choices'])}, got {value!r}")
        return value
    unit = spec.metadata.get("unit")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"{where}: expected a number or a quantity string, got {value!r}")
    parsed = parse_quantity(value, where) if isinstance(value, str) else Quantity(float(value))
    if get_dimensions(parsed) is not get_dimensions(unit):
        expected = "a plain number" if get_dimensions(unit) is DIMENSIONLESS else f"a quantity in {unit!r}"
        raise ConfigError(f"{where}: expected {expected}, got {value!r}")
    magnitude = float(parsed / unit)
    if not math.isfinite(magnitude):
        raise ConfigError(f"{where}: must be finite, got {value!r}")
    if spec.metadata.get("positive") and magnitude <= 0:
        raise ConfigError(f"{where}: must be > 0, got {value!r}")
    if spec.metadata.get("nonnegative") and magnitude < 0:
        raise ConfigError(f"{where}: must be >= 0, got {value!r}")
    return parsed if get_dimensions(unit) is not DIMENSIONLESS else magnitude


def load_section(cls: type[T], table: dict, where: str) -> T:
    """Build dataclass ``cls`` from a TOML table, checking every field's presence, unit and range."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, got {table!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known keys are {sorted(fields)}")
    values = {}
    for name, spec in fields.items():
        if name not in table:
            if spec.default is not dataclasses.MISSING:
                continue
            raise ConfigError(f"{where}: missing key '{name}'")
        values[name] = _convert(table[name], spec, f"{where}.{name}")
    return cls(**values)


def read_toml(path: str | Path) -> dict:
    """Parse a TOML file (or a shipped model named as :func:`.resources.model_file` allows), naming the file in
    any error."""
    path = model_file(path)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"model file not found: {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None


def require_table(document: dict, name: str, path: str | Path) -> dict:
    if name not in document:
        raise ConfigError(f"{path}: missing table [{name}]")
    return document[name]
