"""The teacher's grader (scripts/grader) piece by piece, without nbgrader: the hidden inputs
drawn from the secret, the helpers handed to the sandbox, reading solution cells as text, the
copy detector, collect's refusals, the CSV escape, and the sandbox's walls."""

import json
import os
import re
import stat
import sys
from pathlib import Path

import pytest

from conftest import sandbox_skip
import torch

from assignment_students import HONEST_STYLES
from swin_edu import grading, masks, windows

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from grader import cases, collect, extract, given, grade, sandbox, similarity  # noqa: E402
from grader.__main__ import escape_cell  # noqa: E402

SOURCES = REPO / "notebooks" / "assignments"
ASSIGNMENTS = sorted(p.name for p in SOURCES.iterdir() if (p / f"{p.name}.ipynb").is_file())
needs_sandbox = sandbox_skip()


def source_notebook(assignment: str) -> dict:
    return json.loads((SOURCES / assignment / f"{assignment}.ipynb").read_text())


@pytest.mark.parametrize("function", sorted(grading.QUESTIONS))
def test_hidden_inputs_catch_and_name_every_classic_mistake(function):
    """On the hidden inputs of any seed, each catalogued mistake fails and the diagnosis names
    it, so the feedback's hint is the one that fixes it."""
    question = grading.QUESTIONS[function]
    for seed in range(8):
        drawn = [grade._real_args(c) for c in cases.hidden_cases(function, seed)]
        hidden = grading.Question(question.function, question.reference, lambda: drawn,
                                  question.mistakes, question.signature,
                                  question.reference_name, question.rtol, question.atol,
                                  question.error_hints)
        assert grading.check(hidden, question.reference).passed
        for mistake in question.mistakes:
            feedback = grading.check(hidden, mistake.implementation)
            assert not feedback.passed and feedback.mistake == mistake.name, (
                function, mistake.name, seed, str(feedback))


def test_the_secret_is_private_and_the_inputs_follow_it(tmp_path):
    secret = cases.course_secret(tmp_path)
    path = tmp_path / cases.SECRET
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert cases.course_secret(tmp_path) == secret and len(secret) == 32
    seeds = {cases.derive_seed(secret, "02_windows", "window_partition", s, "sha")
             for s in ("ann", "ben")}
    seeds.add(cases.derive_seed(secret, "02_windows", "window_partition", "ann", "other sha"))
    seeds.add(cases.derive_seed(b"another course", "02_windows", "window_partition", "ann",
                                "sha"))
    assert len(seeds) == 4
    first, second = (cases.hidden_cases("window_partition", s) for s in sorted(seeds)[:2])
    assert [c.label for c in first] != [c.label for c in second]


def test_nothing_of_the_grader_ships_with_the_package():
    package = REPO / "swin_edu"
    text = "\n".join(p.read_text() for p in package.rglob("*.py"))
    assert not (package / "grading" / "hidden.py").exists()
    assert "record_answers" not in text and "HIDDEN_CASES" not in text
    for assignment in ASSIGNMENTS:
        assert "HIDDEN" not in json.dumps(source_notebook(assignment))


def test_given_helpers_equal_the_package():
    x = torch.randn(2, 12, 8, 3)
    windowed = given.window_partition(x, 4)
    torch.testing.assert_close(windowed, windows.window_partition(x, 4))
    torch.testing.assert_close(given.window_reverse(windowed, 4, 12, 8), x)
    for H, W, M, S in [(12, 8, 4, 2), (14, 21, 7, 3), (6, 9, 3, 1), (8, 12, 4, (0, 2))]:
        torch.testing.assert_close(given.shifted_window_mask(H, W, M, S, -7.0),
                                   masks.shifted_window_mask(H, W, M, S, -7.0))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_setup_hands_out_only_what_is_not_graded(assignment):
    nb = source_notebook(assignment)
    setup, handed = grade.setup_and_given(nb)
    names = {n for ns in handed.values() for n in ns}
    assert names <= set(given.GIVEN) and not names & set(grade.graded_functions(nb))
    assert all("grading" not in line for line in setup)


@pytest.mark.parametrize("source,note", [
    ("window_partition??\ndef f():\n    return 1\n", "'window_partition??' is IPython syntax"),
    ("%time x = 1\n!ls\ny = 2\n", "'!ls' is IPython syntax"),
    ("%%time\nx = 1\n", "the cell magic '%%time'"),
    ("def f(:\n    pass\n", "not valid Python"),
])
def test_ipython_lines_are_named_never_dropped_silently(source, note):
    cell = extract.plain_python("q1", source)
    assert any(note in n for n in cell.notes), cell.notes


def test_plain_python_with_question_marks_in_strings_is_untouched():
    source = 'x = "why?"  # really?\n'
    assert extract.plain_python("q", source) == extract.SolutionCell("q", source)


def test_duplicated_solution_cells_all_run_in_order():
    nb = source_notebook("02_windows")
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("solution"))
    nb["cells"].insert(nb["cells"].index(cell), json.loads(json.dumps(cell)))
    found = extract.solution_cells(nb)
    assert found.duplicates == ["window_partition"]
    assert [c.name for c in found.cells] == ["window_partition", "window_partition",
                                             "window_reverse"]


@pytest.mark.parametrize("function", sorted(grading.QUESTIONS))
def test_copies_are_flagged_and_honest_styles_are_not(function):
    import inspect
    reference = grading.QUESTIONS[function].reference
    shape = similarity.reference_shape(reference)
    honest = similarity.function_shape(HONEST_STYLES[function], function)
    assert similarity.is_copy(honest, shape) is None
    if len(shape) >= similarity.MIN_NODES:
        pasted = inspect.getsource(reference).replace(reference.__name__, function)
        renamed = re.sub(r"\bx\b", "y_in", pasted).replace("window_size", "size_of_window")
        for text in (pasted, renamed):
            assert similarity.is_copy(similarity.function_shape(text, function), shape)


@pytest.mark.parametrize("name,refused", [
    ("ann", False), ("Ann.Lee@school", False), ("=2+5", False), (".hidden", True),
    ("-rf", True), ("*", True), ("a?b", True), ("a[1]", True), ("new\nline", True),
    ("tab\there", True), ("", True)])
def test_unsafe_folder_names_are_refused(name, refused):
    assert (collect.name_problem(name) is not None) == refused


def test_collect_takes_the_newest_copy_and_refuses_links(tmp_path):
    good = json.dumps(source_notebook("06_complexity"))
    returned, course = tmp_path / "returned", tmp_path / "course"
    for relative, age in [("ann/06_complexity.ipynb", 0), ("ben/06_complexity.ipynb", 100),
                          ("ben/06_Complexity-2.ipynb", 0), ("cat/06_complexity.ipynb", 0),
                          ("dan/06_complexity.ipynb", 100),
                          ("dan/06_complexity/06_complexity.ipynb", 0)]:
        path = returned / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(good if not relative.startswith("cat") else good[:300])
        os.utime(path, (path.stat().st_mtime - age,) * 2)
    (returned / "eve").mkdir()
    (returned / "eve" / "06_complexity.ipynb").symlink_to(SOURCES / "06_complexity" /
                                                           "06_complexity.ipynb")
    results, warnings = collect.collect(returned, course, ["06_complexity"])
    status = {r.student: r.status for r in results}
    assert status == {"ann": "collected", "ben": "collected", "cat": "invalid file",
                      "dan": "collected", "eve": "refused"}
    text = "\n".join(warnings)
    assert "took the newest, ben/06_Complexity-2.ipynb" in text
    assert "took the newest, dan/06_complexity/06_complexity.ipynb" in text
    assert "eve/06_complexity.ipynb is a symbolic link" in text
    record = collect.load_report(course)["06_complexity"]["ann"]
    assert len(record["sha256"]) == 64 and "modified" in record["detail"]
    assert not (course / "submitted" / "eve").exists()


@pytest.mark.parametrize("value,escaped", [
    ("=2+5", "'=2+5"), ("+cmd", "'+cmd"), ("@SUM(A1)", "'@SUM(A1)"), ("-x", "'-x"),
    ("-1.5", "-1.5"), ("ann", "ann"), ("6.0", "6.0"), ("\tx", "'\tx")])
def test_csv_cells_cannot_become_formulas(value, escaped):
    assert escape_cell(value) == escaped


PROBE = r'''
import os, socket, subprocess, sys, time
def probe():
    seen = {"uid": os.getuid(), "work": os.path.exists("/work"), "root": os.listdir("/")}
    try:
        socket.create_connection(("127.0.0.1", 22), timeout=1)
        seen["network"] = True
    except OSError:
        seen["network"] = False
    try:
        open("/sandbox/site/torch/x", "w")
        seen["site_writable"] = True
    except OSError:
        seen["site_writable"] = False
    try:
        import swin_edu
        seen["swin_edu"] = True
    except ImportError:
        seen["swin_edu"] = False
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                     start_new_session=True)
    return repr(seen)
def slow():
    while True:
        pass
'''


@needs_sandbox
def test_the_sandbox_walls():
    request = {"helpers": "", "setup": [], "given": {}, "step_seconds": 2,
               "cells": [{"name": "probe", "source": PROBE}],
               "calls": [{"function": "probe", "cases": [[]]},
                         {"function": "slow", "cases": [[]]}]}
    run = sandbox.run(request, {})
    assert run.problem is None, run.problem
    seen = eval(run.response["results"][0]["answers"][0]["value"])  # our own probe's repr
    assert seen["uid"] != 0 or os.geteuid() != 0
    assert not seen["work"] and not seen["network"] and not seen["site_writable"]
    assert not seen["swin_edu"] and "swin_edu" in run.response["refused_imports"]
    assert set(seen["root"]) <= {"usr", "bin", "lib", "lib64", "lib32", "sbin", "etc",
                                 "sandbox", "tmp", "dev", "proc"}
    slow = run.response["results"][1]["answers"][0]
    assert slow["type"] == "exception" and slow["name"] == "StepTimeout"
