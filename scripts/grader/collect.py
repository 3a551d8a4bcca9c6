"""Copy returned notebooks into nbgrader's ``submitted/`` folder; refuse, loudly, what it cannot
trust.

Each student's folder ``DIR/<student>/`` holds ``<ID>.ipynb``, ``<ID>/<ID>.ipynb`` or a renamed
copy (``<ID> (1).ipynb``, ``<ID>-2.ipynb``, ``<ID> copy.ipynb``, any case). Of all these the
**newest** (modification time) is taken, and the teacher is told which file and its time.

Refused, each with what to do: a symbolic link anywhere on the way (a link to the course's
solutions would otherwise be graded); a student folder whose name has control or glob
characters (``*?[]``), a path separator, or a leading dash or dot (hidden folders are listed,
never skipped silently); a file that is not a notebook.

What happened to every (student, assignment) pair is saved to ``collect.json`` with the copied
file's SHA-256, so that a submission changed after collect is caught at grading time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

REPORT = "collect.json"
# Student folders refused by name (never used as a path), for the summary.
REFUSED = "collect_refused.json"
UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f*?\[\]/\\]|^[-.]|^$")


@dataclass(frozen=True)
class Collected:
    """What collect did for one student and one assignment."""

    student: str
    assignment: str
    status: str  # "collected", "invalid file", "not collected", "refused"
    detail: str = ""
    sha256: str = ""


def name_problem(name: str) -> str | None:
    """Why a student folder's name cannot be used as an id, or ``None``."""
    if not UNSAFE_NAME.search(name):
        return None
    if name.startswith("."):
        return "a hidden folder (its name starts with a dot)"
    if name.startswith("-"):
        return "its name starts with a dash (read as an option by command-line tools)"
    return "its name has control, glob or path characters (*, ?, [, ], /, newline ...)"


def _normalise(name: str) -> str:
    """``'03_Relative Position (1)'`` -> ``'03relativeposition'``: what a renamed copy keeps."""
    name = re.sub(r"\s*\(\d+\)$|[-_ ]?(copy|\d+)$", "", name, flags=re.I)
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _links_on_the_way(path: Path, top: Path) -> Path | None:
    """The first symbolic link from ``top`` down to ``path`` (both included), or ``None``."""
    current = path
    while True:
        if current.is_symlink():
            return current
        if current == top or current.parent == current:
            return None
        current = current.parent


def _candidates(student_dir: Path, assignment: str) -> list[Path]:
    """Every notebook in the folder that is the assignment or a renamed copy of it."""
    wanted = _normalise(assignment)
    found = []
    for root, dirs, files in os.walk(student_dir, followlinks=False):
        dirs[:] = [d for d in dirs if d != ".ipynb_checkpoints"]
        for name in files:
            path = Path(root) / name
            if name.endswith(".ipynb") and _normalise(path.stem) == wanted:
                found.append(path)
        found += [Path(root) / d for d in dirs if (Path(root) / d).is_symlink()
                  and _normalise(d) == wanted]
    return sorted(found)


def notebook_problem(path: Path) -> str | None:
    """Why ``path`` is not a notebook nbgrader can grade, or ``None``."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        return "not UTF-8 text"
    except ValueError as error:
        return f"invalid JSON ({error}); the upload may be truncated"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return "JSON but not a notebook (no list of cells)"
    if nb.get("nbformat") != 4:
        return f"notebook format {nb.get('nbformat')!r}, expected 4"
    return None


def _when(path: Path) -> str:
    moment = datetime.fromtimestamp(path.lstat().st_mtime, tz=timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _copy_plain_file(source: Path, destination: Path) -> bytes:
    """Copy a regular file without following links; returns its bytes."""
    descriptor = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(descriptor, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise OSError("not a regular file")
        data = file.read()
    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.is_symlink():
        destination.unlink()
    destination.write_bytes(data)
    return data


def _collect_one(returned: Path, student_dir: Path, assignment: str, course: Path,
                 warnings: list[str]) -> Collected:
    student = student_dir.name
    destination = course / "submitted" / student / assignment / f"{assignment}.ipynb"
    candidates = _candidates(student_dir, assignment)
    links = [p for p in candidates if _links_on_the_way(p, returned)]
    for link in links:
        warnings.append(f"REFUSED {student}/{assignment}: {link.relative_to(returned)} is a "
                        f"symbolic link; ask the student for the notebook itself")
    files = [p for p in candidates if p not in links and p.is_file()]
    if not files:
        if destination.exists():  # an earlier copy must not be graded instead
            destination.unlink()
        status = "refused" if links else "not collected"
        detail = ("only symbolic links were returned" if links else "nothing returned")
        return Collected(student, assignment, status, detail)
    newest = max(files, key=lambda p: (p.lstat().st_mtime, str(p)))
    taken = f"{newest.relative_to(returned)} (modified {_when(newest)})"
    others = [p for p in files if p != newest]
    if others or newest.name != f"{assignment}.ipynb":
        names = ", ".join(str(p.relative_to(returned)) for p in others) or "no other copy"
        warnings.append(f"NOTE {student}/{assignment}: took the newest, {taken}; also found "
                        f"{names}")
    problem = notebook_problem(newest)
    if problem:
        warnings.append(f"WARNING {student}/{assignment}: {newest.relative_to(returned)} is "
                        f"not graded: {problem}")
        if destination.exists():
            destination.unlink()
        return Collected(student, assignment, "invalid file",
                         f"{newest.relative_to(returned)}: {problem}")
    data = _copy_plain_file(newest, destination)
    return Collected(student, assignment, "collected", taken, hashlib.sha256(data).hexdigest())


def collect(returned: Path, course: Path, assignments: list[str]) -> tuple[list[Collected],
                                                                           list[str]]:
    """Copy what can be graded; returns the per-pair results and the warnings."""
    results: list[Collected] = []
    warnings: list[str] = []
    refused: dict[str, str] = {}
    for entry in sorted(returned.iterdir()):
        problem = "a symbolic link, not a folder" if entry.is_symlink() else \
            name_problem(entry.name)
        if problem is None and not entry.is_dir():
            warnings.append(f"NOTE {entry.name!r}: a file, not a student folder; ignored")
            continue
        if problem:
            warnings.append(f"REFUSED student folder {entry.name!r}: {problem}; rename it to "
                            f"the student's plain id (letters, digits, _ . @ -) and collect "
                            f"again")
            refused[repr(entry.name)] = problem
            continue
        for assignment in assignments:
            results.append(_collect_one(returned, entry, assignment, course, warnings))
    _merge_report(course, results)
    (course / REFUSED).write_text(json.dumps(sorted(refused.items()), indent=1) + "\n")
    return results, warnings


def _merge_report(course: Path, results: list[Collected]) -> None:
    path = course / REPORT
    report = json.loads(path.read_text()) if path.is_file() else {}
    for result in results:
        report.setdefault(result.assignment, {})[result.student] = asdict(result)
    course.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")


def load_report(course: Path) -> dict[str, dict[str, dict]]:
    path = course / REPORT
    return json.loads(path.read_text()) if path.is_file() else {}


def load_refused(course: Path) -> list[tuple[str, str]]:
    path = course / REFUSED
    return [tuple(x) for x in json.loads(path.read_text())] if path.is_file() else []
