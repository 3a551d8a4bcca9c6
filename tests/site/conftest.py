"""Fixtures for the website tests: the built site (build/book/, built if missing), a localhost
HTTP server for it, and Debian's headless Chromium driven by Playwright.

Run with `make site-test` after `make book pdf` (.ci/run does). Screenshots: build/site/.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "build" / "book"
PDF = REPO / "build" / "swin-edu-course.pdf"
SHOTS = REPO / "build" / "site"
CHROMIUM = Path(os.environ.get("SWIN_EDU_E2E_CHROMIUM", "/usr/bin/chromium"))


def build(target: str) -> None:
    subprocess.run([sys.executable, str(REPO / "scripts" / "build_site.py"), target],
                   check=True, cwd=REPO)


@pytest.fixture(scope="session")
def site() -> Path:
    if not (SITE / "index.html").exists():
        build("html")
    return SITE


@pytest.fixture(scope="session")
def pdf() -> Path:
    if not PDF.exists():
        build("pdf")
    return PDF


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="session")
def server(site: Path) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` serving build/book/ (a free port; stopped after the tests)."""
    handler = functools.partial(_Quiet, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: run scripts/ci_e2e_setup.sh (Debian's chromium)")
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield chromium
        chromium.close()
