"""Assignment 1: patch partition and patch merging (the x0, x1, x2, x3 order).

Each ``mistake_*`` function is a plausible wrong answer; it uses only ``torch`` so its source
can be planted in a notebook.
"""

from __future__ import annotations

import torch

from swin_edu.grading._inputs import distinct
from swin_edu.grading.core import Case, Feedback, Mistake, Question, check
from swin_edu.patches import merge_patches, patch_partition

__all__ = ["PATCH_PARTITION", "MERGE_PATCHES", "check_patch_partition", "check_merge_patches"]


def _partition_cases() -> list[Case]:
    shapes = [(1, 3, 8, 8, 4), (2, 3, 8, 12, 4), (1, 2, 6, 4, 2)]
    return [Case(f"images of shape {(B, C, H, W)}, patch_size={p}"
                 + (" (non-square)" if H != W else ""), (distinct(B, C, H, W, seed=i), p))
            for i, (B, C, H, W, p) in enumerate(shapes)]


def mistake_pixels_before_channels(images, patch_size=4):
    """Flattens each patch as (p, p, C_in) instead of (C_in, p, p)."""
    B, C, H, W = images.shape
    p = patch_size
    x = images.view(B, C, H // p, p, W // p, p).permute(0, 2, 4, 3, 5, 1)
    return x.reshape(B, H // p, W // p, p * p * C)


def mistake_reshape_without_permute(images, patch_size=4):
    """Reshapes the image straight to the output shape: strips, not patches."""
    B, C, H, W = images.shape
    p = patch_size
    return images.reshape(B, H // p, W // p, C * p * p)


def mistake_channels_first_output(images, patch_size=4):
    """Returns (B, C_in*p*p, H/p, W/p), the layout of a Conv2d output."""
    B, C, H, W = images.shape
    p = patch_size
    x = images.view(B, C, H // p, p, W // p, p).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(B, C * p * p, H // p, W // p)


def mistake_patch_grid_transposed(images, patch_size=4):
    """Puts patch columns on axis 1 and patch rows on axis 2."""
    B, C, H, W = images.shape
    p = patch_size
    x = images.view(B, C, H // p, p, W // p, p).permute(0, 4, 2, 1, 3, 5)
    return x.reshape(B, W // p, H // p, C * p * p)


PATCH_PARTITION = Question(
    function="patch_partition",
    reference=patch_partition,
    cases=_partition_cases,
    signature="patch_partition(images, patch_size=4)",
    reference_name="swin_edu.patches.patch_partition",
    mistakes=(
        Mistake("pixels_before_channels", "flatten each patch as (C_in, p, p): channel first, "
                "then the row, then the column inside the patch, the order in which a Conv2d "
                "weight (C, C_in, p, p) reads it. You flattened (p, p, C_in): permute so the "
                "channel axis comes right after the two patch-grid axes.",
                mistake_pixels_before_channels),
        Mistake("reshape_without_permute", "a reshape alone never moves data: it grouped "
                "p*p*C_in numbers that are consecutive in memory (part of one image row), not "
                "a p x p patch. View as (B, C_in, H/p, p, W/p, p), permute to (B, H/p, W/p, "
                "C_in, p, p), then reshape.", mistake_reshape_without_permute),
        Mistake("channels_first_output", "Swin keeps feature maps channels-last (B, H, W, C); "
                "you returned the Conv2d layout (B, C, H, W). Put the flattened patch on the "
                "last axis.", mistake_channels_first_output),
        Mistake("patch_grid_transposed", "the patch grid came out transposed: axis 1 must count "
                "patch rows (H/p) and axis 2 patch columns (W/p). Check the order of the "
                "grid axes in your permute.", mistake_patch_grid_transposed),
    ),
)


def _merge_cases() -> list[Case]:
    shapes = [(1, 4, 4, 2), (2, 4, 6, 3), (1, 6, 2, 2)]
    return [Case(f"x of shape {shape}" + (" (non-square)" if shape[1] != shape[2] else ""),
                 (distinct(*shape, seed=10 + i),)) for i, shape in enumerate(shapes)]


def mistake_column_offset_first(x):
    """Concatenates x0, x2, x1, x3: the right neighbour before the one below."""
    B, H, W, C = x.shape
    x = x.view(B, H // 2, 2, W // 2, 2, C).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(B, H // 2, W // 2, 4 * C)


def mistake_interleaved_channels(x):
    """Stacks the four tokens on a new last axis, interleaving their channels."""
    x0 = x[:, 0::2, 0::2, :]
    x1 = x[:, 1::2, 0::2, :]
    x2 = x[:, 0::2, 1::2, :]
    x3 = x[:, 1::2, 1::2, :]
    return torch.stack([x0, x1, x2, x3], dim=-1).flatten(-2)


def mistake_row_neighbours(x):
    """Reshapes straight to (B, H/2, W/2, 4C): four tokens of one row, not a 2 x 2 square."""
    B, H, W, C = x.shape
    return x.reshape(B, H // 2, W // 2, 4 * C)


def mistake_concatenated_on_width(x):
    """Concatenates the four tokens along the width axis instead of the channels."""
    x0 = x[:, 0::2, 0::2, :]
    x1 = x[:, 1::2, 0::2, :]
    x2 = x[:, 0::2, 1::2, :]
    x3 = x[:, 1::2, 1::2, :]
    return torch.cat([x0, x1, x2, x3], dim=2)


MERGE_PATCHES = Question(
    function="merge_patches",
    reference=merge_patches,
    cases=_merge_cases,
    signature="merge_patches(x)",
    reference_name="swin_edu.patches.merge_patches",
    mistakes=(
        Mistake("column_offset_first", "the official order is x0 = (0, 0), x1 = (1, 0), "
                "x2 = (0, 1), x3 = (1, 1): the second token is the one BELOW (row offset 1), "
                "not the one to the right. A view(B, H/2, 2, W/2, 2, C) needs "
                "permute(0, 1, 3, 4, 2, 5) (column offset outer, row offset inner), not "
                "permute(0, 1, 3, 2, 4, 5); pretrained PatchMerging weights expect this order.",
                mistake_column_offset_first),
        Mistake("interleaved_channels", "your channels are interleaved (x0[0], x1[0], x2[0], "
                "x3[0], x0[1], ...): stack(..., dim=-1) then flatten puts the four tokens "
                "innermost. Use torch.cat([x0, x1, x2, x3], dim=-1) so each token's C channels "
                "stay together.", mistake_interleaved_channels),
        Mistake("row_neighbours", "a reshape to (B, H/2, W/2, 4C) groups four tokens that are "
                "consecutive in memory, i.e. four neighbours along one row, not a 2 x 2 square. "
                "Take the strided slices x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], "
                "x[:, 1::2, 1::2] and concatenate them.", mistake_row_neighbours),
        Mistake("concatenated_on_width", "concatenate along the channel axis (dim=-1): the "
                "output has shape (B, H/2, W/2, 4C).", mistake_concatenated_on_width),
    ),
)


def check_patch_partition(student) -> Feedback:
    """Compare ``student(images, patch_size)`` with :func:`swin_edu.patches.patch_partition`."""
    return check(PATCH_PARTITION, student)


def check_merge_patches(student) -> Feedback:
    """Compare ``student(x)`` with :func:`swin_edu.patches.merge_patches` (x0..x3 order)."""
    return check(MERGE_PATCHES, student)
