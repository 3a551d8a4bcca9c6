"""Copy returned notebooks into nbgrader's ``submitted/`` folder, saying what was skipped.

Each student's folder ``DIR/<student>/`` should hold ``<ID>.ipynb`` (or ``<ID>/<ID>.ipynb``).
A file that only looks like it (``03_relative_position (1).ipynb``,
``03_Relative_Position.ipynb``, ``03_relative_position-2.ipynb``) is not taken but named in a
warning, with the file that would have been taken. A file that is not valid notebook JSON is
not copied (nbgrader would stop on it) and is reported as an invalid file. What happened to
every (student, assignment) pair is saved to ``collect.json`` in the course folder for the
summary.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

REPORT = "collect.json"


@dataclass(frozen=True)
class Collected:
    """What collect did for one student and one assignment."""

    student: str
    assignment: str
    status: str  # "collected", "invalid file", "not collected"
    detail: str = ""


def _normalise(name: str) -> str:
    """``'03_Relative Position (1)'`` -> ``'03relativeposition'``: what a renamed copy keeps."""
    name = re.sub(r"\s*\(\d+\)$|[-_ ]?(copy|\d+)$", "", name, flags=re.I)
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _lookalikes(student_dir: Path, assignment: str) -> list[Path]:
    wanted = _normalise(assignment)
    return sorted(p for p in student_dir.rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts and p.stem != assignment
                  and _normalise(p.stem) == wanted)


def notebook_problem(path: Path) -> str | None:
    """Why ``path`` is not a notebook nbgrader can grade, or ``None``."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        return "not UTF-8 text"
    except ValueError as error:
        return f"invalid JSON ({error}); the upload may be truncated"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return "JSON but not a notebook (no list of cells)"
    if nb.get("nbformat") != 4:
        return f"notebook format {nb.get('nbformat')!r}, expected 4"
    return None


def collect(returned: Path, course: Path, assignments: list[str]) -> tuple[list[Collected],
                                                                           list[str]]:
    """Copy what can be graded; returns the per-pair results and the warnings."""
    results: list[Collected] = []
    warnings: list[str] = []
    students = sorted(p for p in returned.iterdir() if p.is_dir() and not p.name.startswith("."))
    for student_dir in students:
        student = student_dir.name
        for assignment in assignments:
            found = next((p for p in (student_dir / f"{assignment}.ipynb",
                                      student_dir / assignment / f"{assignment}.ipynb")
                          if p.is_file()), None)
            lookalikes = _lookalikes(student_dir, assignment)
            if found is None:
                if lookalikes:
                    names = ", ".join(str(p.relative_to(returned)) for p in lookalikes)
                    newest = max(lookalikes, key=lambda p: p.stat().st_mtime)
                    detail = (f"no {assignment}.ipynb, but {names}; rename "
                              f"{newest.relative_to(returned)} (the newest) to "
                              f"{student}/{assignment}.ipynb to grade it")
                    warnings.append(f"WARNING {student}/{assignment}: {detail}")
                else:
                    detail = "nothing returned"
                results.append(Collected(student, assignment, "not collected", detail))
                continue
            if lookalikes:
                names = ", ".join(str(p.relative_to(returned)) for p in lookalikes)
                warnings.append(f"WARNING {student}/{assignment}: took "
                                f"{found.relative_to(returned)}; also found {names} (ignored)")
            problem = notebook_problem(found)
            destination = course / "submitted" / student / assignment / f"{assignment}.ipynb"
            if problem:
                warnings.append(f"WARNING {student}/{assignment}: {found.relative_to(returned)} "
                                f"is not graded: {problem}")
                if destination.exists():  # an earlier, valid copy must not be graded instead
                    destination.unlink()
                results.append(Collected(student, assignment, "invalid file",
                                         f"{found.relative_to(returned)}: {problem}"))
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(found, destination)
            results.append(Collected(student, assignment, "collected",
                                     str(found.relative_to(returned))))
    _merge_report(course, results)
    return results, warnings


def _merge_report(course: Path, results: list[Collected]) -> None:
    path = course / REPORT
    report = json.loads(path.read_text()) if path.is_file() else {}
    for result in results:
        report.setdefault(result.assignment, {})[result.student] = asdict(result)
    course.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")


def load_report(course: Path) -> dict[str, dict[str, dict]]:
    path = course / REPORT
    return json.loads(path.read_text()) if path.is_file() else {}
