"""The Chinese edition of the course: one English source, translation files keyed by cell id.

    python scripts/i18n.py ids              give every notebook cell a stable id (in place)
    python scripts/i18n.py status [NB...]   list cells that need (re)translation
    python scripts/i18n.py status --diff    ... with a diff of the English since it was translated
    python scripts/i18n.py stamp NB ID...   record the current English of cells just retranslated
    python scripts/i18n.py build            write notebooks/zh/*.ipynb (refuses while any is stale)
    python scripts/i18n.py check            exit 1 if anything is stale or notebooks/zh is old

Cell ids. nbformat's default ids, and nbstripout's unless given ``--keep-id``, are positions
('0', '1', ...): useless as keys. A cell whose id is missing or purely numeric gets
``sha1(source)[:8]`` (longer if those 8 are all digits; ``-2``, ``-3`` ... for a duplicate in
the same notebook). An id, once assigned, is kept when the cell's text changes later, so a
translation stays attached to its cell; re-running ``ids`` after a merge gives an unchanged cell
the same id on every branch.

Translation files: ``i18n/zh/<notebook stem>.yml``, ``cells: {id: entry}``. A markdown entry is
``{en_sha1, en, zh}``: the sha1 and the text of the English it translates and the full Chinese
text. A code entry is ``{en_sha1, en, replace: [{en, zh}, ...]}`` where ``en`` is the cell's
comment lines (the only part a code cell's translation depends on) and each replacement swaps an
English comment or string for its Chinese one; the code itself is shared, never copied.
A markdown cell always needs an entry; a code cell needs one when it has comments.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import hashlib
import io
import json
import re
import sys
import tokenize
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
LANG = "zh"
TRANSLATIONS = ROOT / "i18n" / LANG
OUT_DIR = NOTEBOOK_DIR / LANG
# Relative links in a generated notebook are one folder deeper than in its source.
RELATIVE_LINK = re.compile(r"(\]\(|src=\")\.\./")


def source_notebooks() -> list[Path]:
    """The English notebooks that have a Chinese edition: the course and its appendices."""
    return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb")) + sorted(
        NOTEBOOK_DIR.glob("appendix_*.ipynb"))


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- stable cell ids

def needs_id(cell: dict) -> bool:
    cell_id = cell.get("id")
    return not cell_id or str(cell_id).isdigit()


def assign_ids(notebook: dict) -> int:
    """Give each cell without a stable id ``sha1(source)[:8]`` (suffix ``-2``... if taken).

    Returns the number of ids assigned. Ids that are already stable are never changed.
    """
    taken = {c["id"] for c in notebook["cells"] if not needs_id(c)}
    assigned = 0
    for cell in notebook["cells"]:
        if not needs_id(cell):
            continue
        digest = sha1(_source(cell))
        length = 8
        while digest[:length].isdigit():  # an all-digit id would read as a position
            length += 1
        base = digest[:length]
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = f"{base}-{n}"
        cell["id"] = candidate
        taken.add(candidate)
        assigned += 1
    return assigned


def assign_ids_in_files(paths: list[Path]) -> dict[str, int]:
    """Assign ids in place. Only the ``id`` fields change: the JSON keeps its key order and
    layout (nbformat's writer would re-sort keys, an unrelated diff in every notebook)."""
    counts = {}
    for path in paths:
        text = path.read_text(encoding="utf-8")
        notebook = json.loads(text)
        n = assign_ids(notebook)
        if n:
            if (notebook["nbformat"], notebook["nbformat_minor"]) < (4, 5):
                raise ValueError(f"{path.name}: nbformat {notebook['nbformat']}."
                                 f"{notebook['nbformat_minor']} has no cell ids; expected >= 4.5")
            out = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
            path.write_text(out, encoding="utf-8")
        counts[path.name] = n
    return counts


# ---------------------------------------------------------------- translatable text

def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def code_comments(source: str) -> str:
    """The comment tokens of a code cell, one per line (IPython magics are skipped)."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline))
    except (tokenize.TokenError, SyntaxError):
        return "\n".join(line[line.index("#"):] for line in lines if "#" in line)
    return "\n".join(t.string for t in tokens if t.type == tokenize.COMMENT)


def translatable(cell: dict) -> str | None:
    """What a translation of this cell depends on, or None when it needs no translation."""
    if cell["cell_type"] == "markdown":
        return _source(cell)
    if cell["cell_type"] == "code":
        return code_comments(_source(cell)) or None
    return None


# ---------------------------------------------------------------- translation files

def translation_path(notebook: Path) -> Path:
    return TRANSLATIONS / f"{notebook.stem}.yml"


def load_translations(notebook: Path) -> dict[str, dict]:
    path = translation_path(notebook)
    if not path.exists():
        return {}
    # BaseLoader: every scalar is a string, so ids such as 23382842 or 03170515 stay ids.
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader) or {}
    return data.get("cells") or {}


class _Dumper(yaml.SafeDumper):
    pass


def _str_representer(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)

HEADER = ("# Chinese translation of notebooks/{name}, keyed by cell id (see scripts/i18n.py).\n"
          "# en_sha1/en: the English this entry translates; a changed English cell shows up in\n"
          "# `make zh-status` until its zh is updated and the cell is stamped.\n")


def save_translations(notebook: Path, cells: dict[str, dict]) -> None:
    order = {cell.get("id"): i for i, cell in enumerate(nbformat.read(notebook, 4).cells)}
    ordered = dict(sorted(cells.items(), key=lambda item: order.get(item[0], len(order))))
    ordered = {key: {k: entry[k] for k in ("en_sha1", "en", "zh", "replace") if k in entry}
               for key, entry in ordered.items()}
    text = yaml.dump({"cells": ordered}, Dumper=_Dumper, allow_unicode=True, sort_keys=False,
                     width=10_000)
    translation_path(notebook).parent.mkdir(parents=True, exist_ok=True)
    translation_path(notebook).write_text(HEADER.format(name=notebook.name) + text,
                                          encoding="utf-8")


# ---------------------------------------------------------------- drift

@dataclass(frozen=True)
class Problem:
    notebook: str
    cell_id: str
    kind: str  # missing | stale | orphan | bad-replace | bad-id
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.notebook} {self.cell_id}: {self.kind}{' - ' + self.detail if self.detail else ''}"


def check_notebook(path: Path) -> list[Problem]:
    """Everything that stops the Chinese edition of ``path`` from being current."""
    notebook = nbformat.read(path, as_version=4)
    entries = load_translations(path)
    problems, seen = [], set()
    for cell in notebook.cells:
        if needs_id(cell):
            problems.append(Problem(path.name, str(cell.get("id")), "bad-id",
                                    "run `make zh-ids` first"))
            continue
        seen.add(cell.id)
        text = translatable(cell)
        if text is None:
            continue
        entry = entries.get(cell.id)
        if entry is None:
            problems.append(Problem(path.name, cell.id, "missing", cell.cell_type))
            continue
        if entry.get("en_sha1") != sha1(text):
            problems.append(Problem(path.name, cell.id, "stale", "the English changed"))
            continue
        if cell.cell_type == "markdown" and not (entry.get("zh") or "").strip():
            problems.append(Problem(path.name, cell.id, "missing", "empty zh"))
        for pair in entry.get("replace") or []:
            if pair["en"] not in _source(cell):
                problems.append(Problem(path.name, cell.id, "bad-replace",
                                        f"{pair['en']!r} is not in the cell"))
    for orphan in sorted(set(entries) - seen):
        problems.append(Problem(path.name, orphan, "orphan", "no English cell has this id"))
    return problems


def check_all(paths: list[Path] | None = None) -> list[Problem]:
    return [p for path in (paths or source_notebooks()) for p in check_notebook(path)]


# Translated documents: a whole-file translation records the sha1 of its English source in a
# last line ``<!-- en_sha1: ... -->``; update the translation, then that line.
DOCS = {"docs/teachers.zh.md": "docs/teachers.md"}
DOC_STAMP = re.compile(r"<!-- en_sha1: ([0-9a-f]{40}) -->\s*$")


def check_docs() -> list[Problem]:
    problems = []
    for target, source in DOCS.items():
        text = (ROOT / target).read_text(encoding="utf-8")
        recorded = DOC_STAMP.search(text)
        current = sha1((ROOT / source).read_text(encoding="utf-8"))
        if recorded is None:
            problems.append(Problem(target, "-", "missing", "no en_sha1 line at the end"))
        elif recorded.group(1) != current:
            problems.append(Problem(target, "-", "stale", f"{source} changed; retranslate, "
                                    f"then set en_sha1 to {current}"))
    return problems + check_sections() + check_assignments_doc()


# Translated sections: a translation of one ``## `` section of an English document records the
# sha1 of that section (heading line to the next ``## ``) in a line
# ``<!-- <source> "<heading>" en_sha1: ... -->``, e.g. the README's course table.
SECTIONS = {"README.zh.md": ("README.md", "## The course")}
SECTION_STAMP = re.compile(r'^<!-- (\S+) "(## [^"]+)" en_sha1: ([0-9a-f]{40}) -->$', re.M)


def markdown_section(text: str, heading: str) -> str | None:
    """The lines of ``text`` from the line ``heading`` up to (not including) the next line
    starting with ``## ``; None when there is no such heading."""
    lines = text.splitlines()
    if heading not in lines:
        return None
    start = lines.index(heading)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
               len(lines))
    return "\n".join(lines[start:end]).strip() + "\n"


def check_sections() -> list[Problem]:
    problems = []
    for target, (source, heading) in SECTIONS.items():
        english = markdown_section((ROOT / source).read_text(encoding="utf-8"), heading)
        if english is None:
            problems.append(Problem(target, heading, "orphan", f"{source} has no '{heading}'"))
            continue
        stamps = {(s, h): sha for s, h, sha in
                  SECTION_STAMP.findall((ROOT / target).read_text(encoding="utf-8"))}
        recorded, current = stamps.get((Path(source).name, heading)), sha1(english)
        if recorded is None:
            problems.append(Problem(target, heading, "missing",
                                    f'no line `<!-- {Path(source).name} "{heading}" en_sha1: '
                                    f'{current} -->`'))
        elif recorded != current:
            problems.append(Problem(target, heading, "stale",
                                    f"'{heading}' of {source} changed; retranslate it, then "
                                    f"set its en_sha1 to {current}"))
    return problems


# The assignments' instructions: the graded notebooks stay English (nbgrader reads them), and
# ASSIGNMENTS_DOC translates their markdown, one section per assignment, each with a line
# ``<!-- <ID> en_sha1: ... -->`` recording sha1(assignment_english(notebook)).
ASSIGNMENT_DIR = NOTEBOOK_DIR / "assignments"
ASSIGNMENTS_DOC = "docs/assignments.zh.md"
ASSIGNMENT_STAMP = re.compile(r"^<!-- (\S+) en_sha1: ([0-9a-f]{40}) -->$", re.M)


def assignment_notebooks() -> list[Path]:
    """``ASSIGNMENT_DIR/<ID>/<ID>.ipynb`` for every assignment."""
    return sorted(p for p in ASSIGNMENT_DIR.glob("*/*.ipynb") if p.stem == p.parent.name)


def assignment_english(path: Path) -> str:
    """What a section of ASSIGNMENTS_DOC translates: the sources of the notebook's markdown
    cells, in notebook order, joined by ``"\\n\\n"``, leaving out nbgrader solution cells (the
    teacher's answer to a written question, which students never see)."""
    cells = nbformat.read(path, as_version=4).cells
    return "\n\n".join(_source(c) for c in cells if c.cell_type == "markdown"
                       and not (c.metadata.get("nbgrader") or {}).get("solution"))


def check_assignments_doc() -> list[Problem]:
    """A section of ASSIGNMENTS_DOC whose assignment's English changed is stale; an assignment
    without a section is missing; a section without an assignment is an orphan."""
    path = ROOT / ASSIGNMENTS_DOC
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    recorded = dict(ASSIGNMENT_STAMP.findall(text))
    problems = []
    notebooks = assignment_notebooks()
    for notebook in notebooks:
        name = notebook.stem
        current = sha1(assignment_english(notebook))
        if name not in recorded:
            problems.append(Problem(ASSIGNMENTS_DOC, name, "missing",
                                    f"no section with `<!-- {name} en_sha1: ... -->`"))
        elif recorded[name] != current:
            problems.append(Problem(ASSIGNMENTS_DOC, name, "stale",
                                    f"the markdown of {name}.ipynb changed; retranslate the "
                                    f"section, then set its en_sha1 to {current}"))
    for orphan in sorted(set(recorded) - {n.stem for n in notebooks}):
        problems.append(Problem(ASSIGNMENTS_DOC, orphan, "orphan", "no such assignment"))
    return problems


# ---------------------------------------------------------------- generator

# A relative link target: no scheme, not an anchor, not already going up a folder.
LOCAL_TARGET = re.compile(r"(\]\()(?![a-z]+:|#|\.\./|/)([^)#\s]+)")


def _relink(markdown: str) -> str:
    """Links to the course's own notebooks stay (their Chinese edition sits beside this one);
    links to anything else under notebooks/ (the assignments, ...) go one folder up."""
    names = {p.name for p in source_notebooks()}

    def fix(match: re.Match) -> str:
        target = match.group(2)
        if target in names or not (NOTEBOOK_DIR / target).exists():
            return match.group(0)
        return f"{match.group(1)}../{target}"

    return LOCAL_TARGET.sub(fix, markdown)


def localize(path: Path) -> nbformat.NotebookNode:
    """The Chinese notebook for ``path``; raises ValueError while any cell is not current."""
    problems = check_notebook(path)
    if problems:
        raise ValueError("translations not current:\n" + "\n".join(map(str, problems)))
    notebook = nbformat.read(path, as_version=4)
    entries = load_translations(path)
    out = copy.deepcopy(notebook)
    for cell in out.cells:
        entry = entries.get(cell.id)
        if cell.cell_type == "markdown":
            cell.source = _relink(RELATIVE_LINK.sub(r"\1../../", entry["zh"]))
        elif entry is not None:
            source = _source(cell)
            for pair in entry.get("replace") or []:
                source = source.replace(pair["en"], pair["zh"])
            cell.source = source
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
    first_code = next((i for i, c in enumerate(out.cells) if c.cell_type == "code"), None)
    if first_code is not None:  # the explorers' labels and messages in Chinese too
        out.cells.insert(first_code, language_cell())
    out.metadata["language_info"] = notebook.metadata.get("language_info", {})
    out.metadata["swin_edu"] = {"language": LANG, "source": f"../{path.name}",
                                "generated_by": "scripts/i18n.py build"}
    return out


LANGUAGE_CELL_ID = f"set-language-{LANG}"


def language_cell() -> nbformat.NotebookNode:
    """The one cell only the Chinese edition has: it switches ``swin_edu.i18n`` to Chinese, so
    sliders, readouts and explorer messages speak the notebook's language."""
    cell = nbformat.v4.new_code_cell(
        f"from swin_edu import i18n\n\ni18n.set_language({LANG!r})  # 讲解器（explorer）的标签与提示使用中文",
        metadata={"swin_edu": {"generated": "language"}})
    cell.id = LANGUAGE_CELL_ID
    return cell


def render(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def build(paths: list[Path] | None = None) -> list[Path]:
    OUT_DIR.mkdir(exist_ok=True)
    written = []
    for path in paths or source_notebooks():
        target = OUT_DIR / path.name
        text = render(localize(path))
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            written.append(target)
    return written


def outdated_outputs() -> list[str]:
    """Generated notebooks that differ from what ``build`` writes now (or have no source)."""
    expected = {p.name: p for p in source_notebooks()}
    problems = []
    for name, path in expected.items():
        target = OUT_DIR / name
        try:
            text = render(localize(path))
        except ValueError:
            problems.append(f"{name}: translations not current")
            continue
        if not target.exists():
            problems.append(f"notebooks/{LANG}/{name} is missing")
        elif target.read_text(encoding="utf-8") != text:
            problems.append(f"notebooks/{LANG}/{name} is not what `make zh` writes now")
    for extra in sorted(OUT_DIR.glob("*.ipynb")):
        if extra.name not in expected:
            problems.append(f"notebooks/{LANG}/{extra.name} has no English source")
    return problems


# ---------------------------------------------------------------- stamping

def stamp(path: Path, cell_ids: list[str]) -> list[str]:
    """Record the current English of ``cell_ids`` in their entries (after retranslating)."""
    notebook = nbformat.read(path, as_version=4)
    by_id = {cell.id: cell for cell in notebook.cells}
    entries = load_translations(path)
    for cell_id in cell_ids:
        if cell_id not in by_id:
            raise ValueError(f"cell_id={cell_id!r}: not a cell of {path.name}")
        if cell_id not in entries:
            raise ValueError(f"cell_id={cell_id!r}: {translation_path(path).name} has no entry "
                             "for it; write its zh (or replace) first")
        text = translatable(by_id[cell_id])
        if text is None:
            raise ValueError(f"cell_id={cell_id!r}: has nothing to translate")
        entries[cell_id]["en_sha1"] = sha1(text)
        entries[cell_id]["en"] = text
    save_translations(path, entries)
    return cell_ids


def unstamped(path: Path) -> list[str]:
    """Entries written without ``en_sha1`` (new translations not yet stamped)."""
    return [k for k, v in load_translations(path).items() if "en_sha1" not in v]


# ---------------------------------------------------------------- reattaching

SIMILAR = 0.6  # difflib ratio above which an orphan entry is taken to be a cell's old text


def reattach(path: Path) -> list[tuple[str, str]]:
    """Move orphan entries onto the cells they were written for, when a cell's id changed.

    ``nbstripout`` without ``--keep-id`` renumbers ids to positions, and ``ids`` then gives a
    *changed* cell a new id. Such a cell has no entry while an entry for its old id is orphaned:
    pair them when the orphan's recorded English is similar to the cell's text. The entry keeps
    its old ``en_sha1``, so the cell is then reported as stale, with a diff, not as missing.
    Returns ``(old id, new id)`` pairs.
    """
    notebook = nbformat.read(path, as_version=4)
    entries = load_translations(path)
    ids = {cell.id for cell in notebook.cells}
    orphans = {k: v for k, v in entries.items() if k not in ids and v.get("en")}
    moved = []
    for cell in notebook.cells:
        text = translatable(cell)
        if text is None or cell.id in entries or not orphans:
            continue
        scores = {k: difflib.SequenceMatcher(None, v["en"], text).ratio()
                  for k, v in orphans.items()}
        best = max(scores, key=scores.get)
        if scores[best] >= SIMILAR:
            entries[cell.id] = entries.pop(best)
            del orphans[best]
            moved.append((best, cell.id))
    if moved:
        save_translations(path, entries)
    return moved


# ---------------------------------------------------------------- command line

def _resolve(names: list[str]) -> list[Path]:
    if not names:
        return source_notebooks()
    paths = []
    for name in names:
        matches = [p for p in source_notebooks() if p.stem == name or p.name == name
                   or p.stem.startswith(name)]
        if len(matches) != 1:
            raise SystemExit(f"notebook={name!r}: expected one of "
                             f"{[p.stem for p in source_notebooks()]}")
        paths.append(matches[0])
    return paths


def _status(paths: list[Path], diff: bool) -> int:
    problems = check_all(paths) + check_docs()
    for problem in problems:
        print(problem)
        if diff and problem.kind in ("stale", "missing") and problem.notebook.endswith(".ipynb"):
            path = NOTEBOOK_DIR / problem.notebook
            cell = {c.id: c for c in nbformat.read(path, 4).cells}[problem.cell_id]
            old = (load_translations(path).get(problem.cell_id) or {}).get("en", "")
            new = translatable(cell) or ""
            for line in difflib.unified_diff(old.splitlines(), new.splitlines(), "translated",
                                             "now", lineterm="", n=1):
                print("    " + line)
    counts = {}
    for path in paths:
        for cell in nbformat.read(path, 4).cells:
            if translatable(cell) is not None:
                counts[cell.cell_type] = counts.get(cell.cell_type, 0) + 1
    todo = len({(p.notebook, p.cell_id) for p in problems})
    print(f"{todo} cell(s) to (re)translate; {counts.get('markdown', 0)} markdown and "
          f"{counts.get('code', 0)} commented code cells in {len(paths)} notebook(s)")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("ids").add_argument("notebooks", nargs="*")
    status = sub.add_parser("status")
    status.add_argument("notebooks", nargs="*")
    status.add_argument("--diff", action="store_true")
    stamp_cmd = sub.add_parser("stamp")
    stamp_cmd.add_argument("notebook")
    stamp_cmd.add_argument("cell_ids", nargs="*")
    stamp_cmd.add_argument("--new", action="store_true",
                           help="stamp every entry that has no en_sha1 yet")
    sub.add_parser("build")
    sub.add_parser("check")
    args = parser.parse_args(argv)

    if args.command == "ids":
        paths = _resolve(args.notebooks)
        for name, n in assign_ids_in_files(paths).items():
            print(f"{name}: {n} id(s) assigned")
        for path in paths:
            for old, new in reattach(path):
                print(f"{path.name}: translation of {old} reattached to {new}; `status` says if it is stale")
        return 0
    if args.command == "status":
        return _status(_resolve(args.notebooks), args.diff)
    if args.command == "stamp":
        path = _resolve([args.notebook])[0]
        ids = list(args.cell_ids) + (unstamped(path) if args.new else [])
        if not ids:
            raise SystemExit("stamp: name the cell ids (or --new)")
        print(f"{path.name}: stamped {len(stamp(path, ids))} cell(s)")
        return 0
    if args.command == "build":
        try:
            written = build()
        except ValueError as error:
            print(error, file=sys.stderr)
            print("run `make zh-status` to list what to translate", file=sys.stderr)
            return 1
        print(f"{len(written)} notebook(s) written to notebooks/{LANG}/")
        return 0
    problems = [str(p) for p in check_all() + check_docs()] + outdated_outputs()
    print("\n".join(problems) or "Chinese edition current")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
