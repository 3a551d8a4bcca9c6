"""Tensor shapes through the four stages of a Swin variant.

Taught in notebooks/07_swin_transformer.
"""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from swin_edu.model import stage_shapes
from swin_edu.viz._style import REGION_COLOURS, new_figure

__all__ = ["draw_architecture"]

_KIND_COLOURS = {"image": "#e9ecef", "patch embedding": REGION_COLOURS[0],
                 "stage": REGION_COLOURS[5], "patch merging": REGION_COLOURS[1],
                 "head": REGION_COLOURS[2]}


def _kind(name: str) -> str:
    for kind in ("patch embedding", "patch merging", "stage", "image", "head"):
        if name.startswith(kind):
            return kind
    return "stage"


def draw_architecture(variant: str = "T", image_size: int | tuple[int, int] = 224) -> Figure:
    """Boxes for image -> patch embedding -> stage 1 -> merging -> ... -> head, with shapes.

    Shapes come from ``swin_edu.model.stage_shapes``; box height follows the map's side and
    box width its channels (both on a log scale), so halving and doubling are visible.
    """
    steps = stage_shapes(variant, image_size)
    fig = new_figure(10.0, 3.6)
    ax = fig.subplots()
    ax.set_axis_off()
    x = 0.0
    gap = 0.22
    import math

    for step in steps:
        shape = step["shape"]
        side = shape[2] if len(shape) == 4 and step["name"] != "image" else (
            shape[2] if len(shape) == 4 else 1)
        channels = shape[-1] if step["name"] != "image" else shape[1]
        height = 0.6 + 0.45 * math.log2(max(side, 1))
        width = 1.25 + 0.1 * math.log2(max(channels, 1))
        box = FancyBboxPatch((x, -height / 2), width, height, boxstyle="round,pad=0.02",
                             facecolor=_KIND_COLOURS[_kind(step["name"])], edgecolor="#343a40")
        ax.add_patch(box)
        if len(shape) == 4:
            h, w, c = (shape[2], shape[3], shape[1]) if step["name"] == "image" else shape[1:]
            label = f"{h}x{w}\nC={c}"
        else:
            label = f"C={shape[-1]}"
        extra = ""
        if "window_grid" in step:
            gh, gw = step["window_grid"]
            extra = f"\n{gh}x{gw} windows"
            if tuple(step["padded"]) != tuple(shape[1:3]):
                extra += f"\npad {step['padded'][0]}x{step['padded'][1]}"
        name = step["name"].replace(": ", ":\n").replace(", ", ",\n")
        ax.text(x + width / 2, height / 2 + 0.15, name, ha="center", va="bottom", fontsize=7.5)
        ax.text(x + width / 2, 0, label + extra, ha="center", va="center", fontsize=7.5,
                fontweight="bold")
        x += width + gap
    ax.set_xlim(-0.2, x)
    ax.set_ylim(-2.9, 4.3)
    ax.set_title(f"Swin-{variant} at {image_size}: feature-map size H x W and channels C "
                 "per step (box height ~ log H, width ~ log C)",
                 fontsize=10)
    return fig
