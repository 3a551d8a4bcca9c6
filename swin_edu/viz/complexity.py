"""Cost of global vs window attention: the paper's formulas, their terms, measured counts.

Symbols as in ``swin_edu.complexity``: ``h, w`` map size, ``C`` channels, ``M`` window size.

Taught in notebooks/06_complexity.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from swin_edu.complexity import msa_flops, wmsa_flops
from swin_edu.viz._style import new_figure

__all__ = ["draw_complexity", "draw_formula_vs_measured", "complexity_terms"]

_PROJECTION = "#4c72b0"
_MSA = "#dd8452"
_WMSA = "#55a868"


def complexity_terms(h: int, w: int, C: int, M: int) -> dict[str, int]:
    """The two terms of each formula and the totals (exact integers).

    ``projections = 4hwC^2`` (shared), ``msa_attention = 2(hw)^2 C``,
    ``wmsa_attention = 2M^2 hwC``; ``msa`` and ``wmsa`` are ``msa_flops``/``wmsa_flops``.
    """
    msa, wmsa = msa_flops(h, w, C), wmsa_flops(h, w, C, M)
    projections = 4 * h * w * C ** 2
    return {"projections": projections, "msa_attention": msa - projections,
            "wmsa_attention": wmsa - projections, "msa": msa, "wmsa": wmsa}


def draw_complexity(C: int = 96, M: int = 7, sizes: Sequence[int] = (7, 14, 28, 56, 112, 224),
                    highlight: int | None = 56) -> Figure:
    """MSA vs W-MSA cost against the side ``h = w`` of the feature map.

    Left: both formulas on log-log axes (MSA grows as ``(hw)^2``, W-MSA as ``hw``).
    Right: each formula's two terms stacked at every size (log scale), so one sees the
    ``(hw)^2 C`` term take over for MSA while W-MSA stays projection-dominated.
    """
    sizes = list(sizes)
    terms = [complexity_terms(s, s, C, M) for s in sizes]
    fig = new_figure(10.0, 4.4)
    left, right = fig.subplots(1, 2)
    dense = np.unique(np.geomspace(min(sizes), max(sizes), 60).round().astype(int))
    left.plot(dense, [msa_flops(int(s), int(s), C) for s in dense], color=_MSA, lw=2.2,
              label="MSA: 4hwC² + 2(hw)²C")
    left.plot(dense, [wmsa_flops(int(s), int(s), C, M) for s in dense], color=_WMSA, lw=2.2,
              label=f"W-MSA: 4hwC² + 2M²hwC (M={M})")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("feature-map side h = w (tokens)")
    left.set_ylabel("FLOPs (multiply-adds)")
    left.set_title(f"attention cost, C={C}", fontsize=10)
    left.grid(True, which="major", alpha=0.3)
    left.legend(fontsize=8, loc="upper left")
    if highlight:
        t = complexity_terms(highlight, highlight, C, M)
        left.axvline(highlight, color="#888", ls=":", lw=1)
        left.annotate(f"h=w={highlight}:\nMSA / W-MSA = {t['msa'] / t['wmsa']:.1f}",
                      (highlight, t["wmsa"]), xytext=(10, -28), textcoords="offset points",
                      fontsize=8, va="top", arrowprops=dict(arrowstyle="-", color="#888"))
    x = np.arange(len(sizes))
    width = 0.38
    proj = np.array([t["projections"] for t in terms], dtype=float)
    msa_att = np.array([t["msa_attention"] for t in terms], dtype=float)
    wmsa_att = np.array([t["wmsa_attention"] for t in terms], dtype=float)
    right.bar(x - width / 2, proj, width, color=_PROJECTION, label="4hwC² (q, k, v, out proj.)")
    right.bar(x - width / 2, msa_att, width, bottom=proj, color=_MSA, label="2(hw)²C (MSA)")
    right.bar(x + width / 2, proj, width, color=_PROJECTION, alpha=0.55)
    right.bar(x + width / 2, wmsa_att, width, bottom=proj, color=_WMSA, label="2M²hwC (W-MSA)")
    right.set_yscale("log")
    right.set_ylim(bottom=proj.min() / 3)
    right.set_xticks(x, [f"{s}\nMSA | W" for s in sizes], fontsize=7.5)
    right.set_xlabel("h = w")
    right.set_title("the two terms of each formula, stacked", fontsize=10)
    right.legend(fontsize=8, loc="upper left")
    right.grid(True, axis="y", which="major", alpha=0.3)
    return fig


def draw_formula_vs_measured(labels: Sequence[str], formula: Sequence[int],
                             measured: Sequence[int], *,
                             title: str = "formula vs FlopCounterMode") -> Figure:
    """Bars of formula and measured FLOPs side by side, with the measured/formula ratio.

    Args:
        labels: one name per case (e.g. ``"MSA 14x14"``).
        formula: the paper's count per case (one multiply-add = one FLOP).
        measured: the measured count per case in the same convention
            (``swin_edu.complexity.measured_flops`` halves the profiler's number).
    """
    if not (len(labels) == len(formula) == len(measured)) or not labels:
        raise ValueError(f"labels, formula and measured must be non-empty and of equal length; "
                         f"got {len(labels)}, {len(formula)}, {len(measured)}")
    fig = new_figure(10.0, 4.0)
    ax = fig.subplots()
    x = np.arange(len(labels))
    width = 0.38
    ax.bar(x - width / 2, formula, width, color=_PROJECTION, label="formula")
    ax.bar(x + width / 2, measured, width, color=_WMSA, label="measured (FlopCounterMode / 2)")
    for i, (f, m) in enumerate(zip(formula, measured)):
        ax.annotate(f"x{m / f:.3f}", (i + width / 2, m), xytext=(0, 2),
                    textcoords="offset points", ha="center", fontsize=8)
    ax.set_yscale("log")
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel("FLOPs (multiply-adds)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    return fig
