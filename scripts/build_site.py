"""Build the course website (``make book``) and its PDF (``make pdf``) from the repository.

One source: the pages are the notebooks in ``notebooks/`` (executed here in fresh kernels),
the landing page and the gallery are cut from ``README.md``, the teachers' guide is
``docs/teachers.md`` and the API page is generated from the package's docstrings. Everything is
staged into ``build/book-src/`` (a build product, never edited) and built by Sphinx with
MyST-NB and sphinx-book-theme (configuration: ``book/conf.py``).

The Chinese edition is built beside it into ``build/book/zh/`` (Sphinx ``language = "zh_CN"``):
its landing page is cut from ``README.zh.md``, its notebooks are ``notebooks/zh/`` (generated
by ``scripts/i18n.py``, executed here in fresh kernels like the English ones), its teachers'
guide is ``docs/teachers.zh.md``; it adds the glossary ``docs/TERMINOLOGY.md``, shares the
English gallery and leaves out the API page and the explorer lab (English only). Every page of
both editions has a language switch (``book/_templates/lang-switch.html``) to the same page in
the other language, or to its landing page where that page has no counterpart.

    python scripts/build_site.py html     # -> build/book/        (index.html; zh/index.html)
    python scripts/build_site.py pdf      # -> build/swin-edu-course.pdf (Chromium prints
                                          #    Sphinx's single-page HTML)

Executed notebooks are reused between the two builds only while the key of their inputs is the
same: the notebook file (as staged), every file of ``swin_edu/`` and ``figures/``, and the
installed packages' versions (``build/book-src/.executed/<name>.key``,
``build/book-src/zh/.executed/<name>.key``).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / "build" / "book-src"
ZH_STAGE = STAGE / "zh"  # excluded from the English build by book/conf.py
HTML_OUT = ROOT / "build" / "book"
ZH_OUT = HTML_OUT / "zh"
SINGLE_OUT = ROOT / "build" / "book-single"
PDF_OUT = ROOT / "build" / "swin-edu-course.pdf"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CELL_TIMEOUT = 600

# Course notebooks are NN_name.ipynb; any other notebook at the top of notebooks/ is an appendix.
COURSE = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")

API_MODULES = ["swin_edu.patches", "swin_edu.windows", "swin_edu.relative_position",
               "swin_edu.masks", "swin_edu.attention", "swin_edu.attention_variants",
               "swin_edu.model", "swin_edu.convert", "swin_edu.complexity", "swin_edu.viz",
               "swin_edu.widgets", "swin_edu.grading", "swin_edu.web"]


def log(message: str) -> None:
    print(f"[build_site] {message}", flush=True)


def notebooks() -> tuple[list[Path], list[Path]]:
    """``(course, appendices)``: the top-level notebooks of ``notebooks/``, sorted."""
    found = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb"))
    return ([p for p in found if COURSE.match(p.name)],
            [p for p in found if not COURSE.match(p.name)])


def readme_section(text: str, heading: str) -> str:
    """The body of ``## heading`` in the README (up to the next ``## ``)."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    if not match:
        raise SystemExit(f"README.md has no '## {heading}' section; the site's landing page "
                         f"and gallery are cut from it")
    return match.group(1).strip()


def notebook_title(path: Path) -> str:
    """The first Markdown heading of a notebook."""
    import nbformat

    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if match:
                return match.group(1).strip()
    raise SystemExit(f"{path.name} has no '# title' Markdown heading")


def write_pages(course: list[Path], appendices: list[Path]) -> None:
    """index.md (README intro + course table + table of contents), gallery.md, teachers.md,
    api.md, explorers.md."""
    readme = (ROOT / "README.md").read_text()
    title = re.search(r"^# (.+)$", readme, re.M).group(1)
    intro = readme.split("\n## ", 1)[0].split("\n", 1)[1].strip()
    # The Chinese README's link: its landing page in the Chinese edition (raw HTML: a page
    # of another Sphinx project is no cross-reference of this one).
    intro = re.sub(r"\[([^\]]*)\]\(README\.zh\.md\)", r'<a href="zh/index.html">\1</a>', intro)
    docs = [f"notebooks/{p.stem}" for p in course]
    extra = [f"notebooks/{p.stem}" for p in appendices]
    toc = "\n".join(docs)
    appendix_toc = ("\n```{toctree}\n:caption: Appendices\n:maxdepth: 1\n\n"
                    + "\n".join(extra) + "\n```\n") if extra else ""
    (STAGE / "index.md").write_text(
        f"# {title}\n\n{intro}\n\n"
        "```{admonition} Read, then run\n"
        "Every page below is a notebook of the course, executed when this site was built, so "
        "its outputs and figures are here. Where a notebook has an explorer with sliders, the "
        "page has a version that works without Python (precomputed states); the "
        "[explorer lab](explorers.md) gathers them. To run a notebook yourself, each page "
        "links its `.ipynb` and says how (`make lab`, or Binder).\n```\n\n"
        f"## The course\n\n{readme_section(readme, 'The course')}\n\n"
        f"```{{toctree}}\n:caption: Course\n:maxdepth: 1\n\n{toc}\n```\n"
        f"{appendix_toc}\n"
        "```{toctree}\n:caption: More\n:maxdepth: 1\n\nexplorers\ngallery\nteachers\napi\n```\n")
    (STAGE / "gallery.md").write_text(f"# Gallery\n\n{readme_section(readme, 'Gallery')}\n")
    teachers = (ROOT / "docs" / "teachers.md").read_text()
    if not teachers.lstrip().startswith("# "):  # its top heading is '## ...' (README style)
        teachers = "# For teachers\n\n" + teachers
    (STAGE / "teachers.md").write_text(teachers)
    api = ["# API reference\n", "Generated from the docstrings of the package `swin_edu`.\n"]
    for module in API_MODULES:
        api.append(f"```{{eval-rst}}\n.. automodule:: {module}\n   :members:\n```\n")
    (STAGE / "api.md").write_text("\n".join(api))
    shutil.copy(ROOT / "book" / "explorers.md", STAGE / "explorers.md")


def input_key(path: Path) -> str:
    """What an executed notebook depends on: the notebook, the package, figures, versions."""
    digest = hashlib.sha256(path.read_bytes())
    for folder in ("swin_edu", "figures"):
        for file in sorted((ROOT / folder).rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(ROOT)).encode())
                digest.update(file.read_bytes())
    versions = sorted(f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions())
    digest.update("\n".join(versions).encode())
    return digest.hexdigest()


def execute(path: Path, target: Path) -> float:
    """Execute ``path`` in a fresh kernel (cwd: the staged notebooks/) into ``target``."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                            store_widget_state=False,  # the site never loads widget models
                            resources={"metadata": {"path": str(target.parent)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError on the first failing cell
    nbformat.write(notebook, target)
    return time.perf_counter() - start


def copy_mathjax(target: Path) -> None:
    """MathJax 3 from the sphinx-mathjax-offline wheel (its extension is not used: only its
    files), without the speech rule maps and the CHTML fonts (SVG output needs neither)."""
    import importlib.util

    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None:
        raise SystemExit("sphinx-mathjax-offline is not installed: pip install -e '.[docs]'")
    source = Path(spec.submodule_search_locations[0]) / "static" / "mathjax"
    shutil.copytree(source, target, ignore=lambda folder, names: [
        n for n in names if (n == "mathmaps" and folder.endswith("sre"))
        or (n == "chtml" and folder.endswith("output"))])


def execute_cached(path: Path, target: Path, executed: Path) -> None:
    """``target``: ``path`` executed in a fresh kernel in ``target``'s folder, or the copy
    executed earlier from the same inputs (``input_key``) kept in ``executed/``."""
    key, key_file, cached = input_key(path), executed / f"{path.stem}.key", executed / path.name
    label = ("zh/" if path.is_relative_to(ZH_STAGE) else "") + path.name
    if key_file.exists() and key_file.read_text() == key and cached.exists():
        log(f"{label}: inputs unchanged since its last execution, reused")
    else:
        seconds = execute(path, cached)
        key_file.write_text(key)
        log(f"{label}: executed in a fresh kernel in {seconds:.1f} s")
    shutil.copy(cached, target)


# Markdown links of the notebooks that point outside the site, as the site's pages see them
# (a notebook of notebooks/ or notebooks/zh/ is staged in notebooks/ of its edition): the
# figures are staged beside each edition; the glossary (English -> Chinese terms) is a page of
# the Chinese edition only (the English PDF has no CJK font to print it with), which English
# pages link as raw HTML (another Sphinx project); the graded assignments (their sources hold
# the solutions) are named, not published.
ASSIGNMENT = (re.compile(r"\[([^\]]*)\]\((?:\.\./)?assignments/[^)]*\)"), r"\1")
FIGURES = (re.compile(r"\]\((?:\.\./)+figures/"), "](../figures/")
LINKS = {"en": [FIGURES, ASSIGNMENT,
                (re.compile(r"\[([^\]]*)\]\((?:\.\./)+docs/TERMINOLOGY\.md\)"),
                 r'<a href="../zh/terminology.html">\1</a>')],
         "zh": [FIGURES, ASSIGNMENT,
                (re.compile(r"\]\((?:\.\./)+docs/TERMINOLOGY\.md\)"), "](../terminology.md)")]}


def stage_notebook(source: Path, target: Path, language: str) -> None:
    """Stage a notebook with its Markdown links rewritten (``LINKS``); code cells as they are."""
    import nbformat

    notebook = nbformat.read(source, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for pattern, new in LINKS[language]:
                cell.source = pattern.sub(new, cell.source)
    nbformat.write(notebook, target)


def stage_notebooks(paths: list[Path], folder: Path, language: str) -> None:
    """``folder``/notebooks: ``paths`` staged (links rewritten) and executed (or reused: the
    key covers the staged file); ``folder``/_downloads/notebooks: the notebooks as committed."""
    for path in paths:
        shutil.copy(path, folder / "_downloads" / "notebooks" / path.name)  # as committed
        staged = folder / "_staged" / path.name
        stage_notebook(path, staged, language)
        execute_cached(staged, folder / "notebooks" / path.name, folder / ".executed")


def write_zh_pages(course: list[Path], appendices: list[Path]) -> None:
    """zh/index.md (README.zh.md's intro and course table + table of contents), gallery.md
    (the English README's gallery, its captions in English), teachers.md, terminology.md."""
    readme = (ROOT / "README.zh.md").read_text()
    title = re.search(r"^# (.+)$", readme, re.M).group(1)
    intro = readme.split("\n## ", 1)[0].split("\n", 1)[1].strip().replace(
        "](docs/TERMINOLOGY.md)", "](terminology.md)")
    table = re.search(r"^## 课程\n(.*?)(?=^## |\Z)", readme, re.S | re.M)
    if not table:
        raise SystemExit("README.zh.md has no '## 课程' section; the Chinese site's landing "
                         "page is cut from it")
    course_md = table.group(1).strip().replace("](notebooks/zh/", "](notebooks/")
    toc = "\n".join(f"notebooks/{p.stem}" for p in course)
    appendix_toc = ("\n```{toctree}\n:caption: 附录\n:maxdepth: 1\n\n"
                    + "\n".join(f"notebooks/{p.stem}" for p in appendices) + "\n```\n"
                    ) if appendices else ""
    (ZH_STAGE / "index.md").write_text(
        f"# {title}\n\n{intro}\n\n"
        "```{admonition} 先读，再运行\n"
        "下面每一页都是课程的一个 notebook，在构建本网站时执行过，所以输出和图都在页面上。"
        "带滑块的探索器在页面上有一个无需 Python 的版本（预先计算的状态，界面文字为英文）。"
        "要自己运行某个 notebook，每页都链接了它的 `.ipynb` 并说明了方法（`make lab-zh` 或 "
        "Binder）。API 参考只有英文版（页面顶部的 English 链接）。\n```\n\n"
        f"## 课程\n\n{course_md}\n\n"
        f"```{{toctree}}\n:caption: 课程\n:maxdepth: 1\n\n{toc}\n```\n"
        f"{appendix_toc}\n"
        "```{toctree}\n:caption: 更多\n:maxdepth: 1\n\ngallery\nteachers\nassignments\n"
        "terminology\n```\n")
    english = (ROOT / "README.md").read_text()
    (ZH_STAGE / "gallery.md").write_text(
        "# 图集\n\n（图注为英文。）\n\n" + readme_section(english, "Gallery") + "\n")
    # without its leading comment (the translator's note: which English text it translates)
    teachers = re.sub(r"\A\s*<!--.*?-->\s*", "", (ROOT / "docs" / "teachers.zh.md").read_text(),
                      flags=re.S)
    if not teachers.startswith("# "):  # its top heading is '## ...' (README style)
        teachers = "# 给教师\n\n" + teachers
    (ZH_STAGE / "teachers.md").write_text(teachers.replace("](assignments.zh.md)",
                                                           "](assignments.md)"))
    # the assignments' instructions in Chinese (the graded notebooks themselves stay English)
    assignments = re.sub(r"\A\s*<!--.*?-->\s*", "",
                         (ROOT / "docs" / "assignments.zh.md").read_text(), flags=re.S)
    (ZH_STAGE / "assignments.md").write_text(assignments.replace("](teachers.zh.md)",
                                                                 "](teachers.md)"))
    shutil.copy(ROOT / "docs" / "TERMINOLOGY.md", ZH_STAGE / "terminology.md")


def stage_zh() -> None:
    """Lay out build/book-src/zh: the Chinese pages and executed notebooks, figures."""
    found = sorted((ROOT / "notebooks" / "zh").glob("*.ipynb"))
    course = [p for p in found if COURSE.match(p.name)]
    appendices = [p for p in found if not COURSE.match(p.name)]
    if not course:
        raise SystemExit("notebooks/zh/ has no NN_*.ipynb notebook: run `make zh`")
    for sub in ("notebooks", "figures", "_downloads", "_staged"):
        shutil.rmtree(ZH_STAGE / sub, ignore_errors=True)
    for page in ZH_STAGE.glob("*.md"):
        page.unlink()
    for sub in ("notebooks", "_downloads/notebooks", ".executed", "_staged"):
        (ZH_STAGE / sub).mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "figures", ZH_STAGE / "figures")
    write_zh_pages(course, appendices)
    stage_notebooks(course + appendices, ZH_STAGE, "zh")


def stage() -> None:
    """Lay out build/book-src: pages, executed notebooks, figures, static files."""
    course, appendices = notebooks()
    if not course:
        raise SystemExit("notebooks/ has no NN_*.ipynb course notebook")
    for sub in ("notebooks", "figures", "_static", "_downloads", "_staged"):
        shutil.rmtree(STAGE / sub, ignore_errors=True)
    for page in STAGE.glob("*.md"):  # written again below; none left from older layouts
        page.unlink()
    for sub in ("notebooks", "_static", "_downloads/notebooks", ".executed", "_staged"):
        (STAGE / sub).mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "figures", STAGE / "figures")
    for file in (ROOT / "book" / "_static").iterdir():
        shutil.copy(file, STAGE / "_static" / file.name)
    copy_mathjax(STAGE / "_static" / "mathjax")
    write_pages(course, appendices)
    os.environ.setdefault("MPLCONFIGDIR", str(ROOT / "build" / "mplconfig"))
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    stage_notebooks(course + appendices, STAGE, "en")
    stage_zh()
    start = time.perf_counter()
    from swin_edu.web import write_explorer_data

    counts = write_explorer_data(STAGE / "_static" / "explorers-data.js")
    log(f"kernel-free explorer states computed in {time.perf_counter() - start:.1f} s: {counts}")


def sphinx(builder: str, out: Path, language: str = "en") -> None:
    """Sphinx with a fresh environment (-E): its saved doctrees do not know our extension's
    or the explorer data's inputs. Warnings are errors (-W). ``language`` ``zh``: the Chinese
    edition (book/conf.py reads SWIN_EDU_SITE_LANG)."""
    shutil.rmtree(out, ignore_errors=True)
    source = ZH_STAGE if language == "zh" else STAGE
    options = ["-D", "language=zh_CN"] if language == "zh" else []
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sphinx", "-b", builder, "-c", str(ROOT / "book"),
                    "-E", "-W", "--keep-going", "-q", *options,
                    "-d", str(ROOT / "build" / f"doctrees-{builder}-{language}"),
                    str(source), str(out)], check=True,
                   env={**os.environ, "SWIN_EDU_SITE_LANG": language})
    log(f"sphinx {builder} -> {out.relative_to(ROOT)} in {time.perf_counter() - start:.1f} s")


def print_pdf(html: Path, pdf: Path) -> None:
    """Chromium (Debian's, driven by Playwright) prints the single-page HTML to A4 PDF."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} not found: install Debian's chromium "
                         f"(bash scripts/ci_e2e_setup.sh) or set CHROMIUM=/path/to/chromium")
    start = time.perf_counter()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(html.as_uri(), wait_until="load")
        # MathJax 3 typesets after load: wait for it, then print.
        page.wait_for_function("window.MathJax === undefined || "
                               "(window.MathJax.startup && window.MathJax.startup.promise)",
                               timeout=60_000)
        page.evaluate("async () => { if (window.MathJax) await MathJax.startup.promise; }")
        page.emulate_media(media="print")
        page.pdf(path=str(pdf), format="A4", print_background=True,
                 margin={"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"},
                 display_header_footer=True, header_template="<span></span>",
                 footer_template='<div style="font-size:8px;width:100%;text-align:center">'
                                 '<span class="pageNumber"></span> / <span class="totalPages">'
                                 '</span></div>')
        browser.close()
    log(f"PDF {pdf.relative_to(ROOT)} printed in {time.perf_counter() - start:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="+", choices=["html", "pdf"])
    args = parser.parse_args()
    start = time.perf_counter()
    stage()
    if "html" in args.targets:
        sphinx("html", HTML_OUT)
        sphinx("html", ZH_OUT, "zh")  # after: the English build empties build/book/
    if "pdf" in args.targets:
        sphinx("singlehtml", SINGLE_OUT)
        print_pdf(SINGLE_OUT / "index.html", PDF_OUT)
    log(f"done in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
