"""Assignment 3: the relative position index and the bias lookup.

Each ``mistake_*`` function is a plausible wrong answer; it uses only ``torch`` so its source
can be planted in a notebook.
"""

from __future__ import annotations

import torch

from swin_edu.grading._inputs import normal
from swin_edu.grading.core import Case, Feedback, Mistake, Question, check
from swin_edu.relative_position import lookup_bias, relative_position_index

__all__ = ["RELATIVE_POSITION_INDEX", "LOOKUP_BIAS", "check_relative_position_index",
           "check_lookup_bias"]


def _index_cases() -> list[Case]:
    return [Case(f"window_size={M}", (M,)) for M in (2, 3, 5)]


def mistake_no_row_multiplier(window_size):
    """Adds the shifted offsets without multiplying the row offset by 2M-1."""
    M = window_size
    rows, cols = torch.meshgrid(torch.arange(M), torch.arange(M), indexing="ij")
    rows, cols = rows.flatten(), cols.flatten()
    dy = rows[:, None] - rows[None, :] + M - 1
    dx = cols[:, None] - cols[None, :] + M - 1
    return dy + dx


def mistake_multiplier_m(window_size):
    """Multiplies the row offset by M instead of 2M-1."""
    M = window_size
    rows, cols = torch.meshgrid(torch.arange(M), torch.arange(M), indexing="ij")
    rows, cols = rows.flatten(), cols.flatten()
    dy = rows[:, None] - rows[None, :] + M - 1
    dx = cols[:, None] - cols[None, :] + M - 1
    return dy * M + dx


def mistake_only_rows_shifted(window_size):
    """Shifts only the row offset by M-1; the column offset stays negative."""
    M = window_size
    rows, cols = torch.meshgrid(torch.arange(M), torch.arange(M), indexing="ij")
    rows, cols = rows.flatten(), cols.flatten()
    dy = rows[:, None] - rows[None, :] + M - 1
    dx = cols[:, None] - cols[None, :]
    return dy * (2 * M - 1) + dx


def mistake_only_columns_shifted(window_size):
    """Shifts only the column offset by M-1; the row offset stays negative."""
    M = window_size
    rows, cols = torch.meshgrid(torch.arange(M), torch.arange(M), indexing="ij")
    rows, cols = rows.flatten(), cols.flatten()
    dy = rows[:, None] - rows[None, :]
    dx = cols[:, None] - cols[None, :] + M - 1
    return dy * (2 * M - 1) + dx


def mistake_key_minus_query(window_size):
    """Uses key minus query, which mirrors every offset."""
    M = window_size
    rows, cols = torch.meshgrid(torch.arange(M), torch.arange(M), indexing="ij")
    rows, cols = rows.flatten(), cols.flatten()
    dy = rows[None, :] - rows[:, None] + M - 1
    dx = cols[None, :] - cols[:, None] + M - 1
    return dy * (2 * M - 1) + dx


def mistake_columns_multiplied(window_size):
    """Multiplies the column offset instead of the row offset."""
    M = window_size
    rows, cols = torch.meshgrid(torch.arange(M), torch.arange(M), indexing="ij")
    rows, cols = rows.flatten(), cols.flatten()
    dy = rows[:, None] - rows[None, :] + M - 1
    dx = cols[:, None] - cols[None, :] + M - 1
    return dx * (2 * M - 1) + dy


def mistake_float_index(window_size):
    """Right numbers in a float tensor, which cannot index a table."""
    M = window_size
    rows, cols = torch.meshgrid(torch.arange(M), torch.arange(M), indexing="ij")
    rows, cols = rows.flatten().float(), cols.flatten().float()
    dy = rows[:, None] - rows[None, :] + M - 1
    dx = cols[:, None] - cols[None, :] + M - 1
    return dy * (2 * M - 1) + dx


_NEGATIVE_HINT = ("both offsets need the +(M-1) shift so they start at 0. With one axis "
                  "unshifted, negative numbers appear: they collide with other offsets, and a "
                  "negative index silently reads the table from its end.")

RELATIVE_POSITION_INDEX = Question(
    function="relative_position_index",
    reference=relative_position_index,
    cases=_index_cases,
    signature="relative_position_index(window_size)",
    reference_name="swin_edu.relative_position.relative_position_index",
    mistakes=(
        Mistake("no_row_multiplier", "without multiplying the shifted row offset by 2M-1, "
                "different offsets share a bias: (dy, dx) = (1, 2) and (2, 1) both give the "
                "same index. Use (dy + M - 1) * (2M - 1) + (dx + M - 1).",
                mistake_no_row_multiplier),
        Mistake("multiplier_m", "the multiplier is 2M-1, the number of possible column offsets "
                "(-(M-1) .. M-1), not M: with M, (dy, M-1) and (dy+1, -1) collide.",
                mistake_multiplier_m),
        Mistake("only_rows_shifted", _NEGATIVE_HINT + " You shifted only the row offset.",
                mistake_only_rows_shifted),
        Mistake("only_columns_shifted", _NEGATIVE_HINT + " You shifted only the column offset.",
                mistake_only_columns_shifted),
        Mistake("key_minus_query", "the relative position of a (query, key) pair is query "
                "minus key (coords[:, :, None] - coords[:, None, :]); you used key minus query, "
                "which mirrors the table (index becomes (2M-1)^2 - 1 - index).",
                mistake_key_minus_query),
        Mistake("columns_multiplied", "multiply the row offset, not the column offset (the "
                "official relative_coords[:, :, 0] *= 2 * M - 1): with the columns multiplied "
                "the table is laid out transposed and pretrained tables no longer line up.",
                mistake_columns_multiplied),
        Mistake("float_index", "the numbers are right but the tensor is float: an index must "
                "be an integer tensor (torch.long). Build it from torch.arange without float "
                "arithmetic, or finish with .long().", mistake_float_index),
    ),
)


def _lookup_cases() -> list[Case]:
    cases = []
    for i, (M, heads) in enumerate([(2, 3), (3, 2)]):
        table = normal((2 * M - 1) ** 2, heads, seed=40 + i)
        cases.append(Case(f"window_size={M}, num_heads={heads}",
                          (table, relative_position_index(M))))
    return cases


def mistake_heads_last(table, index):
    """Returns the gathered bias as (N, N, heads)."""
    N = index.shape[0]
    return table[index.reshape(-1)].view(N, N, -1)


def mistake_view_instead_of_permute(table, index):
    """Re-cuts the (N, N, heads) memory as (heads, N, N) with a view."""
    N = index.shape[0]
    heads = table.shape[1]
    return table[index.reshape(-1)].view(heads, N, N)


def mistake_bias_transposed(table, index):
    """Moves heads to the front with permute(2, 1, 0): bias[h, key, query]."""
    N = index.shape[0]
    return table[index.reshape(-1)].view(N, N, -1).permute(2, 1, 0)


LOOKUP_BIAS = Question(
    function="lookup_bias",
    reference=lookup_bias,
    cases=_lookup_cases,
    signature="lookup_bias(table, index)",
    reference_name="swin_edu.relative_position.lookup_bias",
    mistakes=(
        Mistake("heads_last", "the bias is added to logits of shape (..., heads, N, N), so "
                "heads must come first: gather to (N, N, heads), then .permute(2, 0, 1).",
                mistake_heads_last),
        Mistake("view_instead_of_permute", "values of different heads are mixed: entry "
                "[h, i, j] must be table[index[i, j], h]. Re-cutting the gathered (N, N, heads) "
                "values with view(heads, N, N) does this; move the axis instead "
                "(.permute(2, 0, 1)) or fill the bias head by head.",
                mistake_view_instead_of_permute),
        Mistake("bias_transposed", "your bias is indexed [head, key, query]: use "
                "permute(2, 0, 1), not (2, 1, 0). The table is not symmetric, so the transpose "
                "turns every offset (dy, dx) into (-dy, -dx).", mistake_bias_transposed),
    ),
)


def check_relative_position_index(student) -> Feedback:
    """Compare ``student(window_size)`` with
    :func:`swin_edu.relative_position.relative_position_index`."""
    return check(RELATIVE_POSITION_INDEX, student)


def check_lookup_bias(student) -> Feedback:
    """Compare ``student(table, index)`` with :func:`swin_edu.relative_position.lookup_bias`."""
    return check(LOOKUP_BIAS, student)
