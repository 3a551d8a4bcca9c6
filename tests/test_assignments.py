"""End to end with nbgrader, as a teacher runs it (scripts/assignments.sh in a temporary course
directory, the grader's sandbox): the source notebooks and honest solutions in other styles
autograde to full marks and no audit flag, the unmodified student versions to zero, every
classic mistake planted in a copy loses its question's points and shows its hint on the hidden
input, and every kind of broken submission (a killed process, an endless loop, an invalid or
renamed file, deleted cells, lost metadata, a type slip) is named in the summary instead of
becoming a silent zero. The cheaters are in test_grader_class.py."""

import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbgrader")
from conftest import sandbox_skip  # noqa: E402

pytestmark = sandbox_skip()
from nbgrader.api import Gradebook  # noqa: E402

from assignment_students import HONEST_STYLES  # noqa: E402
from swin_edu import grading  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "assignments.sh"
SOURCES = REPO / "notebooks" / "assignments"
NBGRADER_ERROR = re.compile(r"\[\w+ \| ERROR\]")  # nbgrader's log format: "[AutogradeApp | ERROR]"
ASSIGNMENTS = sorted(p.name for p in SOURCES.iterdir() if (p / f"{p.name}.ipynb").is_file())


def run_script(root: Path, *args: str, rc: int | None = 0) -> str:
    env = dict(os.environ, COURSE_DIR=str(root / "course"), RELEASE_DIR=str(root / "release"),
               NBGRADER=str(Path(sys.executable).with_name("nbgrader")))
    result = subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True,
                            text=True, timeout=500)
    log = result.stdout + result.stderr
    assert rc is None or result.returncode == rc, log[-4000:]
    return log


def flagged(root: Path) -> dict[tuple[str, str], list[dict]]:
    found: dict[tuple[str, str], list[dict]] = {}
    for assignment, flags in json.loads((root / "course" / "audit.json").read_text()).items():
        for flag in flags:
            found.setdefault((flag["student"], assignment), []).append(flag)
    return found


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A course directory with every assignment generated (one per xdist worker)."""
    root = tmp_path_factory.mktemp("nbgrader")
    run_script(root, "generate")
    return root


def notebook_path(root: Path, assignment: str) -> Path:
    return root / "release" / assignment / f"{assignment}.ipynb"


def code_solution_cells(nb) -> dict[str, nbformat.NotebookNode]:
    return {cell.metadata.nbgrader.grade_id: cell for cell in nb.cells
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")}


def planted_source(function: str, mistake: grading.Mistake) -> str:
    source = inspect.getsource(mistake.implementation)
    return re.sub(r"^def \w+\(", f"def {function}(", source, count=1)


def submit(returned: Path, student: str, assignment: str, nb) -> None:
    (returned / student).mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(returned / student / f"{assignment}.ipynb"))


def grades(root: Path, assignment: str, student: str) -> dict[str, tuple]:
    with Gradebook(f"sqlite:///{root / 'course' / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(assignment, assignment, student)
        return {g.name: (g.score, g.max_score, g.needs_manual_grade) for g in notebook.grades}


def graded_outputs(root: Path, assignment: str, student: str) -> dict[str, str]:
    """The text each graded cell printed or raised in the autograded notebook."""
    path = root / "course" / "autograded" / student / assignment / f"{assignment}.ipynb"
    nb = json.loads(path.read_text())
    texts = {}
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] == "code" and meta.get("grade"):
            parts = [o.get("text", "") if isinstance(o.get("text", ""), str)
                     else "".join(o["text"]) for o in cell["outputs"]]
            parts += [f"{o['ename']}: {o['evalue']}" for o in cell["outputs"]
                      if o["output_type"] == "error"]
            texts[meta["grade_id"]] = "\n".join(parts)
    return texts


def test_student_versions_have_no_solutions_and_sources_no_outputs(course):
    for assignment in ASSIGNMENTS:
        source = nbformat.read(SOURCES / assignment / f"{assignment}.ipynb", as_version=4)
        assert all(not c.get("outputs") and not c.get("execution_count")
                   for c in source.cells if c.cell_type == "code"), assignment
        text = notebook_path(course, assignment).read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
        assert "raise NotImplementedError()" in text
        released = nbformat.read(notebook_path(course, assignment), as_version=4)
        for function in code_solution_cells(released):
            assert function in grading.QUESTIONS, f"{assignment}: no checker for {function}"


# Each nbgrader copy costs a fresh kernel; test_grading.py diagnoses every catalogued mistake
# (and runs each planted cell on its own), so the end-to-end run plants the first few.
PLANTED_DEPTH = 3


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_autograde_solution_blank_and_classic_mistakes(course, tmp_path, assignment):
    source = nbformat.read(SOURCES / assignment / f"{assignment}.ipynb", as_version=4)
    released = nbformat.read(notebook_path(course, assignment), as_version=4)
    solutions = {f: cell.source for f, cell in code_solution_cells(source).items()}
    returned = tmp_path / "returned"
    submit(returned, "solution", assignment, source)
    submit(returned, "blank", assignment, released)
    # Copy j plants mistake j of every question that has one; the other questions get the
    # solution, so each copy also checks that a right answer keeps its points.
    planted: dict[str, dict[str, grading.Mistake]] = {}
    depth = min(PLANTED_DEPTH, max(len(grading.QUESTIONS[f].mistakes) for f in solutions))
    for j in range(depth):
        student, copy = f"mistake{j}", nbformat.from_dict(json.loads(json.dumps(released)))
        planted[student] = {}
        for function, cell in code_solution_cells(copy).items():
            mistakes = grading.QUESTIONS[function].mistakes
            if j < len(mistakes):
                planted[student][function] = mistakes[j]
                cell.source = planted_source(function, mistakes[j])
            else:
                cell.source = solutions[function]
        submit(returned, student, assignment, copy)

    # An honest student in other styles (loops, unfold, numpy, SDPA) keeps full marks, unflagged.
    honest = nbformat.from_dict(json.loads(json.dumps(released)))
    for function, cell in code_solution_cells(honest).items():
        cell.source = HONEST_STYLES[function]
    submit(returned, "honest_style", assignment, honest)
    run_script(course, "collect", str(returned), assignment)
    log = run_script(course, "autograde", assignment, rc=None)
    assert not NBGRADER_ERROR.search(log), log[-4000:]
    assert "integrity audit" not in log.split("step(s) failed")[-1], log[-3000:]
    assert not any(flagged(course).get((s, assignment)) for s in
                   ["solution", "blank", "honest_style", *planted]), flagged(course)
    for name, (score, max_score, _) in grades(course, assignment, "honest_style").items():
        if name.startswith("test_"):
            assert score == max_score > 0, (name, score)

    for name, (score, max_score, manual) in grades(course, assignment, "solution").items():
        if name.startswith("test_"):
            assert score == max_score > 0, (name, score)
        else:  # the written answer waits for the teacher
            assert manual, name
    blank_outputs = graded_outputs(course, assignment, "blank")
    for name, (score, _, _) in grades(course, assignment, "blank").items():
        assert score == 0, (name, score)
        if name.startswith("test_"):
            assert "not written yet" in blank_outputs[name]
    for student, plan in planted.items():
        scores, outputs = grades(course, assignment, student), graded_outputs(course, assignment,
                                                                          student)
        for function in solutions:
            score, max_score, _ = scores[f"test_{function}"]
            if function in plan:
                assert score == 0, (student, function, plan[function].name)
                assert plan[function].hint in outputs[f"test_{function}"], (
                    student, function, outputs[f"test_{function}"][-1500:])
            else:
                assert score == max_score, (student, function)


