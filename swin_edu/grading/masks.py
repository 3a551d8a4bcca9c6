"""Assignment 4: the cyclic shift, the region labels and the shifted-window mask.

Each ``mistake_*`` function is a plausible wrong answer; it uses only ``torch`` so its source
can be planted in a notebook.
"""

from __future__ import annotations

import torch

from swin_edu.grading._inputs import distinct
from swin_edu.grading.core import Case, Feedback, Mistake, Question, check
from swin_edu.masks import MASKED_VALUE, region_labels
from swin_edu.windows import cyclic_shift, window_partition

__all__ = ["CYCLIC_SHIFT", "REGION_LABELS", "MASK_FROM_LABELS",
           "check_cyclic_shift", "check_region_labels", "check_mask_from_labels"]


def _shift_cases() -> list[Case]:
    shapes = [(1, 4, 6, 2, 1), (2, 6, 8, 3, 2), (1, 7, 7, 2, 3)]
    return [Case(f"x of shape {(B, H, W, C)}, shift_size={S}"
                 + (" (non-square)" if H != W else ""), (distinct(B, H, W, C, seed=50 + i), S))
            for i, (B, H, W, C, S) in enumerate(shapes)]


def mistake_shift_wrong_direction(x, shift_size):
    """Rolls down and right (+S) instead of up and left."""
    return torch.roll(x, shifts=(shift_size, shift_size), dims=(1, 2))


def mistake_shift_rows_only(x, shift_size):
    """Rolls the rows but not the columns."""
    return torch.roll(x, shifts=-shift_size, dims=1)


def mistake_shift_channels_first_axes(x, shift_size):
    """Rolls dims (2, 3) as for a (B, C, H, W) tensor: the width and the channels."""
    return torch.roll(x, shifts=(-shift_size, -shift_size), dims=(2, 3))


def mistake_shift_without_dims(x, shift_size):
    """Calls torch.roll without dims: the flattened tensor is rolled."""
    return torch.roll(x, shifts=-shift_size)


CYCLIC_SHIFT = Question(
    function="cyclic_shift",
    reference=cyclic_shift,
    cases=_shift_cases,
    signature="cyclic_shift(x, shift_size)",
    reference_name="swin_edu.windows.cyclic_shift",
    mistakes=(
        Mistake("wrong_direction", "you rolled down and right. The official code rolls up and "
                "left, torch.roll(x, shifts=(-S, -S), dims=(1, 2)), so the top S rows and left "
                "S columns wrap round to the bottom and right, which is what the mask "
                "describes. Rolling by +S is how the block rolls back afterwards.",
                mistake_shift_wrong_direction),
        Mistake("rows_only", "roll both spatial axes: shifts=(-S, -S), dims=(1, 2). You rolled "
                "only the rows.", mistake_shift_rows_only),
        Mistake("channels_first_axes", "feature maps are channels-last (B, H, W, C): the "
                "spatial axes are dims 1 and 2. dims=(2, 3) rolls the width and the channels "
                "(the (B, C, H, W) habit).", mistake_shift_channels_first_axes),
        Mistake("without_dims", "torch.roll without dims flattens the tensor and rolls the flat "
                "sequence; pass dims=(1, 2) with shifts=(-S, -S).", mistake_shift_without_dims),
    ),
)


def _labels_cases() -> list[Case]:
    sizes = [(4, 4, 2, 1), (6, 9, 3, 1), (8, 12, 4, 2), (4, 6, 2, 0)]
    return [Case(f"H={H}, W={W}, window_size={M}, shift_size={S}"
                 + (" (non-square)" if H != W else ""), (H, W, M, S))
            for H, W, M, S in sizes]


def mistake_labels_unrolled_map(H, W, window_size, shift_size):
    """Labels the regions where they sit before the cyclic shift."""
    labels = torch.zeros(H, W, dtype=torch.long)
    if shift_size == 0:
        return labels
    bands = (slice(0, -window_size), slice(-window_size, -shift_size),
             slice(-shift_size, None))
    count = 0
    for h in bands:
        for w in bands:
            labels[h, w] = count
            count += 1
    return torch.roll(labels, shifts=(shift_size, shift_size), dims=(0, 1))


def mistake_labels_cut_points_swapped(H, W, window_size, shift_size):
    """Cuts the bands at -S then -M: the middle band is empty."""
    labels = torch.zeros(H, W, dtype=torch.long)
    if shift_size == 0:
        return labels
    bands = (slice(0, -shift_size), slice(-shift_size, -window_size),
             slice(-window_size, None))
    count = 0
    for h in bands:
        for w in bands:
            labels[h, w] = count
            count += 1
    return labels


def mistake_labels_counted_by_columns(H, W, window_size, shift_size):
    """Right regions, numbered column by column."""
    labels = torch.zeros(H, W, dtype=torch.long)
    if shift_size == 0:
        return labels
    bands = (slice(0, -window_size), slice(-window_size, -shift_size),
             slice(-shift_size, None))
    count = 0
    for w in bands:
        for h in bands:
            labels[h, w] = count
            count += 1
    return labels


def mistake_labels_shift_zero_not_handled(H, W, window_size, shift_size):
    """The official loop run with shift_size=0: slice(-0, None) covers everything."""
    labels = torch.zeros(H, W, dtype=torch.long)
    bands = (slice(0, -window_size), slice(-window_size, -shift_size),
             slice(-shift_size, None))
    count = 0
    for h in bands:
        for w in bands:
            labels[h, w] = count
            count += 1
    return labels


def mistake_labels_collide(H, W, window_size, shift_size):
    """Labels a region by row band + column band: different regions share a label."""
    labels = torch.zeros(H, W, dtype=torch.long)
    if shift_size == 0:
        return labels
    bands = (slice(0, -window_size), slice(-window_size, -shift_size),
             slice(-shift_size, None))
    for r, h in enumerate(bands):
        for c, w in enumerate(bands):
            labels[h, w] = r + c
    return labels


REGION_LABELS = Question(
    function="region_labels",
    reference=region_labels,
    cases=_labels_cases,
    signature="region_labels(H, W, window_size, shift_size)",
    reference_name="swin_edu.masks.region_labels",
    mistakes=(
        Mistake("unrolled_map", "your labels describe the map before the cyclic shift. The "
                "mask is built on the ROLLED map, where the bands are [0, H-M), [H-M, H-S) "
                "and [H-S, H) (slices (0, -M), (-M, -S), (-S, None)); label those directly, "
                "without rolling the labels.", mistake_labels_unrolled_map),
        Mistake("cut_points_swapped", "the band boundaries are -M then -S: slice(0, -M), "
                "slice(-M, -S), slice(-S, None). With them swapped the middle band is empty.",
                mistake_labels_cut_points_swapped),
        Mistake("counted_by_columns", "your regions are right but numbered column by column. "
                "Count them row by row like the official loop (for h in slices: for w in "
                "slices:), so label = 3 * row_band + column_band.",
                mistake_labels_counted_by_columns),
        Mistake("labels_collide", "different regions got the same label (for example the "
                "top-right and bottom-left regions): the label must be unique for each pair "
                "(row band, column band), e.g. 3 * row_band + column_band.",
                mistake_labels_collide),
        Mistake("shift_zero_not_handled", "with shift_size=0, slice(-0, None) is slice(0, None): "
                "the last band covers the whole map and every label becomes 8. Without a "
                "shift there is a single region: return all zeros.",
                mistake_labels_shift_zero_not_handled),
    ),
)


def _expected_mask(labels: torch.Tensor, window_size: int,
                   masked_value: float = MASKED_VALUE) -> torch.Tensor:
    """The additive mask of each window from a region-label map.

    Args:
        labels: ``(H, W)`` integer region labels of the rolled map.
        window_size: ``M``.
        masked_value: added where query and key come from different regions.
    Returns:
        ``(nW, M*M, M*M)`` float32; equals :func:`swin_edu.masks.shifted_window_mask` when
        ``labels`` is :func:`swin_edu.masks.region_labels`.
    """
    windows = window_partition(labels[None, :, :, None], window_size)  # (nW, M, M, 1)
    windows = windows.reshape(-1, window_size * window_size)  # (nW, M*M)
    different = windows[:, None, :] != windows[:, :, None]  # (nW, M*M, M*M)
    return torch.zeros(different.shape).masked_fill(different, float(masked_value))


def _mask_cases() -> list[Case]:
    sizes = [(4, 4, 2, 1), (6, 9, 3, 1), (8, 12, 4, 2)]
    cases = [Case(f"region_labels({H}, {W}, window_size={M}, shift_size={S})"
                  + (" (non-square)" if H != W else ""), (region_labels(H, W, M, S), M))
             for H, W, M, S in sizes]
    # A non-default masked_value: a hard-coded -100.0 must not pass.
    return cases + [Case("region_labels(6, 4, window_size=2, shift_size=1) (non-square), "
                         "masked_value=-7.5", (region_labels(6, 4, 2, 1), 2, -7.5))]


def mistake_mask_inverted(labels, window_size, masked_value=-100.0):
    """Puts masked_value where the labels agree and 0 where they differ."""
    M = window_size
    H, W = labels.shape
    windows = labels.view(H // M, M, W // M, M).permute(0, 2, 1, 3).reshape(-1, M * M)
    same = windows[:, None, :] == windows[:, :, None]
    return torch.zeros(same.shape).masked_fill(same, masked_value)


def mistake_mask_minus_inf(labels, window_size, masked_value=-100.0):
    """Masks with -inf instead of masked_value."""
    M = window_size
    H, W = labels.shape
    windows = labels.view(H // M, M, W // M, M).permute(0, 2, 1, 3).reshape(-1, M * M)
    different = windows[:, None, :] != windows[:, :, None]
    return torch.zeros(different.shape).masked_fill(different, float("-inf"))


def mistake_mask_row_strips(labels, window_size, masked_value=-100.0):
    """Cuts the label map with a reshape: M*M consecutive tokens of a row, not windows."""
    M = window_size
    windows = labels.reshape(-1, M * M)
    different = windows[:, None, :] != windows[:, :, None]
    return torch.zeros(different.shape).masked_fill(different, masked_value)


def mistake_mask_whole_map(labels, window_size, masked_value=-100.0):
    """Compares every pair of tokens of the whole map: one (H*W, H*W) matrix."""
    flat = labels.reshape(-1)
    different = flat[:, None] != flat[None, :]
    return torch.zeros(different.shape).masked_fill(different, masked_value)


def mistake_mask_boolean(labels, window_size, masked_value=-100.0):
    """Returns the boolean 'different region' tensor instead of an additive mask."""
    M = window_size
    H, W = labels.shape
    windows = labels.view(H // M, M, W // M, M).permute(0, 2, 1, 3).reshape(-1, M * M)
    return windows[:, None, :] != windows[:, :, None]


MASK_FROM_LABELS = Question(
    function="mask_from_labels",
    reference=_expected_mask,
    cases=_mask_cases,
    signature="mask_from_labels(labels, window_size, masked_value=-100.0)",
    reference_name="swin_edu.masks.shifted_window_mask(H, W, M, S, masked_value)",
    mistakes=(
        Mistake("inverted", "the mask is inverted: 0 where query and key share a label (they "
                "were neighbours), masked_value where the labels differ.",
                mistake_mask_inverted),
        Mistake("minus_inf", "use masked_value (-100.0), not -inf: -inf turns a fully masked "
                "row into NaN after softmax and -inf - (-inf) is NaN, while exp(-100) is "
                "already 0 in float16; the official checkpoints were trained with -100.",
                mistake_mask_minus_inf),
        Mistake("row_strips", "cut the label map into M x M windows (window_partition) before "
                "comparing labels; reshape(-1, M*M) takes strips of M*M consecutive tokens "
                "along a row.", mistake_mask_row_strips),
        Mistake("whole_map", "one M*M x M*M matrix per window, shape (nW, M*M, M*M): tokens "
                "only attend inside their window. Partition the labels into windows first.",
                mistake_mask_whole_map),
        Mistake("boolean", "the mask is ADDED to the attention logits, so it must be float: "
                "0.0 where allowed, masked_value where not (masked_fill on a zeros tensor).",
                mistake_mask_boolean),
    ),
)


def check_cyclic_shift(student) -> Feedback:
    """Compare ``student(x, shift_size)`` with :func:`swin_edu.windows.cyclic_shift`."""
    return check(CYCLIC_SHIFT, student)


def check_region_labels(student) -> Feedback:
    """Compare ``student(H, W, window_size, shift_size)`` with
    :func:`swin_edu.masks.region_labels`."""
    return check(REGION_LABELS, student)


def check_mask_from_labels(student) -> Feedback:
    """Compare ``student(labels, window_size, masked_value)`` with the package's mask."""
    return check(MASK_FROM_LABELS, student)
