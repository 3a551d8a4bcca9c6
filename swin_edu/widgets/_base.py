"""The common machinery of every explorer: controls, synchronous redraw, PNG image, message."""

from __future__ import annotations

import html
import inspect
from abc import ABC, abstractmethod
import io
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import ipywidgets as widgets
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from swin_edu._checks import ArgumentTypeError, check_int
from swin_edu.viz._style import new_figure, reset_axes

__all__ = ["Explorer"]


class Explorer(ABC):
    """Base class: subclasses define ``slug``, ``_make_controls`` and ``_render``.

    Public interface (tests, notebooks and the end-to-end test rely on it):

    - ``ui``: the ipywidgets container; the explorer displays itself when it is the last
      value of a cell (``_repr_mimebundle_`` delegates to ``ui``).
    - ``controls``: ``name -> ipywidgets control``.
    - ``set(**values)``: set controls and redraw synchronously (one redraw for all values).
      Every value is checked first (type, the control's range or options, and ranges that
      depend on the other values, such as the window index); if any is refused, nothing
      changes and a ``ValueError``/``TypeError`` names the control, the value and what is
      allowed. A control that depends on the ones set (e.g. ``query`` when ``window_size``
      shrinks) is moved into its new range, as its slider would be. The constructor takes
      exactly the values ``set`` takes and refuses the same ones.
    - ``state``: ``name -> current value``. ``figure``: the last drawn ``Figure`` (redraws
      draw on the same Figure and Axes; copy the PNG in ``image.value`` to keep a picture).
    - ``data``: the arrays behind the image (``{}`` while the state is invalid).
    - ``message``: ``""`` when the current state is valid, else the ``ValueError`` text
      explaining why it is not, shown in the message area; invalid combinations (allowed
      values that do not fit together, e.g. ``H`` not a multiple of ``M``) never raise.
    - ``readout``: an ``ipywidgets.HTML`` summary of the state.
    - ``image``: the ``ipywidgets.Image`` holding the PNG; ``last_redraw_ms`` its cost.
    """

    slug = "explorer"
    dpi = 72

    def __init__(self) -> None:
        self._holding = False
        requested = self._initial
        # Build the controls at the signature's defaults, then apply the requested values by
        # the checks set() uses: a widget would silently clamp or reject them otherwise.
        self._initial = self._defaults(requested)
        self.controls: dict[str, widgets.ValueWidget] = self._make_controls()
        self._limits = {name: (control.min, control.max) for name, control
                        in self.controls.items() if hasattr(control, "min")}
        checked = self._check_values(requested, self._initial)
        with self._hold():
            self._apply(checked)
        self._initial = {**self._initial, **checked}
        for name, control in self.controls.items():
            control.add_class(f"swin-edu-{self.slug}-{name.replace('_', '-').lower()}")
            control.observe(self._on_change, names="value")
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.image.add_class(f"swin-edu-{self.slug}-image")
        self.readout = widgets.HTML()
        self.readout.add_class(f"swin-edu-{self.slug}-readout")
        self._message_html = widgets.HTML()
        self._message_html.add_class(f"swin-edu-{self.slug}-message")
        self.ui = widgets.VBox([widgets.HBox(list(self.controls.values()),
                                             layout=widgets.Layout(flex_flow="row wrap")),
                                self.readout, self._message_html, self.image])
        self.ui.add_class(f"swin-edu-{self.slug}")
        self.figure: Figure | None = None
        self.data: dict[str, Any] = {}
        self.message = ""
        self.last_redraw_ms = 0.0
        self._canvas: tuple[Any, Figure, list[Axes]] | None = None
        self.redraw()

    # -- subclass hooks ----------------------------------------------------------------
    @abstractmethod
    def _make_controls(self) -> dict[str, widgets.ValueWidget]:
        """The explorer's controls, by name (the names ``set`` and ``state`` use)."""

    def _sync_ranges(self) -> None:
        """Adjust dependent control ranges (e.g. the window selector) to the state."""
        for name, (low, high) in self._dependent_limits(self.state).items():
            control = self.controls[name]
            if control.max != high:
                control.max = high
            if control.min != low:
                control.min = low

    def _dependent_limits(self, state: dict[str, Any]) -> dict[str, tuple[int, int]]:
        """``name -> (low, high)`` for controls whose range depends on the others, in the
        given state (only when that state defines one, e.g. H a multiple of M)."""
        return {}

    @abstractmethod
    def _render(self) -> tuple[Figure, dict[str, Any], str]:
        """Compute data and draw; returns ``(figure, data, readout_html)``.

        Raises ``ValueError`` for an invalid combination of control values.
        """

    def _figure(self, key: Any, width: float, height: float,
                build: Callable[[Figure], list[Axes]]) -> tuple[Figure, list[Axes]]:
        """The explorer's figure and axes, emptied for the next drawing.

        Built by ``build(figure)`` (which adds the axes, and anything that stays, such as a
        colour bar) only when ``key`` changes: a new Figure and Axes cost a third of a redraw.
        So ``figure`` is one object that each redraw updates.
        """
        if self._canvas is None or self._canvas[0] != key:
            figure = new_figure(width, height, dpi=self.dpi, layout=None)
            FigureCanvasAgg(figure)  # kept: Agg reuses its renderer between redraws
            self._canvas = (key, figure, build(figure))
        else:
            for ax in self._canvas[2]:
                reset_axes(ax)
        return self._canvas[1], self._canvas[2]

    # -- public interface --------------------------------------------------------------
    @property
    def state(self) -> dict[str, Any]:
        return {name: control.value for name, control in self.controls.items()}

    def set(self, **values: Any) -> "Explorer":
        """Check every value, then set them all and redraw once (or raise and change
        nothing). Returns ``self`` for chaining."""
        checked = self._check_values(values, self.state)
        with self._hold():
            self._apply(checked)
        self.redraw()
        return self

    def _check_values(self, values: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
        """The values converted (NumPy ints -> int), or the first problem raised."""
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            raise ValueError(f"unknown control(s) {unknown}; {type(self).__name__} has "
                             f"{list(self.controls)}")
        checked: dict[str, Any] = {}
        for name, value in values.items():
            control = self.controls[name]
            if name in self._limits:
                low, high = self._limits[name]
                checked[name] = check_int(name, value, low, high)
            elif hasattr(control, "options"):
                options = [o[1] if isinstance(o, tuple) else o for o in control.options]
                if not isinstance(value, type(options[0])) or value not in options:
                    error = ValueError if isinstance(value, type(options[0])) else \
                        ArgumentTypeError
                    raise error(f"{name}={value!r} is not one of the options {options}")
                checked[name] = value
            else:
                checked[name] = value
        fixed = self._fixed()
        for name, value in checked.items():
            if name in fixed and value != fixed[name][0]:
                raise ValueError(f"{name}={value!r}: {fixed[name][1]}")
        candidate = {**base, **checked}
        for name, (low, high) in self._dependent_limits(candidate).items():
            if name in checked and not low <= checked[name] <= high:
                raise ValueError(f"{name}={checked[name]!r} is outside the allowed range in "
                                 f"[{low}, {high}] for {self._describe(candidate, name)}")
        return checked

    def _fixed(self) -> dict[str, tuple[Any, str]]:
        """Controls pinned to one value: ``name -> (value, reason)``."""
        return {}

    def _describe(self, state: dict[str, Any], skip: str) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in state.items() if k != skip)

    def _apply(self, values: dict[str, Any]) -> None:
        """Set checked values (caller holds redraws); dependent ranges follow."""
        for name, (low, high) in self._limits.items():  # widest range while values move
            if name in values:
                self.controls[name].max = high
                self.controls[name].min = low
        for name, control in self.controls.items():  # sizes first, dependents after
            if name in values:
                control.value = values[name]
        self._sync_ranges()

    def _defaults(self, requested: dict[str, Any]) -> dict[str, Any]:
        """The constructor's default for each requested value."""
        parameters = inspect.signature(type(self).__init__).parameters
        return {name: parameters[name].default for name in requested}

    def redraw(self) -> None:
        """Recompute and redraw now (synchronously)."""
        start = time.perf_counter()
        with self._hold():
            self._sync_ranges()
        try:
            with _one_torch_thread():
                figure, data, readout = self._render()
        except ValueError as error:
            self.message = str(error)
            self.data = {}
            self._message_html.value = (
                f'<div style="color:#b00020;font-family:monospace;white-space:pre-wrap">'
                f"{html.escape(self.message)}</div>")
            self.image.add_class("swin-edu-stale")
            self.last_redraw_ms = (time.perf_counter() - start) * 1000
            return
        self.message = ""
        self._message_html.value = ""
        self.image.remove_class("swin-edu-stale")
        self.figure, self.data = figure, data
        self.readout.value = readout
        buffer = io.BytesIO()
        if isinstance(figure.canvas, FigureCanvasAgg) and figure.dpi == self.dpi:
            # What savefig ends in, minus its set-up; fast zlib: 3 ms less, PNG a third bigger.
            figure.canvas.print_png(buffer, pil_kwargs={"compress_level": 1})
        else:
            figure.savefig(buffer, format="png", dpi=self.dpi)
        self.image.value = buffer.getvalue()
        self.last_redraw_ms = (time.perf_counter() - start) * 1000

    def close(self) -> None:
        """Close every widget of the explorer (frees the front-end models)."""
        for widget in (*self.controls.values(), self.image, self.readout, self._message_html,
                       self.ui):
            widget.close()

    def _repr_mimebundle_(self, **kwargs: Any):
        return self.ui._repr_mimebundle_(**kwargs)

    # -- internals -----------------------------------------------------------------------
    def _on_change(self, _change: dict) -> None:
        if not self._holding:
            self.redraw()

    @contextmanager
    def _hold(self) -> Iterator[None]:
        previous, self._holding = self._holding, True
        try:
            yield
        finally:
            self._holding = previous


@contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Run torch single-threaded: the explorers' tensors are tiny, and on a busy machine
    waking a thread pool cost 30 ms per ``shifted_window_mask(56, 56, 7, S)`` vs 0.5 ms."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def int_slider(description: str, value: int, low: int, high: int, step: int = 1,
               continuous: bool = False) -> widgets.IntSlider:
    """An ``IntSlider`` with a readable label width."""
    return widgets.IntSlider(value=value, min=low, max=high, step=step, description=description,
                             continuous_update=continuous,
                             style={"description_width": "initial"},
                             layout=widgets.Layout(width="220px"))
