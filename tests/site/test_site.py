"""The course website in a real browser (headless Chromium, served from localhost).

Every page: no console error, no failed request, no request that leaves localhost, every image
loads, every internal link and anchor resolves - in both editions (build/book/ and the Chinese
build/book/zh/). The explorer lab: moving a control changes the picture, and an invalid
combination shows the message the notebook's widget shows. The language switch on every page
leads to the same page in the other language, or to its landing page.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlparse

import pytest

from conftest import SHOTS, SITE

NOTEBOOKS = sorted(p.stem for p in (SITE.parents[1] / "notebooks").glob("*.ipynb"))
ZH_NOTEBOOKS = sorted(p.stem for p in (SITE.parents[1] / "notebooks" / "zh").glob("*.ipynb"))


def pages() -> list[str]:
    return sorted(str(p.relative_to(SITE)) for p in SITE.rglob("*.html")
                  if "_static" not in p.parts and "_sources" not in p.parts)


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs) -> None:
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)


def anchors(path: Path, cache: dict = {}) -> set[str]:
    if path not in cache:
        parser = _Ids()
        parser.feed(path.read_text(errors="replace"))
        cache[path] = parser.ids
    return cache[path]


class Watch:
    """Console errors, page errors, failed requests and requests to other hosts."""

    def __init__(self, page, origin: str) -> None:
        self.problems: list[str] = []
        self.origin = origin
        page.on("console", lambda m: m.type == "error" and self.problems.append(
            f"console error: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(
            f"failed request: {r.url} ({r.failure})"))
        page.on("response", lambda r: r.status >= 400 and self.problems.append(
            f"HTTP {r.status}: {r.url}"))
        page.route("**/*", self._route)

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(self.origin) or url.startswith("data:") or url.startswith("blob:"):
            route.continue_()
        else:
            self.problems.append(f"request leaving localhost: {url}")
            route.abort()


def test_the_site_has_the_course(site):
    built = pages()
    for stem in NOTEBOOKS:
        assert f"notebooks/{stem}.html" in built, f"no page for notebooks/{stem}.ipynb"
        assert (site / "notebooks" / f"{stem}.ipynb").exists()
    for page in ("index.html", "explorers.html", "gallery.html", "teachers.html", "api.html"):
        assert page in built


def test_the_site_has_the_chinese_edition(site):
    built = pages()
    assert ZH_NOTEBOOKS, "notebooks/zh/ is empty: run `make zh`"
    for stem in ZH_NOTEBOOKS:
        assert f"zh/notebooks/{stem}.html" in built, f"no page for notebooks/zh/{stem}.ipynb"
        assert (site / "zh" / "notebooks" / f"{stem}.ipynb").exists()
    for page in ("index.html", "gallery.html", "teachers.html", "assignments.html",
                 "terminology.html"):
        assert f"zh/{page}" in built
    html = (site / "zh" / "notebooks" / f"{ZH_NOTEBOOKS[0]}.html").read_text()
    assert '<html lang="zh-CN"' in html or "<html lang=\"zh_CN\"" in html


@pytest.mark.parametrize("name", pages())
def test_page(name, server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = Watch(page, server)
    page.goto(f"{server}/{name}", wait_until="load")
    page.wait_for_load_state("networkidle")
    broken = page.evaluate("""() => [...document.images]
        .filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)""")
    links = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
    if page.locator("div.swin-edu-kf[data-explorer]").count():
        ready = page.locator("div.swin-edu-kf.swin-edu-kf-ready").count()
        assert ready == page.locator("div.swin-edu-kf[data-explorer]").count(), \
            f"{name}: an explorer did not start"
    switch = page.locator("a.swin-edu-lang")
    assert switch.count() == 1 and switch.is_visible(), f"{name}: no visible language switch"
    assert switch.inner_text() == ("English" if name.startswith("zh/") else "中文")
    page.screenshot(path=str(SHOTS / (name.replace("/", "__") + ".png")))
    context.close()
    dead = []
    for link in links:
        url, fragment = urldefrag(link)
        if not url.startswith(server):
            continue
        target = SITE / unquote(urlparse(url).path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            dead.append(link)
        elif fragment and target.suffix == ".html" and unquote(fragment) not in anchors(target):
            dead.append(link)
    assert not watch.problems, f"{name}: {watch.problems}"
    assert not broken, f"{name}: images that did not load: {broken}"
    assert not dead, f"{name}: broken internal links: {sorted(set(dead))}"


def _mask_picture(page) -> str:
    return page.locator(".swin-edu-kf-mask-image svg").inner_html()


def _slide(page, slug: str, control: str, key: str, times: int = 1) -> None:
    slider = page.locator(f".swin-edu-kf-{slug}-{control} input[type=range]").first
    slider.focus()
    for _ in range(times):
        slider.press(key)


def _set(page, slug: str, control: str, index: int) -> None:
    """Move a slider to position ``index`` (as a reader dragging it: an input event)."""
    page.locator(f".swin-edu-kf-{slug}-{control} input[type=range]").first.evaluate(
        "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); }",
        index)


def test_mask_lab_controls_change_the_mask_and_invalid_shows_the_message(server, browser):
    from swin_edu.widgets import MaskExplorer

    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    watch = Watch(page, server)
    page.goto(f"{server}/explorers.html", wait_until="networkidle")
    lab = page.locator("div.swin-edu-kf[data-explorer=mask]")
    lab.scroll_into_view_if_needed()
    lab.screenshot(path=str(SHOTS / "mask_lab_initial.png"))
    readout = page.locator(".swin-edu-kf-mask-readout")
    before, before_text = _mask_picture(page), readout.inner_text()
    assert "nW=4, window 3" in before_text  # H=W=8, M=4: four windows, window 3 chosen

    _slide(page, "mask", "query", "ArrowRight")  # query 5 -> 6: another row of the mask
    assert _mask_picture(page) != before
    assert "query token 6" in readout.inner_text()
    after_query = _mask_picture(page)
    _slide(page, "mask", "shift-size", "ArrowLeft", 2)  # S=2 -> 0: no shift, nothing masked
    assert _mask_picture(page) != after_query
    assert "masked pairs=0 of 256" in readout.inner_text()
    lab.screenshot(path=str(SHOTS / "mask_lab_moved.png"))

    # M=3 does not divide 8: the widget's message, the picture kept but marked stale
    _set(page, "mask", "window-size", 2)  # values 1..8: index 2 is M=3
    expected = MaskExplorer(H=8, W=8, window_size=3, shift_size=0, window=0, query=0).message
    message = page.locator(".swin-edu-kf-mask-message")
    assert expected and message.inner_text() == expected
    assert "swin-edu-kf-stale" in page.locator(".swin-edu-kf-mask-image").get_attribute("class")
    lab.screenshot(path=str(SHOTS / "mask_lab_invalid.png"))
    _set(page, "mask", "window-size", 1)  # M=2 is valid again
    assert message.inner_text() == ""
    page.screenshot(path=str(SHOTS / "explorers_full.png"), full_page=True)
    context.close()
    assert not watch.problems, watch.problems


def test_notebook_pages_embed_working_explorers(server, browser):
    """Notebook 05's explorer cell shows the kernel-free mask explorer, not a dead widget."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(f"{server}/notebooks/05_shifted_windows.html", wait_until="networkidle")
    lab = page.locator("div.swin-edu-kf[data-explorer=mask]")
    assert lab.count() == 1
    lab.scroll_into_view_if_needed()
    before = _mask_picture(page)
    _slide(page, "mask", "window", "ArrowLeft")
    assert _mask_picture(page) != before
    lab.screenshot(path=str(SHOTS / "nb05_mask_explorer.png"))
    assert "make lab" in page.locator(".swin-edu-run").inner_text()
    assert page.locator(".swin-edu-run a[href$='.ipynb']").count() == 1
    context.close()


def _switch(page) -> None:
    with page.expect_navigation(wait_until="load"):
        page.locator("a.swin-edu-lang").click()


def test_language_switch_keeps_the_notebook(server, browser):
    """English notebook 05 -> its Chinese page -> back; an English-only page -> zh landing."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = Watch(page, server)
    page.goto(f"{server}/notebooks/05_shifted_windows.html", wait_until="load")
    _switch(page)
    assert page.url == f"{server}/zh/notebooks/05_shifted_windows.html"
    assert page.locator("html").get_attribute("lang") in ("zh-CN", "zh_CN")
    assert "移位" in page.locator("h1").first.inner_text()
    page.screenshot(path=str(SHOTS / "lang_switch_zh_05.png"))
    _switch(page)
    assert page.url == f"{server}/notebooks/05_shifted_windows.html"
    assert page.locator("html").get_attribute("lang") == "en"
    english_only = sorted(set(NOTEBOOKS) - set(ZH_NOTEBOOKS))
    if english_only:
        page.goto(f"{server}/notebooks/{english_only[0]}.html", wait_until="load")
        _switch(page)
        assert page.url == f"{server}/zh/index.html"
    page.goto(f"{server}/zh/teachers.html", wait_until="load")
    _switch(page)
    assert page.url == f"{server}/teachers.html"
    context.close()
    assert not watch.problems, watch.problems
