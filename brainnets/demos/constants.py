"""The constants of a parameter dataclass as a model file writes them: each quantity in its field's unit."""
from __future__ import annotations

import dataclasses

from brian2 import Quantity


def constants(params) -> dict[str, str]:
    """``{name: text}`` for every field of ``params`` (read by :func:`brainnets.config.load_section`): a quantity
    in the unit its field names (``tau_theta`` in ms, not Brian2's choice of ks), anything else as it is."""
    shown = {}
    for field in dataclasses.fields(params):
        value, unit = getattr(params, field.name), field.metadata.get("unit")
        in_its_unit = isinstance(value, Quantity) and isinstance(unit, Quantity)
        shown[field.name] = value.in_unit(unit) if in_its_unit else str(value)
    return shown
