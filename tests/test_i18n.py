"""The Chinese edition: translations current (drift), generated notebooks current, glossary
terms used, links kept, stable ids, and the ``tr`` message catalogue."""

import importlib.util
import json
import re
import shutil
import string
import sys
from pathlib import Path

import nbformat
import pytest

from swin_edu import i18n as locale
from test_notebook_links import check_issue_mentions, check_links

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("i18n_tool", ROOT / "scripts" / "i18n.py")
tool = importlib.util.module_from_spec(_spec)
sys.modules["i18n_tool"] = tool  # dataclasses look their module up there
_spec.loader.exec_module(tool)

SOURCES = tool.source_notebooks()
CJK = re.compile(r"[\u4e00-\u9fff]")


# ---------------------------------------------------------------- drift

def test_every_cell_is_translated_and_current():
    problems = tool.check_all()
    assert not problems, ("Chinese edition out of date (run `make zh-status`, translate in "
                          "i18n/zh/, stamp, `make zh`):\n" + "\n".join(map(str, problems)))


def test_translated_docs_are_current():
    problems = tool.check_docs()
    assert not problems, "\n".join(map(str, problems))


def test_doc_drift_is_caught(monkeypatch, tmp_path):
    english = tmp_path / "teachers.md"
    english.write_text((ROOT / "docs" / "teachers.md").read_text() + "\nA new step.\n")
    monkeypatch.setattr(tool, "DOCS", {"docs/teachers.zh.md": str(english)})
    assert [p.kind for p in tool.check_docs()] == ["stale"]


def test_readme_course_section_drift_is_caught(monkeypatch, tmp_path):
    english = tmp_path / "README.md"
    english.write_text((ROOT / "README.md").read_text().replace(
        "## The course\n", "## The course\n\nA new sentence.\n", 1))
    monkeypatch.setattr(tool, "SECTIONS", {"README.zh.md": (str(english), "## The course")})
    assert [(p.cell_id, p.kind) for p in tool.check_sections()] == [("## The course", "stale")]


def test_a_change_outside_the_course_section_is_not_drift(monkeypatch, tmp_path):
    english = tmp_path / "README.md"
    english.write_text((ROOT / "README.md").read_text() + "\n## Later\n\nMore.\n")
    monkeypatch.setattr(tool, "SECTIONS", {"README.zh.md": (str(english), "## The course")})
    assert tool.check_sections() == []


def test_assignments_doc_is_current():
    assert {p.stem for p in tool.assignment_notebooks()} == {
        "01_patch_merging", "02_windows", "03_relative_position", "04_shifted_window_mask",
        "05_window_attention", "06_complexity"}
    problems = tool.check_assignments_doc()
    assert not problems, "\n".join(map(str, problems))


def test_assignments_doc_drift_is_caught(monkeypatch, tmp_path):
    shutil.copytree(ROOT / "notebooks" / "assignments", tmp_path / "assignments")
    path = tmp_path / "assignments" / "04_shifted_window_mask" / "04_shifted_window_mask.ipynb"
    notebook = nbformat.read(path, 4)
    cell = next(c for c in notebook.cells if c.cell_type == "markdown")
    cell.source += "\nA new sentence."
    nbformat.write(notebook, path)
    monkeypatch.setattr(tool, "ASSIGNMENT_DIR", tmp_path / "assignments")
    assert [(p.notebook, p.cell_id, p.kind) for p in tool.check_docs()] == [
        ("docs/assignments.zh.md", "04_shifted_window_mask", "stale")]
    assert tool.main(["check"]) == 1


def test_assignments_doc_ignores_code_and_solution_cells(monkeypatch, tmp_path):
    shutil.copytree(ROOT / "notebooks" / "assignments", tmp_path / "assignments")
    path = tmp_path / "assignments" / "06_complexity" / "06_complexity.ipynb"
    notebook = nbformat.read(path, 4)
    solution = next(c for c in notebook.cells
                    if (c.metadata.get("nbgrader") or {}).get("solution")
                    and c.cell_type == "markdown")
    solution.source += "\nMore of the teacher's answer."
    next(c for c in notebook.cells if c.cell_type == "code").source += "\n# a comment"
    nbformat.write(notebook, path)
    monkeypatch.setattr(tool, "ASSIGNMENT_DIR", tmp_path / "assignments")
    assert tool.check_assignments_doc() == []
    path.parent.rename(tmp_path / "assignments" / "07_gone")
    (tmp_path / "assignments" / "07_gone" / "06_complexity.ipynb").rename(
        tmp_path / "assignments" / "07_gone" / "07_gone.ipynb")
    assert [(p.cell_id, p.kind) for p in tool.check_assignments_doc()] == [
        ("07_gone", "missing"), ("06_complexity", "orphan")]


def _assignment_sections() -> dict[str, str]:
    """``{ID: section}``: a section runs from its ``## `` heading to the next one."""
    text = (ROOT / tool.ASSIGNMENTS_DOC).read_text(encoding="utf-8")
    sections = {}
    for section in re.split(r"^(?=## )", text, flags=re.M):
        stamps = tool.ASSIGNMENT_STAMP.findall(section)
        assert len(stamps) <= 1, f"one en_sha1 line per section: {stamps}"
        if stamps:
            sections[stamps[0][0]] = section
    return sections


def test_assignments_doc_keeps_code_spans_links_and_maths():
    sections = _assignment_sections()
    problems = []
    for path in tool.assignment_notebooks():
        english, chinese = tool.assignment_english(path), sections.get(path.stem, "")
        prose = re.sub(r"```.*?```", " ", english, flags=re.S)
        for span in set(re.findall(r"`[^`\n]+`", prose)):
            if span not in chinese:
                problems.append(f"{path.stem}: code {span} lost")
        for target in re.findall(r"\]\(([^)]+)\)", english):
            if f"]({target})" not in chinese:
                problems.append(f"{path.stem}: link {target!r} lost")
        for block in re.findall(r"\$\$.*?\$\$", english, flags=re.S):
            if block not in chinese:
                problems.append(f"{path.stem}: maths {block} changed")
        code_lines = [line.split("#")[0].rstrip() for block in re.findall(r"```(.*?)```", english,
                                                                            flags=re.S)
                      for line in block.splitlines()]
        problems += [f"{path.stem}: code line {line!r} lost"
                     for line in code_lines if line not in chinese]
        if not CJK.search(chinese):
            problems.append(f"{path.stem}: no Chinese")
    assert not problems, "\n".join(problems)


def test_generated_notebooks_are_what_the_generator_writes():
    assert tool.outdated_outputs() == [], "run `make zh`"


def test_every_source_notebook_has_a_chinese_edition():
    assert {p.name for p in SOURCES} == {p.name for p in tool.OUT_DIR.glob("*.ipynb")}
    assert "appendix_errata.ipynb" in {p.name for p in SOURCES}


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A copy of notebooks/ and i18n/zh/ that a test may edit; the tool pointed at it."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for path in SOURCES:
        shutil.copy(path, notebooks / path.name)
    shutil.copytree(tool.OUT_DIR, notebooks / "zh")
    (notebooks / "assignments").symlink_to(tool.NOTEBOOK_DIR / "assignments")  # links resolve
    shutil.copytree(tool.TRANSLATIONS, tmp_path / "i18n" / "zh")
    monkeypatch.setattr(tool, "NOTEBOOK_DIR", notebooks)
    monkeypatch.setattr(tool, "OUT_DIR", notebooks / "zh")
    monkeypatch.setattr(tool, "TRANSLATIONS", tmp_path / "i18n" / "zh")
    return notebooks


def _edit(path: Path, index: int, change) -> str:
    notebook = nbformat.read(path, as_version=4)
    cell = notebook.cells[index]
    change(cell)
    nbformat.write(notebook, path)
    return cell.id


def _first(path: Path, kind: str, commented: bool = False) -> int:
    cells = nbformat.read(path, as_version=4).cells
    return next(i for i, c in enumerate(cells) if c.cell_type == kind
                and (not commented or tool.code_comments(c.source)))


def test_drift_check_fails_on_a_changed_english_cell(sandbox):
    path = sandbox / "05_shifted_windows.ipynb"
    assert tool.check_all() == [] and tool.outdated_outputs() == []
    changed = _edit(path, _first(path, "markdown"), lambda c: setattr(
        c, "source", c.source + "\n\nOne more sentence."))
    problems = tool.check_all()
    assert [(p.notebook, p.cell_id, p.kind) for p in problems] == [
        ("05_shifted_windows.ipynb", changed, "stale")]
    assert "05_shifted_windows.ipynb: translations not current" in tool.outdated_outputs()
    with pytest.raises(ValueError, match=changed):
        tool.build()


def test_drift_check_fails_on_a_changed_code_comment_but_not_on_code(sandbox):
    path = sandbox / "03_window_attention.ipynb"
    index = _first(path, "code", commented=True)
    _edit(path, index, lambda c: setattr(c, "source", c.source + "\nassert True"))
    assert tool.check_all() == []  # code is shared: no translation depends on it
    changed = _edit(path, index, lambda c: setattr(c, "source", c.source + "  # a new comment"))
    assert [(p.cell_id, p.kind) for p in tool.check_all()] == [(changed, "stale")]


def test_drift_check_fails_on_new_and_removed_cells(sandbox):
    path = sandbox / "00_overview.ipynb"
    notebook = nbformat.read(path, as_version=4)
    removed = notebook.cells.pop(1).id
    notebook.cells.append(nbformat.v4.new_markdown_cell("A new paragraph.", id="new-cell"))
    nbformat.write(notebook, path)
    kinds = {(p.cell_id, p.kind) for p in tool.check_all()}
    assert kinds == {("new-cell", "missing"), (removed, "orphan")}


def test_generated_notebook_edited_by_hand_is_caught(sandbox):
    target = sandbox / "zh" / "01_patch_partition.ipynb"
    target.write_text(target.read_text(encoding="utf-8").replace("图像块", "补丁", 1),
                      encoding="utf-8")
    assert tool.outdated_outputs() == [
        "notebooks/zh/01_patch_partition.ipynb is not what `make zh` writes now"]


def test_stamp_after_retranslation_makes_the_cell_current(sandbox):
    path = sandbox / "02_patch_merging.ipynb"
    changed = _edit(path, _first(path, "markdown"), lambda c: setattr(c, "source",
                                                                      c.source + "\n\nMore."))
    entries = tool.load_translations(path)
    entries[changed]["zh"] += "\n\n更多。"
    tool.save_translations(path, entries)
    assert tool.check_all()  # still stale: the zh changed but the English was not stamped
    tool.stamp(path, [changed])
    assert tool.check_all() == []
    tool.build()
    assert tool.outdated_outputs() == []


# ---------------------------------------------------------------- stable ids

def _positional(sources: list[str]) -> dict:
    return {"cells": [{"cell_type": "markdown", "id": str(i), "metadata": {}, "source": s}
                      for i, s in enumerate(sources)], "nbformat": 4, "nbformat_minor": 5,
            "metadata": {}}


def test_ids_come_from_the_content_and_are_kept():
    notebook = _positional(["# A", "same", "same"])
    assert tool.assign_ids(notebook) == 3
    ids = [c["id"] for c in notebook["cells"]]
    assert ids[0] == tool.sha1("# A")[:8] and ids[2] == ids[1] + "-2"
    notebook["cells"][0]["source"] = "# A, edited"
    assert tool.assign_ids(notebook) == 0 and notebook["cells"][0]["id"] == ids[0]
    again = _positional(["# A", "same", "same"])  # another branch, same content
    tool.assign_ids(again)
    assert [c["id"] for c in again["cells"]] == ids


def test_an_id_is_never_all_digits():
    digits = next(s for s in (str(i) for i in range(10_000)) if tool.sha1(s)[:8].isdigit())
    notebook = _positional([digits])
    tool.assign_ids(notebook)
    assert not notebook["cells"][0]["id"].isdigit()
    assert tool.sha1(digits).startswith(notebook["cells"][0]["id"])


def _renumber(path: Path, edit_first_cell: str = "") -> None:
    """What nbstripout without --keep-id does: ids become positions (optionally after
    appending ``edit_first_cell`` to the first cell)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if edit_first_cell:
        data["cells"][0]["source"] = "".join(data["cells"][0]["source"]) + edit_first_cell
    for i, cell in enumerate(data["cells"]):
        cell["id"] = str(i)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _ids_from_sources(path: Path) -> None:
    """Every id ``sha1(source now)``: committed ids are hashes of the source when the cell got
    its id, and a cell edited since keeps it, so a renumbering would change those ids too."""
    _renumber(path)
    tool.assign_ids_in_files([path])


def test_ids_command_changes_only_id_fields(tmp_path):
    committed = (ROOT / "notebooks" / "00_overview.ipynb").read_text(encoding="utf-8")
    path = tmp_path / "00_overview.ipynb"
    path.write_text(committed, encoding="utf-8")
    _ids_from_sources(path)
    any_id = re.compile(r'"id": "[^"]*"')  # the layout and key order are the committed ones
    assert any_id.sub('"id": ""', path.read_text(encoding="utf-8")) == \
        any_id.sub('"id": ""', committed)
    original = path.read_text(encoding="utf-8")
    _renumber(path)
    tool.assign_ids_in_files([path])
    assert path.read_text(encoding="utf-8") == original


def test_ids_reattach_a_translation_after_nbstripout_renumbered_a_changed_cell(sandbox):
    path = sandbox / "04_relative_position.ipynb"
    _ids_from_sources(path)
    tool.reattach(path)
    assert tool.check_all() == []  # every translation found its cell again, still current
    old = nbformat.read(path, 4).cells[0].id
    _renumber(path, edit_first_cell="\n\nOne more sentence.")
    tool.assign_ids_in_files([path])
    new = nbformat.read(path, 4).cells[0].id
    assert new != old
    assert tool.reattach(path) == [(old, new)]
    assert [(p.cell_id, p.kind) for p in tool.check_all()] == [(new, "stale")]


def test_committed_notebooks_have_stable_ids():
    for path in SOURCES + sorted(tool.OUT_DIR.glob("*.ipynb")):
        bad = [c["id"] for c in json.loads(path.read_text())["cells"] if tool.needs_id(c)]
        assert not bad, f"{path.name}: positional ids {bad}; run `make zh-ids`"


# ---------------------------------------------------------------- glossary

def _glossary() -> list[tuple[str, str, list[str]]]:
    rows = []
    for line in (ROOT / "docs" / "TERMINOLOGY.md").read_text(encoding="utf-8").splitlines():
        cols = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cols) == 4 and cols[0] not in ("English", "---") and line.startswith("|"):
            avoid = [w.strip() for w in cols[2].split(",") if w.strip()]
            rows.append((cols[0], cols[1], avoid))
    return rows


GLOSSARY = _glossary()


def _prose(markdown: str) -> str:
    """Markdown without code, link targets, block quotes and quoted text."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = re.sub(r"`[^`\n]*`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(">"))
    return re.sub(r"“[^”]*”|\"[^\"\n]*\"", " ", text)


def _uses(english: str, term: str) -> bool:
    words = r"[\s-]+".join(re.escape(w) for w in term.split())
    return re.search(rf"(?<![\w-]){words}s?(?![\w-])", english, flags=re.I) is not None


def _translated_markdown():
    for path in SOURCES:
        cells = {c.id: c for c in nbformat.read(path, 4).cells}
        for cell_id, entry in tool.load_translations(path).items():
            if cells[cell_id].cell_type == "markdown":
                yield path.name, cell_id, cells[cell_id].source, entry["zh"]


def test_glossary_has_the_issue_terms():
    english = {row[0] for row in GLOSSARY}
    assert {"window", "shifted window", "cyclic shift", "patch partition", "patch merging",
            "relative position bias", "relative position index", "attention mask", "token",
            "stage", "complexity"} <= english
    chinese = [row[1] for row in GLOSSARY]
    assert len(chinese) == len(set(chinese)), "one Chinese term per English term"


def test_translations_use_the_glossary_terms():
    problems = []
    for name, cell_id, english, chinese in _translated_markdown():
        en, zh = _prose(english), _prose(chinese)
        for term, chosen, avoid in GLOSSARY:
            if _uses(en, term) and chosen not in chinese:
                problems.append(f"{name} {cell_id}: '{term}' but no '{chosen}'")
            rest = zh.replace(chosen, "")  # 块合并 is avoided, 图像块合并 is the term
            problems += [f"{name} {cell_id}: '{word}' (use '{chosen}')"
                         for word in avoid if word in rest]
    assert not problems, "\n".join(problems)


def test_glossary_check_can_fail():
    term, chosen, avoid = next(row for row in GLOSSARY if row[0] == "cyclic shift")
    assert _uses("This is the paper's cyclic shift.", term)
    assert not _uses("`cyclic_shift(x)`".replace("`cyclic_shift(x)`", ""), term)
    assert avoid and avoid[0] not in _prose(f"> 原文：{avoid[0]}")
    assert avoid[0] in _prose(f"正文：{avoid[0]}")


def test_assignments_doc_uses_the_glossary_terms():
    sections = _assignment_sections()
    problems = []
    for path in tool.assignment_notebooks():
        en, chinese = _prose(tool.assignment_english(path)), sections[path.stem]
        zh = _prose(chinese)
        for term, chosen, avoid in GLOSSARY:
            if _uses(en, term) and chosen not in chinese:
                problems.append(f"{path.stem}: '{term}' but no '{chosen}'")
            problems += [f"{path.stem}: '{word}' (use '{chosen}')"
                         for word in avoid if word in zh.replace(chosen, "")]
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- what translation keeps

@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_translation_keeps_code_spans_and_links(path):
    cells = {c.id: c for c in nbformat.read(path, 4).cells}
    problems = []
    for cell_id, entry in tool.load_translations(path).items():
        if cells[cell_id].cell_type != "markdown":
            continue
        english, chinese = cells[cell_id].source, entry["zh"]
        if re.search(r"[A-Za-z]{3}", _prose(english)) and not CJK.search(chinese):
            problems.append(f"{cell_id}: no Chinese in the translation")
        for target in re.findall(r"\]\(([^)]+)\)", english):
            if f"]({target})" not in chinese:
                problems.append(f"{cell_id}: link {target!r} lost")
        for span in set(re.findall(r"`[^`\n]+`", english)):
            if span not in chinese:
                problems.append(f"{cell_id}: code {span} lost")
        if english.count("$$") != chinese.count("$$"):
            problems.append(f"{cell_id}: display maths changed")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", sorted(tool.OUT_DIR.glob("*.ipynb"))
                         + sorted((ROOT / "notebooks").glob("appendix_*.ipynb")),
                         ids=lambda p: p.relative_to(ROOT / "notebooks").as_posix())
def test_generated_and_appendix_links_resolve(path):
    cells = [c.source for c in nbformat.read(path, 4).cells if c.cell_type == "markdown"]
    problems = [p for md in cells for p in check_links(md, path.parent) + check_issue_mentions(md)]
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def test_code_is_shared_not_copied():
    for path in SOURCES:
        english = nbformat.read(path, 4).cells
        chinese = [c for c in nbformat.read(tool.OUT_DIR / path.name, 4).cells
                   if c.id != tool.LANGUAGE_CELL_ID]  # the one generated cell
        assert [c.id for c in english] == [c.id for c in chinese]
        for en, zh in zip(english, chinese):
            if en.cell_type == "code":
                strip = lambda s: re.sub(r"#.*", "", s)  # noqa: E731
                assert strip(en.source) == strip(zh.source), f"{path.name} {en.id}"


# ---------------------------------------------------------------- tr()

@pytest.fixture
def language():
    yield locale
    locale._language = None


def test_tr_follows_the_language(language, monkeypatch):
    monkeypatch.delenv(locale.ENV_VAR, raising=False)
    assert language.tr("window size M") == "window size M"
    language.set_language("zh")
    assert language.tr("window size M") == "窗口大小 M"
    assert language.tr("mask of window {window}", window=3) == "窗口 3 的掩码"


def test_tr_reads_the_environment(language, monkeypatch):
    monkeypatch.setenv(locale.ENV_VAR, "zh")
    assert language.get_language() == "zh"
    assert language.tr("shift S") == "移位 S"
    monkeypatch.setenv(locale.ENV_VAR, "fr")
    with pytest.raises(ValueError, match="SWIN_EDU_LANG='fr'"):
        language.get_language()


def test_tr_rejects_unknown_keys_and_languages(language):
    with pytest.raises(KeyError, match="window sise"):
        language.tr("window sise")
    with pytest.raises(ValueError, match=r"language='de': expected one of \['en', 'zh'\]"):
        language.set_language("de")


def test_figure_text_stays_english_without_a_cjk_font(language, monkeypatch):
    language.set_language("zh")
    monkeypatch.setattr(locale, "has_cjk_font", lambda: None)
    assert language.tr("tokens hw", figure=True) == "tokens hw"
    monkeypatch.setattr(locale, "has_cjk_font", lambda: "Noto Sans CJK SC")
    assert language.tr("tokens hw", figure=True) == "词元数 hw"


@pytest.mark.parametrize("key", sorted(locale.MESSAGES["zh"]))
def test_catalogue_entries_have_the_same_fields(key):
    fields = lambda s: sorted(f for _, f, _, _ in string.Formatter().parse(s) if f)  # noqa: E731
    assert fields(key) == fields(locale.MESSAGES["zh"][key])
    assert CJK.search(locale.MESSAGES["zh"][key]) or key == locale.MESSAGES["zh"][key] or \
        key.replace(": ", "：") == locale.MESSAGES["zh"][key]


# ---------------------------------------------------------------- how to open it

def test_make_lab_zh_opens_the_chinese_course():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("lab-zh: venv", 1)[1].split("\n\n", 1)[0]
    assert "notebooks/zh/00_overview.ipynb" in recipe
    assert (ROOT / "notebooks" / "zh" / "00_overview.ipynb").exists()
    readme = (ROOT / "README.zh.md").read_text(encoding="utf-8")
    assert "make lab-zh" in readme and "notebooks/zh/00_overview.ipynb" in readme


def test_chinese_notebooks_switch_the_explorers_to_chinese():
    for path in SOURCES:
        cells = nbformat.read(tool.OUT_DIR / path.name, 4).cells
        setup = [c for c in cells if c.id == tool.LANGUAGE_CELL_ID]
        first_code = next(c for c in cells if c.cell_type == "code")
        assert setup == [first_code] and "set_language('zh')" in first_code.source, path.name
