"""The teacher's side in a real browser: JupyterLab served from an nbgrader course directory
(as docs/teachers.md step 4 says), the formgrader opened from the Nbgrader menu lists the
assignment, its Manual Grading page opens a submission, and a score typed there lands in the
gradebook.

The course is built the way a teacher builds it: scripts/assignments.sh generate, collect and
autograde on one submission of 06_complexity with a written answer to grade by hand.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from conftest import BUILD_DIR, LAB_SETTINGS, REPO, VENV_BIN, Phases
from lab import BrowserLog, menu
from processes import LabServer, isolated_env, start_lab, stop_process_tree

ASSIGNMENT = "06_complexity"
STUDENT = "alice"
WRITTEN_ANSWER = "exp(-100) is about 3.7e-44: zero in float16, negligible in float32."


def _script(course: Path, *args: str) -> str:
    env = dict(os.environ, COURSE_DIR=str(course), RELEASE_DIR=str(course.parent / "release"),
               NBGRADER=str(VENV_BIN / "nbgrader"))
    result = subprocess.run(["bash", str(REPO / "scripts" / "assignments.sh"), *args], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result.stdout


def _submission(course: Path) -> dict:
    """The source notebook with its solutions, and a written answer in the manual cell."""
    nb = json.loads((REPO / "notebooks" / "assignments" / ASSIGNMENT /
                     f"{ASSIGNMENT}.ipynb").read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "why_minus_100":
            cell["source"] = WRITTEN_ANSWER
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory, phases: Phases) -> Path:
    start = time.perf_counter()
    root = tmp_path_factory.mktemp("teacher")
    course = root / "course"
    _script(course, "generate", ASSIGNMENT)
    returned = root / "returned" / STUDENT
    returned.mkdir(parents=True)
    (returned / f"{ASSIGNMENT}.ipynb").write_text(json.dumps(_submission(course)))
    _script(course, "collect", str(root / "returned"), ASSIGNMENT)
    summary = _script(course, "autograde", ASSIGNMENT)
    assert re.search(rf"{STUDENT}\s+6/9 manual", summary), summary[-2000:]
    phases.record("formgrader course (generate, collect, autograde)", time.perf_counter() - start)
    return course


@pytest.fixture(scope="module")
def teacher_lab(course: Path, e2e_home: Path) -> Iterator[LabServer]:
    """`jupyter lab` started inside the course directory, as the docs tell a teacher."""
    home = e2e_home / "teacher"
    env = isolated_env(home, VENV_BIN)
    for name, settings in LAB_SETTINGS.items():
        path = Path(env["JUPYTER_CONFIG_DIR"]) / "lab" / "user-settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    server = start_lab(VENV_BIN / "jupyter", course, course, env,
                       BUILD_DIR / "formgrader-lab.log")
    try:
        yield server
    finally:
        stop_process_tree(server.process)


def _formgrader(page: Page) -> FrameLocator:
    return page.frame_locator("iframe").first


def _manual_score(course: Path) -> float | None:
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        grade = gradebook.find_grade("why_minus_100", ASSIGNMENT, ASSIGNMENT, STUDENT)
        return grade.manual_score


def test_formgrader_lists_the_assignment_and_saves_a_manual_score(
        teacher_lab: LabServer, course: Path, lab_page: tuple[Page, BrowserLog],
        phases: Phases) -> None:
    page, log = lab_page
    start = time.perf_counter()
    page.goto(f"{teacher_lab.url}lab")
    page.locator(".lm-MenuBar-item", has_text="Nbgrader").wait_for(timeout=120_000)
    menu(page, "Nbgrader", "Formgrader")
    frame = _formgrader(page)

    # Manage Assignments lists the generated assignment with its one submission.
    row = frame.locator("tr", has_text=ASSIGNMENT).first
    expect(row).to_be_visible(timeout=60_000)
    phases.record("formgrader lists the assignments", time.perf_counter() - start)

    # Manual Grading > assignment > notebook > the submission's grading page.
    frame.get_by_role("link", name="Manual Grading").click()
    frame.get_by_role("link", name=ASSIGNMENT).first.click()
    frame.get_by_role("link", name=ASSIGNMENT).first.click()
    frame.locator("a", has_text=re.compile(r"Submission #\d+")).first.click()
    expect(frame.locator("body")).to_contain_text("3.7e-44", timeout=60_000)
    score = frame.locator("input.score#why_minus_100")
    # The page's model has loaded the grade: the input is marked as waiting for a hand grade.
    expect(score).to_have_class(re.compile(r"\bneeds_manual_grade\b"), timeout=30_000)
    score.fill("2")
    score.press("Tab")  # the change event saves it
    deadline = time.monotonic() + 30
    while _manual_score(course) != 2.0 and time.monotonic() < deadline:
        time.sleep(0.25)
    assert _manual_score(course) == 2.0
    phases.record("manual score saved from the formgrader", time.perf_counter() - start)
    page.screenshot(path=str(BUILD_DIR / "formgrader-manual-grade.png"))
    assert not [e for e in log.errors if "formgrader" in e.lower()], log.errors
