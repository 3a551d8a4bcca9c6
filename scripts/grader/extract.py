"""Read the student's answers out of a submitted notebook, as data: nothing here runs them.

The graded code is the notebook's solution cells (nbgrader metadata ``solution: true``), in
notebook order, duplicates included: that is what *Restart Kernel and Run All Cells* would
define. A line that is IPython syntax rather than Python (``%run``, ``!pip``, ``f??``, ``%%time``)
is not run by the grader; each one is reported by cell and line, never dropped silently. A cell
that is not valid Python is reported with the parser's message and not run.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SolutionCell:
    """One solution cell: its grade id, the Python the grader runs, and what it left out."""

    name: str
    source: str
    notes: tuple[str, ...] = ()


@dataclass
class Extracted:
    """The solution cells of one notebook and the problems found reading it."""

    cells: list[SolutionCell] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    problem: str | None = None


def _text(source: Any) -> str:
    return "".join(source) if isinstance(source, list) else str(source or "")


def _ipython_line(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and (stripped[0] in "%!?" or stripped.endswith("?")
                               and not stripped.startswith("#"))


def _parses(text: str) -> SyntaxError | None:
    try:
        ast.parse(text)
    except SyntaxError as error:
        return error
    return None


def plain_python(name: str, source: str) -> SolutionCell:
    """The cell as the grader runs it: Python as is; IPython lines blanked, each named in a
    note; a cell that is still not Python is not run (the parser's message is the note)."""
    if _parses(source) is None:
        return SolutionCell(name, source)
    lines = source.splitlines()
    if lines and lines[0].strip().startswith("%%"):
        return SolutionCell(name, "", (f"cell {name}: the cell magic {lines[0].strip()!r} "
                                       f"makes it IPython, not Python; the grader did not run "
                                       f"this cell",))
    notes, kept = [], []
    for number, line in enumerate(lines, 1):
        if _ipython_line(line):
            notes.append(f"cell {name}, line {number}: {line.strip()!r} is IPython syntax, "
                         f"not Python; the grader did not run this line")
            kept.append("")
        else:
            kept.append(line)
    text = "\n".join(kept) + "\n"
    error = _parses(text)
    if error is not None:
        notes.append(f"cell {name}, line {error.lineno}: not valid Python ({error.msg}); the "
                     f"grader did not run this cell")
        return SolutionCell(name, "", tuple(notes))
    return SolutionCell(name, text, tuple(notes))


def solution_cells(nb: dict) -> Extracted:
    """The solution code cells of a notebook (JSON already loaded)."""
    extracted = Extracted()
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        extracted.problem = "not a notebook (no list of cells)"
        return extracted
    seen: set[str] = set()
    for cell in nb["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        if not isinstance(meta, dict) or not meta.get("solution"):
            continue
        name = str(meta.get("grade_id", "?"))
        if name in seen and name not in extracted.duplicates:
            extracted.duplicates.append(name)
        seen.add(name)
        extracted.cells.append(plain_python(name, _text(cell.get("source"))))
    return extracted


def read_notebook(path: Path) -> Extracted:
    """:func:`solution_cells` of the notebook at ``path``; an unreadable file is a problem."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        extracted = Extracted()
        extracted.problem = f"cannot read the notebook ({type(error).__name__})"
        return extracted
    return solution_cells(nb)
