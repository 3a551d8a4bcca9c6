"""nbgrader's autograde without a kernel: the graded cells' outputs come from the grader.

The course's ``nbgrader_config.py`` puts :class:`SandboxGrade` where nbgrader's ``Execute``
would be, so ``nbgrader autograde`` never starts the student's notebook. For each notebook it
takes the grader's verdicts (:func:`grader.grade.grade_notebook`, run in parallel beforehand by
``python -m grader prepare``, or here when missing or stale) and writes each graded cell's
output: the report as text, plus an error output when the function failed. nbgrader's own
``SaveAutoGrades`` then scores the cells as always (an error output: 0 points, none: full
points), and the feedback and the formgrader show the grader's reports.

A graded code cell without a verdict gets an error output, so it scores 0: nothing passes by
default.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from nbformat.v4 import new_output
from traitlets import Unicode

from nbgrader.preprocessors import NbGraderPreprocessor

if TYPE_CHECKING:
    from grader import grade


def _report(result: "grade.Result", function: str, first: bool) -> tuple[str, bool]:
    verdict = result.functions.get(function)
    if verdict is None:
        return f"NOT GRADED {function}: the grader has no verdict for this cell", False
    text = verdict.report
    extras = []
    if first and result.notes:
        extras += ["Notes from the grader:"] + [f"  - {n}" for n in result.notes]
    if first and result.warnings:
        extras += ["Warnings your code gave (they cost nothing):"] + \
                  [f"  - {w}" for w in result.warnings]
    if first and result.printed.strip():
        extras += ["What your code printed while graded:", result.printed.rstrip()]
    return "\n".join([text] + extras), verdict.passed


class SandboxGrade(NbGraderPreprocessor):
    """Sets each graded code cell's outputs from the grader's verdicts (no kernel)."""

    course_root = Unicode("", help="The course directory (default: the working directory)"
                          ).tag(config=True)

    def preprocess(self, nb, resources):
        from grader import grade  # torch and swin_edu: only when grading, not on every command
        course = Path(self.course_root or os.getcwd())
        info = resources["nbgrader"]
        student, assignment, notebook = info["student"], info["assignment"], info["notebook"]
        submitted = course / "submitted" / student / assignment / f"{notebook}.ipynb"
        result = grade.load(course, assignment, student)
        if result is None or not submitted.is_file() or result.sha256 != grade.sha256(submitted):
            self.log.info("Grading %s/%s in the sandbox", student, assignment)
            result = grade.grade_notebook(course, assignment, student, submitted)
            grade.save(course, result)
        first = True
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or not meta.get("grade"):
                continue
            function = str(meta.get("grade_id", "")).removeprefix("test_")
            text, passed = _report(result, function, first)
            first = False
            cell.outputs = [new_output("stream", name="stdout", text=text + "\n")]
            if not passed:
                cell.outputs.append(new_output("error", ename="NotPassed",
                                               evalue=text.splitlines()[0],
                                               traceback=text.splitlines()))
            cell.execution_count = 1
        return nb, resources


class ResolveDuplicateIds(NbGraderPreprocessor):
    """nbgrader's ``DeduplicateIds`` without its crash: of cells sharing a grade id (a cell
    duplicated in JupyterLab) the last keeps the id and the others lose their nbgrader metadata
    entirely. ``DeduplicateIds`` leaves them an empty ``nbgrader`` dict, which nbgrader then
    reads as an outdated schema and stops grading every later student. The grader itself ran
    every copy in order and said so in its notes."""

    def preprocess(self, nb, resources):
        seen: set[str] = set()
        for cell in reversed(nb.cells):
            meta = cell.metadata.get("nbgrader")
            if not isinstance(meta, dict) or "grade_id" not in meta:
                continue
            if meta["grade_id"] in seen:
                self.log.warning("Cell with id '%s' exists more than once; the last one is kept",
                                 meta["grade_id"])
                del cell.metadata["nbgrader"]
            else:
                seen.add(meta["grade_id"])
        return nb, resources
