"""Drive JupyterLab in a Playwright page the way a learner does: menus, keyboard, screenshots.

Selectors are JupyterLab 4's DOM (`.jp-NotebookPanel`, `.jp-InputArea-prompt`,
`.jp-OutputArea-output[data-mime-type]`) and ipywidgets 8's (`.widget-slider`, noUiSlider's
`[role=slider]` handle, `img.widget-image`).
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"
STDERR_OUTPUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
# A Python traceback, or the last line of one ("ValueError: ...").
_ERROR_TEXT = re.compile(r"Traceback \(most recent call last\)|^\w*(Error|Exception): ", re.M)
# What a cell shows instead of a widget view when the widget manager cannot render it.
_UNRENDERED_WIDGET = re.compile(r"Error displaying widget|Loading widget\.\.\.|"
                                r"\b(VBox|HBox|IntSlider|Image|HTML)\(")


@dataclass
class BrowserLog:
    """Console errors and uncaught exceptions seen by a page."""

    errors: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            # The first line says what failed; the location says who (e.g. jupyterlab-manager).
            first_line = message.text.splitlines()[0] if message.text else ""
            self.errors.append(f"console.error: {first_line} (from {message.location.get('url')})")


def open_notebook(page: Page, server_url: str, name: str, timeout_ms: float = 60_000) -> None:
    """Open `name` (relative to the server root) and wait until its kernel is idle.

    Each call gets its own workspace: the default one would reopen the previous test's
    notebooks, and menu commands act on whichever notebook JupyterLab considers current.
    """
    workspace = f"e2e-{uuid.uuid4().hex[:12]}"
    page.goto(f"{server_url}lab/workspaces/{workspace}/tree/{name}")
    # A notebook without kernelspec metadata first asks which kernel to start.
    while _kernel_idle_or_dialog(page, timeout_ms) == "dialog":
        page.locator(".jp-Dialog .jp-mod-accept").click()
        page.locator(".jp-Dialog").wait_for(state="detached", timeout=timeout_ms)


def _kernel_idle_or_dialog(page: Page, timeout_ms: float) -> str:
    """Wait until a dialog is open ("dialog") or the notebook's kernel is idle ("ready").

    The indicator says "idle" for a moment before any kernel is attached, so a kernel name
    is required too.
    """
    return page.wait_for_function(
        """notebook => {
            if (document.querySelector('.jp-Dialog')) return 'dialog';
            const panel = document.querySelector(notebook);
            const kernel = panel?.querySelector('.jp-KernelName')?.textContent.trim();
            const status = panel?.querySelector('.jp-Notebook-ExecutionIndicator')
                ?.dataset.status;
            return kernel && kernel !== 'No Kernel' && status === 'idle' ? 'ready' : false;
        }""",
        arg=NOTEBOOK, timeout=timeout_ms, polling=100).json_value()


def menu(page: Page, *labels: str) -> None:
    """Click through the main menu bar, e.g. `menu(page, "Run", "Run All Cells")`."""
    bar_label, *item_labels = labels
    page.locator(".lm-MenuBar-item").filter(
        has=page.locator(".lm-MenuBar-itemLabel", has_text=_exactly(bar_label))).click()
    for label in item_labels:
        page.locator(".lm-Menu-item:visible").filter(
            has=page.locator(".lm-Menu-itemLabel", has_text=_exactly(label))).click()


def _exactly(text: str) -> re.Pattern:
    return re.compile(f"^{re.escape(text)}$")


def code_prompts(page: Page) -> list[str]:
    """The execution prompts of all code cells, e.g. ['[1]:', '[*]:', '[ ]:']."""
    return [text.strip() for text in
            page.locator(f"{NOTEBOOK} .jp-CodeCell .jp-InputArea-prompt").all_text_contents()]


def run_all_cells(page: Page, timeout_ms: float = 180_000) -> None:
    """Run > Run All Cells, then wait until every code cell ran or one failed.

    A failing cell stops "Run All"; the cells below it keep an empty prompt.
    """
    if any(re.fullmatch(r"\[\d+\]:", prompt) for prompt in code_prompts(page)):
        menu(page, "Edit", "Clear Outputs of All Cells")
    menu(page, "Run", "Run All Cells")
    page.wait_for_function(
        """([notebook, stderr]) => {
            const root = document.querySelector(notebook);
            const prompts = [...root.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
                .map(p => p.textContent.trim());
            if (prompts.some(p => p.includes('*'))) return false;
            const idle = root.querySelector('.jp-Notebook-ExecutionIndicator')
                ?.dataset.status === 'idle';
            return idle && (prompts.every(p => /^\\[\\d+\\]:$/.test(p))
                            || root.querySelector(stderr) !== null);
        }""",
        arg=[NOTEBOOK, STDERR_OUTPUT], timeout=timeout_ms, polling=100)


def cell_errors(page: Page) -> list[str]:
    """Text of every output that is an error: a traceback, or a widget that did not render."""
    errors = []
    for text in page.locator(f"{NOTEBOOK} {STDERR_OUTPUT}").all_inner_texts():
        if _ERROR_TEXT.search(text):
            errors.append(text)
    for text in page.locator(
            f'{NOTEBOOK} .jp-OutputArea-output[data-mime-type="text/plain"]').all_inner_texts():
        if _UNRENDERED_WIDGET.search(text):
            errors.append(f"widget not rendered: {text[:300]}")
    # ipywidgets draws this box where a view failed (its cause goes to the console).
    for text in page.locator(f"{NOTEBOOK} .jupyter-widgets-error-widget").all_inner_texts():
        errors.append(f"widget view failed: {text[:300]}")
    return errors


def unexecuted_cells(page: Page) -> list[int]:
    """Indices of code cells that did not run to completion."""
    return [index for index, prompt in enumerate(code_prompts(page))
            if not re.fullmatch(r"\[\d+\]:", prompt)]


def _image_in(element_js: str) -> str:
    """JS expression: the <img> that `element_js` is, or the first one inside it."""
    return f"({element_js}.tagName === 'IMG' ? {element_js} : {element_js}.querySelector('img'))"


def wait_for_image_loaded(image: Locator, timeout_ms: float = 10_000) -> None:
    image.page.wait_for_function(
        f"el => {{ const img = {_image_in('el')}; "
        "return img && img.complete && img.naturalWidth > 0; }",
        arg=image.element_handle(), timeout=timeout_ms, polling="raf")


@dataclass
class SliderStep:
    """What one key press on a slider changed, and how long the new image took."""

    seconds_to_new_image: float
    image_before: bytes
    image_after: bytes
    readout_before: str
    readout_after: str


def press_slider_key(slider: Locator, image: Locator, readout: Locator, key: str,
                     timeout_ms: float = 15_000) -> SliderStep:
    """Focus the slider handle, press `key`, and wait until `image` shows a new picture.

    The time runs from the key press to the new image being decoded in the page.
    """
    page = slider.page
    handle = slider.locator('[role="slider"]').first
    image.scroll_into_view_if_needed()
    wait_for_image_loaded(image)
    image_before = image.screenshot()
    readout_before = readout.inner_text()
    source_before = image.evaluate(f"el => {_image_in('el')}.src")
    handle.focus()
    start = time.perf_counter()
    handle.press(key)
    try:
        page.wait_for_function(
            f"""([el, before]) => {{
                const img = {_image_in('el')};
                return img && img.src !== before && img.complete && img.naturalWidth > 0;
            }}""",
            arg=[image.element_handle(), source_before], timeout=timeout_ms, polling="raf")
    except PlaywrightTimeoutError:
        raise AssertionError(f"no new image {timeout_ms / 1000:.0f} s after pressing {key} "
                             f"(readout: {readout.inner_text()!r})") from None
    elapsed = time.perf_counter() - start
    try:
        # Explorers update the readout before the image; this wait is only a safety margin.
        page.wait_for_function("([el, before]) => el.innerText !== before",
                               arg=[readout.element_handle(), readout_before], timeout=2_000)
    except PlaywrightTimeoutError:
        pass  # the caller's assertion reports an unchanged readout
    return SliderStep(elapsed, image_before, image.screenshot(), readout_before,
                      readout.inner_text())


def keys_away_and_back(slider: Locator) -> tuple[str, str]:
    """Arrow keys that move the slider one step and back: left first unless it is at its minimum.

    Decreasing a size or shift stays valid where increasing may not (shift must stay < window).
    """
    handle = slider.locator('[role="slider"]').first
    at_minimum = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemin")
    return ("ArrowRight", "ArrowLeft") if at_minimum else ("ArrowLeft", "ArrowRight")


def save_screenshots(step: SliderStep, directory: Path, stem: str) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    before, after = directory / f"{stem}-before.png", directory / f"{stem}-after.png"
    before.write_bytes(step.image_before)
    after.write_bytes(step.image_after)
    return before, after
