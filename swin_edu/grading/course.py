"""The course notebooks' "Your turn" cells: extra questions and the helper that runs a checker.

Notebooks 01-07 ask the learner to write small functions. Most are graded by the assignments'
own checkers (one source of truth); the questions below cover what no assignment asks:

- ``patch_embedding`` (notebook 01): the patch embedding as cut + flatten + Linear, given the
  weights of a ``Conv2d(C_in, C, kernel_size=p, stride=p)``;
- ``patch_merging`` (notebook 02): merge, ``LayerNorm(4C)``, ``Linear(4C -> 2C)`` from weights;
- ``block_shift`` (notebook 07): the official rule for when an SW-MSA block really shifts;
- ``stage_tokens`` (notebook 07): how many tokens a stage sees for any image size.

:func:`your_turn` runs a checker on the learner's function and prints its verdict; an
unanswered stub (one that raises ``NotImplementedError``) prints what to do instead, so a
notebook runs top to bottom before the learner has written anything.

Each ``mistake_*`` function is a plausible wrong answer; it uses only ``torch`` so its source
can be planted in a notebook.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import torch
import torch.nn.functional as F

from swin_edu.grading._inputs import normal
from swin_edu.grading.core import Case, Feedback, Mistake, Question, check
from swin_edu.model import effective_shift, stage_shapes
from swin_edu.patches import merge_patches

__all__ = ["PATCH_EMBEDDING", "PATCH_MERGING", "BLOCK_SHIFT", "STAGE_TOKENS",
           "COURSE_QUESTIONS", "check_patch_embedding", "check_patch_merging",
           "check_block_shift", "check_stage_tokens", "your_turn", "NOT_ANSWERED"]

NOT_ANSWERED = "Not answered yet"


def your_turn(checker: Callable[[Any], Feedback], student: Any) -> None:
    """Run ``checker(student)`` and print ``PASSED ...`` or ``NOT YET ...`` with the hint.

    When ``student`` still raises ``NotImplementedError`` (the stub of a "Your turn" cell), print
    ``Not answered yet: ...`` with what the function should do (its docstring) instead: the cell
    does not fail, so the notebook runs top to bottom unanswered. Never raises because of the
    student's code (the checkers do not).
    """
    unanswered = []

    @functools.wraps(student)
    def watched(*args, **kwargs):
        try:
            return student(*args, **kwargs)
        except NotImplementedError:
            unanswered.append(True)
            raise

    feedback = checker(watched if callable(student) else student)
    if unanswered:
        name = getattr(student, "__name__", "the function")
        task = " ".join((inspect.getdoc(student) or "").split())
        print(f"{NOT_ANSWERED}: write `{name}` above{': ' + task if task else ''}\n"
              f"Replace `raise NotImplementedError` with your code, then run this cell again. "
              f"(A solution is folded below the cell.)")
        return
    print(feedback)


# Notebook 01: the patch embedding from a Conv2d's weights.

def patch_embedding(images: torch.Tensor, weight: torch.Tensor,
                    bias: torch.Tensor) -> torch.Tensor:
    """``(B, C_in, H, W)`` images, a ``Conv2d(C_in, C, kernel_size=p, stride=p)``'s ``weight``
    ``(C, C_in, p, p)`` and ``bias`` ``(C,)`` -> tokens ``(B, H/p, W/p, C)`` channels-last."""
    p = weight.shape[-1]
    return F.conv2d(images, weight, bias, stride=p).permute(0, 2, 3, 1)


def _embedding_cases() -> list[Case]:
    # (B, C_in, H, W, p, C); the first has C == C_in * p * p, so a square weight matrix.
    shapes = [(1, 3, 4, 8, 2, 12), (2, 3, 8, 8, 4, 5), (1, 1, 6, 4, 2, 3)]
    return [Case(f"images {(B, C_in, H, W)}, Conv2d({C_in}, {C}, kernel_size={p}, stride={p})"
                 + (" (non-square)" if H != W else ""),
                 (normal(B, C_in, H, W, seed=200 + i), normal(C, C_in, p, p, seed=210 + i),
                  normal(C, seed=220 + i)))
            for i, (B, C_in, H, W, p, C) in enumerate(shapes)]


def mistake_embedding_pixels_before_channels(images, weight, bias):
    """Flattens each patch as (p, p, C_in) but the weight as (C_in, p, p)."""
    B, C_in, H, W = images.shape
    p = weight.shape[-1]
    x = images.view(B, C_in, H // p, p, W // p, p).permute(0, 2, 4, 3, 5, 1)
    return x.reshape(B, H // p, W // p, -1) @ weight.reshape(weight.shape[0], -1).T + bias


def mistake_embedding_no_bias(images, weight, bias):
    """Leaves out the bias."""
    B, C_in, H, W = images.shape
    p = weight.shape[-1]
    x = images.view(B, C_in, H // p, p, W // p, p).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(B, H // p, W // p, -1) @ weight.reshape(weight.shape[0], -1).T


def mistake_embedding_weight_not_transposed(images, weight, bias):
    """Multiplies by the (C, C_in*p*p) matrix itself instead of its transpose."""
    B, C_in, H, W = images.shape
    p = weight.shape[-1]
    x = images.view(B, C_in, H // p, p, W // p, p).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(B, H // p, W // p, -1) @ weight.reshape(weight.shape[0], -1) + bias


def mistake_embedding_channels_first(images, weight, bias):
    """Returns the Conv2d layout (B, C, H/p, W/p)."""
    B, C_in, H, W = images.shape
    p = weight.shape[-1]
    x = images.view(B, C_in, H // p, p, W // p, p).permute(0, 2, 4, 1, 3, 5)
    tokens = x.reshape(B, H // p, W // p, -1) @ weight.reshape(weight.shape[0], -1).T + bias
    return tokens.permute(0, 3, 1, 2)


PATCH_EMBEDDING = Question(
    function="patch_embedding",
    reference=patch_embedding,
    cases=_embedding_cases,
    signature="patch_embedding(images, weight, bias)",
    reference_name="torch.nn.functional.conv2d(images, weight, bias, stride=p), channels last",
    mistakes=(
        Mistake("pixels_before_channels", "the conv weight (C, C_in, p, p) reads each patch in "
                "the order (channel, row, column); you flattened the patches as (row, column, "
                "channel). Permute the cut image to (B, H/p, W/p, C_in, p, p) before the "
                "reshape, so weight.reshape(C, -1) lines up with it.",
                mistake_embedding_pixels_before_channels),
        Mistake("no_bias", "add the conv's bias (C,) to every token: a Linear is x @ W.T + b.",
                mistake_embedding_no_bias),
        Mistake("weight_not_transposed", "nn.Linear computes x @ W.T: the flattened weight is "
                "(C, C_in*p*p), one row per output channel, so multiply by its transpose. (The "
                "shapes only fitted because C == C_in*p*p on this input.)",
                mistake_embedding_weight_not_transposed),
        Mistake("channels_first", "return the tokens channels-last, (B, H/p, W/p, C), as Swin "
                "keeps its maps; you returned the Conv2d layout (B, C, H/p, W/p).",
                mistake_embedding_channels_first),
    ),
)


# Notebook 02: patch merging with its LayerNorm and reduction.

def patch_merging(x: torch.Tensor, norm_weight: torch.Tensor, norm_bias: torch.Tensor,
                  reduction_weight: torch.Tensor) -> torch.Tensor:
    """``(B, H, W, C)`` -> ``(B, H/2, W/2, 2C)``: merge the 2 x 2 neighbourhoods (x0..x3),
    ``LayerNorm(4C)`` with ``norm_weight``, ``norm_bias`` ``(4C,)``, then ``Linear(4C, 2C,
    bias=False)`` with ``reduction_weight`` ``(2C, 4C)``."""
    merged = merge_patches(x)  # (B, H/2, W/2, 4C)
    normed = F.layer_norm(merged, merged.shape[-1:], norm_weight, norm_bias)
    return F.linear(normed, reduction_weight)


def _merging_cases() -> list[Case]:
    shapes = [(1, 4, 4, 2), (2, 4, 6, 3), (1, 6, 2, 1)]
    return [Case(f"x of shape {(B, H, W, C)}" + (" (non-square)" if H != W else ""),
                 (normal(B, H, W, C, seed=300 + i), 1 + normal(4 * C, seed=310 + i),
                  normal(4 * C, seed=320 + i), normal(2 * C, 4 * C, seed=330 + i)))
            for i, (B, H, W, C) in enumerate(shapes)]


def mistake_merging_no_norm(x, norm_weight, norm_bias, reduction_weight):
    """Merges and projects without the LayerNorm."""
    merged = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]],
                       dim=-1)
    return merged @ reduction_weight.T


def mistake_merging_norm_without_affine(x, norm_weight, norm_bias, reduction_weight):
    """Normalises without the LayerNorm's learned weight and bias."""
    merged = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]],
                       dim=-1)
    normed = torch.nn.functional.layer_norm(merged, merged.shape[-1:])
    return normed @ reduction_weight.T


def mistake_merging_column_offset_first(x, norm_weight, norm_bias, reduction_weight):
    """Concatenates x0, x2, x1, x3: the right neighbour before the one below."""
    merged = torch.cat([x[:, 0::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 0::2], x[:, 1::2, 1::2]],
                       dim=-1)
    normed = torch.nn.functional.layer_norm(merged, merged.shape[-1:], norm_weight, norm_bias)
    return normed @ reduction_weight.T


PATCH_MERGING = Question(
    function="patch_merging",
    reference=patch_merging,
    cases=_merging_cases,
    signature="patch_merging(x, norm_weight, norm_bias, reduction_weight)",
    reference_name="swin_edu.patches.merge_patches, then layer_norm and linear",
    mistakes=(
        Mistake("no_norm", "normalise the merged 4C vector before the projection: "
                "F.layer_norm(merged, (4 * C,), norm_weight, norm_bias), then the Linear.",
                mistake_merging_no_norm),
        Mistake("norm_without_affine", "the LayerNorm has learned parameters: pass norm_weight "
                "and norm_bias to F.layer_norm (without them it only standardises).",
                mistake_merging_norm_without_affine),
        Mistake("column_offset_first", "the official order is x0 = (0, 0), x1 = (1, 0), "
                "x2 = (0, 1), x3 = (1, 1): the second token is the one BELOW, not the one to "
                "the right; the trained norm and reduction weights expect that order.",
                mistake_merging_column_offset_first),
    ),
)


# Notebook 07: when an SW-MSA block really shifts, and how many tokens a stage sees.

def block_shift(H: int, W: int, window_size: int, shift_size: int) -> int:
    """The shift an SW-MSA block configured with ``shift_size`` applies on an ``H x W`` map,
    by the official rule: none when the shorter side fits in one window."""
    return effective_shift(H, W, window_size, shift_size, rule="official")[0]


def _shift_cases() -> list[Case]:
    sizes = [(56, 56, 7, 3), (14, 7, 7, 3), (7, 7, 7, 3), (4, 6, 7, 3), (7, 14, 7, 3),
             (12, 20, 4, 2)]
    return [Case(f"H={H}, W={W}, window_size={M}, shift_size={S}"
                 + (" (non-square)" if H != W else ""), (H, W, M, S)) for H, W, M, S in sizes]


def mistake_shift_longer_side(H, W, window_size, shift_size):
    """Judges the longer side instead of the shorter one."""
    return 0 if max(H, W) <= window_size else shift_size


def mistake_shift_strictly_smaller(H, W, window_size, shift_size):
    """Stops shifting only when the map is strictly smaller than the window."""
    return 0 if min(H, W) < window_size else shift_size


def mistake_shift_always(H, W, window_size, shift_size):
    """Always shifts."""
    return shift_size


def mistake_shift_height_only(H, W, window_size, shift_size):
    """Looks at the height only."""
    return 0 if H <= window_size else shift_size


BLOCK_SHIFT = Question(
    function="block_shift",
    reference=block_shift,
    cases=_shift_cases,
    signature="block_shift(H, W, window_size, shift_size)",
    reference_name="swin_edu.model.effective_shift(H, W, window_size, shift_size)[0]",
    mistakes=(
        Mistake("longer_side", "the official rule looks at the SHORTER side: when min(H, W) "
                "<= window_size the block does not shift at all (a 7x14 map with window 7 is "
                "one window tall).", mistake_shift_longer_side),
        Mistake("strictly_smaller", "a map exactly one window wide already gets no shift: "
                "rolling a single window only wraps it onto itself. Use <=, not <.",
                mistake_shift_strictly_smaller),
        Mistake("always", "a block configured to shift does not always shift: when the "
                "shorter side fits in one window (min(H, W) <= window_size) it uses 0.",
                mistake_shift_always),
        Mistake("height_only", "look at both sides: the rule is min(H, W) <= window_size, so "
                "a 14x7 map (one window wide) does not shift either.",
                mistake_shift_height_only),
    ),
)


def stage_tokens(H: int, W: int, stage: int) -> int:
    """Tokens ``h * w`` of the map that stage ``stage`` (1 to 4) of Swin-T sees for an
    ``H x W`` image: patch 4 (the image padded to a multiple of 4), then each patch merging
    halves the sides, padding an odd side by one first."""
    step = next(s for s in stage_shapes("T", (H, W)) if s["name"].startswith(f"stage {stage}"))
    return step["shape"][1] * step["shape"][2]


def _tokens_cases() -> list[Case]:
    sizes = [(224, 224, 1), (224, 224, 4), (200, 300, 3), (112, 112, 4), (100, 60, 2),
             (512, 384, 4)]
    return [Case(f"H={H}, W={W}, stage={s}" + (" (non-square)" if H != W else ""), (H, W, s))
            for H, W, s in sizes]


def mistake_tokens_floor(H, W, stage):
    """Halves with a floor, as the official input_resolution does (7 // 2 = 3)."""
    h, w = H // 4, W // 4
    for _ in range(stage - 1):
        h, w = h // 2, w // 2
    return h * w


def mistake_tokens_one_halving_too_many(H, W, stage):
    """Halves once per stage, stage 1 included."""
    h, w = -(-H // 4), -(-W // 4)
    for _ in range(stage):
        h, w = -(-h // 2), -(-w // 2)
    return h * w


def mistake_tokens_no_patch(H, W, stage):
    """Forgets the 4 x 4 patches: starts from the pixels."""
    h, w = H, W
    for _ in range(stage - 1):
        h, w = -(-h // 2), -(-w // 2)
    return h * w


def mistake_tokens_side_only(H, W, stage):
    """Returns the height of the map instead of its number of tokens."""
    h = -(-H // 4)
    for _ in range(stage - 1):
        h = -(-h // 2)
    return h


STAGE_TOKENS = Question(
    function="stage_tokens",
    reference=stage_tokens,
    cases=_tokens_cases,
    signature="stage_tokens(H, W, stage)",
    reference_name="swin_edu.model.stage_shapes('T', (H, W))",
    mistakes=(
        Mistake("floor", "swin_edu pads an odd side by one before each patch merging, so a "
                "side halves rounding UP (7 -> 4, not 3): use -(-n // 2). The official code "
                "floors, which is what breaks at 112 px.", mistake_tokens_floor),
        Mistake("one_halving_too_many", "stage 1 runs on the patch embedding's map (H/4 x "
                "W/4); the first patch merging comes AFTER stage 1, so stage s has been halved "
                "s - 1 times.", mistake_tokens_one_halving_too_many),
        Mistake("no_patch", "start from the patch grid, not the pixels: 4 x 4 patches give "
                "ceil(H/4) x ceil(W/4) tokens at stage 1.", mistake_tokens_no_patch),
        Mistake("side_only", "return the number of tokens h * w of the map, not one side.",
                mistake_tokens_side_only),
    ),
)

COURSE_QUESTIONS: tuple[Question, ...] = (PATCH_EMBEDDING, PATCH_MERGING, BLOCK_SHIFT,
                                          STAGE_TOKENS)


def check_patch_embedding(student) -> Feedback:
    """Compare ``student(images, weight, bias)`` with a strided ``Conv2d``, channels-last."""
    return check(PATCH_EMBEDDING, student)


def check_patch_merging(student) -> Feedback:
    """Compare ``student(x, norm_weight, norm_bias, reduction_weight)`` with ``PatchMerging``."""
    return check(PATCH_MERGING, student)


def check_block_shift(student) -> Feedback:
    """Compare ``student(H, W, window_size, shift_size)`` with the official shift rule."""
    return check(BLOCK_SHIFT, student)


def check_stage_tokens(student) -> Feedback:
    """Compare ``student(H, W, stage)`` with ``swin_edu.model.stage_shapes`` for Swin-T."""
    return check(STAGE_TOKENS, student)
