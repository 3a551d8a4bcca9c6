"""Sphinx extension for the swin-edu website.

- Where a notebook cell displays an explorer (its last line is ``MaskExplorer(...)`` or a name
  bound to one in that cell), the page shows the kernel-free explorer
  (``_static/explorers.js``) instead of the widget's output, which is a dead view without a
  kernel; explorers with no kernel-free version say so and how to run them.
- Every notebook page starts with how to run it: its ``.ipynb``, ``make lab``, Binder.
- The explorers' scripts and data are added only to the pages that have an explorer.
- Every page links the same page in the other language (English ⇄ 中文), or the other
  edition's landing page where it has no such page (``lang-switch.html``; conf.py sets
  ``swin_language``, ``swin_other_docs``, ``swin_other_root``).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx

# ipywidgets explorer class -> data-explorer kind of explorers.js (None: needs a kernel)
EXPLORERS = {"MaskExplorer": "mask", "RelativePositionExplorer": "relpos",
             "ComplexityExplorer": "complexity", "PatchMergingExplorer": "merging",
             "ShapeTracer": "shapes", "CpbExplorer": None}
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# Arguments that bring data the notebook computed (notebook 09's trained bias table): the
# precomputed states cannot show it, so such an explorer is treated as needing a kernel.
KERNEL_DATA = {"table"}
KERNEL_DATA_KEY = "_kernel_data"


def displayed_explorer(source: str) -> tuple[str, dict] | None:
    """``(class name, literal keyword arguments)`` of the explorer a cell displays, if any."""
    try:
        body = ast.parse(source).body
    except SyntaxError:  # IPython magics
        return None
    if not body or not isinstance(body[-1], ast.Expr):
        return None
    value, calls = body[-1].value, {}
    for statement in body:
        if (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)):
            calls[statement.targets[0].id] = statement.value
    if isinstance(value, ast.Name):
        value = calls.get(value.id)
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
            and value.func.id in EXPLORERS):
        return None
    kwargs = {}
    for keyword in value.keywords:
        try:
            kwargs[keyword.arg] = ast.literal_eval(keyword.value)
        except ValueError:  # a computed argument: the explorer starts from its default there
            if keyword.arg in KERNEL_DATA:
                return value.func.id, {KERNEL_DATA_KEY: keyword.arg}
    return value.func.id, kwargs


def explorer_kind(name: str, kwargs: dict) -> str | None:
    """The explorers.js kind that shows this explorer; None where it needs a kernel."""
    return None if KERNEL_DATA_KEY in kwargs else EXPLORERS[name]


def explorer_node(name: str, kwargs: dict, language: str = "en") -> nodes.raw:
    kind = explorer_kind(name, kwargs)
    if language == "zh":  # the explorer itself keeps its English labels (explorers.js)
        if kind is None:
            data = (f"（它显示这个 notebook 计算出的 <code>{kwargs[KERNEL_DATA_KEY]}</code>）"
                    if KERNEL_DATA_KEY in kwargs else "")
            return nodes.raw("", f'<p class="swin-edu-kf-note"><code>{name}</code> 探索器{data}需要 '
                             f"Python 内核：运行这个 notebook（<code>make lab</code> 或 Binder）"
                             f"才能使用它的滑块。</p>", format="html")
        init = json.dumps(kwargs).replace("'", "&#39;")
        return nodes.raw("", f'<p class="swin-edu-kf-note">这个探索器无需 Python 就能在本页使用：'
                         f"它的各个状态在构建网站时由程序包计算（范围比 notebook 中的控件小；"
                         f"界面文字为英文）。</p>\n<div class=\"swin-edu-kf\" "
                         f"data-explorer=\"{kind}\" data-init='{init}'></div>", format="html")
    if kind is None:
        data = (f" (it shows the <code>{kwargs[KERNEL_DATA_KEY]}</code> this notebook "
                f"computed)" if KERNEL_DATA_KEY in kwargs else "")
        text = (f'<p class="swin-edu-kf-note">The <code>{name}</code> explorer{data} needs a '
                f"Python kernel: run this notebook (<code>make lab</code>, or Binder) to use "
                f"its sliders.</p>")
    else:
        init = json.dumps(kwargs).replace("'", "&#39;")
        text = (f'<p class="swin-edu-kf-note">This explorer works on this page without Python: '
                f"its states were computed by the package when the site was built (smaller "
                f"ranges than the notebook's widget).</p>\n"
                f"<div class=\"swin-edu-kf\" data-explorer=\"{kind}\" data-init='{init}'></div>")
    return nodes.raw("", text, format="html")


def replace_widget_outputs(app: Sphinx, doctree: nodes.document) -> None:
    docname = app.env.docname
    found = False
    for cell in list(doctree.findall(nodes.container)):
        if cell.get("nb_element") != "cell_code":
            continue
        sources = [c for c in cell.children if c.get("nb_element") == "cell_code_source"]
        outputs = [c for c in cell.children if c.get("nb_element") == "cell_code_output"]
        if not sources or not outputs:
            continue
        shown = displayed_explorer(sources[0].astext())
        if shown is None:
            continue
        output = outputs[0]
        # The widget's output: its view (a dead script without ipywidgets) and its text/plain
        # fallback ("VBox(children=..."), whichever the renderer picked. Other output stays.
        for child in list(output.children):
            text = child.astext()
            if WIDGET_VIEW in text or text.lstrip().startswith(("VBox(", "HBox(")):
                output.remove(child)
        output += explorer_node(*shown, app.config.swin_language)
        found = found or explorer_kind(*shown) is not None
    if found or "swin-edu-kf" in doctree.astext() or any(
            "swin-edu-kf" in raw.astext() for raw in doctree.findall(nodes.raw)):
        app.env.swin_explorer_docs = getattr(app.env, "swin_explorer_docs", set()) | {docname}


def add_run_box(app: Sphinx, doctree: nodes.document) -> None:
    """Under a notebook page's title: its .ipynb, ``make lab`` and Binder."""
    docname = app.env.docname
    if not docname.startswith("notebooks/"):
        return
    name = docname.split("/", 1)[1] + ".ipynb"
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    repository = app.config.swin_repository.rstrip("/")
    zh = app.config.swin_language == "zh"
    folder = "notebooks/zh" if zh else "notebooks"
    box = nodes.admonition(classes=["tip", "swin-edu-run"])
    box += nodes.title("", "运行这个 notebook" if zh else "Run this notebook")
    para = nodes.paragraph()
    para += nodes.Text("本页是 notebook " if zh else "This page is the notebook ")
    para += nodes.reference("", name, refuri=name)
    if zh:
        para += nodes.Text("（提交时的版本，不含输出）在构建本网站时执行的结果。要自己运行，"
                           "在仓库的克隆中：")
        para += nodes.literal("", "make lab-zh")
        para += nodes.Text(f"（用 CPU 版 PyTorch 构建 .venv 并打开 JupyterLab），然后打开 "
                           f"{folder}/{name}。在 Binder 上（按 environment.yml 构建）：")
    else:
        para += nodes.Text(" (as committed, without outputs) executed when the site was built. "
                           "To run it yourself, in a clone of the repository: ")
        para += nodes.literal("", "make lab")
        para += nodes.Text(" (builds .venv with CPU PyTorch and opens JupyterLab), then open "
                           f"{folder}/{name}. On Binder, which builds from environment.yml: ")
    if repository:
        url = (f"https://mybinder.org/v2/gh/{repository.split('github.com/')[-1]}/HEAD"
               f"?labpath={folder}/{name}")
        para += nodes.reference("", "在 Binder 上启动" if zh else "launch it on Binder",
                                refuri=url)
        para += nodes.Text("（源码：" if zh else " (source: ")
        para += nodes.reference("", repository, refuri=repository)
        para += nodes.Text("）。" if zh else ").")
    else:
        para += nodes.Text(f"把 mybinder.org 指向本仓库并打开 {folder}/{name}。" if zh else
                           f"point mybinder.org at the repository and open {folder}/{name}.")
    box += para
    title_index = next(i for i, child in enumerate(section.children)
                       if isinstance(child, nodes.title))
    section.insert(title_index + 1, box)


def add_scripts(app: Sphinx, pagename: str, templatename: str, context: dict,
                doctree) -> None:
    docs = getattr(app.env, "swin_explorer_docs", set())
    if pagename in docs or (app.builder.name == "singlehtml" and docs):
        app.add_js_file("explorers-data.js")
        app.add_js_file("explorers.js")


LANGUAGE_NAMES = {"en": "English", "zh": "中文"}
BUILT_PAGES = ("genindex", "search")  # pages Sphinx writes in both editions


def language_switch(app: Sphinx, pagename: str, templatename: str, context: dict,
                    doctree) -> None:
    """``swin_switch``: the other edition's language, its name and the URL of this page
    there (relative, so the site works from any folder)."""
    config = app.config
    other = "en" if config.swin_language == "zh" else "zh"
    same = pagename in config.swin_other_docs or pagename in BUILT_PAGES
    target = pagename if same else "index"
    url = "../" * pagename.count("/") + config.swin_other_root + target + ".html"
    context["swin_switch"] = {"lang": other, "name": LANGUAGE_NAMES[other], "url": url,
                              "same": same}


def chinese_search():
    """Sphinx 9.0's Chinese search (``sphinx.search.zh``) ships the English stemmer but its
    ``language_data.js`` sets ``window.Stemmer = ChineseStemmer``, a name nothing defines: a
    page error on every page of the Chinese edition. The same search, naming the stemmer it
    ships; ``None`` where Sphinx no longer has the mismatch."""
    from sphinx.search.zh import SearchChinese

    if (SearchChinese.js_stemmer_rawcode != "english-stemmer.js"
            or SearchChinese.language_name == "English"):
        return None

    class SearchChineseEnglishStemmer(SearchChinese):
        language_name = "English"  # only names the stemmer in language_data.js

    return SearchChineseEnglishStemmer


def purge(app: Sphinx, env, docname: str) -> None:
    getattr(env, "swin_explorer_docs", set()).discard(docname)


def merge(app: Sphinx, env, docnames, other) -> None:
    env.swin_explorer_docs = (getattr(env, "swin_explorer_docs", set())
                              | (getattr(other, "swin_explorer_docs", set()) & set(docnames)))


def setup(app: Sphinx) -> dict:
    app.add_config_value("swin_repository", "", "html")
    app.add_config_value("swin_language", "en", "html")
    app.add_config_value("swin_other_docs", [], "html")
    app.add_config_value("swin_other_root", "zh/", "html")
    app.connect("html-page-context", language_switch)
    search = chinese_search()
    if search is not None:
        app.add_search_language(search)
    app.connect("doctree-read", replace_widget_outputs)
    app.connect("doctree-read", add_run_box)
    app.connect("html-page-context", add_scripts)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    app.add_css_file("explorers.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
