"""The "Your turn" cells and "Predict, then run" prompts of notebooks 01-07.

Each your-turn cell is taken out of its notebook and run on its own (no notebook is executed
here): as committed, the unanswered stub prints "Not answered yet" and what to do, without
raising; with each classic mistake of its question planted in place of the stub, it prints that
mistake's hint; with the folded solution that follows it, it prints PASSED. Every notebook 01-07
has at least two such cells, at least one predict-first prompt, and ends by pointing to its graded
assignment.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import math
import re
from pathlib import Path

import pytest
import torch

from swin_edu import grading
from swin_edu.grading import your_turn
from swin_edu.grading.course import NOT_ANSWERED

ROOT = Path(__file__).resolve().parents[1]
CORE = [ROOT / "notebooks" / name for name in (
    "01_patch_partition.ipynb", "02_patch_merging.ipynb", "03_window_attention.ipynb",
    "04_relative_position.ipynb", "05_shifted_windows.ipynb", "06_complexity.ipynb",
    "07_swin_transformer.ipynb")]
CALL = re.compile(r"^your_turn\((check_(\w+)), (my_\2)\)\s*$", re.M)
SOLUTION = re.compile(r"<details><summary>Solution</summary>\s*```python\n(.*?)```\s*</details>",
                      re.S)
PREDICT = ("**Predict, then run.**", "*Your guess:*", "<details><summary>Answer</summary>")
ASSIGNMENT = re.compile(r"\[`notebooks/assignments/(\w+)/\1\.ipynb`\]\(assignments/(\w+)/\2\.ipynb\)")


def cells(path: Path) -> list[tuple[str, str]]:
    return [(cell["cell_type"], "".join(cell["source"]))
            for cell in json.loads(path.read_text())["cells"]]


def your_turn_cells(path: Path) -> list[dict]:
    """Each your-turn cell: its source, question, learner's function name and the solution."""
    found, notebook = [], cells(path)
    for i, (kind, source) in enumerate(notebook):
        call = CALL.search(source) if kind == "code" else None
        if call is None:
            continue
        kind_next, following = notebook[i + 1]
        solution = SOLUTION.search(following)
        assert kind_next == "markdown" and solution, f"{path.name} cell {i}: no folded solution"
        found.append({"notebook": path.stem[:2], "cell": i, "source": source,
                      "question": grading.ALL_QUESTIONS[call.group(2)], "name": call.group(3),
                      "checker": call.group(1), "solution": solution.group(1)})
    return found


TURNS = [turn for path in CORE for turn in your_turn_cells(path)]


def run_cell(source: str) -> str:
    """Run a cell's source in a fresh namespace (the notebooks import torch first); its stdout."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, "<your turn cell>", "exec"), {"torch": torch, "math": math})
    return out.getvalue()


def replace_stub(source: str, name: str, new_definition: str) -> str:
    """The cell with the stub ``def name(...)...raise NotImplementedError`` replaced."""
    stub = re.compile(rf"^def {name}\(.*?^    raise NotImplementedError\n", re.S | re.M)
    assert len(stub.findall(source)) == 1, f"no single stub for {name}"
    return stub.sub(lambda _: new_definition.rstrip("\n") + "\n", source)


def planted(turn: dict, mistake: grading.Mistake) -> str:
    source = inspect.getsource(mistake.implementation)
    return re.sub(r"^def \w+\(", f"def {turn['name']}(", source, count=1)


def turn_id(turn: dict) -> str:
    return f"{turn['notebook']}-{turn['name']}"


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.stem[:2])
def test_every_core_notebook_asks_the_learner_to_act(path):
    notebook = cells(path)
    turns = your_turn_cells(path)
    assert len(turns) >= 2, f"{path.name}: {len(turns)} your-turn cells"
    assert len({turn["question"].function for turn in turns}) == len(turns)
    prompts = [s for kind, s in notebook if kind == "markdown" and all(p in s for p in PREDICT)]
    assert prompts, f"{path.name}: no 'Predict, then run' prompt with a guess and a folded answer"
    last = notebook[-1][1]
    links = ASSIGNMENT.findall(last)
    assert links, f"{path.name}: the last cell does not point to a graded assignment"
    for assignment, _ in links:
        assert (ROOT / "notebooks" / "assignments" / assignment / f"{assignment}.ipynb").exists()


@pytest.mark.parametrize("turn", TURNS, ids=turn_id)
def test_unanswered_stub_says_what_to_do_and_does_not_raise(turn):
    assert "# Your code here" in turn["source"]
    out = run_cell(turn["source"])
    assert out.startswith(f"{NOT_ANSWERED}: write `{turn['name']}`"), out
    assert "raise NotImplementedError" in out and "PASSED" not in out


@pytest.mark.parametrize("turn", TURNS, ids=turn_id)
def test_each_classic_mistake_gets_its_hint(turn):
    for mistake in turn["question"].mistakes:
        out = run_cell(replace_stub(turn["source"], turn["name"], planted(turn, mistake)))
        assert out.startswith(f"NOT YET {turn['question'].function}"), (mistake.name, out)
        assert f"Hint: {mistake.hint}" in out, (mistake.name, out)


@pytest.mark.parametrize("turn", TURNS, ids=turn_id)
def test_folded_solution_passes(turn):
    assert "swin_edu" not in turn["solution"], "a solution must not call the package"
    out = run_cell(replace_stub(turn["source"], turn["name"], turn["solution"]))
    assert out.startswith(f"PASSED {turn['question'].function}"), out


def test_your_turn_reports_without_raising(capsys):
    def merge_crashes(x):
        return x[:, :, :, :, 0]

    your_turn(grading.check_merge_patches, merge_crashes)
    assert capsys.readouterr().out.startswith("NOT YET merge_patches")
    your_turn(grading.check_merge_patches, None)
    assert "expected a function" in capsys.readouterr().out

    def merge_stub(x):
        """(B, H, W, C) -> (B, H/2, W/2, 4C)."""
        raise NotImplementedError

    your_turn(grading.check_merge_patches, merge_stub)
    out = capsys.readouterr().out
    assert out.startswith(f"{NOT_ANSWERED}: write `merge_stub` above: (B, H, W, C) -> (B, H/2")
