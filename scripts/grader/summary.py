"""The table a teacher reads first: one row per student, one column per assignment.

Each entry is the score and a status:

- ``ok``: graded automatically, nothing to do (points lost are listed below the table);
- ``manual``: a written answer waits for a hand grade in the formgrader;
- ``crashed``: the kernel died or nbgrader could not grade the notebook (why is listed);
- ``missing cells``: graded cells were deleted or the notebook lost nbgrader's metadata;
- ``invalid file``: what was returned is not a notebook (collect did not copy it);
- ``not collected``: nothing under the expected name (collect's warnings name lookalikes);
- ``not graded``: collected, but autograde has not run on it yet;
- ``FLAGGED``: the integrity audit found suspicious lines (listed in the audit report).

Below the table every entry that is not a clean full score gets a line saying why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.audit import Flag
from grader.collect import load_report

WHAT_TO_DO = {
    "not collected": "check collect's warnings; rename the file to <ID>.ipynb or ask for it",
    "invalid file": "ask the student to download the notebook again (File > Download) and "
                    "resend it",
    "crashed": "read the notebook; fix or remove the line that ends the kernel in a copy, "
               "or grade by hand",
    "missing cells": "copy the student's answers into a fresh student version and collect "
                     "that, or grade by hand",
    "manual": "grade the written answers in the formgrader (Manual Grading)",
    "not graded": "run autograde for this assignment",
    "FLAGGED": "read the flagged lines in the audit report before accepting the score",
}


@dataclass
class Entry:
    """One student's result on one assignment."""

    score: float | None = None
    max_score: float | None = None
    statuses: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    def short(self) -> str:
        score = "-" if self.score is None else f"{self.score:g}/{self.max_score:g}"
        return f"{score} {', '.join(self.statuses) or 'ok'}"


def _cell_errors(nb: dict) -> tuple[dict[str, str], str | None]:
    """(first error line of each graded cell, why the run stopped early or None)."""
    errors: dict[str, str] = {}
    stopped = None
    ran_before = False
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        name = meta.get("grade_id", "?")
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                text = f"{output.get('ename')}: {output.get('evalue', '')}".strip()
                errors[name] = " ".join(text.split())[:300]
                if output.get("ename") in ("DeadKernelError", "CellTimeoutError") and not stopped:
                    stopped = f"{output.get('ename')} in cell {name}"
        if cell.get("execution_count") is None and ran_before and stopped is None and \
                "".join(cell.get("source", "")).strip():
            stopped = f"the kernel stopped after the cell before {name}; nothing below ran"
        ran_before = ran_before or cell.get("execution_count") is not None
    return errors, stopped


def _graded_ids(nb: dict) -> set[str]:
    return {c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            for c in nb.get("cells", [])
            if c.get("metadata", {}).get("nbgrader", {}).get("grade")}


def build(course: Path, assignments: list[str], gradebook: Any, verdicts: dict,
          flags: list[Flag], crashes: dict[tuple[str, str], str]) -> dict[str, dict[str, Entry]]:
    """``{student: {assignment: Entry}}`` for every student seen anywhere."""
    collected = load_report(course)
    students = {s.id for s in gradebook.students}
    for assignment in assignments:
        students |= set(collected.get(assignment, {}))
        students |= {p.name for p in (course / "submitted").glob(f"*") if p.is_dir()}
    table: dict[str, dict[str, Entry]] = {s: {} for s in sorted(students)}
    flagged: dict[tuple[str, str], int] = {}
    for flag in flags:
        flagged[(flag.student, flag.assignment)] = flagged.get((flag.student, flag.assignment),
                                                               0) + 1
    for assignment in assignments:
        source = _source_ids(course, assignment)
        for student in table:
            entry = table[student][assignment] = Entry()
            _fill(entry, course, assignment, student, gradebook, collected, source,
                  verdicts.get(assignment, {}).get(student, {}), crashes)
            if (student, assignment) in flagged:
                entry.statuses.append("FLAGGED")
                entry.details.append(f"integrity audit: {flagged[(student, assignment)]} "
                                     f"suspicious line(s), see the audit report")
    return table


def _source_ids(course: Path, assignment: str) -> set[str]:
    path = course / "source" / assignment / f"{assignment}.ipynb"
    return _graded_ids(json.loads(path.read_text())) if path.is_file() else set()


def _fill(entry: Entry, course: Path, assignment: str, student: str, gradebook: Any,
          collected: dict, source_ids: set[str], verdicts: dict,
          crashes: dict[tuple[str, str], str]) -> None:
    from nbgrader.api import MissingEntry
    record = collected.get(assignment, {}).get(student)
    submitted = course / "submitted" / student / assignment / f"{assignment}.ipynb"
    if record and record["status"] == "invalid file":
        entry.statuses.append("invalid file")
        entry.details.append(record["detail"])
        return
    if not submitted.is_file():
        entry.statuses.append("not collected")
        entry.details.append(record["detail"] if record else "nothing in submitted/")
        return
    try:
        notebook = gradebook.find_submission_notebook(assignment, assignment, student)
    except MissingEntry:
        if (student, assignment) in crashes:
            entry.statuses.append("crashed")
            entry.details.append(crashes[(student, assignment)])
        else:
            entry.statuses.append("not graded")
            entry.details.append("collected but not autograded yet")
        return
    entry.score, entry.max_score = notebook.score, notebook.max_score
    autograded = course / "autograded" / student / assignment / f"{assignment}.ipynb"
    errors, stopped = ({}, None)
    if autograded.is_file():
        errors, stopped = _cell_errors(json.loads(autograded.read_text()))
    else:
        stopped = crashes.get((student, assignment), "no autograded notebook")
    if (student, assignment) in crashes and not stopped:
        stopped = crashes[(student, assignment)]
    if stopped and not stopped.startswith("CellTimeoutError"):
        entry.statuses.append("crashed")
        entry.details.append(stopped)
    elif stopped:
        entry.details.append(stopped)
    try:
        submitted_ids = _graded_ids(json.loads(submitted.read_text()))
    except ValueError:
        submitted_ids = set()
    missing = sorted(source_ids - submitted_ids)
    if missing:
        entry.statuses.append("missing cells")
        entry.details.append(("the notebook has no nbgrader cell metadata (pasted into a new "
                              "notebook?)" if not submitted_ids else "deleted graded cells: "
                              + ", ".join(missing)) + "; those cells scored 0")
    manual = [g.name for g in notebook.grades if g.needs_manual_grade]
    if manual:
        entry.statuses.append("manual")
        entry.details.append("needs a hand grade: " + ", ".join(manual))
    for grade in sorted(notebook.grades, key=lambda g: g.name):
        if grade.needs_manual_grade or grade.score == grade.max_score:
            continue
        function = grade.name.removeprefix("test_")
        verdict = verdicts.get(function)
        why = errors.get(grade.name) or (verdict["reason"] if verdict and not verdict["passed"]
                                         else "")
        if verdict and not verdict["passed"] and grade.name not in errors:
            why = f"hidden tests: {verdict['reason']}"
        entry.details.append(f"{grade.name} {grade.score:g}/{grade.max_score:g}"
                             + (f": {why}" if why else ""))


def render(table: dict[str, dict[str, Entry]], assignments: list[str]) -> str:
    """The table, then the details and what to do about each status."""
    if not table:
        return "No students found: nothing collected or autograded yet.\n"
    header = ["student"] + assignments
    rows = [[student] + [table[student][a].short() for a in assignments] for student in table]
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    out = ["GRADING SUMMARY (score/max, status)", line(header),
           line(["-" * w for w in widths])]
    out += [line(row) for row in rows]
    details = []
    seen = set()
    for student in table:
        for assignment in assignments:
            entry = table[student][assignment]
            if entry.details:
                details.append(f"{student} / {assignment}: {entry.short()}")
                details += [f"    {d}" for d in entry.details]
                seen |= set(entry.statuses)
    if details:
        out += ["", "DETAILS"] + details
    todo = [f"  {status}: {WHAT_TO_DO[status]}" for status in WHAT_TO_DO if status in seen]
    if todo:
        out += ["", "WHAT TO DO"] + todo
    return "\n".join(out) + "\n"


def problems(table: dict[str, dict[str, Entry]]) -> list[str]:
    """One line per entry a teacher must look at (anything but ok/manual)."""
    return [f"{student}/{assignment}: {entry.short()}"
            for student, row in table.items() for assignment, entry in row.items()
            if set(entry.statuses) - {"manual"}]
