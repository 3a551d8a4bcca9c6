"""# Relative position bias

Inside an ``M x M`` window every (query, key) pair has a relative offset
``(dy, dx) = (y_q - y_k, x_q - x_k)`` with ``dy, dx`` in ``[-(M-1), M-1]``: ``(2M-1)^2``
possible offsets. Swin learns one scalar per offset and head (the *bias table*,
``((2M-1)^2, num_heads)``) and adds ``table[index[q, k]]`` to the attention logit, where

    index = (dy + M - 1) * (2M - 1) + (dx + M - 1).

The shift by ``M - 1`` makes both coordinates non-negative; the multiply by ``2M - 1`` makes
the 2-D offset a unique 1-D row number. Without it, ``(1, 2)`` and ``(2, 1)`` would both map to
``3`` and share one bias.

Taught in notebooks/04_relative_position.
"""

from __future__ import annotations

import torch
from torch import nn

from swin_edu._checks import (ArgumentTypeError, NotScriptable, check_memory, check_positive,
                              check_rank)
from swin_edu.memory import default_element_size

__all__ = ["window_coords", "relative_coords", "relative_position_index", "lookup_bias",
           "RelativePositionBias"]


def index_bytes(window_size: int) -> int:
    """Bytes :func:`relative_position_index` builds: a few ``(M*M, M*M)`` long tensors."""
    return 3 * window_size ** 4 * 8


def table_bytes(window_size: int, num_heads: int) -> int:
    """Bytes of a bias table ``((2M-1)^2, num_heads)`` in torch's default dtype."""
    return (2 * window_size - 1) ** 2 * num_heads * default_element_size()


def window_coords(window_size: int) -> torch.Tensor:
    """``(2, M*M)`` row and column of each token of a window, tokens in row-major order."""
    window_size = check_positive("window_size", window_size)
    # relative_coords and relative_position_index build a few (M*M, M*M) long tensors
    check_memory(f"the relative position index of window_size={window_size}",
                 index_bytes(window_size))
    grid = torch.meshgrid(torch.arange(window_size), torch.arange(window_size), indexing="ij")
    return torch.stack(grid).flatten(1)  # (2, M*M)


def relative_coords(window_size: int) -> torch.Tensor:
    """Relative offsets of every (query, key) pair of a window.

    Returns:
        ``(M*M, M*M, 2)`` long tensor; ``[q, k] = (y_q - y_k, x_q - x_k)``, values in
        ``[-(M-1), M-1]``.
    """
    coords = window_coords(window_size)  # (2, M*M)
    offsets = coords[:, :, None] - coords[:, None, :]  # (2, M*M, M*M) by broadcasting
    return offsets.permute(1, 2, 0).contiguous()  # (M*M, M*M, 2)


def relative_position_index(window_size: int) -> torch.Tensor:
    """Row of the bias table used by each (query, key) pair.

    Returns:
        ``(M*M, M*M)`` long tensor with values in ``[0, (2M-1)^2)``; equals
        ``(dy + M - 1) * (2M - 1) + (dx + M - 1)``.
    """
    offsets = relative_coords(window_size)
    offsets = offsets + (window_size - 1)  # both axes now start at 0
    dy, dx = offsets.unbind(-1)
    return dy * (2 * window_size - 1) + dx


def lookup_bias(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Gather the bias of every (query, key) pair from the table.

    Args:
        table: ``((2M-1)^2, num_heads)`` learnable bias table.
        index: ``(M*M, M*M)`` from :func:`relative_position_index`.
    Returns:
        ``(num_heads, M*M, M*M)``, ready to add to attention logits ``(..., heads, N, N)``.
    Raises:
        ValueError: an index outside ``[0, rows)``. Python would wrap a negative index to the
            end of the table: the classic "forgot the ``+ M - 1``" mistake, refused here.
    """
    check_rank("table", table, 2, "((2M-1)^2, num_heads)")
    check_rank("index", index, 2, "(M*M, M*M)")
    if index.dtype not in (torch.long, torch.int32, torch.int16, torch.int8, torch.uint8):
        raise ArgumentTypeError(f"index has dtype {index.dtype}; expected an integer tensor "
                                f"(torch.long) of table rows")
    if index.shape[0] != index.shape[1]:
        raise ValueError(f"index has shape {tuple(index.shape)}; expected a square (M*M, M*M)")
    rows = table.shape[0]
    # (not while torch.compile traces: reading a value back would break the graph there)
    if index.numel() and not torch.compiler.is_compiling() and (
            int(index.min()) < 0 or int(index.max()) >= rows):
        raise ValueError(f"index has values in [{int(index.min())}, {int(index.max())}], outside "
                         f"the table's rows [0, {rows}); did you forget the + (M - 1) shift or "
                         f"the * (2M - 1) multiply?")
    tokens = index.shape[0]
    bias = table[index.reshape(-1)].view(tokens, tokens, table.shape[1])  # (N, N, heads)
    return bias.permute(2, 0, 1).contiguous()


class RelativePositionBias(NotScriptable, nn.Module):
    """Learnable relative position bias for one window size.

    The table is a parameter named ``relative_position_bias_table`` (official key name); the
    index is a non-persistent buffer, rebuilt from ``window_size`` and so never loaded. Every
    :class:`swin_edu.attention.WindowAttention` holds one as ``relative_position_bias`` (and
    saves its table under the official key ``attn.relative_position_bias_table``).
    """

    def __init__(self, window_size: int, num_heads: int) -> None:
        super().__init__()
        window_size = check_positive("window_size", window_size)
        num_heads = check_positive("num_heads", num_heads)
        check_memory(f"RelativePositionBias(window_size={window_size}, num_heads={num_heads}) "
                     f"(its table and index)",
                     table_bytes(window_size, num_heads) + index_bytes(window_size))
        self.window_size = window_size
        self.num_heads = num_heads
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window_size - 1) ** 2, num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.register_buffer("relative_position_index", relative_position_index(window_size),
                             persistent=False)

    def forward(self) -> torch.Tensor:
        """Returns the bias ``(num_heads, M*M, M*M)`` to add to every window's logits."""
        return lookup_bias(self.relative_position_bias_table, self.relative_position_index)
