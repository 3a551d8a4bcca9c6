"""``PatchMergingExplorer``: which four tokens one merged token concatenates."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from swin_edu.patches import merge_patches
from swin_edu.viz._style import MERGE_COLOURS, draw_grid, mark_cells, new_figure, solid_cmap
from swin_edu.viz.patches import merge_source_codes
from swin_edu.i18n import tr
from swin_edu.widgets._base import Explorer, int_slider

__all__ = ["PatchMergingExplorer"]


class PatchMergingExplorer(Explorer):
    """Sliders ``H``, ``W`` (of a one-channel map holding ``0..HW-1``) and ``token``.

    ``data``: ``merged`` ``(H/2, W/2, 4)`` (== ``merge_patches(x)[0]``), ``sources``
    ``(H, W)`` codes 0..3 (x0..x3), ``token_values`` ``(4,)`` the selected merged token's
    channels, ``token_inputs`` the four ``(row, col)`` it came from, in channel order.
    Odd sides are invalid here (``merge_patches`` asks to pad), and say so in ``message``.

    CSS classes: ``swin-edu-merging`` (container), ``swin-edu-merging-image``, ``-readout``,
    ``-message``, ``swin-edu-merging-h``, ``-w``, ``-token``.
    """

    slug = "merging"

    def __init__(self, H: int = 8, W: int = 8, token: int = 0) -> None:
        self._initial = dict(H=H, W=W, token=token)
        super().__init__()

    def _make_controls(self):
        v = self._initial
        return {"H": int_slider("H", v["H"], 1, 16), "W": int_slider("W", v["W"], 1, 16),
                "token": int_slider(tr("merged token"), v["token"], 0, 63)}

    def _dependent_limits(self, state: dict[str, Any]) -> dict[str, tuple[int, int]]:
        H, W = state["H"], state["W"]
        if H % 2 or W % 2:
            return {}  # odd sides: the message asks to pad
        return {"token": (0, (H // 2) * (W // 2) - 1)}

    def _render(self) -> tuple[Figure, dict[str, Any], str]:
        H, W, token = self.state["H"], self.state["W"], self.state["token"]
        x = torch.arange(H * W, dtype=torch.float32).view(1, H, W, 1)
        merged = merge_patches(x)[0].long().numpy()  # (H/2, W/2, 4)
        codes = merge_source_codes(H, W)
        r, c = divmod(token, W // 2)
        values = merged[r, c]
        inputs = [divmod(int(v), W) for v in values]
        data = {"merged": merged, "sources": codes, "token_values": values,
                "token_inputs": inputs}
        cmap, norm = solid_cmap(MERGE_COLOURS)
        fig = new_figure(10.0, 4.0, dpi=self.dpi)
        left, right = fig.subplots(1, 2, width_ratios=[1.0, 1.0])
        draw_grid(left, codes, cmap=cmap, norm=norm, text=x[0, :, :, 0].long().numpy(),
                  title=tr("input {H}x{W}x1, colour = x0 x1 x2 x3", figure=True, H=H, W=W))
        mark_cells(left, inputs, colour="#e63946", linewidth=2.5)
        draw_grid(right, np.arange(4)[None, :], cmap=cmap, norm=norm, text=values[None, :],
                  title=tr("merged token {token} at ({row}, {col}): 4C channels", figure=True,
                           token=token, row=r, col=c),
                  col_labels=["x0", "x1", "x2", "x3"], row_labels=[str(token)])
        readout = tr("{H}x{W}x1 -> {h}x{w}x4 (then LayerNorm and Linear 4C -> 2C); "
                     "token {token} = cat of positions {inputs}",
                     H=H, W=W, h=H // 2, w=W // 2, token=token, inputs=inputs)
        return fig, data, readout
