"""``ShapeTracer``: tensor shapes through a Swin variant at a chosen image size."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
from matplotlib.figure import Figure

from swin_edu.model import VARIANTS, stage_shapes
from swin_edu.viz.architecture import draw_architecture
from swin_edu.i18n import tr
from swin_edu.widgets._base import Explorer, int_slider

__all__ = ["ShapeTracer"]


class ShapeTracer(Explorer):
    """Controls ``variant`` (dropdown T/S/B/L) and ``image_size`` (slider).

    ``data``: ``steps`` (``swin_edu.model.stage_shapes(variant, image_size)``).

    CSS classes: ``swin-edu-shapes`` (container), ``swin-edu-shapes-image``, ``-readout``,
    ``-message``, ``swin-edu-shapes-variant``, ``swin-edu-shapes-image-size``.
    """

    slug = "shapes"

    def __init__(self, variant: str = "T", image_size: int = 224) -> None:
        self._initial = dict(variant=variant, image_size=image_size)
        super().__init__()

    def _make_controls(self):
        return {"variant": widgets.Dropdown(options=list(VARIANTS), value=self._initial["variant"],
                                            description="variant",
                                            layout=widgets.Layout(width="160px")),
                "image_size": int_slider(tr("image size"), self._initial["image_size"], 4, 1024)}

    def _render(self) -> tuple[Figure, dict[str, Any], str]:
        variant, size = self.state["variant"], self.state["image_size"]
        steps = stage_shapes(variant, size)
        fig = draw_architecture(variant, size)
        fig.set_dpi(self.dpi)
        padded = [s["name"].split(":")[0] for s in steps
                  if "padded" in s and tuple(s["padded"]) != tuple(s["shape"][1:3])]
        readout = " -> ".join("x".join(map(str, s["shape"][1:])) for s in steps)
        if padded:
            readout += "<br>" + tr("padded to a multiple of the window in: {stages}",
                                  stages=", ".join(padded))
        return fig, {"steps": steps}, readout
