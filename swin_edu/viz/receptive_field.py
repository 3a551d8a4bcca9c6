"""The receptive field growing through the stages, measured with autograd.

Taught in notebooks/05_shifted_windows (section 1: W-MSA vs SW-MSA, then through the stages).
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from swin_edu.model import SwinTransformer
from swin_edu.receptive_field import (reach_maps, reach_steps, small_swin, stage_shift,
                                      step_stage, step_stride, token_at_pixel)
from swin_edu.viz._style import SHIFTED_EDGE, draw_grid, new_figure, outline_windows, solid_cmap

__all__ = ["draw_receptive_field"]

_CMAP, _NORM = solid_cmap(("#e9ecef", "#74c69d", "#e63946"))  # out, depends on, the token


def _outline(ax: Axes, model: SwinTransformer, step: str, image_size: int) -> None:
    """Black: the windows of the stage whose map ``step`` outputs, in pixels; dashed red:
    the shifted windows, when ``step`` is a block that really shifts."""
    stage, block = step_stage(model, step)
    stride = step_stride(model, step)
    window = model.layers[stage - 1].blocks[0].window_size * stride
    outline_windows(ax, image_size, image_size, window, linewidth=1.3)
    if block is not None:
        tokens = -(-image_size // stride)
        shift = stage_shift(model, stage, block, (tokens, tokens))[0]
        if shift:
            outline_windows(ax, image_size, image_size, window, offset=shift * stride,
                            colour=SHIFTED_EDGE, linestyle="--", linewidth=1.3)


def _extent(reach: np.ndarray) -> str:
    """``"32x32 px"`` when the reach fills its bounding box, else the pixel count."""
    ys, xs = np.nonzero(reach)
    h, w = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
    if h * w == reach.sum():
        return f"{h}x{w} px"
    return f"{int(reach.sum())} px in a {h}x{w} box"


def draw_receptive_field(image_size: int = 128, pixel: tuple[int, int] = (45, 70),
                         steps: tuple[str, ...] | None = None, seed: int = 0) -> Figure:
    """Which input pixels one token depends on, after each of ``steps`` of ``small_swin``.

    At every step the token is the one whose patch holds ``pixel`` (red); green pixels have a
    non-zero gradient (``swin_edu.receptive_field.reach_maps``). Black lines: the windows of
    the stage the map belongs to, in pixels; dashed red: the shifted windows of an SW-MSA
    block. Default ``steps``: every step of ``small_swin``, one stage per row.
    """
    model = small_swin(image_size, seed)
    steps = tuple(reach_steps(model)) if steps is None else tuple(steps)
    if not all(0 <= p < image_size for p in pixel):
        raise ValueError(f"pixel={pixel!r} is outside the {image_size}x{image_size} image")
    tokens = {step: token_at_pixel(model, step, pixel) for step in steps}
    reaches = reach_maps(model, tokens, image_size, seed)
    cols = 3
    rows = -(-len(steps) // cols)
    fig = new_figure(10.0, 3.3 * rows + 0.6)
    axes = np.atleast_1d(fig.subplots(rows, cols)).reshape(-1)
    for ax, step in zip(axes, steps):
        reach = reaches[step].numpy()
        codes = reach.astype(int)
        stride = step_stride(model, step)
        r, c = (t * stride for t in tokens[step])
        codes[r:r + stride, c:c + stride] = 2
        draw_grid(ax, codes, cmap=_CMAP, norm=_NORM, ticks=False)
        _outline(ax, model, step, image_size)
        ax.set_title(f"{step}\ntoken {tokens[step]} depends on {_extent(reach)}",
                     fontsize=8.5)
    for ax in axes[len(steps):]:
        ax.set_axis_off()
    fig.suptitle(f"Receptive field by autograd: the pixels of a {image_size}x{image_size} "
                 f"image one token depends on (green), the token's own patch in red.\n"
                 f"small_swin (patch 4, window 4). Lines: the stage's windows in pixels, "
                 f"dashed red = shifted windows", fontsize=9)
    return fig
