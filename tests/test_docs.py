"""The API reference (docs/) builds from the docstrings with warnings as errors, as Brian2's documentation does.

A docstring that Sphinx cannot read (broken reST, a module that no longer imports) fails this test; the
message lists every warning (``--keep-going``), each with its file and line.
"""
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx", reason="Sphinx is not installed (pip install -e '.[docs]')")

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.long_running
def test_api_reference_builds_without_warnings(tmp_path):
    out = tmp_path / "html"
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
               "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (f"sphinx-build failed (exit status {result.returncode}):\n"
                                    f"{result.stderr}\n{result.stdout}")
    pages = {page.name for page in (out / "_autosummary").glob("*.html")}
    # the recursive API section finds the package, its subpackages and their modules by itself
    assert {"brainnets.html", "brainnets.stdp.html", "brainnets.stdp.model.html"} <= pages
    # docs/results/ is the experiment record, not a Sphinx source
    assert not (out / "results").exists()
