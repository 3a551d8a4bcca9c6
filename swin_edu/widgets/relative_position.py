"""``RelativePositionExplorer``: pick a window size and a query, see the bias row it reads."""

from __future__ import annotations

from typing import Any

import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from swin_edu._checks import ArgumentTypeError, check_int, check_rank
from swin_edu.relative_position import relative_coords
from swin_edu.viz.relative_position import bias_row, bias_row_on
from swin_edu.i18n import tr
from swin_edu.widgets._base import Explorer, int_slider

__all__ = ["RelativePositionExplorer"]


class _Auto:
    """Default ``window_size``: 2, or the window of the ``table`` when one is given."""

    def __repr__(self) -> str:
        return "2 (or the table's window)"


AUTO = _Auto()


def _check_table(table: Any, head: Any) -> tuple[torch.Tensor | None, int]:
    """A float32 CPU copy of a ``((2M-1)^2, heads)`` table, and ``head`` checked against it."""
    if table is None:
        check_int("head", head, 0, 0, hint="head picks a column of a table; pass table=")
        return None, 0
    check_rank("table", table, 2, "((2M-1)^2, heads), e.g. a relative_position_bias_table")
    if not table.is_floating_point():
        raise ArgumentTypeError(f"table has dtype {table.dtype}; expected a float bias table")
    side = round(table.shape[0] ** 0.5)
    if side * side != table.shape[0] or side % 2 == 0:
        raise ValueError(f"table has {table.shape[0]} rows; expected (2M-1)^2 rows for some "
                         f"window size M (e.g. 169 for M=7)")
    head = check_int("head", head, 0, table.shape[1] - 1,
                     hint=f"the table has {table.shape[1]} heads")
    copy = table.detach().to("cpu", torch.float32).clone()
    if not torch.isfinite(copy).all():
        raise ValueError("table holds NaN or infinite values")
    return copy, head


class RelativePositionExplorer(Explorer):
    """Sliders ``window_size`` and ``query`` (a token of the window, row-major).

    Pass a bias ``table`` ``((2M-1)^2, heads)`` (e.g. a trained layer's
    ``relative_position_bias_table``, any float dtype; a copy is shown) to see bias values of
    column ``head``; it fixes ``window_size`` (leave it out, or pass the table's).

    ``data``: ``index`` ``(M, M)`` table row per key (== ``relative_position_index(M)[query]``
    laid out over the window), ``dy`` and ``dx`` ``(M, M)`` offsets of the query from each key,
    ``table`` ``(2M-1, 2M-1)``, ``bias`` ``(M, M)`` or ``None``.

    CSS classes: ``swin-edu-relpos`` (container), ``swin-edu-relpos-image``,
    ``-readout``, ``-message``, ``swin-edu-relpos-window-size``, ``swin-edu-relpos-query``.
    """

    slug = "relpos"

    def __init__(self, window_size: int = AUTO, query: int = 0,  # type: ignore[assignment]
                 table: torch.Tensor | None = None, head: int = 0) -> None:
        self._table, self._head = _check_table(table, head)
        if table is not None:
            table_window = (round(self._table.shape[0] ** 0.5) + 1) // 2
            if window_size is not AUTO and window_size != table_window:
                raise ValueError(f"window_size={window_size!r} does not match the table, whose "
                                 f"{self._table.shape[0]} rows are a window_size="
                                 f"{table_window} table; leave window_size out")
            window_size = table_window
        self._initial = dict(window_size=2 if window_size is AUTO else window_size,
                             query=query)
        super().__init__()
        if table is not None:
            self.controls["window_size"].disabled = True

    def _defaults(self, requested: dict[str, Any]) -> dict[str, Any]:
        window = requested["window_size"] if self._table is not None else 2
        return {"window_size": window if isinstance(window, int) else 2, "query": 0}

    def _make_controls(self):
        top = max(8, self._initial["window_size"]) if self._table is not None else 8
        return {"window_size": int_slider(tr("window size M"), self._initial["window_size"], 1, top),
                "query": int_slider(tr("query token"), self._initial["query"], 0, top ** 2 - 1)}

    def _dependent_limits(self, state: dict[str, Any]) -> dict[str, tuple[int, int]]:
        return {"query": (0, state["window_size"] ** 2 - 1)}

    def _fixed(self) -> dict[str, tuple[Any, str]]:
        if self._table is None:
            return {}
        M = self._initial["window_size"]
        return {"window_size": (M, f"the bias table fixes window_size={M} "
                                   f"({self._table.shape[0]} = (2*{M}-1)^2 rows)")}

    @staticmethod
    def _axes(figure: Figure, M: int) -> list[Axes]:
        """The table and key panels, sized like ``draw_bias_row``'s."""
        figure.subplots_adjust(left=0.07, right=0.97, bottom=0.12, top=0.92, wspace=0.25)
        return list(figure.subplots(1, 2, width_ratios=[2 * M - 1, M + 1]))

    def _render(self) -> tuple[Figure, dict[str, Any], str]:
        M, query = self.state["window_size"], self.state["query"]
        data = bias_row(M, query, self._table, self._head)
        offsets = relative_coords(M)[query].view(M, M, 2).numpy()
        data.update(dy=offsets[..., 0], dx=offsets[..., 1])
        fig, (left, right) = self._figure("relpos", 10.0, 4.6, lambda f: self._axes(f, M))
        grid = right.get_subplotspec().get_gridspec()
        if list(grid.get_width_ratios()) != [2 * M - 1, M + 1]:  # only without a table
            grid.set_width_ratios([2 * M - 1, M + 1])
            fig.subplots_adjust()  # re-places the axes on the resized grid
        image = bias_row_on(left, right, M, query, self._table, self._head)
        if image is not None and len(fig.axes) == 2:  # a new figure: add its colour bar once
            fig.colorbar(image, ax=left, shrink=0.7)
        q_row, q_col = divmod(query, M)
        where = dict(M=M, rows=(2 * M - 1) ** 2, query=query, row=q_row, col=q_col)
        readout = (tr("M={M}: table of (2M-1)^2 = {rows} rows; query {query} at ({row}, {col}) "
                      "reads rows {read}", read=sorted(set(data["index"].flatten().tolist())),
                      **where)
                   if M <= 3 else
                   tr("M={M}: table of (2M-1)^2 = {rows} rows; query {query} at ({row}, {col}) "
                      "reads {distinct} distinct rows", distinct=M * M, **where))
        return fig, data, readout
