"""Every course notebook runs top to bottom in a fresh kernel, is committed without outputs,
and is listed in the README (and every notebook the README lists exists)."""

import json
import re
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
# The numbered course notebooks and their appendices (appendix_a_*.ipynb, appendix_errata, ...).
NOTEBOOKS = sorted([*(ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"),
                    *(ROOT / "notebooks").glob("appendix_*.ipynb")])
# Executed: the course, its appendices, and the Chinese edition generated from them (zh/).
EXECUTED = NOTEBOOKS + sorted((ROOT / "notebooks" / "zh").glob("*.ipynb"))
TIMEOUT_PER_CELL = 300


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ has no course notebooks"


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").rglob("*.ipynb")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_committed_without_outputs(path):
    notebook = json.loads(path.read_text())
    dirty = [i for i, cell in enumerate(notebook["cells"]) if cell["cell_type"] == "code"
             and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; run nbstripout on it"


def test_readme_course_map_matches_notebooks():
    listed = set(re.findall(r"notebooks/((?:\d\d_|appendix_)[a-z0-9_]+\.ipynb)",
                            (ROOT / "README.md").read_text()))
    present = {p.name for p in NOTEBOOKS}
    assert listed == present, f"README lists {sorted(listed - present)} that do not exist and " \
                              f"misses {sorted(present - listed)}"


@pytest.mark.notebook
@pytest.mark.parametrize("path", EXECUTED,
                         ids=lambda p: p.relative_to(ROOT / "notebooks").with_suffix("").as_posix())
def test_notebook_runs_in_a_fresh_kernel(path, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "mpl"))
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    notebook = nbformat.read(path, as_version=4)
    # "immediate": every output is recorded when the last cell ends; a graceful shutdown would
    # only wait (about 0.7 s a notebook) for torch's exit handlers.
    client = NotebookClient(notebook, timeout=TIMEOUT_PER_CELL, kernel_name="python3",
                            shutdown_kernel="immediate",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError on the first failing cell
    elapsed = time.perf_counter() - start
    errors = [out for cell in notebook.cells if cell.cell_type == "code"
              for out in cell.outputs if out.output_type == "error"]
    assert not errors
    print(f"{path.name}: {elapsed:.1f} s")
