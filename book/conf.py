"""Sphinx configuration of the course website; `make book` / `make pdf` run it through
scripts/build_site.py, which stages the sources into build/book-src/ first."""

import os
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / "build" / "book-src"
# The edition being built: "en" (build/book-src -> build/book) or "zh" (build/book-src/zh ->
# build/book/zh, with -D language=zh_CN), set by scripts/build_site.py.
EDITION = os.environ.get("SWIN_EDU_SITE_LANG", "en")
if EDITION not in ("en", "zh"):
    raise ValueError(f"SWIN_EDU_SITE_LANG={EDITION!r}: expected 'en' or 'zh'")
SOURCE = STAGE / "zh" if EDITION == "zh" else STAGE
sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "swin-edu"
author = "the swin-edu authors"
copyright = "the swin-edu authors, MIT licence"
html_title = ("swin-edu：动手构建 Swin Transformer" if EDITION == "zh"
              else "swin-edu: learn the Swin Transformer by building it")

# The repository address, in one place: [tool.swin_edu] repository in pyproject.toml
# (or the SWIN_EDU_REPOSITORY environment variable). Empty: no Binder or source links.
swin_repository = os.environ.get("SWIN_EDU_REPOSITORY") or tomllib.loads(
    (ROOT / "pyproject.toml").read_text()).get("tool", {}).get("swin_edu", {}).get(
    "repository", "")

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax",
              "swin_book"]
root_doc = "index"
exclude_patterns = ["_downloads", ".executed", "_staged", "**/.ipynb_checkpoints"]
if EDITION == "en":
    exclude_patterns.append("zh")  # the Chinese edition is built on its own


def _docs(source: Path, skip: tuple[str, ...]) -> list[str]:
    """The document names of a staged edition."""
    return sorted(str(p.relative_to(source).with_suffix("")) for p in source.rglob("*")
                  if p.suffix in (".md", ".ipynb") and not any(
                      part in skip or part.startswith((".", "_")) for part in
                      p.relative_to(source).parts))


# The language switch on every page (book/_templates/lang-switch.html, swin_book.py): the same
# page in the other edition when it has one, else its landing page.
swin_language = EDITION
swin_other_docs = (_docs(STAGE / "zh", ()) if EDITION == "en" else _docs(STAGE, ("zh",)))
swin_other_root = "zh/" if EDITION == "en" else "../"
templates_path = ["_templates"]
suppress_warnings = ["mystnb.unknown_mime_type"]

# Notebooks were executed by scripts/build_site.py in fresh kernels; never re-run here.
nb_execution_mode = "off"
nb_merge_streams = True
# No ipywidgets JavaScript from a CDN: explorers are replaced by kernel-free versions.
nb_ipywidgets_js = {}
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_google_docstring = True

# MathJax 3 (SVG output: no web fonts) from the sphinx-mathjax-offline wheel, copied into
# _static/mathjax by scripts/build_site.py: nothing from a CDN.
mathjax_path = "mathjax/tex-svg.js"
mathjax3_config = {"options": {"enableMenu": False}}

html_theme = "sphinx_book_theme"
html_static_path = [str(STAGE / "_static")]
html_extra_path = [str(SOURCE / "_downloads")]  # the committed .ipynb beside each page
html_theme_options = {
    "use_download_button": False,   # the run box under each title links the .ipynb
    "use_fullscreen_button": False,
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "article_header_end": ["lang-switch.html", "article-header-buttons.html"],
}
html_last_updated_fmt = None
html_show_sourcelink = False
html_copy_source = False
# An explicit colour mode: without one the theme logs "invalid theme mode" as a console error.
html_context = {"default_mode": "light"}
