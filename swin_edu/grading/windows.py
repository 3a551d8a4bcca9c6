"""Assignment 2: ``window_partition`` and ``window_reverse``.

Each ``mistake_*`` function is a plausible wrong answer; it uses only ``torch`` so its source
can be planted in a notebook.
"""

from __future__ import annotations

from swin_edu.grading._inputs import distinct
from swin_edu.grading.core import Case, Feedback, Mistake, Question, check
from swin_edu.windows import window_partition, window_reverse

__all__ = ["WINDOW_PARTITION", "WINDOW_REVERSE", "check_window_partition",
           "check_window_reverse"]

# (B, H, W, C, M): square, non-square with a batch of two, non-square with M = 3.
_SHAPES = [(1, 4, 4, 2, 2), (2, 4, 6, 3, 2), (1, 6, 9, 2, 3)]


def _label(B: int, H: int, W: int, C: int, M: int) -> str:
    return (f"(B, H, W, C) = {(B, H, W, C)}, window_size={M}"
            + (" (non-square)" if H != W else ""))


def _partition_cases() -> list[Case]:
    return [Case(f"x of shape {_label(B, H, W, C, M)}", (distinct(B, H, W, C, seed=20 + i), M))
            for i, (B, H, W, C, M) in enumerate(_SHAPES)]


def mistake_partition_column_major(x, window_size):
    """Numbers the windows column by column (top to bottom first)."""
    B, H, W, C = x.shape
    M = window_size
    x = x.view(B, H // M, M, W // M, M, C).permute(0, 3, 1, 2, 4, 5)
    return x.reshape(-1, M, M, C)


def mistake_partition_view_only(x, window_size):
    """Cuts windows with a view alone: each 'window' is a strip of one row."""
    C = x.shape[-1]
    return x.reshape(-1, window_size, window_size, C)


def mistake_partition_dilated(x, window_size):
    """Splits H as (M, H/M): each window collects every (H/M)-th token."""
    B, H, W, C = x.shape
    M = window_size
    x = x.view(B, M, H // M, M, W // M, C).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(-1, M, M, C)


def mistake_partition_transposed_window(x, window_size):
    """Swaps the row and column axes inside each window."""
    B, H, W, C = x.shape
    M = window_size
    x = x.view(B, H // M, M, W // M, M, C).permute(0, 1, 3, 4, 2, 5)
    return x.reshape(-1, M, M, C)


def mistake_partition_batch_interleaved(x, window_size):
    """Puts the batch axis after the window grid: images' windows interleave."""
    B, H, W, C = x.shape
    M = window_size
    x = x.view(B, H // M, M, W // M, M, C).permute(1, 3, 0, 2, 4, 5)
    return x.reshape(-1, M, M, C)


_VIEW_ONLY_HINT = ("a view/reshape alone never moves data, so it takes M*M tokens that are "
                   "consecutive in memory (a strip along one row), not an M x M square. Split "
                   "both axes with view(B, H/M, M, W/M, M, C), bring the two window-grid axes "
                   "together with permute(0, 1, 3, 2, 4, 5), then reshape.")

WINDOW_PARTITION = Question(
    function="window_partition",
    reference=window_partition,
    cases=_partition_cases,
    signature="window_partition(x, window_size)",
    reference_name="swin_edu.windows.window_partition",
    mistakes=(
        Mistake("column_major", "your windows are numbered column by column (top to bottom "
                "first). The official order is row-major: left to right, then top to bottom, "
                "which is permute(0, 1, 3, 2, 4, 5) after view(B, H/M, M, W/M, M, C). The mask "
                "and window_reverse rely on this order.", mistake_partition_column_major),
        Mistake("view_only", _VIEW_ONLY_HINT, mistake_partition_view_only),
        Mistake("dilated", "your windows are dilated: each collects every (H/M)-th row "
                "instead of M neighbouring rows. Row r of the map belongs to window row "
                "r // M at position r % M (with view: split H as (H/M, M), not (M, H/M)).",
                mistake_partition_dilated),
        Mistake("transposed_window", "each window comes out transposed: inside a window the "
                "first axis must be the row (from H) and the second the column (from W). With "
                "view/permute: permute(0, 1, 3, 2, 4, 5), not (0, 1, 3, 4, 2, 5).",
                mistake_partition_transposed_window),
        Mistake("batch_interleaved", "windows of different images are interleaved: keep the "
                "batch axis first so that all of image 0's windows come first, in (b, nh, nw) "
                "order; the attention mask is repeated per image in that order.",
                mistake_partition_batch_interleaved),
    ),
)


def _reverse_cases() -> list[Case]:
    cases = []
    for i, (B, H, W, C, M) in enumerate(_SHAPES):
        windows = window_partition(distinct(B, H, W, C, seed=30 + i), M)
        cases.append(Case(f"the windows of a map of shape {_label(B, H, W, C, M)}",
                          (windows, M, H, W)))
    return cases


def mistake_reverse_view_only(windows, window_size, H, W):
    """Reshapes the windows straight back to (B, H, W, C)."""
    C = windows.shape[-1]
    return windows.reshape(-1, H, W, C)


def mistake_reverse_height_width_swapped(windows, window_size, H, W):
    """Splits the window count as (W/M, H/M): only square maps come out right."""
    M = window_size
    C = windows.shape[-1]
    B = windows.shape[0] // ((H // M) * (W // M))
    x = windows.view(B, W // M, H // M, M, M, C).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(B, H, W, C)


def mistake_reverse_column_major(windows, window_size, H, W):
    """Reads the windows as if they were numbered column by column."""
    M = window_size
    C = windows.shape[-1]
    B = windows.shape[0] // ((H // M) * (W // M))
    x = windows.view(B, W // M, H // M, M, M, C).permute(0, 2, 3, 1, 4, 5)
    return x.reshape(B, H, W, C)


def mistake_reverse_transposed_window(windows, window_size, H, W):
    """Swaps the row and column axes inside each window on the way back."""
    M = window_size
    C = windows.shape[-1]
    B = windows.shape[0] // ((H // M) * (W // M))
    x = windows.view(B, H // M, W // M, M, M, C).permute(0, 1, 4, 2, 3, 5)
    return x.reshape(B, H, W, C)


WINDOW_REVERSE = Question(
    function="window_reverse",
    reference=window_reverse,
    cases=_reverse_cases,
    signature="window_reverse(windows, window_size, H, W)",
    reference_name="swin_edu.windows.window_reverse",
    mistakes=(
        Mistake("view_only", "a reshape to (B, H, W, C) glues each window's M*M tokens into one "
                "row strip. View as (B, H/M, W/M, M, M, C), permute(0, 1, 3, 2, 4, 5) so each "
                "window row sits next to its neighbours, then reshape.",
                mistake_reverse_view_only),
        Mistake("height_width_swapped", "you read the windows as rows of H/M. They come in "
                "rows of W/M: window n sits at window row n // (W/M), window column n % (W/M) "
                "(with view: view(B, H/M, W/M, M, M, C)). A square map cannot show this bug; "
                "only non-square maps do.", mistake_reverse_height_width_swapped),
        Mistake("column_major", "you read the windows as if they were numbered column by "
                "column; window_partition numbers them row-major (left to right, then top to "
                "bottom), so view(B, H/M, W/M, M, M, C).", mistake_reverse_column_major),
        Mistake("transposed_window", "each window is put back transposed: a window's first "
                "axis is its row and goes back along H (with view/permute: after view(B, H/M, "
                "W/M, M, M, C) use permute(0, 1, 3, 2, 4, 5)).", mistake_reverse_transposed_window),
    ),
)


def check_window_partition(student) -> Feedback:
    """Compare ``student(x, window_size)`` with :func:`swin_edu.windows.window_partition`."""
    return check(WINDOW_PARTITION, student)


def check_window_reverse(student) -> Feedback:
    """Compare ``student(windows, window_size, H, W)`` with
    :func:`swin_edu.windows.window_reverse`."""
    return check(WINDOW_REVERSE, student)
