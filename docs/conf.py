"""Sphinx configuration: the brainnets API reference, built from the docstrings.

Build (warnings are errors, as in the test suite, ``tests/test_docs.py``)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The API pages are generated on every build by ``sphinx.ext.autosummary`` with ``:recursive:`` over the
``brainnets`` package (see ``api.rst``), so a new module appears without editing the docs. The generated
stubs go to ``docs/_autosummary/`` (gitignored), which is emptied at the start of each build so that a
module that moved or was deleted leaves no stale page behind. ``docs/results/`` holds the experiment
records and is not part of the Sphinx sources.
"""
import importlib.util
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# document the working tree, whichever copy of brainnets happens to be installed
sys.path.insert(0, str(ROOT))

import brainnets  # noqa: E402

# -- project ---------------------------------------------------------------------------------------------
project = "brainnets"
author = "brainnets contributors"
copyright = "brainnets contributors"
version = release = brainnets.__version__

# -- sources ---------------------------------------------------------------------------------------------
root_doc = "index"
source_suffix = {".rst": "restructuredtext"}
# results/ is the experiment record (Markdown, JSON, figures), not documentation sources
exclude_patterns = ["_build", "results", "Thumbs.db", ".DS_Store"]
templates_path = []

# -- extensions: no network (no intersphinx) -------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
]

# autosummary writes one stub per module, recursively, into _autosummary/; start from an empty folder so
# that modules moved or removed since the last build leave nothing behind
AUTOSUMMARY_DIR = DOCS / "_autosummary"
shutil.rmtree(AUTOSUMMARY_DIR, ignore_errors=True)
autosummary_generate = True
autosummary_generate_overwrite = True
autosummary_imported_members = False


# PyTorch is optional (the `gradient` extra; the `docs` extra does not install it): without it the modules of
# brainnets.gradient are documented against a mock of torch. With torch installed nothing is mocked.
def _missing(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is None
    except (ImportError, ValueError):
        return True


autodoc_mock_imports = [name for name in ("torch",) if _missing(name)]
# `python -m brainnets` runs the command line when imported (sys.exit(main())): autosummary imports every
# submodule it finds, so this one is replaced by a mock, which autosummary then leaves out
autosummary_mock_imports = [*autodoc_mock_imports, "brainnets.__main__"]

# Each object is documented once, in the module that defines it: a module's __all__ may re-export names
# from another module (kept for old imports), and documenting those again would make two targets for one
# name. This matches the summary tables, which list what a module defines (autosummary_ignore_module_all).
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
    "ignore-module-all": True,
}
autosummary_ignore_module_all = True
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_class_signature = "separated"
autoclass_content = "class"

nitpicky = False

# -- HTML -----------------------------------------------------------------------------------------------
html_theme = "alabaster"
html_static_path = []
html_title = f"brainnets {release}"
html_show_sourcelink = False
