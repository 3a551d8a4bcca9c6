"""Decide the hidden tests outside the student's kernel.

The hidden test cell of each graded function saved the student's answers on the hidden inputs
(:func:`swin_edu.grading.hidden.record_answers`). Here, in a fresh process that never runs the
student's code, the same inputs are rebuilt, the expected answers computed with the references
of :data:`swin_edu.grading.QUESTIONS`, and compared under the rules of the visible checks
(:func:`swin_edu.grading.describe_difference`). A question whose answers are wrong or missing
gets a manual score of 0 in nbgrader's gradebook with a comment saying why; nothing the kernel
did (patched checkers, patched ``torch.testing``, a patched ``swin_edu``) can raise a score.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from swin_edu.grading import QUESTIONS, describe_difference
from swin_edu.grading.hidden import ANSWERS_DIR, hidden_cases

# Comments written by this module start with this, so a re-run can tell them from a teacher's.
MARK = "[hidden tests]"


@dataclass(frozen=True)
class Verdict:
    """The hidden tests of one function in one submission."""

    function: str
    passed: bool
    reason: str = ""


def _expected_type(expected: Any) -> str:
    if isinstance(expected, torch.Tensor):
        return "torch.Tensor"
    return f"{type(expected).__module__}.{type(expected).__qualname__}"


def _compare(function: str, answers: list[dict]) -> Verdict:
    question = QUESTIONS[function]
    cases = hidden_cases(function)
    if len(answers) != len(cases):
        return Verdict(function, False, f"{len(answers)} answers recorded for {len(cases)} "
                                        f"hidden inputs: the recording was tampered with")
    for case, answer in zip(cases, answers):
        expected = question.reference(*case.args)
        kind, value = answer.get("type"), answer.get("value")
        if kind == "exception":
            return Verdict(function, False, f"on hidden input {case.label}: raised {value}")
        if kind != _expected_type(expected):
            shown = f" {value}" if isinstance(value, str) else ""
            return Verdict(function, False, f"on hidden input {case.label}: returned a {kind}"
                                            f"{shown}, expected a {_expected_type(expected)}")
        difference = describe_difference(value, expected, question.rtol, question.atol)
        if difference is not None:
            return Verdict(function, False, f"on hidden input {case.label}: {difference}")
    return Verdict(function, True)


def answers_path(course: Path, assignment: str, student: str, function: str) -> Path | None:
    """Where the kernel saved the answers: nbgrader runs the notebook in ``autograded/``, which
    ``autograde --force`` empties first, so a file there is from the latest run."""
    path = course / "autograded" / student / assignment / ANSWERS_DIR / f"{function}.pt"
    return path if path.is_file() else None


def verify(course: Path, assignment: str, student: str, function: str) -> Verdict:
    """The verdict on ``function``'s hidden tests in one submission."""
    path = answers_path(course, assignment, student, function)
    if path is None:
        return Verdict(function, False, "no hidden answers were recorded: the graded cell "
                                        "stopped before its hidden tests, or the notebook "
                                        "skipped them")
    try:
        saved = torch.load(path, weights_only=True)
    except Exception as error:  # a file the kernel wrote: anything can be wrong with it
        return Verdict(function, False, f"the recorded answers cannot be read ({error})")
    if not isinstance(saved, dict) or saved.get("function") != function or \
            not isinstance(saved.get("answers"), list):
        return Verdict(function, False, "the recorded answers are not in the recorder's format")
    return _compare(function, saved["answers"])


def clear_answers(course: Path, assignment: str) -> None:
    """Delete answer files shipped inside submissions (nbgrader copies every file of a
    submission into ``autograded/``), so that only what the kernel records counts."""
    for path in (course / "submitted").glob(f"*/{assignment}/{ANSWERS_DIR}/*.pt"):
        path.unlink()


def apply_to_gradebook(gradebook: Any, assignment: str, student: str,
                       verdicts: list[Verdict]) -> list[str]:
    """Zero the questions whose hidden tests failed; undo an earlier zero that no longer holds.

    Returns one line per change. A teacher's own manual score (no :data:`MARK` comment) is
    never touched.
    """
    changes = []
    for verdict in verdicts:
        grade = gradebook.find_grade(f"test_{verdict.function}", assignment, assignment, student)
        comment = _solution_comment(gradebook, assignment, student, verdict.function)
        ours = comment is not None and (comment.manual_comment or "").startswith(MARK)
        if not verdict.passed and (grade.auto_score or 0) > 0 and \
                (grade.manual_score is None or ours):
            grade.manual_score = 0.0
            grade.needs_manual_grade = False
            if comment is not None:
                comment.manual_comment = f"{MARK} 0 points: {verdict.reason}"
            changes.append(f"{student}/{assignment} {verdict.function}: 0 of "
                           f"{grade.max_score:g} ({verdict.reason})")
        elif verdict.passed and ours:
            grade.manual_score = None
            comment.manual_comment = None
            changes.append(f"{student}/{assignment} {verdict.function}: hidden tests pass now")
    gradebook.db.commit()
    return changes


def _solution_comment(gradebook: Any, assignment: str, student: str, function: str) -> Any:
    from nbgrader.api import MissingEntry
    try:
        return gradebook.find_comment(function, assignment, assignment, student)
    except MissingEntry:
        return None
