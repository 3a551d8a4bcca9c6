"""The teacher's grader (scripts/grader) without nbgrader: the audit names each kind of
tampering with its cell and line and no honest style; collect warns about lookalike names and
invalid files; the hidden answers recorded in a kernel are judged in this process."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from assignment_students import HONEST_STYLES, PATCHES, REFERENCE_CALLERS
from swin_edu import grading
from swin_edu.grading.hidden import ANSWERS_DIR, hidden_cases, record_answers

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from grader import audit, collect, verify  # noqa: E402

SOURCES = REPO / "notebooks" / "assignments"
ASSIGNMENTS = sorted(p.name for p in SOURCES.iterdir() if (p / f"{p.name}.ipynb").is_file())


def source_notebook(assignment: str) -> dict:
    return json.loads((SOURCES / assignment / f"{assignment}.ipynb").read_text())


def asked(nb: dict) -> list[str]:
    return [c["metadata"]["nbgrader"]["grade_id"][5:] for c in nb["cells"]
            if c["metadata"].get("nbgrader", {}).get("grade")
            and c["metadata"]["nbgrader"]["grade_id"].startswith("test_")]


def with_solutions(assignment: str, sources: dict[str, str]) -> dict:
    nb = source_notebook(assignment)
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if cell["cell_type"] == "code" and grade_id in sources:
            cell["source"] = sources[grade_id]
    return nb


def flags_of(nb: dict, assignment: str) -> list[audit.Flag]:
    return audit.audit_notebook(nb, "student", assignment, asked(nb))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_sources_and_honest_styles_are_not_flagged(assignment):
    assert flags_of(source_notebook(assignment), assignment) == []
    assert flags_of(with_solutions(assignment, HONEST_STYLES), assignment) == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_each_patcher_is_flagged_with_cell_and_line(assignment):
    nb = source_notebook(assignment)
    last = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("solution")
            and c["cell_type"] == "code"][-1]
    last["source"] = "".join(last["source"]) + PATCHES[assignment]
    flags = flags_of(nb, assignment)
    assert flags, assignment
    lines = "".join(last["source"]).splitlines()
    for flag in flags:
        assert flag.cell == last["metadata"]["nbgrader"]["grade_id"]
        assert lines[flag.line - 1].strip() == flag.code
    assert f"student / {assignment} / cell {flags[0].cell}, line" in str(flags[0])


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_calling_the_package_reference_is_flagged(assignment):
    function, source = REFERENCE_CALLERS[assignment]
    flags = flags_of(with_solutions(assignment, {function: source}), assignment)
    assert flags and all(f.cell == function for f in flags), flags
    assert any("own answer" in f.what or "grader's internals" in f.what for f in flags)


@pytest.mark.parametrize("code,words", [
    ("import os\nos._exit(0)", "os._exit"),
    ("import sys as s\ns.exit()", "sys.exit"),
    ("exit()", "exit"),
    ("import builtins\nbuiltins.len = lambda x: 1", "builtins.len"),
    ("__builtins__.isinstance = lambda *a: True", "__builtins__"),
    ("import sys\nsys.modules['swin_edu'] = None", "sys.modules"),
    ("import importlib, swin_edu\nimportlib.reload(swin_edu)", "importlib.reload"),
    ("globals()['grading'] = None", "globals()"),
    ("from torch import testing\nt = testing\nt.assert_close = print",
     "torch.testing.assert_close"),
    ("import torch\ndel torch.testing.assert_close", "deletes torch.testing.assert_close"),
    ("getattr(grading, 'QUESTIONS')", "swin_edu.grading.QUESTIONS"),
    ("eval('1')", "eval"),
    ("f = lambda: 0\nsetattr(f, 'x', 1)", "setattr"),
])
def test_each_kind_of_tampering_is_named(code, words):
    nb = with_solutions("06_complexity", {"msa_flops": code + "\n"})
    flags = flags_of(nb, "06_complexity")
    assert any(words in f.what for f in flags), flags


def test_local_attribute_writes_and_magics_are_not_flagged():
    code = ("%time 1 + 1\nclass Counter:\n    def __init__(self):\n        self.n = 0\n"
            "c = Counter()\nc.n += 1\nimport numpy as np\narr = np.zeros(3)\narr[0] = 1\n")
    assert flags_of(with_solutions("06_complexity", {"msa_flops": code}), "06_complexity") == []


def write_nb(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_collect_takes_exact_names_and_warns_about_the_rest(tmp_path):
    good = json.dumps(source_notebook("06_complexity"))
    returned, course = tmp_path / "returned", tmp_path / "course"
    write_nb(returned / "ann" / "06_complexity.ipynb", good)
    write_nb(returned / "ben" / "06_complexity (1).ipynb", good)
    write_nb(returned / "ben" / "06_Complexity-2.ipynb", good)
    write_nb(returned / "cat" / "06_complexity.ipynb", good[:500])
    write_nb(returned / "dan" / "06_complexity" / "06_complexity.ipynb", good)
    write_nb(returned / "dan" / "06_complexity copy.ipynb", good)
    write_nb(returned / "eve" / "notes.txt", "nothing")
    results, warnings = collect.collect(returned, course, ["06_complexity"])
    status = {r.student: r.status for r in results}
    assert status == {"ann": "collected", "ben": "not collected", "cat": "invalid file",
                      "dan": "collected", "eve": "not collected"}
    text = "\n".join(warnings)
    assert "ben/06_complexity (1).ipynb" in text and "ben/06_Complexity-2.ipynb" in text
    assert "rename" in text and "ben/06_complexity.ipynb" in text
    assert "cat/06_complexity.ipynb is not graded: invalid JSON" in text
    assert "took dan/06_complexity/06_complexity.ipynb; also found dan/06_complexity copy" in text
    assert "eve" not in text
    assert (course / "submitted" / "dan" / "06_complexity" / "06_complexity.ipynb").is_file()
    assert not (course / "submitted" / "cat").exists()
    report = collect.load_report(course)["06_complexity"]
    assert report["eve"]["detail"] == "nothing returned"


@pytest.mark.parametrize("text,words", [
    ("", "invalid JSON"), ("[1, 2]", "not a notebook"),
    ('{"cells": [], "nbformat": 3}', "format 3"),
])
def test_notebook_problems_are_named(tmp_path, text, words):
    path = tmp_path / "x.ipynb"
    path.write_text(text)
    assert words in collect.notebook_problem(path)


def record_in(course: Path, student: str, function: str, answer, monkeypatch) -> None:
    folder = course / "autograded" / student / "A"
    folder.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(folder)
    record_answers(function, answer)


def test_hidden_answers_are_judged_here(tmp_path, monkeypatch):
    ns = {"torch": torch}
    exec(HONEST_STYLES["cyclic_shift"], ns)
    record_in(tmp_path, "right", "cyclic_shift", ns["cyclic_shift"], monkeypatch)
    assert verify.verify(tmp_path, "A", "right", "cyclic_shift").passed
    record_in(tmp_path, "wrong", "cyclic_shift", lambda x, s: torch.roll(x, (s, s), (1, 2)),
              monkeypatch)
    verdict = verify.verify(tmp_path, "A", "wrong", "cyclic_shift")
    assert not verdict.passed and "hidden input x (2, 14, 21, 4)" in verdict.reason
    assert "values differ" in verdict.reason
    record_in(tmp_path, "double", "cyclic_shift",
              lambda x, s: torch.roll(x, (-s, -s), (1, 2)).double(), monkeypatch)
    assert "float64" in verify.verify(tmp_path, "A", "double", "cyclic_shift").reason
    assert "no hidden answers" in verify.verify(tmp_path, "A", "absent", "cyclic_shift").reason


def test_numpy_integers_and_crashes_are_reported(tmp_path, monkeypatch):
    record_in(tmp_path, "np", "msa_flops",
              lambda h, w, C: np.int64(4 * h * w * C ** 2 + 2 * (h * w) ** 2 * C), monkeypatch)
    reason = verify.verify(tmp_path, "A", "np", "msa_flops").reason
    assert "numpy.int64" in reason and "builtins.int" in reason
    record_in(tmp_path, "crash", "msa_flops", lambda h, w, C: 1 // 0, monkeypatch)
    assert "raised ZeroDivisionError" in verify.verify(tmp_path, "A", "crash", "msa_flops").reason


def test_tampered_or_foreign_answer_files_fail(tmp_path, monkeypatch):
    record_in(tmp_path, "few", "msa_flops", lambda h, w, C: 0, monkeypatch)
    path = verify.answers_path(tmp_path, "A", "few", "msa_flops")
    saved = torch.load(path, weights_only=True)
    torch.save({"function": "msa_flops", "answers": saved["answers"][:1]}, path)
    assert "tampered" in verify.verify(tmp_path, "A", "few", "msa_flops").reason
    path.write_bytes(b"not a torch file")
    assert "cannot be read" in verify.verify(tmp_path, "A", "few", "msa_flops").reason

    class Sneaky(torch.Tensor):
        pass

    ns = {"torch": torch}
    exec(HONEST_STYLES["cyclic_shift"], ns)
    record_in(tmp_path, "sub", "cyclic_shift",
              lambda x, s: ns["cyclic_shift"](x, s).as_subclass(Sneaky), monkeypatch)
    assert "Sneaky" in verify.verify(tmp_path, "A", "sub", "cyclic_shift").reason


def test_clear_answers_removes_shipped_files_and_keeps_recorded_ones(tmp_path, monkeypatch):
    record_in(tmp_path, "s", "msa_flops", lambda h, w, C: 0, monkeypatch)
    shipped = tmp_path / "submitted" / "s" / "A" / ANSWERS_DIR / "msa_flops.pt"
    shipped.parent.mkdir(parents=True)
    shipped.write_bytes(b"x")
    verify.clear_answers(tmp_path, "A")
    assert not shipped.exists()
    assert verify.answers_path(tmp_path, "A", "s", "msa_flops") is not None


def test_every_question_has_hidden_inputs_the_reference_accepts():
    assert set(grading.QUESTIONS) == set(grading.hidden.HIDDEN_CASES)
    for function, question in grading.QUESTIONS.items():
        cases = hidden_cases(function)
        visible = {c.label for c in question.cases()}
        assert cases and not visible & {c.label for c in cases}
        for case in cases:
            question.reference(*case.args)
