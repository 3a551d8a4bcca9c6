"""The hidden tests' inputs, and the recorder the hidden test cells call.

The hidden test cell of each graded function runs ``record_answers(name, function)``: the
student's function on the inputs below, its answers saved to ``.swin_edu_answers/<name>.pt``
next to the notebook. The kernel decides nothing. After nbgrader has run the notebook, the
teacher's grader (``scripts/grader``, a fresh Python process that never runs student code)
builds the same inputs, computes the expected answers with the references of
:data:`swin_edu.grading.QUESTIONS` and compares. Patching ``swin_edu``, the checkers or
``torch`` inside the notebook can change the recorded answers, never what they are compared
with, so it can only lose points.

Each answer is saved as ``{"type": "module.QualName", "value": ...}`` with only plain tensors,
numbers and strings, so the grader can load it with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import torch

from swin_edu.grading._inputs import distinct, normal
from swin_edu.grading.attention import toy_attention
from swin_edu.grading.core import Case
from swin_edu.masks import region_labels
from swin_edu.windows import window_partition

__all__ = ["ANSWERS_DIR", "HIDDEN_CASES", "hidden_cases", "record_answers", "answer_record"]

# Where record_answers writes, relative to the notebook's folder (nbgrader's working directory).
ANSWERS_DIR = ".swin_edu_answers"


def _label(shape: tuple[int, ...], extra: str = "") -> str:
    return f"input of shape {shape}{extra}"


def _attention_case(i: int, B: int, H: int, W: int, M: int, S: int, heads: int, d: int) -> Case:
    from swin_edu.masks import shifted_window_mask
    nW, N = (H // M) * (W // M), M * M
    q, k, v = (normal(B * nW, heads, N, d, seed=900 + 3 * i + j) for j in range(3))
    mask = shifted_window_mask(H, W, M, S) if S else None
    return Case(f"B={B}, {H}x{W} map, window {M}, shift {S}, heads={heads}, d={d}",
                (q, k, v, normal(heads, N, N, seed=950 + i), mask))


HIDDEN_CASES: dict[str, Callable[[], list[Case]]] = {
    "patch_partition": lambda: [
        Case("images (2, 3, 12, 8), patch_size=4", (normal(2, 3, 12, 8, seed=901), 4)),
        Case("images (2, 3, 12, 8), patch_size=2", (normal(2, 3, 12, 8, seed=901), 2)),
        Case("images (1, 2, 9, 6), patch_size=3", (normal(1, 2, 9, 6, seed=902), 3))],
    "merge_patches": lambda: [
        Case("x (3, 6, 10, 5)", (normal(3, 6, 10, 5, seed=903),)),
        Case("x (1, 2, 8, 1)", (normal(1, 2, 8, 1, seed=904),))],
    "window_partition": lambda: [
        Case("x (2, 14, 21, 3), window_size=7", (normal(2, 14, 21, 3, seed=905), 7)),
        Case("x (1, 6, 4, 2), window_size=2", (normal(1, 6, 4, 2, seed=906), 2))],
    "window_reverse": lambda: [
        Case("windows of x (2, 14, 21, 3), window_size=7",
             (window_partition(normal(2, 14, 21, 3, seed=907), 7), 7, 14, 21)),
        Case("windows of x (1, 4, 8, 2), window_size=4",
             (window_partition(normal(1, 4, 8, 2, seed=908), 4), 4, 4, 8))],
    "relative_position_index": lambda: [Case(f"window_size={M}", (M,)) for M in (7, 4)],
    "lookup_bias": lambda: [
        Case("window_size=7, num_heads=4",
             (normal(13 ** 2, 4, seed=909), _index(7))),
        Case("window_size=4, num_heads=1", (normal(7 ** 2, 1, seed=910), _index(4)))],
    "cyclic_shift": lambda: [
        Case("x (2, 14, 21, 4), shift_size=3", (distinct(2, 14, 21, 4, seed=911), 3)),
        Case("x (1, 5, 3, 2), shift_size=0", (distinct(1, 5, 3, 2, seed=912), 0))],
    "region_labels": lambda: [Case(f"H={H}, W={W}, window_size={M}, shift_size={S}",
                                   (H, W, M, S))
                              for H, W, M, S in [(14, 21, 7, 3), (8, 8, 4, 0), (6, 12, 3, 2)]],
    "mask_from_labels": lambda: [
        Case("region_labels(14, 21, 7, 3), window_size=7", (region_labels(14, 21, 7, 3), 7)),
        Case("region_labels(8, 4, 4, 2), window_size=4, masked_value=-1.0",
             (region_labels(8, 4, 4, 2), 4, -1.0))],
    "window_attention": lambda: [_attention_case(0, 2, 6, 9, 3, 1, 3, 8),
                                 _attention_case(1, 1, 4, 8, 4, 0, 2, 5)],
    "shifted_window_attention": lambda: [
        Case(f"x (2, 14, 21, 4), window_size=7, shift_size={S}",
             (normal(2, 14, 21, 4, seed=913), 7, S, toy_attention)) for S in (0, 3)],
    "msa_flops": lambda: [Case(f"h={h}, w={w}, C={C}", (h, w, C))
                          for h, w, C in [(224, 224, 3), (14, 7, 384)]],
    "wmsa_flops": lambda: [Case(f"h={h}, w={w}, C={C}, M={M}", (h, w, C, M))
                           for h, w, C, M in [(224, 224, 3, 7), (14, 7, 384, 7)]],
    "flops_saving": lambda: [Case(f"h={h}, w={w}, C={C}, M={M}", (h, w, C, M))
                             for h, w, C, M in [(56, 56, 96, 7), (28, 56, 64, 14)]],
}


def _index(window_size: int) -> torch.Tensor:
    from swin_edu.relative_position import relative_position_index
    return relative_position_index(window_size)


def hidden_cases(function: str) -> list[Case]:
    """The hidden inputs of ``function``; a ``ValueError`` names the known functions."""
    if function not in HIDDEN_CASES:
        raise ValueError(f"function={function!r} has no hidden tests; known: "
                         f"{sorted(HIDDEN_CASES)}")
    return HIDDEN_CASES[function]()


def answer_record(value: Any) -> dict[str, Any]:
    """What is saved for one answer: its exact type's name and a loadable copy of it."""
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    if isinstance(value, torch.Tensor):
        return {"type": kind, "value": value.detach().as_subclass(torch.Tensor).clone()}
    if isinstance(value, (bool, int, float, str)) or value is None:
        return {"type": kind, "value": value if type(value) in (bool, int, float, str)
                or value is None else repr(value)}
    return {"type": kind, "value": repr(value)[:300]}


def record_answers(function: str, student: Callable[..., Any]) -> None:
    """Run ``student`` on the hidden inputs of ``function`` and save its answers for the grader.

    An exception in the student's function is saved as the answer of that input (the grader
    reports it). Nothing is compared here.
    """
    answers = []
    for case in hidden_cases(function):
        try:
            answers.append(answer_record(student(*case.args)))
        except Exception as error:  # the grader reports it with the input
            answers.append({"type": "exception", "value": f"{type(error).__name__}: {error}"})
    folder = Path(os.getcwd()) / ANSWERS_DIR
    folder.mkdir(exist_ok=True)
    torch.save({"function": function, "answers": answers}, folder / f"{function}.pt")
    print(f"recorded {len(answers)} hidden answers of {function} for the grader")
