"""``ComplexityExplorer``: the paper's two formulas evaluated live, with their ratio."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from swin_edu.complexity import msa_flops, wmsa_flops
from swin_edu.viz.complexity import complexity_terms
from swin_edu.i18n import tr
from swin_edu.widgets._base import Explorer, int_slider

__all__ = ["ComplexityExplorer"]

_COLOURS = {"projections": "#4c72b0", "msa": "#dd8452", "wmsa": "#55a868"}


class ComplexityExplorer(Explorer):
    """Sliders ``h``, ``w``, ``C``, ``M``.

    ``data``: ``msa`` (== ``msa_flops(h, w, C)``), ``wmsa`` (== ``wmsa_flops(h, w, C, M)``),
    ``ratio`` (``msa / wmsa``) and ``terms`` (``complexity_terms``).

    CSS classes: ``swin-edu-complexity`` (container), ``swin-edu-complexity-image``,
    ``-readout``, ``-message``, ``swin-edu-complexity-h``, ``-w``, ``-c``, ``-m``.
    """

    slug = "complexity"

    def __init__(self, h: int = 56, w: int = 56, C: int = 96, M: int = 7) -> None:
        self._initial = dict(h=h, w=w, C=C, M=M)
        super().__init__()

    def _make_controls(self):
        v = self._initial
        return {"h": int_slider("h", v["h"], 1, 256, continuous=True),
                "w": int_slider("w", v["w"], 1, 256, continuous=True),
                "C": int_slider("C", v["C"], 8, 1024, step=8, continuous=True),
                "M": int_slider("M", v["M"], 1, 32, continuous=True)}

    @staticmethod
    def _axes(figure: Figure) -> list[Axes]:
        figure.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.9, wspace=0.3)
        return list(figure.subplots(1, 2))

    def _render(self) -> tuple[Figure, dict[str, Any], str]:
        h, w, C, M = (self.state[k] for k in ("h", "w", "C", "M"))
        if M > h or M > w:
            raise ValueError(tr("M={M} is larger than the {h}x{w} map; the model would attend "
                                "globally (one window). Pick M <= {limit}",
                                M=M, h=h, w=w, limit=min(h, w)))
        terms = complexity_terms(h, w, C, M)
        data = {"msa": msa_flops(h, w, C), "wmsa": wmsa_flops(h, w, C, M), "terms": terms}
        data["ratio"] = data["msa"] / data["wmsa"]
        fig, (left, right) = self._figure("complexity", 10.0, 3.6, self._axes)
        scale = np.geomspace(0.125, 4.0, 24)  # the map scaled down and up, aspect kept
        sizes = [(max(1, round(h * s)), max(1, round(w * s))) for s in scale]
        tokens = [a * b for a, b in sizes]
        left.plot(tokens, [msa_flops(a, b, C) for a, b in sizes], color=_COLOURS["msa"],
                  lw=2, label="MSA")
        left.plot(tokens, [wmsa_flops(a, b, C, M) for a, b in sizes], color=_COLOURS["wmsa"],
                  lw=2, label=f"W-MSA (M={M})")
        left.plot([h * w] * 2, [data["wmsa"], data["msa"]], "o", color="black")
        left.set_xscale("log")
        left.set_yscale("log")
        # Mathtext tick labels and minor log ticks cost most of a redraw; plain labels do.
        left.minorticks_off()
        plain = FuncFormatter(lambda value, _: f"{value:.0e}".replace("e+0", "e"))
        left.xaxis.set_major_formatter(plain)
        left.yaxis.set_major_formatter(plain)
        left.set_xlabel(tr("tokens hw", figure=True))
        left.set_ylabel(tr("FLOPs", figure=True))
        left.legend(fontsize=8)
        left.grid(True, alpha=0.3)
        left.set_title(tr("C={C}: cost vs number of tokens", figure=True, C=C), fontsize=10,
                       y=1.0)  # y: see draw_grid
        bars = ("MSA", "W-MSA")
        right.barh(bars, [terms["projections"]] * 2, color=_COLOURS["projections"],
                   label="4hwC²")
        right.barh(bars[0], terms["msa_attention"], left=terms["projections"],
                   color=_COLOURS["msa"], label="2(hw)²C")
        right.barh(bars[1], terms["wmsa_attention"], left=terms["projections"],
                   color=_COLOURS["wmsa"], label="2M²hwC")
        right.set_xlabel(tr("FLOPs (linear scale)", figure=True))
        right.legend(fontsize=8, loc="lower right")
        right.set_title(tr("h={h}, w={w}: MSA / W-MSA = {ratio}", figure=True, h=h, w=w,
                           ratio=f"{data['ratio']:.2f}"), fontsize=10, y=1.0)
        note = "" if h % M == 0 and w % M == 0 else (
            tr(" (M does not divide {h}x{w}: the model pads, the formula is the unpadded cost)",
               h=h, w=w))
        readout = tr("MSA = 4hwC² + 2(hw)²C = {msa}; W-MSA = 4hwC² + 2M²hwC = {wmsa}; "
                     "ratio = {ratio}", msa=f"{data['msa']:,}", wmsa=f"{data['wmsa']:,}",
                     ratio=f"{data['ratio']:.2f}") + note
        return fig, data, readout
