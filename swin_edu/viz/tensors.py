"""A small tensor drawn as a labelled grid of values."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from swin_edu.viz._style import draw_grid, format_cells, new_figure, to_numpy

__all__ = ["draw_tensor_grid"]


def draw_tensor_grid(values: torch.Tensor | np.ndarray | Sequence, *, title: str = "",
                     cmap: str = "viridis", fmt: str = "{:g}", annotate: bool = True,
                     colorbar: bool = True, row_labels: Sequence[str] | None = None,
                     col_labels: Sequence[str] | None = None, cell_inches: float = 0.45) -> Figure:
    """Draw a 2-D tensor as a grid of cells coloured by value, each cell showing its value.

    Args:
        values: ``(R, K)`` tensor or array (a 1-D input is drawn as one row).
        title: the axes title.
        annotate: write the values in the cells (only up to 16 cells per side).
        colorbar: add a colour bar (the values matter) .
    Returns:
        The ``Figure``; ``fig.axes[0].images[0].get_array()`` holds ``values``.
    """
    array = to_numpy(values)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(f"values has shape {array.shape}; expected a 1-D or 2-D tensor "
                         f"(index a batch/channel first, e.g. x[0, :, :, 0])")
    rows, cols = array.shape
    width = min(10.0, max(2.5, cols * cell_inches + (1.2 if colorbar else 0.4)))
    height = min(10.0, max(1.6, rows * cell_inches + 0.6))
    fig = new_figure(width, height)
    ax = fig.subplots()
    text = format_cells(array, fmt) if annotate else None
    image = draw_grid(ax, array.astype(float), cmap=cmap, text=text, title=title,
                      row_labels=row_labels, col_labels=col_labels)
    if colorbar:
        fig.colorbar(image, ax=ax, shrink=0.8)
    return fig
