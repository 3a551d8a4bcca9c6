"""End to end with nbgrader, as a teacher runs it (scripts/assignments.sh in a temporary course
directory): the source notebooks and honest solutions in other styles autograde to full marks
and no audit flag, the unmodified student versions to zero without grader errors, every classic
mistake planted in a copy loses its question's points and shows its hint, a cheater who patches
the checks scores 0 and is flagged by name, a looping cell is stopped by the timeout, and every
kind of broken submission (killed kernel, invalid or renamed file, deleted cells, lost
metadata, a type slip) is named in the summary instead of becoming a silent zero."""

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
from nbgrader.api import Gradebook  # noqa: E402

from assignment_students import HONEST_STYLES, PATCHES, REFERENCE_CALLERS  # noqa: E402
from swin_edu import grading  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "assignments.sh"
SOURCES = REPO / "notebooks" / "assignments"
NBGRADER_ERROR = re.compile(r"\[\w+ \| ERROR\]")  # nbgrader's log format: "[AutogradeApp | ERROR]"
ASSIGNMENTS = sorted(p.name for p in SOURCES.iterdir() if (p / f"{p.name}.ipynb").is_file())


def run_script(root: Path, *args: str, rc: int = 0) -> str:
    env = dict(os.environ, COURSE_DIR=str(root / "course"), RELEASE_DIR=str(root / "release"),
               NBGRADER=str(Path(sys.executable).with_name("nbgrader")))
    result = subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True,
                            text=True, timeout=500)
    log = result.stdout + result.stderr
    assert result.returncode == rc, log[-4000:]
    return log


def flagged(root: Path) -> dict[tuple[str, str], list[dict]]:
    found: dict[tuple[str, str], list[dict]] = {}
    for flag in json.loads((root / "course" / "audit.json").read_text()):
        found.setdefault((flag["student"], flag["assignment"]), []).append(flag)
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
    # A cheater: one function by the package's own answer, the others wrong plus a patch that
    # gets past the visible checks. Wrong functions score 0, and the audit names the student.
    cheater = nbformat.from_dict(json.loads(json.dumps(released)))
    called, caller_source = REFERENCE_CALLERS[assignment]
    cells = code_solution_cells(cheater)
    for function, cell in cells.items():
        cell.source = caller_source if function == called else planted_source(
            function, grading.QUESTIONS[function].mistakes[0])
    list(cells.values())[-1].source += PATCHES[assignment]
    submit(returned, "cheater", assignment, cheater)

    run_script(course, "collect", str(returned), assignment)
    log = run_script(course, "autograde", assignment, rc=1)  # the cheater is flagged
    # nbgrader's own errors only: a kernel that nbgrader stops may print a ZMQ shutdown traceback
    # ("ERROR:tornado.general") on its stderr, which says nothing about the grading.
    assert not NBGRADER_ERROR.search(log), log[-4000:]
    assert "integrity audit" in log.split("step(s) failed")[-1]

    flags = flagged(course)
    assert {student for student, a in flags if a == assignment} == {"cheater"}, flags
    assert any(f["cell"] == called for f in flags[("cheater", assignment)])
    assert any(f["cell"] == list(cells)[-1] for f in flags[("cheater", assignment)])
    for name, (score, max_score, _) in grades(course, assignment, "honest_style").items():
        if name.startswith("test_"):
            assert score == max_score > 0, (name, score)
    for name, (score, max_score, _) in grades(course, assignment, "cheater").items():
        if name.startswith("test_") and name != f"test_{called}":
            assert score == 0, (name, score)

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


def test_no_failure_is_silent(tmp_path):
    """One batch of broken submissions of 06_complexity, one autograde run: each is named in the
    summary with why, the others are still graded, and the commands exit 1 only at the end."""
    assignment = "06_complexity"
    course = tmp_path  # a course of its own: the other tests' students are not re-graded
    run_script(course, "generate", assignment)
    source = nbformat.read(SOURCES / assignment / f"{assignment}.ipynb", as_version=4)
    solutions = {f: cell.source for f, cell in code_solution_cells(source).items()}
    released = nbformat.read(notebook_path(course, assignment), as_version=4)
    returned = tmp_path / "returned"

    def student(name: str, changes: dict[str, str] | None = None, drop: str | None = None,
                filename: str | None = None):
        nb = nbformat.from_dict(json.loads(json.dumps(released)))
        for function, cell in code_solution_cells(nb).items():
            cell.source = (changes or {}).get(function, solutions[function])
        if drop:
            nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                        != drop]
        (returned / name).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(returned / name / (filename or f"{assignment}.ipynb")))
        return nb

    student("honest")
    student("looping", {"msa_flops": "def msa_flops(h, w, C):\n    total = 0\n"
                                     "    while True:\n        total += 1\n"})
    student("killer", {"wmsa_flops": solutions["wmsa_flops"] + "\nimport os\nos._exit(1)\n"})
    student("quitter", {"msa_flops": solutions["msa_flops"] + "\nimport sys\nsys.exit()\n"})
    student("deleter", drop="test_wmsa_flops")
    student("slip", {"msa_flops": "import numpy as np\ndef msa_flops(h, w, C):\n    return "
                                  "np.int64(4 * h * w * C ** 2) + 2 * (h * w) ** 2 * C\n"})
    student("twice", {"flops_saving": "def flops_saving(h, w, C, M):\n    saving = 0\n"
                                      "    for _ in range(2):\n        saving += 2 * (h * w) ** 2"
                                      " * C - 2 * M ** 2 * h * w * C\n    return saving\n"})
    pasted = student("pasted")
    for cell in pasted.cells:
        cell.metadata = {}
    nbformat.write(pasted, str(returned / "pasted" / f"{assignment}.ipynb"))
    student("renamed", filename=f"{assignment} (1).ipynb")
    (returned / "truncated").mkdir()
    (returned / "truncated" / f"{assignment}.ipynb").write_text(
        json.dumps(nbformat.writes(released))[:4000])

    log = run_script(course, "collect", str(returned), assignment, rc=1)
    assert f"renamed/{assignment} (1).ipynb" in log and "invalid JSON" in log
    # A short per-cell timeout; the solution cells and the torch import finish well within it.
    log = run_script(course, "autograde", assignment, "--", "--Execute.timeout=20", rc=1)
    tail = log.split("step(s) failed")[-1]
    assert "nbgrader autograde 06_complexity" in tail and "summary" in tail

    summary = (course / "course" / "summary.txt").read_text()
    rows = {line.split()[0]: line for line in summary.split("DETAILS")[0].splitlines()[3:]
            if line.strip()}
    assert rows["honest"].split()[1:] == ["6/9", "ok"], summary
    assert "crashed" in rows["killer"] and "FLAGGED" in rows["killer"]
    assert "kernel died" in summary
    assert "FLAGGED" in rows["quitter"]
    assert "missing cells" in rows["deleter"] and "deleted graded cells: test_wmsa_flops" in summary
    assert "missing cells" in rows["pasted"] and "no nbgrader cell metadata" in summary
    assert "not collected" in rows["renamed"] and "invalid file" in rows["truncated"]
    assert rows["slip"].split()[1] == "4/9" and rows["twice"].split()[1] == "4/9"
    outputs = graded_outputs(course, assignment, "slip")["test_msa_flops"]
    assert "numpy.int64" in outputs, outputs
    assert "exactly 2 times" in graded_outputs(course, assignment, "twice")["test_flops_saving"]
    assert grades(course, assignment, "quitter")["test_wmsa_flops"][0] == 2  # graded after it
    looping = grades(course, assignment, "looping")
    assert looping["test_msa_flops"][0] == 0 and rows["looping"].split()[1:] == ["4/9", "ok"]
    assert looping["test_wmsa_flops"][0] == looping["test_wmsa_flops"][1] > 0
    output = graded_outputs(course, assignment, "looping")["test_msa_flops"]
    assert "CellTimeoutError" in output or "KeyboardInterrupt" in output, output[-1000:]

    audit = (course / "course" / "audit.txt").read_text()
    assert re.search(r"killer / 06_complexity / cell wmsa_flops, line \d+: calls os._exit\(\)",
                     audit), audit
    assert "quitter / 06_complexity / cell msa_flops" in audit and "honest" not in audit

    csv = tmp_path / "grades.csv"
    run_script(course, "export", str(csv))
    assert "crashed" in (tmp_path / "grades_summary.txt").read_text()
    rows = [line.split(",") for line in csv.read_text().splitlines()]
    header, looping_row = rows[0], next(r for r in rows if "looping" in r)
    assert float(looping_row[header.index("score")]) == 4.0
    assert float(looping_row[header.index("max_score")]) == 9.0


def test_a_dead_kernel_in_one_assignment_does_not_stop_the_next(tmp_path):
    """`autograde 05_window_attention 06_complexity` with a kernel killed in 05: 06 is still
    graded, the summary names the crash, and the run exits 1 only at the end."""
    first, second = "05_window_attention", "06_complexity"
    run_script(tmp_path, "generate", first, second)
    returned = tmp_path / "returned"
    killer = nbformat.read(notebook_path(tmp_path, first), as_version=4)
    cell = next(iter(code_solution_cells(killer).values()))
    cell.source = "import os\nos._exit(1)\n"
    submit(returned, "killer", first, killer)
    submit(returned, "honest", second,
           nbformat.read(SOURCES / second / f"{second}.ipynb", as_version=4))
    run_script(tmp_path, "collect", str(returned), first, second)
    log = run_script(tmp_path, "autograde", first, second, rc=1)
    assert f"nbgrader autograde {first}" in log.split("step(s) failed")[-1]
    for name, (score, max_score, manual) in grades(tmp_path, second, "honest").items():
        assert manual or score == max_score > 0, (name, score)
    summary = (tmp_path / "course" / "summary.txt").read_text()
    assert "kernel died" in summary, summary
