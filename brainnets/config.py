"""Reading model files: TOML tables of named constants into parameter dataclasses.

A model file (``models/*.toml``) writes each constant once, with its unit and source, e.g.
``tau_m = "100 ms"``. A parameter dataclass says how each of its fields is read:

* :func:`quantity`: a number, or ``"<number> <unit>"`` in the unit the field names; a field typed ``int``
  takes whole numbers only;
* :func:`choice`: one of a few words;
* a field typed ``bool``: ``true`` or ``false``;
* a field typed as a parameter dataclass: the sub-table of its name (``crossmodal.stdp`` of ``[crossmodal]``);
* :func:`chosen_by`: a sub-table whose parameter class one of its keys picks (``[stdp].rule``).

A model class whose fields are the tables of its file is read by one :func:`load_section` of the whole
file, which checks every name, dimension and value and says in one line which file and key are wrong.
"""
from __future__ import annotations

import dataclasses
import math
import re
import sys
import types
import typing
import warnings
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


class UnusualValueWarning(UserWarning):
    """A constant that is legal but far outside the range published models use: the run goes on."""


def quantity(unit: Any = 1.0, *, positive: bool = False, nonnegative: bool = False, default: Any = dataclasses.MISSING,
             none_as: str | None = None, usual: tuple[float, float] | None = None):
    """A dataclass field holding a constant in ``unit`` (a Brian2 unit, or 1.0 for a number); a field with
    a ``default`` may be left out of the model file. ``none_as`` is the word the file writes for None
    (``levels = "continuous"``). A value outside ``usual`` (low, high, in ``unit``) is read with an
    :class:`UnusualValueWarning`."""
    return dataclasses.field(default=default, metadata={"unit": unit, "positive": positive, "usual": usual,
                                                        "nonnegative": nonnegative, "none_as": none_as})


def choice(*options: str):
    """A dataclass field holding one of ``options`` (the first is the default)."""
    return dataclasses.field(default=options[0], metadata={"choices": options})


def chosen_by(key: str, classes: dict[str, type], elsewhere: dict[str, str] | None = None):
    """A dataclass field read from the sub-table of its name as the parameter class that the sub-table's
    ``key`` names in ``classes`` (the first when the key is left out). A class named in ``elsewhere`` is read
    from that other table next to it instead: ``[stdp] rule = "diehl_cook_trace"`` reads ``[stdp_trace]``."""
    return dataclasses.field(metadata={"chosen_by": key, "classes": dict(classes), "elsewhere": dict(elsewhere or {})})


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


def _convert_quantity(value: Any, spec: dataclasses.Field, integer: bool, where: str) -> Any:
    unit = spec.metadata["unit"]
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
    usual = spec.metadata.get("usual")
    if usual is not None and not usual[0] <= magnitude <= usual[1]:
        warnings.warn(f"{where} = {value!r} is far from the usual {usual[0]:g}-{usual[1]:g} {_unit_name(unit)}; "
                      "going on", UnusualValueWarning, stacklevel=2)
    if integer:
        if magnitude != int(magnitude):
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return int(magnitude)
    return parsed if get_dimensions(unit) is not DIMENSIONLESS else magnitude


def _unit_name(unit: Any) -> str:
    return "" if get_dimensions(unit) is DIMENSIONLESS else str(unit)


def _without_none(hint: Any) -> Any:
    """``int`` for ``int | None``; any other type as it is."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        others = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(others) == 1:
            return others[0]
    return hint


def _sub_table(where: str, name: str) -> str:
    """How errors name the sub-table ``name`` of the table at ``where``: "f.toml" -> "f.toml [name]",
    "f.toml [a]" -> "f.toml [a.name]"."""
    file, _, parent = where.partition(" [")
    return f"{file} [{parent[:-1]}.{name}]" if parent else f"{file} [{name}]"


def _missing_table(sub_table: str, why: str = "") -> ConfigError:
    """The error for the missing ``sub_table`` "f.toml [a.b]": "f.toml: missing table [a.b]", then ``why``."""
    file, _, bracketed_rest = sub_table.partition(" [")
    return ConfigError(f"{file}: missing table [{bracketed_rest}{why}")


def _load_chosen(own: Any, spec: dataclasses.Field, table: dict, where: str) -> Any:
    """The field ``spec`` made by :func:`chosen_by`, from its own sub-table ``own`` of ``table``."""
    key, classes, elsewhere = (spec.metadata[name] for name in ("chosen_by", "classes", "elsewhere"))
    own_where = _sub_table(where, spec.name)
    if not isinstance(own, dict):
        raise ConfigError(f"{own_where}: expected a table, got {own!r}")
    option = own.get(key, next(iter(classes)))
    if option not in classes:
        raise ConfigError(f"{own_where}.{key}: expected one of {list(classes)}, got {option!r}")
    for other, other_table in elsewhere.items():  # the tables of the options not chosen are checked all the same
        if other != option and other_table in table:
            load_section(classes[other], table[other_table], _sub_table(where, other_table))
    if option not in elsewhere:
        return load_section(classes[option], {name: value for name, value in own.items() if name != key}, own_where)
    other_where = _sub_table(where, elsewhere[option])
    if elsewhere[option] not in table:
        raise _missing_table(other_where, f" ({spec.name}.{key} = {option!r})")
    return load_section(classes[option], table[elsewhere[option]], other_where)


def _read(value: Any, hint: Any, spec: dataclasses.Field, where: str) -> Any:
    """One key's ``value``, read as the field ``spec`` of type ``hint`` (not a sub-table) says."""
    if "choices" in spec.metadata:
        if value not in spec.metadata["choices"]:
            raise ConfigError(f"{where}: expected one of {list(spec.metadata['choices'])}, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if "unit" in spec.metadata:
        if spec.metadata["none_as"] is not None and value == spec.metadata["none_as"]:
            return None
        return _convert_quantity(value, spec, _without_none(hint) is int, where)
    raise TypeError(f"{where}: the field has no way of being read from a model file "
                    "(give it a quantity(), choice(), bool, parameter-dataclass or chosen_by() type)")


def load_section(cls: type[T], table: dict, where: str, **given) -> T:
    """Build dataclass ``cls`` from a TOML table (a whole file, for a model class), checking every field's
    presence, unit and range; sub-tables are read into the fields that are parameter dataclasses. The fields
    in ``given`` come from the caller, not the file. ``where`` names the table in errors ("model.toml" or
    "model.toml [stdp]"); an error that ``cls`` itself raises (ValueError) is reported on it too."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table, got {table!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in given}
    hints = typing.get_type_hints(cls)
    known = set(fields).union(*(f.metadata.get("elsewhere", {}).values() for f in fields.values()))
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known keys are {sorted(known)}")
    values = dict(given)
    for name, spec in fields.items():
        hint = _without_none(hints[name])
        is_sub_table = "chosen_by" in spec.metadata or dataclasses.is_dataclass(hint)
        if name not in table:
            if spec.default is not dataclasses.MISSING or spec.default_factory is not dataclasses.MISSING:
                continue
            raise _missing_table(_sub_table(where, name)) if is_sub_table else ConfigError(
                f"{where}: missing key '{name}'")
        if "chosen_by" in spec.metadata:
            values[name] = _load_chosen(table[name], spec, table, where)
        elif is_sub_table:
            values[name] = load_section(hint, table[name], _sub_table(where, name))
        else:
            values[name] = _read(table[name], hints[name], spec, f"{where}.{name}")
    try:
        return cls(**values)
    except ConfigError:
        raise
    except ValueError as error:
        raise ConfigError(f"{where}: {error}") from None


def read_toml(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict:
    """Parse a TOML file (or a shipped model named as :func:`.resources.model_file` allows), naming the file in
    any error.

    A file whose top level says ``base = "OTHER.toml"`` (next to it, or a shipped model's name) holds only what
    differs from OTHER: the result is OTHER's tables with every key the file gives replaced, table by table."""
    path = model_file(path)
    if path.is_dir():
        raise ConfigError(f"{path}: a folder, not a model file")
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"model file not found: {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    base = document.pop("base", None)
    if base is None:
        return document
    if not isinstance(base, str):
        raise ConfigError(f"{path}: base must name a model file, got {base!r}")
    if path.resolve() in _seen:
        raise ConfigError(f"{path}: its bases lead back to itself")
    beside = path.parent / base
    return _replace_keys(read_toml(beside if beside.is_file() else base, (*_seen, path.resolve())), document)


def _replace_keys(base: dict, changes: dict) -> dict:
    """``base`` with the values of ``changes`` put in, nested tables merged key by key."""
    merged = dict(base)
    for key, value in changes.items():
        merged[key] = (_replace_keys(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict)
                       else value)
    return merged


def require_table(document: dict, name: str, path: str | Path) -> dict:
    if name not in document:
        raise ConfigError(f"{path}: missing table [{name}]")
    return document[name]
