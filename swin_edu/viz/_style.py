"""Shared drawing helpers: figure creation, labelled grids, window outlines, colours.

Everything here draws on a given ``Axes``; the public ``draw_*`` functions own the ``Figure``.
"""

from __future__ import annotations

import io
from typing import Callable, Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.colors import BoundaryNorm, Colormap, ListedColormap, Normalize, to_rgb
from matplotlib.figure import Figure

# Nine colours that stay apart for the nine shift regions (ColorBrewer Set3, reordered so
# that regions adjacent on the map get contrasting hues).
REGION_COLOURS = ("#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#b3de69", "#80b1d3",
                  "#fccde5", "#ffffb3", "#bc80bd")
REGION_CMAP = ListedColormap(REGION_COLOURS, name="swin_regions")
REGION_NORM = BoundaryNorm(np.arange(-0.5, 9.5, 1.0), REGION_CMAP.N)
# Four colours for the four 2x2 positions x0..x3 of patch merging.
MERGE_COLOURS = ("#fbb4ae", "#b3cde3", "#ccebc5", "#decbe4")
# Allowed (0) vs masked (-100) attention pairs.
MASK_CMAP = ListedColormap(["#2b2d42", "#f8f9fa"], name="swin_mask")
MASK_NORM = BoundaryNorm([-150.0, -50.0, 50.0], MASK_CMAP.N)
WINDOW_EDGE = "#111111"
SHIFTED_EDGE = "#d62828"
# Grids with more cells than this per side get no per-cell text (unreadable and slow).
MAX_ANNOTATED_SIDE = 16


def to_numpy(values: torch.Tensor | np.ndarray | Sequence) -> np.ndarray:
    """A detached CPU numpy copy of a tensor, array or nested sequence."""
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return np.asarray(values)


class CourseFigure(Figure):
    """A Figure that shows itself as a PNG when it is the last value of a notebook cell,
    whether or not a matplotlib backend (``%matplotlib inline``) has been activated."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()


def new_figure(width: float, height: float, dpi: int = 100,
               layout: str | None = "constrained") -> Figure:
    """A pyplot-free Figure (no global state, nothing shown).

    ``layout=None`` skips the constrained-layout solver, which costs more than drawing the
    figure; the widgets use it with fixed margins to redraw within 100 ms.
    """
    return CourseFigure(figsize=(width, height), dpi=dpi, layout=layout)


def hide_ticks(ax: Axes) -> None:
    """Remove ticks and axis labels (large maps: no room for them, and they cost redraw time)."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")


def reset_axes(ax: Axes) -> None:
    """Empty ``ax`` for a redraw without ``ax.clear()`` (which rebuilds the axes' ticks and
    spines, most of the cost of a new Axes); tick labels are left to the next drawing."""
    for artist in [*ax.images, *ax.lines, *ax.collections, *ax.patches, *ax.texts]:
        artist.remove()
    ax.containers.clear()  # bar containers would keep feeding the legend
    if ax.legend_ is not None:
        ax.legend_.remove()
    ax.set_title("")
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_autoscale_on(True)
    ax.ignore_existing_data_limits = True


def text_colour(rgb: Sequence[float]) -> str:
    """Black or white, whichever reads better on a cell of colour ``rgb``."""
    r, g, b = rgb[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def draw_grid(ax: Axes, values: np.ndarray, *, cmap: Colormap | str = "viridis",
              norm: Normalize | None = None, text: np.ndarray | None = None,
              fontsize: float | None = None, title: str = "", ticks: bool = True,
              row_labels: Sequence[str] | None = None,
              col_labels: Sequence[str] | None = None):
    """Draw a 2-D array as coloured cells with thin cell borders and optional per-cell text.

    Args:
        values: ``(R, K)`` numbers that pick each cell's colour.
        text: ``(R, K)`` strings (or numbers) written in the cells; ``None`` for no text.
            Skipped automatically when a side exceeds ``MAX_ANNOTATED_SIDE``.
    Returns:
        The ``AxesImage``, for a colour bar.
    """
    values = np.asarray(values)
    rows, cols = values.shape
    image = ax.imshow(values, cmap=cmap, norm=norm, interpolation="nearest", aspect="equal")
    if max(rows, cols) <= 2 * MAX_ANNOTATED_SIDE:
        # One collection, not minor-tick grid lines: ticks cost a Tick object (two lines and
        # two labels) each, which dominated the explorers' redraw time.
        ax.add_collection(LineCollection(_cell_borders(rows, cols), colors="white",
                                         linewidths=0.6, zorder=1.5), autolim=False)
    ax.tick_params(which="major", labelsize=8, length=2)
    if ticks and max(rows, cols) <= MAX_ANNOTATED_SIDE:
        ax.set_xticks(range(cols), col_labels if col_labels is not None else range(cols))
        ax.set_yticks(range(rows), row_labels if row_labels is not None else range(rows))
    elif not ticks:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        # A fixed y skips matplotlib's search for tick labels above the axes (there are
        # none here), which measures every tick label at each draw.
        ax.set_title(title, fontsize=10, y=1.0)
    if text is not None and max(rows, cols) <= MAX_ANNOTATED_SIDE:
        text = np.asarray(text)
        size = fontsize or max(5.0, min(10.0, 110.0 / max(rows, cols)))
        colours = image.cmap(image.norm(values))
        for r in range(rows):
            for c in range(cols):
                ax.text(c, r, str(text[r, c]), ha="center", va="center", fontsize=size,
                        color=text_colour(colours[r, c]))
    return image


def _cell_borders(rows: int, cols: int, step: int = 1, offset: int = 0) -> list[np.ndarray]:
    """Segments ``[(x0, y0), (x1, y1)]`` of the horizontal and vertical lines every ``step``
    cells (starting ``offset`` cells in) of a ``rows x cols`` image drawn by ``imshow``."""
    ys = np.arange(offset % step, rows + 1, step) - 0.5
    xs = np.arange(offset % step, cols + 1, step) - 0.5
    horizontal = [np.array([[-0.5, y], [cols - 0.5, y]]) for y in ys]
    vertical = [np.array([[x, -0.5], [x, rows - 0.5]]) for x in xs]
    return horizontal + vertical


def outline_windows(ax: Axes, H: int, W: int, window_size: int, offset: int = 0, *,
                    colour: str = WINDOW_EDGE, linestyle: str = "-",
                    linewidth: float = 2.2) -> None:
    """Draw the window grid of an ``H x W`` map; ``offset`` moves it down/right (shifted grid)."""
    ax.add_collection(LineCollection(_cell_borders(H, W, window_size, offset), colors=colour,
                                     linestyles=linestyle, linewidths=linewidth,
                                     capstyle="butt", zorder=2), autolim=False)
    # Border of the map, so an offset grid still shows where the map ends.
    ax.plot([-0.5, W - 0.5, W - 0.5, -0.5, -0.5], [-0.5, -0.5, H - 0.5, H - 0.5, -0.5],
            color=WINDOW_EDGE, linewidth=linewidth)
    ax.set_xlim(-0.5, W - 0.5)
    ax.set_ylim(H - 0.5, -0.5)


def mark_cells(ax: Axes, cells: Sequence[tuple[int, int]], *, colour: str = "black",
               linewidth: float = 2.0) -> None:
    """Outline individual cells ``(row, col)`` (one collection: many patches redraw slowly)."""
    from matplotlib.patches import Rectangle

    boxes = [Rectangle((c - 0.5, r - 0.5), 1, 1) for r, c in cells]
    ax.add_collection(PatchCollection(boxes, facecolors="none", edgecolors=colour,
                                      linewidths=linewidth, joinstyle="miter", zorder=5),
                      autolim=False)


def solid_cmap(colours: Sequence[str]) -> tuple[ListedColormap, BoundaryNorm]:
    """A categorical colour map for integer codes ``0..len(colours)-1``."""
    cmap = ListedColormap([to_rgb(c) for c in colours])
    return cmap, BoundaryNorm(np.arange(-0.5, len(colours) + 0.5, 1.0), cmap.N)


def format_cells(values: np.ndarray, fmt: Callable[[float], str] | str = "{:g}") -> np.ndarray:
    """Format every cell of an array as a string."""
    fn = fmt.format if isinstance(fmt, str) else fmt
    cell = np.vectorize(lambda v: fn(v.item() if hasattr(v, "item") else v), otypes=[object])
    return cell(values)
