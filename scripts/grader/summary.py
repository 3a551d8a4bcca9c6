"""The table a teacher reads first: one row per student, one column per assignment.

Each entry is the score and a status:

- ``ok``: graded automatically, nothing to do (points lost are listed below the table);
- ``manual``: a written answer waits for a hand grade in the formgrader;
- ``crashed``: the student's code ended the sandbox before it answered, or ran out of time
  (why is listed); every function of that submission scored 0;
- ``missing cells``: graded cells were deleted or the notebook lost nbgrader's metadata;
- ``invalid file``: what was returned is not a notebook (collect did not copy it);
- ``not collected``: nothing under the expected name;
- ``refused``: collect would not take it (a symbolic link, or a folder name that is unsafe);
- ``not graded``: collected, but autograde has not run on this version of it;
- ``FLAGGED``: the integrity audit has findings (listed in the audit report).

Below the table every entry that is not a clean full score gets a line saying why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.audit import Flag
from grader.collect import load_refused, load_report

WHAT_TO_DO = {
    "not collected": "check collect's notes; ask the student for <ID>.ipynb",
    "invalid file": "ask the student to download the notebook again (File > Download) and "
                    "resend it",
    "crashed": "read the notebook; fix or remove the line that ends the process in a copy, "
               "or grade by hand",
    "refused": "ask for the notebook itself (not a link) or rename the folder to the "
               "student's plain id, then collect again",
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


def _graded_ids(nb: dict) -> set[str]:
    return {c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            for c in nb.get("cells", [])
            if c.get("metadata", {}).get("nbgrader", {}).get("grade")}


def build(course: Path, assignments: list[str], gradebook: Any,
          flags: dict[str, list[Flag]]) -> dict[str, dict[str, Entry]]:
    """``{student: {assignment: Entry}}`` for every student seen anywhere."""
    collected = load_report(course)
    students = {s.id for s in gradebook.students}
    for assignment in assignments:
        students |= set(collected.get(assignment, {}))
    students |= {p.name for p in (course / "submitted").glob("*") if p.is_dir()}
    table: dict[str, dict[str, Entry]] = {s: {} for s in sorted(students)}
    for name, why in load_refused(course):
        table[name] = {a: Entry(statuses=["refused"], details=[f"folder {name}: {why}"])
                       for a in assignments}
    for assignment in assignments:
        source = _source_ids(course, assignment)
        found: dict[str, int] = {}
        for flag in flags.get(assignment, []):
            found[flag.student] = found.get(flag.student, 0) + 1
        for student in table:
            if student.startswith("'"):
                continue
            entry = table[student][assignment] = Entry()
            _fill(entry, course, assignment, student, gradebook, collected, source)
            if student in found:
                entry.statuses.append("FLAGGED")
                entry.details.append(f"integrity audit: {found[student]} finding(s), see the "
                                     f"audit report")
    return table


def _source_ids(course: Path, assignment: str) -> set[str]:
    path = course / "source" / assignment / f"{assignment}.ipynb"
    return _graded_ids(json.loads(path.read_text())) if path.is_file() else set()


def _fill(entry: Entry, course: Path, assignment: str, student: str, gradebook: Any,
          collected: dict, source_ids: set[str]) -> None:
    from nbgrader.api import MissingEntry

    from grader import grade
    record = collected.get(assignment, {}).get(student)
    submitted = course / "submitted" / student / assignment / f"{assignment}.ipynb"
    if record and record["status"] in ("invalid file", "refused"):
        entry.statuses.append(record["status"])
        entry.details.append(record["detail"])
        return
    if not submitted.is_file():
        entry.statuses.append("not collected")
        entry.details.append(record["detail"] if record else "nothing in submitted/")
        return
    if record and record.get("detail"):
        entry.details.append(f"graded file: {record['detail']}")
    result = grade.load(course, assignment, student)
    try:
        notebook = gradebook.find_submission_notebook(assignment, assignment, student)
    except MissingEntry:
        notebook = None
    if notebook is None or result is None or result.sha256 != grade.sha256(submitted):
        entry.statuses.append("not graded")
        entry.details.append("collected but not autograded since (run autograde)")
        return
    entry.score, entry.max_score = notebook.score, notebook.max_score
    if result.problem:
        entry.statuses.append("crashed")
        entry.details.append(f"the grader could not run it: {result.problem}")
    entry.details += [f"note: {n}" for n in result.notes]
    entry.details += [f"warning (no points lost): {w}" for w in result.warnings]
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
    for item in sorted(notebook.grades, key=lambda g: g.name):
        if item.needs_manual_grade or item.score == item.max_score:
            continue
        verdict = result.functions.get(item.name.removeprefix("test_"))
        why = verdict.report.splitlines()[0] if verdict else ""
        entry.details.append(f"{item.name} {item.score:g}/{item.max_score:g}"
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
