"""Links in the course notebooks: every issue number is a link to its issue, and no link is
malformed. Static checks only: nothing here touches the network."""

import json
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The numbered course notebooks and their appendices (appendix_a_*.ipynb, ...).
NOTEBOOKS = sorted([*(ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"),
                    *(ROOT / "notebooks").glob("appendix_*.ipynb")])
OFFICIAL_COMMIT = "f82860bfb5225915aca09c3227159ee9e1df874d"
OFFICIAL_FILE_LINES = 614  # models/swin_transformer.py at OFFICIAL_COMMIT

LINK = re.compile(r"!?\[(?P<text>[^\]\n]*)\]\((?P<target>[^)\s]*)\)")
ISSUE_URL = re.compile(r"https://github\.com/(?P<repo>[\w.-]+/[\w.-]+)/issues/(?P<number>\d+)")
MENTION = re.compile(r"(?<![\w/&])#(\d+)\b")
BLOB_ANCHOR = re.compile(r"#L(\d+)(?:-L(\d+))?$")


def cells(path: Path, kind: str) -> list[tuple[int, str]]:
    notebook = json.loads(path.read_text())
    return [(i, "".join(cell["source"])) for i, cell in enumerate(notebook["cells"])
            if cell["cell_type"] == kind]


def without_code_spans(markdown: str, inline: bool = True) -> str:
    """Markdown with fenced blocks (and inline code, unless ``inline=False``) blanked: their
    ``#`` are Python comments."""
    markdown = re.sub(r"```.*?```", lambda m: " " * len(m.group()), markdown, flags=re.S)
    if not inline:
        return markdown
    return re.sub(r"`[^`\n]*`", lambda m: " " * len(m.group()), markdown)


def check_issue_mentions(markdown: str) -> list[str]:
    """Every '#NNN' outside code must be the text of a link to issue NNN."""
    text = without_code_spans(markdown)
    covered, problems = [], []
    for link in LINK.finditer(text):
        covered.append(link.span())
        for number in MENTION.findall(link.group("text")):
            issue = ISSUE_URL.fullmatch(link.group("target"))
            if issue is None or issue.group("number") != number:
                problems.append(f"[{link.group('text')}]({link.group('target')}): #{number} "
                                f"links elsewhere than its issue")
    for mention in MENTION.finditer(text):
        if not any(start <= mention.start() < end for start, end in covered):
            line = text[:mention.start()].count("\n") + 1
            problems.append(f"line {line}: #{mention.group(1)} is not a link to its issue")
    return problems


def check_links(markdown: str, base: Path) -> list[str]:
    """Link syntax and targets: https URLs with a host, issue and line anchors well formed,
    local files present."""
    text = without_code_spans(markdown, inline=False)
    problems = []
    for broken in re.finditer(r"\]\s+\(https?:|\]\([^)]*\s[^)]*\)|\[[^\]\n]*\]\((?![^)]*\))",
                              text):
        problems.append(f"malformed link near {broken.group()!r}")
    stripped = LINK.sub(" ", text)
    for bare in re.finditer(r"https?://\S+", stripped):
        problems.append(f"bare or malformed URL {bare.group()!r}")
    for link in LINK.finditer(text):
        target = link.group("target")
        if not link.group("text").strip():
            problems.append(f"link to {target!r} has no text")
        if re.match(r"[a-z]+:", target):
            url = urlparse(target)
            if url.scheme != "https" or not url.netloc or "." not in url.netloc:
                problems.append(f"{target!r} is not an https URL with a host")
            if "/issues/" in target and not ISSUE_URL.fullmatch(target):
                problems.append(f"{target!r} is not a github.com/<owner>/<repo>/issues/<n> URL")
            if "github.com/microsoft/Swin-Transformer/blob/" in target:
                problems += check_official_blob(target)
            if url.netloc == "arxiv.org" and not re.fullmatch(r"/abs/\d{4}\.\d{5}(v\d+)?",
                                                              url.path):
                problems.append(f"{target!r} is not an arXiv abstract URL")
        else:
            local = (base / target.split("#")[0]).resolve()
            if not local.exists():
                problems.append(f"{target!r} points to a file that does not exist")
    return problems


def check_official_blob(target: str) -> list[str]:
    """Official code links are pinned to one commit and their line anchors are in range."""
    problems = []
    if f"/blob/{OFFICIAL_COMMIT}/" not in target:
        problems.append(f"{target!r} is not pinned to commit {OFFICIAL_COMMIT}")
    if "/models/swin_transformer.py" in target:
        anchor = BLOB_ANCHOR.search(target)
        if "#" in target and anchor is None:
            problems.append(f"{target!r} has a malformed line anchor (want #L12 or #L12-L15)")
        elif anchor:
            first, last = int(anchor.group(1)), int(anchor.group(2) or anchor.group(1))
            if not 1 <= first <= last <= OFFICIAL_FILE_LINES:
                problems.append(f"{target!r}: lines {first}-{last} are not within "
                                f"1..{OFFICIAL_FILE_LINES}")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_issue_mentions_are_links(path):
    problems = [f"cell {i}: {p}" for i, md in cells(path, "markdown")
                for p in check_issue_mentions(md)]
    linked = {m for _, md in cells(path, "markdown") for m in
              re.findall(r"\[[^\]]*#(\d+)[^\]]*\]\(https://github\.com/[^)]*/issues/\1\)", md)}
    for i, code in cells(path, "code"):
        for number in MENTION.findall(code):
            if number not in linked:
                problems.append(f"code cell {i} mentions #{number}, which no markdown cell of "
                                f"the notebook links to its issue")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_links_are_well_formed(path):
    problems = [f"cell {i}: {p}" for i, md in cells(path, "markdown")
                for p in check_links(md, path.parent)]
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("markdown, expected", [
    ("see issue #38", ["#38 is not a link"]),
    ("[#38](https://github.com/microsoft/Swin-Transformer/issues/39)", ["links elsewhere"]),
    ("[#38](https://github.com/microsoft/Swin-Transformer/issues/38)", []),
    ("[issue #950](https://github.com/huggingface/pytorch-image-models/issues/950)", []),
    ("`x  # issue #38` in code", []),
    ("```python\n# see #38\n```", []),
])
def test_issue_check_can_fail(markdown, expected):
    problems = check_issue_mentions(markdown)
    assert len(problems) == len(expected)
    assert all(e in p for e, p in zip(expected, problems))


@pytest.mark.parametrize("markdown, expected", [
    ("[paper](https://arxiv.org/abs/2103.14030)", None),
    ("[paper] (https://arxiv.org/abs/2103.14030)", "malformed link"),
    ("[paper](http://arxiv.org/abs/2103.14030)", "not an https URL"),
    ("[paper](https://arxiv.org/pdf/2103.14030)", "not an arXiv abstract URL"),
    ("see https://arxiv.org/abs/2103.14030", "bare or malformed URL"),
    ("[](https://arxiv.org/abs/2103.14030)", "has no text"),
    ("[x](https://github.com/microsoft/Swin-Transformer/issues/3a)", "issues/<n> URL"),
    ("[x](https://github.com/microsoft/Swin-Transformer/blob/main/models/swin_transformer.py)",
     "not pinned"),
    (f"[x](https://github.com/microsoft/Swin-Transformer/blob/{OFFICIAL_COMMIT}/models/"
     f"swin_transformer.py#L209-L206)", "not within"),
    (f"[x](https://github.com/microsoft/Swin-Transformer/blob/{OFFICIAL_COMMIT}/models/"
     f"swin_transformer.py#L206-L209)", None),
    (f"[x](https://github.com/microsoft/Swin-Transformer/blob/{OFFICIAL_COMMIT}/models/"
     f"swin_transformer.py#206)", "malformed line anchor"),
    ("[next](no_such_notebook.ipynb)", "does not exist"),
    ("[next](05_shifted_windows.ipynb)", None),
])
def test_link_check_can_fail(markdown, expected):
    problems = check_links(markdown, ROOT / "notebooks")
    if expected is None:
        assert problems == []
    else:
        assert problems and expected in problems[0], problems


ERRATUM_HEADING = re.compile(r"^## E(\d+)\. ", re.M)
ERRATUM_CITE = re.compile(r"errat(?:um|a) E(\d+)(?:(?:-| and )E(\d+))?")


def cited_errata(markdown: str) -> set[int]:
    """Errata numbers cited in a cell that links the errata appendix: 'erratum E2',
    'errata E9 and E10', 'errata E3-E6' (a range)."""
    if "(appendix_errata.ipynb" not in markdown:
        return set()
    numbers = set()
    for first, last in ERRATUM_CITE.findall(markdown):
        numbers.update(range(int(first), int(last or first) + 1))
    return numbers


def test_every_erratum_is_linked_where_the_course_meets_it():
    appendix = ROOT / "notebooks" / "appendix_errata.ipynb"
    listed = {int(n) for _, text in cells(appendix, "markdown")
              for n in ERRATUM_HEADING.findall(text)}
    assert listed == set(range(1, 12))
    cited = {n for path in NOTEBOOKS if path != appendix
             for _, text in cells(path, "markdown") for n in cited_errata(text)}
    assert listed - cited == set(), "errata no notebook links where it meets the point"


@pytest.mark.parametrize("markdown, expected", [
    ("erratum E2 of [the appendix](appendix_errata.ipynb)", {2}),
    ("errata E3-E6 of [the appendix](appendix_errata.ipynb)", {3, 4, 5, 6}),
    ("errata E9 and E10 of [the appendix](appendix_errata.ipynb)", {9, 10}),
    ("erratum E2, no link", set()),
])
def test_erratum_citations_are_read(markdown, expected):
    assert cited_errata(markdown) == expected
