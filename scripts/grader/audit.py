"""Integrity audit: what a teacher should read before accepting a score.

The grades no longer depend on anything the student's kernel did, so the audit looks for
what could still deserve a look, by student, assignment and cell:

- a function whose syntax tree is a near copy of the package's reference (:mod:`similarity`);
- an import of the course package or of another Swin implementation in a solution cell, or
  such an import refused in the sandbox;
- a submission whose bytes changed after collect recorded them (someone else's hand in
  ``submitted/``): its checksum no longer matches.

Findings are kept per assignment in ``audit.json``: re-grading some assignments replaces their
findings and keeps every other assignment's, so the final report always covers them all.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from grader.collect import load_report

AUDIT = "audit.json"


@dataclass(frozen=True)
class Flag:
    """One finding in one submission."""

    student: str
    assignment: str
    cell: str
    line: int
    what: str
    code: str

    def __str__(self) -> str:
        where = f"cell {self.cell}, line {self.line}" if self.line else f"cell {self.cell}"
        return (f"{self.student} / {self.assignment} / {where}: {self.what}"
                + (f"\n    {self.code}" if self.code else ""))


def checksum_flag(course: Path, assignment: str, student: str, sha256: str) -> Flag | None:
    """A flag when the graded file is not the one collect copied."""
    record = load_report(course).get(assignment, {}).get(student)
    if not record or not record.get("sha256") or record["sha256"] == sha256:
        return None
    return Flag(student, assignment, "-", 0,
                f"the submitted notebook changed after collect (SHA-256 {record['sha256'][:12]} "
                f"collected, {sha256[:12]} graded): collect it again from the student's own "
                f"copy", "")


def load(course: Path) -> dict[str, list[Flag]]:
    path = course / AUDIT
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return {a: [Flag(**f) for f in flags] for a, flags in data.items()}


def merge(course: Path, found: dict[str, list[Flag]]) -> dict[str, list[Flag]]:
    """Replace the findings of the assignments in ``found``; keep the others."""
    report = load(course)
    report.update(found)
    (course / AUDIT).write_text(json.dumps({a: [asdict(f) for f in flags]
                                            for a, flags in sorted(report.items())},
                                           indent=1) + "\n")
    return report


def render(report: dict[str, list[Flag]]) -> str:
    flags = [f for assignment in sorted(report) for f in report[assignment]]
    if not flags:
        return "INTEGRITY AUDIT: nothing to look at\n"
    submissions = len({(f.student, f.assignment) for f in flags})
    return (f"INTEGRITY AUDIT: {len(flags)} finding(s) in {submissions} submission(s)\n"
            + "\n".join(str(f) for f in flags) + "\n")
