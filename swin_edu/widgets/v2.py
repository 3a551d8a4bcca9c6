"""``CpbExplorer``: a window size (and a pre-training window) -> V2's coordinates and bias.

Taught in notebooks/11_swin_v2.
"""

from __future__ import annotations

from typing import Any

from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure

from swin_edu.i18n import tr
from swin_edu.viz.v2 import BIAS_NORM, cpb_coords, cpb_panels_on
from swin_edu.widgets._base import Explorer, int_slider

__all__ = ["CpbExplorer"]


class CpbExplorer(Explorer):
    """Sliders ``window_size`` (``M``, 1 to 32) and ``pretrained_window_size`` (``M_pre``,
    0 to 16; 0 normalises the offsets by the window itself).

    Left: one axis of the offsets, linear (``d / (M_n - 1)``) and log-spaced (what
    ``cpb_mlp`` reads); right: the bias ``16 * sigmoid(cpb_mlp(coords))`` of a fixed MLP
    fitted at window 8 (:func:`swin_edu.viz.v2.demo_cpb_mlp`). ``M_pre = 1`` is refused with a
    message (a 1x1 window has no offset to normalise by).

    ``data``: :func:`swin_edu.viz.v2.cpb_coords` (``offsets``, ``linear``, ``log``, ``edge``,
    ``bias``). CSS classes: ``swin-edu-cpb`` (container), ``swin-edu-cpb-image``,
    ``-readout``, ``-message``, ``swin-edu-cpb-window-size``,
    ``swin-edu-cpb-pretrained-window-size``.
    """

    slug = "cpb"

    def __init__(self, window_size: int = 8, pretrained_window_size: int = 0) -> None:
        self._initial = dict(window_size=window_size,
                             pretrained_window_size=pretrained_window_size)
        super().__init__()

    def _make_controls(self):
        return {"window_size": int_slider(tr("window size M"), self._initial["window_size"],
                                          1, 32),
                "pretrained_window_size": int_slider(
                    tr("pre-training window"), self._initial["pretrained_window_size"], 0, 16)}

    @staticmethod
    def _axes(figure: Figure) -> list[Axes]:
        figure.subplots_adjust(left=0.07, right=0.95, bottom=0.14, top=0.91, wspace=0.3)
        left, right = figure.subplots(1, 2)
        figure.colorbar(ScalarMappable(BIAS_NORM, "viridis"), ax=right, shrink=0.8)
        return [left, right]

    def _render(self) -> tuple[Figure, dict[str, Any], str]:
        M, pre = self.state["window_size"], self.state["pretrained_window_size"]
        data = cpb_coords(M, pre)  # ValueError for pre == 1: shown as the message
        fig, (left, right) = self._figure("cpb", 10.0, 4.0, self._axes)
        cpb_panels_on(left, right, data, M, pre)
        reach = float(abs(data["log"]).max())
        readout = tr("M={M}: offsets {low_offset}..{top}, normalised by M_n={norm}; log-spaced "
                     "coordinates within ±{reach} (±{edge} at the edge of M_n); bias "
                     "{low} to {high}", M=M, low_offset=-(M - 1), top=M - 1, norm=pre or M,
                     reach=f"{reach:.3f}",
                     edge=f"{data['edge']:.3f}", low=f"{data['bias'].min():.2f}",
                     high=f"{data['bias'].max():.2f}")
        return fig, data, readout
