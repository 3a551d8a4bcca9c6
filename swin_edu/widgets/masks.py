"""``MaskExplorer``: region labels, one window's mask and a query's reach, driven by sliders."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from swin_edu.masks import region_labels, shifted_window_mask
from swin_edu.viz._style import MAX_ANNOTATED_SIDE, hide_ticks
from swin_edu.viz.masks import reach_on, region_labels_on, window_mask_on, window_token_ids
from swin_edu.i18n import tr
from swin_edu.widgets._base import Explorer, int_slider
from swin_edu.windows import check_window_args, window_partition

__all__ = ["MaskExplorer"]


@lru_cache(maxsize=32)
def _mask_tables(H: int, W: int, window_size: int,
                 shift_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cached ``(mask (nW, N, N), labels (H, W), slot labels (nW, N), slot ids (nW, N))``,
    read-only: only copies leave the explorer."""
    mask = shifted_window_mask(H, W, window_size, shift_size)
    labels = region_labels(H, W, window_size, shift_size)
    slot_labels = window_partition(labels[None, :, :, None], window_size).reshape(mask.shape[:2])
    ids = window_token_ids(H, W, window_size, shift_size)
    tables = mask.numpy(), labels.numpy(), slot_labels.numpy(), ids.numpy()
    for table in tables:
        table.flags.writeable = False
    return tables


class MaskExplorer(Explorer):
    """Sliders ``H``, ``W``, ``window_size``, ``shift_size``, ``window``, ``query``.

    ``window`` picks a window of the rolled map (row-major), ``query`` a token of it
    (row-major inside the window). The image shows the region labels with the window
    outlined, that window's mask with the query's row outlined, and the query's reach under
    SW-MSA on the original, unrolled map.

    ``data``: ``mask`` ``(N, N)`` (== ``shifted_window_mask(...)[window]``), ``labels``
    ``(H, W)`` (== ``region_labels``), ``reach`` ``(H, W)`` bool, ``query_position``
    ``(row, col)`` on the original map, ``token_ids`` ``(N,)`` original ids of the window's
    tokens, ``num_windows``, ``masked_pairs`` (masked entries in the window's mask).

    CSS classes: ``swin-edu-mask`` (container), ``swin-edu-mask-image``,
    ``swin-edu-mask-readout``, ``swin-edu-mask-message``, and one per control:
    ``swin-edu-mask-h``, ``-w``, ``-window-size``, ``-shift-size``, ``-window``, ``-query``.
    """

    slug = "mask"

    def __init__(self, H: int = 8, W: int = 8, window_size: int = 4, shift_size: int = 2,
                 window: int = 3, query: int = 0) -> None:
        self._initial = dict(H=H, W=W, window_size=window_size, shift_size=shift_size,
                             window=window, query=query)
        super().__init__()

    def _make_controls(self):
        v = self._initial
        return {
            "H": int_slider("H", v["H"], 1, 64),
            "W": int_slider("W", v["W"], 1, 64),
            "window_size": int_slider(tr("window size M"), v["window_size"], 1, 16),
            "shift_size": int_slider(tr("shift S"), v["shift_size"], 0, 15),
            "window": int_slider(tr("window"), v["window"], 0, 4095),
            "query": int_slider(tr("query token"), v["query"], 0, 255),
        }

    def _dependent_limits(self, state: dict[str, Any]) -> dict[str, tuple[int, int]]:
        H, W, M = state["H"], state["W"], state["window_size"]
        if H % M or W % M:
            return {}  # no window grid: the message says why
        return {"window": (0, (H // M) * (W // M) - 1), "query": (0, M * M - 1)}

    def _render(self) -> tuple[Figure, dict[str, Any], str]:
        s = self.state
        H, W, M, S = s["H"], s["W"], s["window_size"], s["shift_size"]
        check_window_args(H, W, M, S)
        mask, labels, slot_labels, ids = _mask_tables(H, W, M, S)
        window, query = s["window"], s["query"]
        token_id = int(ids[window, query])
        position = divmod(token_id, W)
        allowed = mask[window, query] == 0
        reach = np.zeros(H * W, dtype=bool)
        reach[ids[window][allowed]] = True
        reach = reach.reshape(H, W)
        # copies: the tables are cached, and data is the caller's to edit
        data = {"mask": mask[window].copy(), "labels": labels.copy(), "reach": reach,
                "query_position": position, "token_ids": ids[window].copy(),
                "num_windows": mask.shape[0], "masked_pairs": int((mask[window] != 0).sum())}
        small = M * M <= MAX_ANNOTATED_SIDE
        fig, (left, middle, right) = self._figure("mask", 12.0, 4.4,
                                                  lambda f: list(f.subplots(1, 3)))
        fig.subplots_adjust(left=0.03 if not small else 0.04, right=0.99, top=0.92,
                            bottom=0.04 if not small else 0.16, wspace=0.3 if small else 0.12)
        region_labels_on(left, H, W, M, S, window=window)
        window_mask_on(middle, mask[window], slot_labels[window],
                       title=tr("mask of window {window}", figure=True, window=window), query=query)
        reach_on(right, reach, position, M, S,
                 tr("reach of token {position} (original map)", figure=True,
                    position=position), shifted=S > 0)
        for ax, side in ((left, max(H, W)), (middle, M * M), (right, max(H, W))):
            if side > MAX_ANNOTATED_SIDE:
                hide_ticks(ax)
        readout = tr("nW={nW}, window {window}: tokens {tokens}, masked pairs={masked} of {pairs}; "
                     "query token {query} = original {position}, may attend to {keys} keys",
                     nW=mask.shape[0], window=window, tokens=M * M, masked=data["masked_pairs"],
                     pairs=M ** 4, query=query, position=position, keys=int(reach.sum()))
        return fig, data, readout
