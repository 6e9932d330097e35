"""``python -m brainnets``: the ``brainnets`` command."""
import sys

from .cli import main

sys.exit(main())
