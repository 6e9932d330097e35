"""The tutorials in ``docs/tutorials/``: one notebook per demo, made from its lesson, executed, outputs kept.

    python -m brainnets.demos.notebooks                    # every notebook, the gallery figures and README.md
    python -m brainnets.demos.notebooks membranes cochlea  # only these (and README.md)

A notebook is never edited by hand: its cells are the demo's lesson (``lessons.LESSONS``), executed top to
bottom in a fresh ``python3`` kernel started in the tutorials' folder, and written with their outputs so that it
reads anywhere without running. The figure of the cell tagged ``gallery`` becomes ``figures/NAME.png``, the
demo's picture in ``README.md``. :func:`text_outputs` is what a fresh execution must reproduce (the tests
compare them), :func:`problems` what a committed notebook must not have. Every file is written atomically.
Making and executing notebooks needs the ``notebooks`` extra (nbclient, nbformat, ipykernel), imported only then.
"""
from __future__ import annotations

import argparse
import base64
from pathlib import Path

from ..checkpoint import write_bytes_atomic
from . import DEMOS
from .lessons import GALLERY_TAG, LESSONS

#: The tutorials of the source tree (the generator is a tool of the repository, not of an installed package).
TUTORIALS = Path(__file__).resolve().parents[2] / "docs" / "tutorials"
KERNEL = "python3"
CELL_TIMEOUT_S = 300
KERNELSPEC = {"name": KERNEL, "display_name": "Python 3 (ipykernel)", "language": "python"}


def notebook(name: str):
    """The unexecuted notebook (an ``nbformat.NotebookNode``) of the demo ``name``, its cell ids numbered (stable
    from one build to the next)."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    cells = []
    for k, cell in enumerate(LESSONS[name]):
        if cell.kind == "markdown":
            made = new_markdown_cell(cell.source)
        else:
            made = new_code_cell(cell.source, metadata={"tags": [GALLERY_TAG]} if cell.gallery else {})
        made["id"] = f"{name}-{k}"
        cells.append(made)
    return new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})


def execute(notebook_node, folder: Path = TUTORIALS):
    """Run every cell in order in a fresh kernel started in ``folder``; a cell that raises stops it with
    nbclient's ``CellExecutionError``. Returns the notebook, its outputs filled in."""
    from nbclient import NotebookClient

    client = NotebookClient(notebook_node, timeout=CELL_TIMEOUT_S, kernel_name=KERNEL, record_timing=False,
                            coalesce_streams=True, resources={"metadata": {"path": str(folder)}})
    return client.execute()


def text_outputs(notebook_node) -> list[str]:
    """Per code cell, the text its outputs show: printed text (stdout), the plain-text form of results and
    displays, errors. Not stderr, whose warnings and log lines depend on the installed libraries."""
    texts = []
    for cell in notebook_node.cells:
        if cell.cell_type != "code":
            continue
        shown = []
        for output in cell.outputs:
            if output.output_type == "stream" and output.name == "stdout":
                shown.append(output.text)
            elif output.output_type in ("execute_result", "display_data"):
                shown.append(output.data.get("text/plain", ""))
            elif output.output_type == "error":
                shown.append(f"{output.ename}: {output.evalue}")
        texts.append("".join(shown))
    return texts


def problems(notebook_node) -> list[str]:
    """What is wrong with a notebook as committed: error outputs, code cells never executed, cells executed out
    of order (each cell's count must be one more than the previous one's)."""
    found, count = [], 0
    for k, cell in enumerate(notebook_node.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        count += 1
        if cell.execution_count is None:
            found.append(f"cell {k}: never executed")
        elif cell.execution_count != count:
            found.append(f"cell {k}: executed as [{cell.execution_count}], expected [{count}] (out of order)")
        found += [f"cell {k}: {output.ename}: {output.evalue}" for output in cell.outputs
                  if output.output_type == "error"]
    return found


def gallery_png(notebook_node) -> bytes:
    """The PNG image shown by the executed notebook's cell tagged :data:`~.lessons.GALLERY_TAG`."""
    for cell in notebook_node.cells:
        if GALLERY_TAG in cell.get("metadata", {}).get("tags", []):
            for output in cell.outputs:
                if "image/png" in output.get("data", {}):
                    return base64.b64decode(output.data["image/png"])
    raise ValueError("no figure in a cell tagged 'gallery'")


def readme() -> str:
    """The gallery: one figure per demo, what it shows and the command that draws it."""
    parts = [
        "# Tutorials: the teaching demos\n",
        "Each demo runs a small piece of brainnets (the package's own models, never a re-written copy) and draws "
        "what it does, in well under a minute on two cores. The notebooks explain each one step by step (open one "
        "with `jupyter lab docs/tutorials/membranes.ipynb`; running them needs `pip install -e '.[notebooks]'`); "
        "`brainnets demo NAME` writes a demo's figures as PNG files (`brainnets demo --list` names the demos). "
        "The notebooks, this page and its figures are made by `python -m brainnets.demos.notebooks`: do not edit "
        "them by hand.\n",
    ]
    for name, (_, description) in DEMOS.items():
        parts.append(f"## [{name}]({name}.ipynb)\n\n![{name}](figures/{name}.png)\n\n{description[0].upper()}"
                     f"{description[1:]}.\n\n    brainnets demo {name} --out runs/demos/{name}\n")
    return "\n".join(parts)


def build(names: list[str], folder: Path = TUTORIALS) -> None:
    """Make, execute and write the notebooks of ``names`` and their gallery figures, then ``README.md``."""
    import nbformat

    for name in names:
        executed = execute(notebook(name), folder)
        trouble = problems(executed)
        if trouble:
            raise RuntimeError(f"{name}: {'; '.join(trouble)}")
        write_bytes_atomic(folder / "figures" / f"{name}.png", gallery_png(executed))
        write_bytes_atomic(folder / f"{name}.ipynb", nbformat.writes(executed).encode())
        print(f"wrote {folder / f'{name}.ipynb'}")
    write_bytes_atomic(folder / "README.md", readme().encode())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m brainnets.demos.notebooks", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"the demos whose notebooks to make (default: all: {', '.join(DEMOS)})")
    parser.add_argument("--folder", type=Path, default=TUTORIALS,
                        help="where the tutorials live (default: %(default)s)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(DEMOS))
    if unknown:
        parser.error(f"unknown demo(s) {', '.join(unknown)}; the demos are {', '.join(DEMOS)}")
    build(args.names or list(DEMOS), args.folder)


if __name__ == "__main__":
    main()
