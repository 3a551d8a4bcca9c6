"""The adversarial class (tests/grading_class.py) through the teacher's real commands:
``scripts/assignments.sh generate``, ``collect``, ``autograde``, ``export``, with the grader's
sandbox. Each cheater scores 0 on what it cheats on or is flagged by name; each honest student
gets every point, unflagged; hostile folder names are refused and listed; a re-grade keeps
earlier findings and clears a crash that is gone."""

from __future__ import annotations

import csv
import hashlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from conftest import sandbox_skip

pytest.importorskip("nbgrader")
from nbgrader.api import Gradebook  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from grader import sandbox  # noqa: E402
from grading_class import CHEATERS, COURSE_MARK, HONEST, PARTITION_RIGHT, wrong  # noqa: E402
from swin_edu import grading, windows  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "assignments.sh"
ASSIGNMENTS = ("02_windows", "06_complexity")
HOSTILE_FOLDERS = ("new\nline", "*", ".dotstudent", "-rf", "linked_folder")

pytestmark = sandbox_skip()


def run_script(root: Path, *args: str, rc: int | None = 0) -> str:
    env = dict(os.environ, COURSE_DIR=str(root / "course"), RELEASE_DIR=str(root / "release"),
               NBGRADER=str(Path(sys.executable).with_name("nbgrader")))
    result = subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True,
                            text=True, timeout=900)
    log = result.stdout + result.stderr
    assert rc is None or result.returncode == rc, log[-4000:]
    return log


def solution_cells(nb) -> dict[str, nbformat.NotebookNode]:
    return {c.metadata.nbgrader.grade_id: c for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}


def filled(root: Path, assignment: str, sources: dict[str, str], default=wrong):
    nb = nbformat.read(root / "release" / assignment / f"{assignment}.ipynb", as_version=4)
    for function, cell in solution_cells(nb).items():
        cell.source = sources.get(function) or default(function)
    return nb


def write(folder: Path, name: str, nb, mtime: float | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    nbformat.write(nb, str(path))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def scores(root: Path, assignment: str, student: str) -> dict[str, tuple[float, float]]:
    with Gradebook(f"sqlite:///{root / 'course' / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(assignment, assignment, student)
        return {g.name: (g.score, g.max_score) for g in notebook.grades
                if g.name.startswith("test_")}


def flags(root: Path) -> dict[tuple[str, str], list[dict]]:
    found: dict[tuple[str, str], list[dict]] = {}
    for assignment, items in json.loads((root / "course" / "audit.json").read_text()).items():
        for flag in items:
            found.setdefault((flag["student"], assignment), []).append(flag)
    return found


MARKER = b"swin-edu-outlive-marker"  # in the command lines the outliving cheat starts


def sandbox_processes() -> list[str]:
    """Processes still running that a student's code started (found by their command line;
    other tests' sandboxes may run at the same time under the same user ids)."""
    alive = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if MARKER in cmdline.read_bytes():
                alive.append(cmdline.parent.name)
        except OSError:
            continue
    return alive


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("class")
    run_script(root, "generate", *ASSIGNMENTS)
    course = root / "course"
    returned = root / "returned"
    source_before = {p: p.read_bytes() for p in (course / "source").rglob("*.ipynb")}
    for name, (assignment, sources) in CHEATERS.items():
        sources = {f: s.replace(COURSE_MARK, str(course)) for f, s in sources.items()}
        if name == "pasted_package_body":
            sources = {"window_partition": inspect.getsource(windows.window_partition)}
        write(returned / name, f"{assignment}.ipynb", filled(root, assignment, sources))
    for name, (assignment, sources) in HONEST.items():
        write(returned / name, f"{assignment}.ipynb", filled(root, assignment, sources))
    # A duplicated cell: a wrong draft, then the right answer below it (same grade id twice).
    nb = filled(root, "02_windows", HONEST["victim"][1])
    draft = nbformat.from_dict(json.loads(json.dumps(solution_cells(nb)["window_partition"])))
    draft.source = wrong("window_partition")
    index = nb.cells.index(solution_cells(nb)["window_partition"])
    nb.cells.insert(index, draft)
    write(returned / "honest_duplicate", "02_windows.ipynb", nb)
    # Resubmissions: the newest file counts, whatever its name.
    old = time.time() - 3600
    write(returned / "resubmit_renamed", "02_windows.ipynb", filled(root, "02_windows", {}), old)
    write(returned / "resubmit_renamed", "02_windows (1).ipynb",
          filled(root, "02_windows", HONEST["victim"][1]))
    write(returned / "resubmit_nested", "02_windows.ipynb", filled(root, "02_windows", {}), old)
    write(returned / "resubmit_nested" / "02_windows", "02_windows.ipynb",
          filled(root, "02_windows", HONEST["victim"][1]))
    # A submission changed after collect, by someone else (detected by its checksum).
    write(returned / "tampered", "02_windows.ipynb", filled(root, "02_windows",
                                                           HONEST["victim"][1]))
    # A student who crashes the grader, to be re-graded after a clean resubmission.
    write(returned / "crasher", "06_complexity.ipynb",
          filled(root, "06_complexity", CHEATERS["kill_the_process"][1]))
    # Hostile names and links: refused, listed, and nobody else is affected.
    for folder in HOSTILE_FOLDERS[:-1]:
        write(returned / folder, "02_windows.ipynb", filled(root, "02_windows",
                                                            HONEST["victim"][1]))
    (returned / "linked_folder").symlink_to(course / "source")
    (returned / "linker").mkdir()
    (returned / "linker" / "02_windows.ipynb").symlink_to(
        course / "source" / "02_windows" / "02_windows.ipynb")

    collect_log = run_script(root, "collect", str(returned), *ASSIGNMENTS, rc=1)
    submitted = course / "submitted" / "tampered" / "02_windows" / "02_windows.ipynb"
    nb = nbformat.read(submitted, as_version=4)
    solution_cells(nb)["window_reverse"].source += "\n# edited after collect\n"
    nbformat.write(nb, str(submitted))
    autograde_log = run_script(root, "autograde", *ASSIGNMENTS, rc=1)
    root.joinpath("collect.log").write_text(collect_log)
    root.joinpath("autograde.log").write_text(autograde_log)
    root.joinpath("processes.txt").write_text(" ".join(sandbox_processes()))
    time.sleep(4)  # what a background process would have written by now
    root.joinpath("source_intact.txt").write_text(str(all(
        p.read_bytes() == data for p, data in source_before.items())))
    return root


@pytest.mark.parametrize("name", sorted(CHEATERS))
def test_no_cheat_gains_a_point_unflagged(graded, name):
    assignment, sources = CHEATERS[name]
    got = scores(graded, assignment, name)
    flagged = flags(graded).get((name, assignment), [])
    for cell, (score, _) in got.items():
        assert score == 0 or flagged, (name, cell, score)
    assert sum(score for score, _ in got.values()) == 0, (name, got)


@pytest.mark.parametrize("name", ["import_reference", "import_module_call",
                                  "computed_import_name", "laundered_exec",
                                  "function_from_code_object", "other_implementation",
                                  "sys_path_to_repo", "pasted_package_body"])
def test_reaching_for_a_reference_is_flagged_by_name(graded, name):
    assignment = CHEATERS[name][0]
    found = flags(graded).get((name, assignment), [])
    assert found, name
    audit = (graded / "course" / "audit.txt").read_text()
    assert f"{name} / {assignment}" in audit


def test_honest_students_get_every_point_unflagged(graded):
    everyone = {**{n: a for n, (a, _) in HONEST.items()}, "honest_duplicate": "02_windows",
                "resubmit_renamed": "02_windows", "resubmit_nested": "02_windows"}
    found = flags(graded)
    for name, assignment in everyone.items():
        got = scores(graded, assignment, name)
        assert got and all(score == top > 0 for score, top in got.values()), (name, got)
        assert (name, assignment) not in found, (name, found.get((name, assignment)))


def test_warnings_ipython_lines_and_duplicates_are_reported_not_charged(graded):
    summary = (graded / "course" / "summary.txt").read_text()
    assert "UserWarning: this is my first try" in summary
    assert "'window_partition??' is IPython syntax" in summary
    assert "grade id window_partition appears more than once" in summary
    feedback = (graded / "course" / "autograded" / "honest_warnings" / "02_windows" /
                "02_windows.ipynb").read_text()
    assert "they cost nothing" in feedback and "shape in:" in feedback


def test_the_newest_copy_is_graded_and_named(graded):
    log = (graded / "collect.log").read_text()
    assert "resubmit_renamed/02_windows: took the newest, resubmit_renamed/02_windows (1).ipynb" \
        in log
    assert "resubmit_nested/02_windows: took the newest, resubmit_nested/02_windows/" \
           "02_windows.ipynb" in log


def test_sabotage_and_writes_outside_the_sandbox_change_nothing(graded):
    course = graded / "course"
    assert scores(graded, "02_windows", "victim") == {"test_window_partition": (3.0, 3.0),
                                                      "test_window_reverse": (3.0, 3.0)}
    assert (graded / "source_intact.txt").read_text() == "True"
    assert not (course / "late.txt").exists()
    assert (graded / "processes.txt").read_text() == "", "sandbox processes outlived grading"
    assert sandbox_processes() == []


def test_a_changed_submission_is_detected(graded):
    found = flags(graded)[("tampered", "02_windows")]
    assert any("changed after collect" in f["what"] for f in found), found


def test_hostile_folders_are_refused_and_listed(graded):
    log = (graded / "collect.log").read_text()
    for folder in HOSTILE_FOLDERS:
        assert f"REFUSED student folder {folder!r}" in log, folder
    assert "linker/02_windows.ipynb is a symbolic link" in log
    submitted = {p.name for p in (graded / "course" / "submitted").iterdir()}
    assert not submitted & {*HOSTILE_FOLDERS, "linker"}
    summary = (graded / "course" / "summary.txt").read_text()
    assert "'new\\nline'" in summary and "refused" in summary


def test_grades_csv_is_safe_for_spreadsheets(graded, tmp_path):
    out = tmp_path / "grades.csv"
    run_script(graded, "export", str(out))
    rows = list(csv.DictReader(out.open()))
    ids = {row["student_id"] for row in rows}
    assert "'=2+5" in ids and "=2+5" not in ids
    honest = [r for r in rows if r["student_id"] == "'=2+5" and r["assignment"] == "06_complexity"]
    assert float(honest[0]["score"]) == 6.0


def test_a_regrade_keeps_other_findings_and_clears_a_crash(graded):
    course = graded / "course"
    summary = (course / "summary.txt").read_text()
    crasher_row = next(l for l in summary.splitlines() if l.startswith("crasher "))
    assert "crashed" in crasher_row
    before = flags(graded)
    assert ("import_reference", "02_windows") in before
    returned = graded / "returned_again"
    nb = filled(graded, "06_complexity", {}, default=lambda f: __import__(
        "grading_class").FLOPS_RIGHT[f])
    write(returned / "crasher", "06_complexity.ipynb", nb)
    run_script(graded, "collect", str(returned), "06_complexity")
    run_script(graded, "autograde", "06_complexity", rc=None)
    after = flags(graded)
    assert ("import_reference", "02_windows") in after  # another assignment's finding stays
    summary = (course / "summary.txt").read_text()
    crasher_row = next(l for l in summary.splitlines() if l.startswith("crasher "))
    assert "crashed" not in crasher_row and "6/9" in crasher_row, crasher_row
