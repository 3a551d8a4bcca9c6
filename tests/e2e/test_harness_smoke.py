"""Harness smoke test: a generated notebook with a slider that redraws an image.

Proves the harness itself, independently of the course: the server starts from the venv, the
widget extension loads (the slider and image render), a key press reaches the kernel and the
new PNG reaches the page, and a failing cell is reported.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from playwright.sync_api import Page

from conftest import BUILD_DIR, Phases
from lab import BrowserLog, cell_errors, open_notebook, press_slider_key, run_all_cells, \
    save_screenshots, unexecuted_cells
from processes import LabServer

WIDGET_SOURCE = '''\
import io

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np


def render(value: int) -> bytes:
    """A 64x64 PNG whose stripes depend on `value`."""
    stripes = (np.add.outer(np.arange(64), np.arange(64)) // (value + 2)) % 2
    buffer = io.BytesIO()
    plt.imsave(buffer, stripes, cmap="gray", format="png")
    return buffer.getvalue()


slider = widgets.IntSlider(value=3, min=0, max=8, description="stripe")
slider.add_class("smoke-slider")
image = widgets.Image(value=render(3), format="png", width=128)
image.add_class("smoke-image")
readout = widgets.HTML(f"value = {slider.value}")
readout.add_class("smoke-readout")


def redraw(change) -> None:
    image.value = render(change["new"])
    readout.value = f"value = {change['new']}"


slider.observe(redraw, "value")
widgets.VBox([slider, image, readout])
'''


def _write_notebook(path: Path, *sources: str, kernelspec: bool = True) -> None:
    notebook = nbformat.v4.new_notebook()
    if kernelspec:
        notebook.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                           "display_name": "Python 3 (ipykernel)"}
    notebook.cells = [nbformat.v4.new_markdown_cell("# Harness smoke test")]
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(notebook, path)


def test_slider_redraws_image(lab_server: LabServer, lab_page: tuple[Page, BrowserLog],
                              phases: Phases) -> None:
    page, log = lab_page
    # The kernel must be the venv's, or the course would test some other install.
    _write_notebook(lab_server.notebooks / "harness_smoke.ipynb",
                    f"import sys\nassert sys.prefix == {sys.prefix!r}, sys.prefix",
                    WIDGET_SOURCE)

    start = time.perf_counter()
    open_notebook(page, lab_server.url, lab_server.notebook_path("harness_smoke.ipynb"))
    phases.record("smoke: notebook open", time.perf_counter() - start)
    start = time.perf_counter()
    run_all_cells(page)
    phases.record("smoke: run all", time.perf_counter() - start)
    assert cell_errors(page) == []
    assert unexecuted_cells(page) == []

    slider, image, readout = (page.locator(f".{name}")
                              for name in ("smoke-slider", "smoke-image", "smoke-readout"))
    image.wait_for()
    assert readout.inner_text() == "value = 3"
    right = press_slider_key(slider, image, readout, "ArrowRight")
    phases.record("smoke: slider -> new image", right.seconds_to_new_image)
    before, after = save_screenshots(right, BUILD_DIR, "smoke-ArrowRight")
    print(f"[e2e] screenshots: {before} {after}")
    assert right.image_after != right.image_before
    assert (right.readout_before, right.readout_after) == ("value = 3", "value = 4")

    left = press_slider_key(slider, image, readout, "ArrowLeft")
    assert left.readout_after == "value = 3"
    assert left.image_after == right.image_before, "ArrowLeft should restore the first image"
    assert cell_errors(page) == []
    assert log.errors == [], "browser errors:\n" + "\n".join(log.errors)


def test_failing_cell_is_reported(lab_server: LabServer,
                                  lab_page: tuple[Page, BrowserLog]) -> None:
    page, _ = lab_page
    _write_notebook(lab_server.notebooks / "harness_failing.ipynb",
                    "x = 1", "raise ValueError('planted failure')", "y = 2",
                    kernelspec=False)  # also exercises the "Select Kernel" dialog
    open_notebook(page, lab_server.url, lab_server.notebook_path("harness_failing.ipynb"))
    run_all_cells(page)
    errors = cell_errors(page)
    assert len(errors) == 1 and "ValueError: planted failure" in errors[0]
    assert unexecuted_cells(page) == [2]
