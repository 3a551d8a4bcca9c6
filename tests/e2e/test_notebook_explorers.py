"""The course's explorers in JupyterLab: run the notebook, move a slider, see a new picture.

Class names are the explorers' stable CSS classes (see swin_edu/widgets/__init__.py):
``swin-edu-<slug>`` on the container, ``-image``, ``-readout``, ``-message``, one per control.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page

from conftest import BUILD_DIR, Phases
from lab import BrowserLog, cell_errors, keys_away_and_back, open_notebook, press_slider_key, \
    run_all_cells, save_screenshots, unexecuted_cells
from processes import LabServer

# The budget: a slower redraw is a defect of the explorer, not of this test.
SLIDER_BUDGET_S = float(os.environ.get("SWIN_EDU_E2E_SLIDER_BUDGET_S", "1.0"))


@dataclass(frozen=True)
class ExplorerCase:
    notebook: str
    slug: str
    control: str


CASES = [
    ExplorerCase("05_shifted_windows.ipynb", slug="mask", control="shift-size"),
    ExplorerCase("06_complexity.ipynb", slug="complexity", control="m"),
]


def _param(case: ExplorerCase):
    return pytest.param(case, id=case.notebook.split("_")[0])


@pytest.mark.parametrize("case", [_param(case) for case in CASES])
def test_explorer_slider_redraws(case: ExplorerCase, lab_server: LabServer,
                                 lab_page: tuple[Page, BrowserLog], phases: Phases) -> None:
    page, log = lab_page
    label = case.notebook.split("_")[0]
    start = time.perf_counter()
    open_notebook(page, lab_server.url, lab_server.notebook_path(case.notebook))
    phases.record(f"{label}: notebook open", time.perf_counter() - start)
    start = time.perf_counter()
    run_all_cells(page)
    phases.record(f"{label}: run all", time.perf_counter() - start)
    assert cell_errors(page) == []
    assert unexecuted_cells(page) == []

    explorer = page.locator(f".swin-edu-{case.slug}").first
    explorer.wait_for()
    slider = explorer.locator(f".swin-edu-{case.slug}-{case.control}")
    image = explorer.locator(f"img.swin-edu-{case.slug}-image")
    readout = explorer.locator(f".swin-edu-{case.slug}-readout")
    message = explorer.locator(f".swin-edu-{case.slug}-message")

    away, back = keys_away_and_back(slider)
    first = press_slider_key(slider, image, readout, away)
    phases.record(f"{label}: slider -> new image", first.seconds_to_new_image)
    paths = save_screenshots(first, BUILD_DIR, f"{label}-{case.slug}-{case.control}-{away}")
    print(f"[e2e] screenshots: {paths[0]} {paths[1]}")
    assert first.image_after != first.image_before
    assert first.readout_after != first.readout_before
    assert message.inner_text().strip() == ""
    assert first.seconds_to_new_image < SLIDER_BUDGET_S, (
        f"{case.slug} explorer took {first.seconds_to_new_image:.2f} s to redraw "
        f"(budget {SLIDER_BUDGET_S} s): make its redraw faster")

    second = press_slider_key(slider, image, readout, back)
    phases.record(f"{label}: slider back -> new image", second.seconds_to_new_image)
    assert second.readout_after == first.readout_before
    assert second.image_after == first.image_before, "moving back should redraw the first image"
    assert cell_errors(page) == []
    assert log.errors == [], "browser errors:\n" + "\n".join(log.errors)
