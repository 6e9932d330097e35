"""The teaching demos: the command, and the tutorials, each executed afresh and compared with its committed notebook.

Executing a notebook runs its demo, so every demo runs once here: through its notebook, and the fastest one also
through ``brainnets demo``.
"""
import pytest

pytest.importorskip("nbclient", reason="the tutorials need the notebooks extra (pip install -e '.[notebooks]')")

import nbformat  # noqa: E402

from brainnets.cli import main  # noqa: E402
from brainnets.demos import DEMOS  # noqa: E402
from brainnets.demos.lessons import LESSONS  # noqa: E402
from brainnets.demos.notebooks import TUTORIALS, execute, notebook, problems, readme, text_outputs  # noqa: E402

FASTEST = "stdp-window"


def test_list_names_every_demo_with_its_description(capsys):
    assert main(["demo", "--list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == list(DEMOS)
    for line, (_, description) in zip(listed, DEMOS.values()):
        assert line.endswith(description)


def test_a_demo_writes_its_figures_and_never_overwrites_them(tmp_path, capsys):
    out = tmp_path / "figures"
    assert main(["demo", FASTEST, "--out", str(out)]) == 0
    written = sorted(out.iterdir())
    assert [path.name for path in written] == sorted(f"{name}.png" for name in
                                                     ("window", "weight_dependence", "repeated_pairings", "pairing"))
    assert all(path.read_bytes().startswith(b"\x89PNG") for path in written)
    assert capsys.readouterr().out.splitlines() == [f"wrote {out / path.name}" for path in
                                                    (out / "window.png", out / "weight_dependence.png",
                                                     out / "repeated_pairings.png", out / "pairing.png")]
    before = {path: path.stat().st_mtime_ns for path in written}
    assert main(["demo", FASTEST, "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {out} exists")
    assert {path: path.stat().st_mtime_ns for path in written} == before


@pytest.mark.parametrize("argv, message", [
    (["demo", "no-such-demo"], "error: unknown demo 'no-such-demo'; the demos are membranes, "),
    (["demo"], "error: name a demo to run"),
])
def test_a_bad_name_is_one_error_line(argv, message, capsys):
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert error.startswith(message) and error.count("\n") == 1


def test_every_demo_has_a_lesson_a_notebook_and_a_gallery_entry():
    assert set(LESSONS) == set(DEMOS)
    assert (TUTORIALS / "README.md").read_text() == readme()
    for name in DEMOS:
        assert (TUTORIALS / f"{name}.ipynb").is_file(), f"make it: python -m brainnets.demos.notebooks {name}"
        assert (TUTORIALS / "figures" / f"{name}.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("name", list(DEMOS))
def test_the_committed_notebook_is_what_its_lesson_gives_today(name):
    committed = nbformat.read(TUTORIALS / f"{name}.ipynb", as_version=4)
    assert problems(committed) == []
    fresh = execute(notebook(name))
    rebuild = f"stale: rebuild it with python -m brainnets.demos.notebooks {name}"
    assert [cell.source for cell in committed.cells] == [cell.source for cell in fresh.cells], rebuild
    assert text_outputs(committed) == text_outputs(fresh), rebuild
