"""Patch partition (pixels -> 48-number tokens) and patch merging (2x2 -> 4C channels).

Taught in notebooks/01_patch_partition and notebooks/02_patch_merging.
"""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from swin_edu.patches import merge_patches, patch_partition
from swin_edu.viz._style import (MERGE_COLOURS, draw_grid, new_figure, outline_windows,
                                 solid_cmap)

__all__ = ["draw_patch_partition", "draw_patch_merging", "merge_source_codes"]


def draw_patch_partition(H: int = 8, W: int = 8, patch_size: int = 4) -> Figure:
    """A one-channel ``H x W`` image of pixel numbers and the tokens patch partition makes.

    Left: the image, pixel ``k`` holding the value ``k``, patches outlined and numbered.
    Right: ``swin_edu.patches.patch_partition`` of it, one row per token (patch), its
    ``p * p`` numbers in the order a ``Conv2d`` weight reads them.
    """
    image = torch.arange(H * W, dtype=torch.float32).view(1, 1, H, W)
    tokens = patch_partition(image, patch_size)[0]  # (H/p, W/p, p*p)
    rows = tokens.reshape(-1, tokens.shape[-1]).numpy()  # (num_tokens, p*p)
    patch_id = (np.arange(H)[:, None] // patch_size) * (W // patch_size) + (
        np.arange(W)[None, :] // patch_size)
    cmap, norm = solid_cmap(_cycle(MERGE_COLOURS, rows.shape[0]))
    fig = new_figure(min(10.0, 2.0 + 0.4 * (W + rows.shape[1])), max(3.2, 0.42 * H + 0.9))
    left, right = fig.subplots(1, 2, width_ratios=[W, rows.shape[1]])
    draw_grid(left, patch_id, cmap=cmap, norm=norm, text=image[0, 0].long().numpy(),
              title=f"image {H}x{W}, {patch_size}x{patch_size} patches")
    outline_windows(left, H, W, patch_size)
    token_colour = np.repeat(np.arange(rows.shape[0])[:, None], rows.shape[1], axis=1)
    draw_grid(right, token_colour, cmap=cmap, norm=norm, text=rows.astype(int),
              title=f"patch_partition: {rows.shape[0]} tokens x {rows.shape[1]} numbers",
              row_labels=[f"token {i}" for i in range(rows.shape[0])])
    right.set_xlabel("number within the token (row-major inside the patch)", fontsize=8)
    return fig


def merge_source_codes(H: int, W: int) -> np.ndarray:
    """``(H, W)`` code 0..3 telling which of x0..x3 each position feeds in patch merging.

    Read off ``merge_patches`` itself: the channel block each pixel lands in.
    """
    positions = torch.arange(H * W, dtype=torch.float32).view(1, H, W, 1)
    merged = merge_patches(positions)[0]  # (H/2, W/2, 4): pixel numbers by channel block
    codes = np.zeros(H * W, dtype=int)
    for block in range(4):
        codes[merged[..., block].long().flatten().numpy()] = block
    return codes.reshape(H, W)


def draw_patch_merging(H: int = 8, W: int = 8) -> Figure:
    """The seed's patch-merging picture, computed by ``swin_edu.patches.merge_patches``.

    Top: the ``H x W x 1`` input (values ``0..HW-1``) coloured by which of ``x0..x3`` each
    position goes to, then the four strided sub-maps ``x0 = x[0::2, 0::2]``,
    ``x1 = x[1::2, 0::2]`` (row offset first), ``x2 = x[0::2, 1::2]``, ``x3 = x[1::2, 1::2]``.
    Bottom: the merged ``(H/2 * W/2, 4)`` tokens, channel order x0..x3 (before norm and the
    ``4C -> 2C`` linear layer).
    """
    x = torch.arange(H * W, dtype=torch.float32).view(1, H, W, 1)
    merged = merge_patches(x)[0]  # (H/2, W/2, 4)
    codes = merge_source_codes(H, W)
    cmap, norm = solid_cmap(MERGE_COLOURS)
    h2, w2 = merged.shape[:2]
    fig = new_figure(10.0, 6.2)
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.0, 0.75])
    axes = top.subplots(1, 5, width_ratios=[W, w2, w2, w2, w2])
    draw_grid(axes[0], codes, cmap=cmap, norm=norm, text=x[0, :, :, 0].long().numpy(),
              title=f"input x: {H}x{W}x1", fontsize=7)
    outline_windows(axes[0], H, W, 2, linewidth=1.2)
    names = ("x0 = x[0::2, 0::2]", "x1 = x[1::2, 0::2]", "x2 = x[0::2, 1::2]",
             "x3 = x[1::2, 1::2]")
    for block, (ax, name) in enumerate(zip(axes[1:], names)):
        draw_grid(ax, np.full((h2, w2), block), cmap=cmap, norm=norm,
                  text=merged[..., block].long().numpy(), title=name, fontsize=7)
        ax.title.set_fontsize(8)
    tokens = merged.reshape(-1, 4).long().numpy()  # (H/2 * W/2, 4)
    ax = bottom.subplots()
    draw_grid(ax, np.tile(np.arange(4), (tokens.shape[0], 1)).T, cmap=cmap, norm=norm,
              text=tokens.T, fontsize=7,
              title=f"torch.cat([x0, x1, x2, x3], -1): {h2}x{w2} tokens x 4C channels "
                    "(one column per merged token)",
              row_labels=["x0", "x1", "x2", "x3"])
    ax.set_xlabel("merged token (row-major over the halved map)", fontsize=8)
    return fig


def _cycle(colours: tuple[str, ...], n: int) -> list[str]:
    return [colours[i % len(colours)] for i in range(n)]
