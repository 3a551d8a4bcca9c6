"""Relative position: the ``dy``, ``dx`` and index matrices, and one query's bias row.

Taught in notebooks/04_relative_position.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from swin_edu._checks import check_positive
from swin_edu.relative_position import relative_coords, relative_position_index
from swin_edu.viz._style import (MAX_ANNOTATED_SIDE, REGION_COLOURS, draw_grid, mark_cells,
                                 new_figure, solid_cmap)

__all__ = ["draw_relative_position", "draw_bias_row", "bias_row", "bias_row_on"]


def draw_relative_position(window_size: int = 2) -> Figure:
    """The ``(M^2, M^2)`` matrices ``dy``, ``dx`` and ``relative_position_index``.

    Entry ``[q, k]`` is the offset of query ``q`` from key ``k`` and the bias-table row it
    reads, ``(dy + M - 1) * (2M - 1) + (dx + M - 1)``; tokens are numbered row-major.
    """
    offsets = relative_coords(window_size).numpy()  # (N, N, 2)
    index = relative_position_index(window_size).numpy()  # (N, N)
    n = window_size ** 2
    annotate = n <= MAX_ANNOTATED_SIDE
    fig = new_figure(10.0, 3.9 if n <= 4 else 4.3)
    axes = fig.subplots(1, 3)
    spec = ((offsets[..., 0], "dy = y_q - y_k", "coolwarm"),
            (offsets[..., 1], "dx = x_q - x_k", "coolwarm"),
            (index, f"index (table has {(2 * window_size - 1) ** 2} rows)", "viridis"))
    for ax, (values, title, cmap) in zip(axes, spec):
        if cmap == "coolwarm":
            norm = _symmetric(window_size - 1)
        else:
            from matplotlib.colors import Normalize
            norm = Normalize(0, (2 * window_size - 1) ** 2 - 1)
        image = draw_grid(ax, values, cmap=cmap, norm=norm, text=values if annotate else None,
                          title=title)
        ax.set_xlabel("key token k", fontsize=8)
        ax.set_ylabel("query token q", fontsize=8)
        bar = fig.colorbar(image, ax=ax, shrink=0.7, location="bottom")
        if cmap == "coolwarm":
            bar.set_ticks(range(-(window_size - 1), window_size))
    fig.suptitle(f"relative position inside a {window_size}x{window_size} window "
                 f"({n} tokens, row-major)", fontsize=10)
    return fig


def bias_row(window_size: int, query: int, table: torch.Tensor | None = None,
             head: int = 0) -> dict[str, np.ndarray]:
    """What query ``query`` reads from the bias table.

    Returns:
        ``index``: ``(M, M)`` table row per key, laid out over the window;
        ``bias``: ``(M, M)`` the bias per key (``table[index, head]``; ``None`` without a table);
        ``table``: ``(2M-1, 2M-1)`` the head's table laid out by ``(dy, dx)`` (or the row
        numbers when no table is given).
    """
    check_positive("window_size", window_size)
    n = window_size ** 2
    if not 0 <= query < n:
        raise ValueError(f"query={query} must be a token of the window, in [0, {n})")
    side = 2 * window_size - 1
    row = relative_position_index(window_size)[query]  # (N,)
    if table is None:
        laid_out = np.arange(side * side).reshape(side, side)
        bias = None
    else:
        if table.shape[0] != side * side:
            raise ValueError(f"table has {table.shape[0]} rows; a window_size={window_size} "
                             f"table needs (2M-1)^2 = {side * side}")
        column = table[:, head].detach().cpu()
        laid_out = column.view(side, side).numpy()
        bias = column[row].view(window_size, window_size).numpy()
    return {"index": row.view(window_size, window_size).numpy(), "bias": bias,
            "table": laid_out}


def draw_bias_row(window_size: int = 2, query: int = 0, table: torch.Tensor | None = None,
                  head: int = 0, dpi: int = 100, layout: str | None = "constrained") -> Figure:
    """One query's bias row: the ``(2M-1) x (2M-1)`` table with the cells it reads marked.

    Left: the table laid out by offset (row ``dy + M - 1``, column ``dx + M - 1``); the
    ``M^2`` cells the query reads are outlined and labelled with the key token. Without a
    ``table`` the cells show their row numbers. Right: the window's keys with the table row
    (and bias) each one gets; the query is outlined in red.
    """
    fig = new_figure(10.0, 4.6, dpi=dpi, layout=layout)
    if layout is None:
        fig.subplots_adjust(left=0.07, right=0.97, bottom=0.12, top=0.92, wspace=0.25)
    left, right = fig.subplots(1, 2, width_ratios=[2 * window_size - 1, window_size + 1])
    image = bias_row_on(left, right, window_size, query, table, head)
    if image is not None:
        fig.colorbar(image, ax=left, shrink=0.7)
    return fig


def bias_row_on(left: Axes, right: Axes, window_size: int, query: int,
                table: torch.Tensor | None = None, head: int = 0) -> AxesImage | None:
    """Draw :func:`draw_bias_row`'s two panels on ``left`` and ``right``.

    Returns the table's image (for a colour bar) when a ``table`` is given, else ``None``.
    """
    data = bias_row(window_size, query, table, head)
    side = 2 * window_size - 1
    used = {tuple(divmod(int(i), side)): k for k, i in enumerate(data["index"].flatten())}
    # 13x13 cells of text (M = 7) cost more to draw than the rest of the figure together.
    annotate = side <= 9
    text = None
    if annotate:
        text = np.empty((side, side), dtype=object)
        for r in range(side):
            for c in range(side):
                cell = r * side + c
                value = f"{data['table'][r, c]:.2f}" if table is not None else f"{cell}"
                text[r, c] = f"{value}\nk{used[(r, c)]}" if (r, c) in used else value
    image = None
    if table is None:
        codes = np.zeros((side, side), dtype=int)
        for cell in used:
            codes[cell] = 1
        cmap, norm = solid_cmap(("#f1f3f5", REGION_COLOURS[4]))
        draw_grid(left, codes, cmap=cmap, norm=norm, text=text,
                  title=f"table rows read by query {query} (k = key token)",
                  row_labels=[str(d) for d in range(-(window_size - 1), window_size)],
                  col_labels=[str(d) for d in range(-(window_size - 1), window_size)])
    else:
        image = draw_grid(left, data["table"], cmap="RdBu_r", norm=_symmetric(
            float(np.abs(data["table"]).max()) or 1.0), text=text,
            title=f"bias table, head {head}: cells read by query {query}",
            row_labels=[str(d) for d in range(-(window_size - 1), window_size)],
            col_labels=[str(d) for d in range(-(window_size - 1), window_size)])
    mark_cells(left, list(used), colour="black", linewidth=2.0)
    left.set_ylabel("dy = y_q - y_k", fontsize=8)
    left.set_xlabel("dx = x_q - x_k", fontsize=8)
    values = data["bias"] if table is not None else data["index"]
    keys = np.arange(window_size ** 2).reshape(window_size, window_size)
    key_text = np.vectorize(
        lambda k, v: f"k{k}\n{v:.2f}" if table is not None else f"k{k}\nrow {v}")(keys, values)
    draw_grid(right, values.astype(float), cmap="RdBu_r" if table is not None else "viridis",
              text=key_text if window_size <= 5 else None,
              title="bias per key" if table is not None else "table row per key", ticks=False)
    mark_cells(right, [divmod(query, window_size)], colour="#e63946", linewidth=3)
    return image


def _symmetric(limit: float):
    from matplotlib.colors import Normalize

    limit = limit or 1
    return Normalize(-limit, limit)
