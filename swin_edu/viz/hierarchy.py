"""ViT's single token grid vs Swin's hierarchy of feature maps (paper Fig. 1).

Taught in notebooks/00_overview.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from swin_edu.model import stage_shapes
from swin_edu.viz._style import SHIFTED_EDGE, WINDOW_EDGE, new_figure

__all__ = ["draw_hierarchy", "hierarchy_levels"]

_TOKEN_FILL = "#dee2e6"
_PAD_FILL = "#f8f9fa"
_ATTEND_FILL = "#f4a261"
_QUERY_FILL = "#e63946"


def hierarchy_levels(variant: str = "T", image_size: int = 224,
                     vit_patch: int = 16) -> dict[str, list[dict]]:
    """What :func:`draw_hierarchy` draws, from ``stage_shapes``.

    Returns:
        ``{"swin": [...], "vit": [...]}``; each level is a dict with ``name``, ``downsample``
        (image side / map side), ``tokens`` ``(h, w)``, ``padded`` ``(hp, wp)`` and
        ``window`` (tokens per window side; ViT's one "window" is the whole map).
    """
    if image_size % vit_patch:
        raise ValueError(f"image_size={image_size} must be a multiple of vit_patch="
                         f"{vit_patch}: ViT cuts the image into whole {vit_patch}x{vit_patch} "
                         f"patches")
    swin = []
    for step in stage_shapes(variant, image_size):
        if "window_grid" not in step:
            continue
        h, w = step["shape"][1:3]
        hp, wp = step["padded"]
        swin.append(dict(name=step["name"].split(":")[0], downsample=image_size // h,
                         tokens=(h, w), padded=(hp, wp), window=hp // step["window_grid"][0]))
    side = image_size // vit_patch
    vit = [dict(name="every layer", downsample=vit_patch, tokens=(side, side),
                padded=(side, side), window=side)]
    return {"swin": swin, "vit": vit}


def _grid_lines(ax: Axes, n: int, step: int, colour: str, width: float, **kw) -> None:
    """Lines every ``step`` cells of an ``n x n`` grid drawn in the unit square."""
    ticks = np.arange(0, n + 1, step) / n
    segments = [[(0, t), (1, t)] for t in ticks] + [[(t, 0), (t, 1)] for t in ticks]
    ax.add_collection(LineCollection(segments, colors=colour, linewidths=width, **kw))


def _level_on(ax: Axes, level: dict, query: tuple[float, float], title: str,
              global_attention: bool) -> str:
    """One feature map in the unit square: tokens, windows, one query and what it attends to.

    ``query`` is a point of the image in ``[0, 1)^2`` (row, col); returns the caption (what
    the map holds and what the query attends to).
    """
    h, w = level["tokens"]
    hp, wp = level["padded"]
    m = level["window"]
    n = max(hp, wp)
    ax.add_patch(Rectangle((0, 0), 1, 1, facecolor=_PAD_FILL, edgecolor="none"))
    ax.add_patch(Rectangle((0, 0), w / n, h / n, facecolor=_TOKEN_FILL, edgecolor="none"))
    qr, qc = int(query[0] * h), int(query[1] * w)
    wr, wc = (qr // m) * m, (qc // m) * m
    ax.add_patch(Rectangle((wc / n, wr / n), min(m, w - wc) / n, min(m, h - wr) / n,
                           facecolor=_ATTEND_FILL, edgecolor="none"))
    ax.add_patch(Rectangle((qc / n, qr / n), 1 / n, 1 / n, facecolor=_QUERY_FILL,
                           edgecolor="none"))
    _grid_lines(ax, n, 1, "white", 0.4 if n <= 28 else 0.25)
    _grid_lines(ax, n, m, SHIFTED_EDGE if not global_attention else WINDOW_EDGE,
                2.0 if not global_attention else 2.4)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(1.02, -0.02)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title, fontsize=9)
    if global_attention:
        return f"{h}x{w} tokens\nattends to all {h * w}"
    windows = (hp // m) * (wp // m)
    plural = "s" if windows > 1 else ""
    pad = f"\n(padded to {hp}x{wp})" if (hp, wp) != (h, w) else ""
    return f"{h}x{w} tokens, {windows} window{plural}\nattends to its {m}x{m} window{pad}"


def draw_hierarchy(variant: str = "T", image_size: int = 224, vit_patch: int = 16,
                   query: tuple[float, float] = (0.4, 0.6)) -> Figure:
    """ViT vs Swin, as the paper's Fig. 1: feature maps over the same image area.

    Top: Swin's four stages at 4x, 8x, 16x, 32x downsampling with their windows (red) and
    one token's window shaded. Bottom: ViT's single ``image_size / vit_patch`` grid, the same
    at every layer, where a token attends to the whole map. Sizes come from
    ``swin_edu.model.stage_shapes(variant, image_size)``; ``query`` is a point of the image
    (fractions of its height and width) whose token is marked in red in every map.
    """
    if not all(0 <= q < 1 for q in query):
        raise ValueError(f"query={query!r}: expected fractions of the image in [0, 1)")
    levels = hierarchy_levels(variant, image_size, vit_patch)
    swin, vit = levels["swin"], levels["vit"][0]
    fig = new_figure(10.0, 6.4)
    fig.get_layout_engine().set(h_pad=0.12)
    grid = fig.add_gridspec(2, len(swin))
    for i, level in enumerate(swin):
        ax = fig.add_subplot(grid[0, i])
        ax.set_xlabel(_level_on(ax, level, query, f"Swin {level['name']}: "
                                                  f"{level['downsample']}x", False), fontsize=8)
    # ViT sits under Swin's map of the same downsampling, when there is one.
    column = next((i for i, level in enumerate(swin) if level["downsample"] == vit_patch),
                  len(swin) - 1)
    ax = fig.add_subplot(grid[1, column])
    ax.set_xlabel(_level_on(ax, vit, query, f"ViT: {vit_patch}x at every layer", True),
                  fontsize=8)
    side = vit["tokens"][0]
    m = swin[0]["window"]
    note = (f"ViT (patch {vit_patch}): one {side}x{side} grid, layer after layer;\n"
            f"each token attends to all {side * side} tokens:\n"
            f"attention cost quadratic in the number of tokens hw.\n\n"
            f"Swin-{variant}: patch merging halves the map at each stage;\n"
            f"each token attends inside its {m}x{m} window only:\n"
            f"cost linear in hw.\n\n"
            f"Red: one token (the same image point everywhere);\n"
            f"orange: the tokens it attends to; red lines: windows.")
    note_ax = fig.add_subplot(grid[1, :column] if column else grid[1, 1:])
    note_ax.set_axis_off()
    note_ax.text(0.02, 0.5, note, ha="left", va="center", fontsize=8.5,
                 transform=note_ax.transAxes)
    fig.suptitle(f"Hierarchical feature maps (Swin-{variant}) vs one grid (ViT), "
                 f"{image_size}x{image_size} image", fontsize=10)
    return fig
