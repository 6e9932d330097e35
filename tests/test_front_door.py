"""The front door: the README starts a newcomer quickly and its Python example runs; scripts are thin
wrappers of the ``brainnets`` command, and no test imports one."""
import re
from pathlib import Path

import numpy as np
import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
README = (REPOSITORY / "README.md").read_text()


def test_the_readme_is_short_and_gives_both_set_up_commands_first():
    lines = README.splitlines()
    assert len(lines) <= 170
    first = "\n".join(lines[:40])
    assert "pip install -e . && python scripts/train_multimodal.py" in first
    assert "pip install -e '.[test]' && pytest" in first


def test_the_python_example_of_the_readme_runs(capsys):
    example = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    namespace = {}
    exec(compile(example, "README.md", "exec"), namespace)
    assert namespace["weights"].shape == (784, 20)
    assert np.all(namespace["shown"].tries >= 1) and capsys.readouterr().out


def test_every_script_is_a_thin_wrapper_and_no_test_imports_one():
    for script in (REPOSITORY / "scripts").glob("*.py"):
        assert len(script.read_text().splitlines()) <= 40, script.name
        assert "brainnets.cli import script" in script.read_text(), script.name
    for test in set((REPOSITORY / "tests").glob("*.py")) - {Path(__file__)}:
        assert "spec_from_file_location" not in test.read_text(), test.name  # how a script would be imported


def test_a_script_imported_by_a_worker_process_runs_nothing(monkeypatch):
    """A Dask or multiprocessing worker started by spawn imports the main module again, as ``__mp_main__``: a
    script then must not start its command (a study's script would start a second study in each worker)."""
    import runpy

    import brainnets.cli

    started = []
    monkeypatch.setattr(brainnets.cli, "script", lambda *words: started.append(words) or 0)
    for script in sorted((REPOSITORY / "scripts").glob("*.py")):
        runpy.run_path(str(script), run_name="__mp_main__")
    assert started == []
    with pytest.raises(SystemExit):
        runpy.run_path(str(REPOSITORY / "scripts" / "seed_spread.py"), run_name="__main__")
    assert started == [("study", "seeds")]
