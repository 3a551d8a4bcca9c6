"""Window partition and cyclic shift, drawn on token-numbered maps.

Taught in notebooks/03_window_attention and notebooks/05_shifted_windows.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from swin_edu.masks import region_labels
from swin_edu.viz._style import (REGION_CMAP, REGION_NORM, SHIFTED_EDGE, draw_grid, new_figure,
                                 outline_windows, solid_cmap)
from swin_edu.windows import check_window_args, cyclic_shift, reverse_cyclic_shift, window_partition

__all__ = ["draw_window_partition", "draw_cyclic_shift", "token_ids"]

_WINDOW_COLOURS = ("#a6cee3", "#fdbf6f", "#b2df8a", "#fb9a99", "#cab2d6", "#ffff99",
                   "#8dd3c7", "#fccde5", "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f")


def token_ids(H: int, W: int) -> torch.Tensor:
    """``(1, H, W, 1)`` map whose token at ``(r, c)`` holds its row-major id ``r * W + c``."""
    return torch.arange(H * W).view(1, H, W, 1)


def draw_window_partition(H: int = 8, W: int = 8, window_size: int = 4,
                          max_windows_shown: int = 8) -> Figure:
    """A token-numbered map with its windows, and the windows ``window_partition`` returns.

    Left: the ``H x W`` map, token ids, coloured and outlined by window, window ids in bold.
    Right: the first ``max_windows_shown`` of the ``(nW, M, M)`` windows, in the returned
    (row-major) order, with the token ids they hold.
    """
    check_window_args(H, W, window_size, 0)
    ids = token_ids(H, W)
    windows = window_partition(ids, window_size)[..., 0].numpy()  # (nW, M, M)
    nW = windows.shape[0]
    per_row = W // window_size
    window_of = ((np.arange(H)[:, None] // window_size) * per_row
                 + np.arange(W)[None, :] // window_size)
    colours = [_WINDOW_COLOURS[i % len(_WINDOW_COLOURS)] for i in range(nW)]
    cmap, norm = solid_cmap(colours)
    shown = min(nW, max_windows_shown)
    fig = new_figure(10.0, max(3.6, min(8.0, 0.34 * H + 1.2)))
    left, right = fig.subfigures(1, 2, width_ratios=[1.1, 1.0])
    ax = left.subplots()
    draw_grid(ax, window_of, cmap=cmap, norm=norm, text=ids[0, :, :, 0].numpy(),
              title=f"{H}x{W} map, window_size={window_size}: nW={nW} windows")
    outline_windows(ax, H, W, window_size)
    if H <= 16 and W <= 16:
        for w in range(nW):
            r, c = divmod(w, per_row)
            ax.text(c * window_size - 0.45, r * window_size - 0.45, f"w{w}", ha="left",
                    va="top", fontsize=8, fontweight="bold", color="#b00020")
    cols = min(shown, 4)
    grid_rows = -(-shown // cols)
    axes = np.atleast_1d(right.subplots(grid_rows, cols)).reshape(-1)
    for w, wax in enumerate(axes):
        if w >= shown:
            wax.set_axis_off()
            continue
        draw_grid(wax, np.full(windows[w].shape, w), cmap=cmap, norm=norm, text=windows[w],
                  title=f"windows[{w}]", ticks=False)
    right.suptitle(f"window_partition -> ({nW}, {window_size}, {window_size}, C)"
                   + (f", first {shown}" if shown < nW else ""), fontsize=10)
    return fig


def draw_cyclic_shift(H: int = 8, W: int = 8, window_size: int = 4, shift_size: int = 2) -> Figure:
    """The map before and after ``torch.roll`` by ``-shift_size``, regions 0..8 coloured.

    Left: the original map with the paper's shifted windows (red, dashed); each token
    coloured by the region it will carry after the roll. Right: ``cyclic_shift`` of it with
    the regular window grid, coloured by ``region_labels`` (the official ``img_mask``).
    """
    check_window_args(H, W, window_size, shift_size)
    ids = token_ids(H, W)
    rolled = cyclic_shift(ids, shift_size)[0, :, :, 0].numpy()
    labels = region_labels(H, W, window_size, shift_size)
    labels_on_original = reverse_cyclic_shift(labels[None, :, :, None], shift_size)[0, :, :, 0]
    fig = new_figure(10.0, max(4.0, min(7.5, 0.4 * H + 1.3)))
    before, after = fig.subplots(1, 2)
    draw_grid(before, labels_on_original.numpy(), cmap=REGION_CMAP, norm=REGION_NORM,
              text=ids[0, :, :, 0].numpy(), title="before: shifted windows on the original map")
    outline_windows(before, H, W, window_size, offset=shift_size,
                    colour=SHIFTED_EDGE, linestyle="--")
    draw_grid(after, labels.numpy(), cmap=REGION_CMAP, norm=REGION_NORM, text=rolled,
              title=f"after torch.roll(x, ({-shift_size}, {-shift_size}), (1, 2))")
    outline_windows(after, H, W, window_size)
    bar = fig.colorbar(after.images[0], ax=[before, after], shrink=0.8, ticks=range(9))
    bar.set_label("region label (official img_mask)", fontsize=8)
    fig.suptitle(f"cyclic shift: window_size={window_size}, shift_size={shift_size}; "
                 "colour = region 0..8, number = token id", fontsize=10)
    return fig
