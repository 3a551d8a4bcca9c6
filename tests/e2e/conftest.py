"""Fixtures for the browser test: a JupyterLab server, headless Chromium, a page per test.

Run with `make e2e` (needs Debian's `chromium`; `scripts/ci_e2e_setup.sh` installs it).
Everything the server and the browser write goes to a temp dir; screenshots and the phase
times go to build/e2e/ (git-ignored).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, sync_playwright

from lab import BrowserLog
from processes import LabServer, isolated_env, kill_pids, pids_with_argument, start_lab, \
    stop_process_tree

REPO = Path(__file__).resolve().parents[2]
# Override to try the test on draft notebooks kept outside the repo.
NOTEBOOKS = Path(os.environ.get("SWIN_EDU_E2E_NOTEBOOKS", REPO / "notebooks"))
BUILD_DIR = REPO / "build" / "e2e"
# The server runs from the interpreter that runs the tests: `make e2e` uses the project's .venv.
VENV_BIN = Path(sys.executable).parent
# What `make lab` serves as the server root: "repo" (notebooks/ and figures/ side by side, so
# the notebooks' ../figures/*.png links resolve), or "notebooks" (`jupyter lab notebooks/`).
SERVER_ROOT = os.environ.get("SWIN_EDU_E2E_SERVER_ROOT", "repo")
CHROMIUM = Path(os.environ.get("SWIN_EDU_E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Lab settings for the temp user-settings dir: no "get Jupyter news?" toast over the widgets.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}


def pytest_sessionstart(session: pytest.Session) -> None:
    """Start from an empty build/e2e/, so no screenshot there is left from an earlier run."""
    shutil.rmtree(BUILD_DIR, ignore_errors=True)
    BUILD_DIR.mkdir(parents=True)


class Phases:
    """Wall-clock times of the test's phases, printed as they happen and saved as JSON."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seconds: dict[str, float] = {}

    def record(self, name: str, seconds: float) -> None:
        self.seconds[name] = seconds
        print(f"\n[e2e] {name}: {seconds:.3f} s", flush=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.seconds, indent=2) + "\n")


@pytest.fixture(scope="session")
def phases() -> Phases:
    return Phases(BUILD_DIR / "phases.json")


@pytest.fixture(scope="session")
def e2e_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e_home")


def _copy_course(destination: Path) -> tuple[Path, Path]:
    """Copy what `make lab` serves into `destination`; returns (server root, notebooks dir).

    The test never writes into the repository's notebooks.
    """
    ignore = shutil.ignore_patterns(".ipynb_checkpoints")
    if SERVER_ROOT == "notebooks":
        root = notebooks = destination
    elif SERVER_ROOT == "repo":
        root, notebooks = destination, destination / "notebooks"
        shutil.copytree(REPO / "figures", root / "figures", ignore=ignore)
    else:
        raise ValueError(f"SWIN_EDU_E2E_SERVER_ROOT={SERVER_ROOT!r}; use 'notebooks' or 'repo'")
    if NOTEBOOKS.is_dir():
        shutil.copytree(NOTEBOOKS, notebooks, ignore=ignore)
    notebooks.mkdir(parents=True, exist_ok=True)
    return root, notebooks


@pytest.fixture(scope="session")
def lab_server(e2e_home: Path, phases: Phases) -> Iterator[LabServer]:
    """`jupyter lab` serving a temp copy of the course (see SERVER_ROOT), stopped by PID."""
    jupyter = VENV_BIN / "jupyter"
    if not jupyter.exists():
        pytest.fail(f"{jupyter} not found: run the e2e test with the project's venv (make e2e)")
    root, notebooks = _copy_course(e2e_home / "course")
    env = isolated_env(e2e_home, VENV_BIN)
    for name, settings in LAB_SETTINGS.items():
        path = Path(env["JUPYTER_CONFIG_DIR"]) / "lab" / "user-settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    start = time.perf_counter()
    server = start_lab(jupyter, root, notebooks, env, BUILD_DIR / "jupyter-lab.log")
    phases.record("server start", time.perf_counter() - start)
    print(f"[e2e] jupyter lab pid {server.process.pid} at {server.url} serving {root}")
    try:
        yield server
    finally:
        stop_process_tree(server.process)
        print(f"[e2e] stopped jupyter lab pid {server.process.pid}; log: {server.log_path}")


@pytest.fixture(scope="session")
def browser_context(e2e_home: Path) -> Iterator[BrowserContext]:
    """Headless Debian Chromium with a fresh profile; its processes are killed by PID after."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium "
                    "(scripts/ci_e2e_setup.sh), or set SWIN_EDU_E2E_CHROMIUM")
    profile = e2e_home / "chromium-profile"
    playwright = sync_playwright().start()
    try:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(60_000)
        try:
            yield context
        finally:
            context.close()
    finally:
        playwright.stop()
        # Anything still running with our unique profile dir is a browser process we started.
        leftover = pids_with_argument(str(profile))
        killed = kill_pids(leftover)
        print(f"\n[e2e] browser closed; leftover chromium pids {leftover}, force-killed {killed}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the test item, so fixtures can tell that a test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def lab_page(browser_context: BrowserContext,
             request: pytest.FixtureRequest) -> Iterator[tuple[Page, BrowserLog]]:
    """A new tab whose console errors and uncaught exceptions are recorded.

    When the test fails, a screenshot of the whole tab is saved to build/e2e/.
    """
    page = browser_context.new_page()
    log = BrowserLog()
    log.attach(page)
    try:
        yield page, log
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            path = BUILD_DIR / f"{request.node.name}-failure.png"
            page.screenshot(path=str(path))
            print(f"\n[e2e] failure screenshot: {path}\n[e2e] browser errors: {log.errors}")
        page.close()
