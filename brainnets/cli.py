"""Shared behaviour of the command-line scripts."""
from __future__ import annotations

import functools
import sys

from .config import ConfigError
from .datasets import DataError
from .devices import DeviceError
from .stdp.experiment import ExperimentError

#: Errors caused by the user's input: reported in one line, without a traceback.
USER_ERRORS = (ConfigError, DataError, DeviceError, ExperimentError, ValueError)


def fail_cleanly(main):
    """Report a user error as ``error: <what was wrong>`` and exit with status 2."""
    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except USER_ERRORS as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    return wrapper
