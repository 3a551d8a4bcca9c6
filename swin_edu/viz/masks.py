"""Region labels, the shifted-window attention mask and the reach of one query token.

The key picture is :func:`draw_token_reach`: on the *original, unrolled* map, the tokens a
query may attend to under W-MSA (its regular window) and under SW-MSA (its shifted window,
which after the roll is a window of the rolled map minus the masked keys).

Taught in notebooks/05_shifted_windows.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from swin_edu.masks import region_labels, shifted_window_mask
from swin_edu.viz._style import (MASK_CMAP, MASK_NORM, MAX_ANNOTATED_SIDE, REGION_CMAP,
                                 REGION_NORM, SHIFTED_EDGE, draw_grid, mark_cells, new_figure,
                                 outline_windows, solid_cmap)
from swin_edu.windows import check_window_args, cyclic_shift, window_partition

__all__ = ["draw_region_labels", "draw_mask_grid", "draw_window_mask", "draw_token_reach",
           "window_token_ids", "token_reach", "region_labels_on", "window_mask_on", "reach_on"]

_REACH_CMAP, _REACH_NORM = solid_cmap(("#e9ecef", "#74c69d", "#e63946"))  # out, in, query


def window_token_ids(H: int, W: int, window_size: int, shift_size: int) -> torch.Tensor:
    """``(nW, M*M)``: the original (unrolled) row-major id of each token of each window.

    Windows are those of the rolled map, in the order ``shifted_window_mask`` uses.
    """
    ids = torch.arange(H * W).view(1, H, W, 1)
    rolled = cyclic_shift(ids, shift_size) if shift_size else ids
    return window_partition(rolled, window_size).reshape(-1, window_size * window_size)


def token_reach(H: int, W: int, window_size: int, shift_size: int,
                query: tuple[int, int]) -> torch.Tensor:
    """Which tokens of the original map the token at ``query = (row, col)`` may attend to.

    Read off :func:`swin_edu.masks.shifted_window_mask`: find the query's window and slot
    after the roll, keep the keys of that window whose mask entry is 0, map them back.

    Returns:
        ``(H, W)`` bool tensor on the original, unrolled map.
    """
    check_window_args(H, W, window_size, shift_size)
    row, col = query
    if not (0 <= row < H and 0 <= col < W):
        raise ValueError(f"query={query!r} is outside the {H}x{W} map; pick row in [0, {H}) "
                         f"and col in [0, {W})")
    slots = window_token_ids(H, W, window_size, shift_size)  # (nW, N)
    window, slot = (slots == row * W + col).nonzero()[0].tolist()
    allowed = shifted_window_mask(H, W, window_size, shift_size)[window, slot] == 0  # (N,)
    reach = torch.zeros(H * W, dtype=torch.bool)
    reach[slots[window][allowed]] = True
    return reach.view(H, W)


def region_labels_on(ax: Axes, H: int, W: int, window_size: int, shift_size: int,
                     window: int | None = None) -> np.ndarray:
    """Draw ``region_labels`` (rolled map) with the window grid on ``ax``; returns the labels."""
    labels = region_labels(H, W, window_size, shift_size).numpy()
    draw_grid(ax, labels, cmap=REGION_CMAP, norm=REGION_NORM, text=labels,
              title=f"region labels on the rolled map (S={shift_size})")
    outline_windows(ax, H, W, window_size, linewidth=2.2 if H <= 16 else 1.2)
    if window is not None:
        per_row = W // window_size
        r, c = divmod(window, per_row)
        ax.add_patch(_window_box(r, c, window_size))
    return labels


def window_mask_on(ax: Axes, mask: np.ndarray, window_labels: np.ndarray, *,
                   title: str, query: int | None = None) -> None:
    """Draw one window's ``(N, N)`` mask; rows/columns labelled ``token:region``."""
    n = mask.shape[0]
    # Beyond 3x3 windows the numbers crowd the cells and the two colours say it all.
    text = np.where(mask == 0, "0", "-100") if n <= 9 else None
    names = [f"{t}:r{int(r)}" for t, r in enumerate(window_labels)]
    draw_grid(ax, mask, cmap=MASK_CMAP, norm=MASK_NORM, text=text, title=title,
              row_labels=names, col_labels=names, fontsize=8 if n <= 4 else None)
    if n <= MAX_ANNOTATED_SIDE:
        ax.tick_params(axis="x", labelrotation=90)
        ax.tick_params(labelsize=8 if n <= 9 else 6)
    ax.set_xlabel("key token : region", fontsize=8)
    ax.set_ylabel("query token : region", fontsize=8)
    if query is not None:
        ax.add_patch(_row_box(query, n))


def reach_on(ax: Axes, reach: np.ndarray, query: tuple[int, int], window_size: int,
             offset: int, title: str, shifted: bool) -> None:
    """Draw a reach map (bool ``(H, W)``) with the query in red and the window grid."""
    H, W = reach.shape
    codes = reach.astype(int)
    codes[query] = 2
    draw_grid(ax, codes, cmap=_REACH_CMAP, norm=_REACH_NORM, title=title,
              ticks=H <= MAX_ANNOTATED_SIDE)
    outline_windows(ax, H, W, window_size, offset=offset,
                    colour=SHIFTED_EDGE if shifted else "#111111",
                    linestyle="--" if shifted else "-", linewidth=2.0 if H <= 16 else 1.0)
    if max(H, W) > MAX_ANNOTATED_SIDE:  # one cell is too small to find: ring it
        ax.plot(query[1], query[0], "o", markersize=9, markerfacecolor="none",
                markeredgecolor="#e63946", markeredgewidth=2, zorder=6)


def draw_region_labels(H: int = 4, W: int = 4, window_size: int = 2, shift_size: int = 1) -> Figure:
    """``region_labels`` of the rolled map, coloured 0..8, with the regular window grid."""
    check_window_args(H, W, window_size, shift_size)
    side = min(7.0, max(4.0, 0.45 * max(H, W) + 1.0))
    fig = new_figure(side, side + 0.3)
    region_labels_on(fig.subplots(), H, W, window_size, shift_size)
    fig.suptitle(f"H={H}, W={W}, window_size={window_size}\nsame number = same region",
                 fontsize=9)
    return fig


def draw_mask_grid(H: int = 4, W: int = 4, window_size: int = 2, shift_size: int = 1,
                   max_windows: int = 16) -> Figure:
    """Every window's ``M^2 x M^2`` mask from ``shifted_window_mask``, as a grid of heatmaps.

    Light = 0 (may attend), dark = ``-100`` (masked). Rows/columns are labelled
    ``token:region``; a window whose tokens share one region has an all-zero mask.
    """
    labels = region_labels(H, W, window_size, shift_size)
    mask = shifted_window_mask(H, W, window_size, shift_size).numpy()  # (nW, N, N)
    slot_labels = window_partition(labels[None, :, :, None], window_size).reshape(mask.shape[:2])
    nW = min(mask.shape[0], max_windows)
    cols = min(nW, 4 if window_size <= 3 else 4)
    rows = -(-nW // cols)
    fig = new_figure(10.0, min(10.0, 2.6 * rows + 0.8))
    axes = np.atleast_1d(fig.subplots(rows, cols)).reshape(-1)
    for w, ax in enumerate(axes):
        if w >= nW:
            ax.set_axis_off()
            continue
        window_mask_on(ax, mask[w], slot_labels[w].numpy(), title=f"window {w}")
        if w % cols:
            ax.set_ylabel("")
    image = axes[0].images[0]
    bar = fig.colorbar(image, ax=list(axes), shrink=0.6, ticks=[-100, 0])
    bar.ax.set_yticklabels(["-100\nmasked", "0\nallowed"], fontsize=8)
    fig.suptitle(f"shifted_window_mask(H={H}, W={W}, window_size={window_size}, "
                 f"shift_size={shift_size}): {mask.shape[0]} windows"
                 + (f", first {nW} shown" if nW < mask.shape[0] else ""), fontsize=10)
    return fig


def draw_window_mask(H: int = 4, W: int = 4, window_size: int = 2, shift_size: int = 1,
                     window: int = 3, query: int | None = None) -> Figure:
    """One window's mask with token labels, next to the window's tokens and their regions."""
    check_window_args(H, W, window_size, shift_size)
    mask = shifted_window_mask(H, W, window_size, shift_size)
    if not 0 <= window < mask.shape[0]:
        raise ValueError(f"window={window} is out of range; this map has {mask.shape[0]} "
                         f"windows, pick 0..{mask.shape[0] - 1}")
    labels = region_labels(H, W, window_size, shift_size)
    slot_labels = window_partition(labels[None, :, :, None], window_size)[window, :, :, 0]
    ids = window_token_ids(H, W, window_size, shift_size)[window].view(window_size, window_size)
    fig = new_figure(9.0, 4.4)
    left, right = fig.subplots(1, 2, width_ratios=[1.0, 1.5])
    text = np.vectorize(lambda t, r: f"{t}\nr{r}")(np.arange(window_size ** 2).reshape(
        window_size, window_size), slot_labels.numpy()) if window_size <= 8 else None
    draw_grid(left, slot_labels.numpy(), cmap=REGION_CMAP, norm=REGION_NORM, text=text,
              title=f"window {window}: token : region", ticks=False)
    if query is not None:
        mark_cells(left, [divmod(query, window_size)], colour="#e63946", linewidth=3)
    left.set_xlabel(f"original token ids: {ids.flatten().tolist()}"
                    if window_size <= 4 else "", fontsize=8)
    window_mask_on(right, mask[window].numpy(), slot_labels.flatten().numpy(),
                   title=f"mask of window {window}", query=query)
    bar = fig.colorbar(right.images[0], ax=right, shrink=0.7, ticks=[-100, 0])
    bar.ax.set_yticklabels(["-100", "0"], fontsize=8)
    return fig


def draw_token_reach(H: int = 8, W: int = 8, window_size: int = 4, shift_size: int = 2,
                     query: tuple[int, int] = (3, 3)) -> Figure:
    """Which tokens a query may attend to, on the original map: W-MSA vs SW-MSA.

    Left: W-MSA, the query's regular window. Right: SW-MSA, computed from the roll and the
    mask (``token_reach``): the query's shifted window (red dashed grid), cut to the tokens
    that were its neighbours in the image.
    """
    w_reach = token_reach(H, W, window_size, 0, query).numpy()
    sw_reach = token_reach(H, W, window_size, shift_size, query).numpy()
    side = min(5.0, max(3.0, 0.4 * max(H, W) + 0.8))
    fig = new_figure(2 * side, side + 0.5)
    left, right = fig.subplots(1, 2)
    reach_on(left, w_reach, query, window_size, 0,
             f"W-MSA: query {query} sees {int(w_reach.sum())} tokens", shifted=False)
    reach_on(right, sw_reach, query, window_size, shift_size,
             f"SW-MSA (shift {shift_size}): sees {int(sw_reach.sum())} tokens", shifted=True)
    fig.suptitle("red = query, green = keys it may attend to (original, unrolled map)",
                 fontsize=9)
    return fig


def _window_box(r: int, c: int, window_size: int):
    from matplotlib.patches import Rectangle

    return Rectangle((c * window_size - 0.5, r * window_size - 0.5), window_size, window_size,
                     fill=False, edgecolor="#e63946", linewidth=3, zorder=5)


def _row_box(row: int, n: int):
    from matplotlib.patches import Rectangle

    return Rectangle((-0.5, row - 0.5), n, 1, fill=False, edgecolor="#e63946", linewidth=2,
                     zorder=5)
