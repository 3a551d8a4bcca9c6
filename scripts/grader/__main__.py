"""Command line of the teacher's grader; scripts/assignments.sh calls it.

    python -m grader collect RETURNED COURSE ID...    copy returned notebooks, refuse the rest
    python -m grader prepare COURSE ID... [--workers N] [--force]
                                                      grade every new submission in the sandbox
    python -m grader audit COURSE ID...               integrity report -> COURSE/audit.txt
    python -m grader summary COURSE ID... [--out F]   the student x assignment table
    python -m grader report COURSE ID...              audit and summary in one process
    python -m grader escape-csv FILE                  make a grades CSV safe for spreadsheets

(run with ``scripts/`` on ``PYTHONPATH``). Every command handles every assignment and student
it is given and exits 1 at the end when something needs the teacher, after listing it.
"""

from __future__ import annotations

import argparse
import csv
import os
import queue
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader import audit, collect

# prepare and summary import torch and nbgrader (seconds); collect and escape-csv need neither.


def cmd_collect(args: argparse.Namespace) -> int:
    results, warnings = collect.collect(Path(args.returned), Path(args.course), args.ids)
    for result in results:
        if result.status == "collected":
            print(f"collected {result.student}/{result.assignment}: {result.detail}")
    for warning in warnings:
        print(warning, file=sys.stderr)
    refused = [w for w in warnings if w.startswith(("REFUSED", "WARNING"))]
    if refused:
        print(f"collect: {len(refused)} submission(s) or folder(s) refused or invalid (above); "
              f"they were not collected", file=sys.stderr)
    return 1 if refused else 0


def submissions(course: Path, assignments: list[str]) -> list[tuple[str, str, Path]]:
    """``(assignment, student, notebook)`` for every submitted notebook."""
    found = []
    for assignment in assignments:
        for path in sorted((course / "submitted").glob(f"*/{assignment}/{assignment}.ipynb")):
            student = path.parent.parent.name
            if collect.name_problem(student) is None and not path.is_symlink():
                found.append((assignment, student, path))
    return found


def cmd_prepare(args: argparse.Namespace) -> int:
    """Grade every submission in parallel sandboxes; nbgrader's autograde then reads them."""
    import torch

    from grader import grade, sandbox
    torch.set_num_threads(1)
    problem = sandbox.sandbox_problem()
    if problem:
        print(f"grader: nothing graded: {problem}", file=sys.stderr)
        return 2
    course = Path(args.course)
    grade.hidden.course_secret(course)  # created once, before the workers start
    todo = submissions(course, args.ids)
    workers = max(1, args.workers or os.cpu_count() or 1)
    slots: queue.Queue[int] = queue.Queue()
    for slot in range(workers):
        slots.put(slot)

    def one(item: tuple[str, str, Path]) -> tuple[str, str, str | None]:
        assignment, student, path = item
        done = grade.load(course, assignment, student)
        if not args.force and done is not None and done.problem is None and \
                done.sha256 == grade.sha256(path):
            return assignment, student, "unchanged since it was graded"
        slot = slots.get()
        try:
            result = grade.grade_notebook(course, assignment, student, path, slot)
            grade.save(course, result)
            return assignment, student, result.problem
        finally:
            slots.put(slot)

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        outcomes = list(pool.map(one, todo))
    seconds = time.perf_counter() - start
    for assignment, student, problem in outcomes:
        print(f"graded {student}/{assignment}" + (f": {problem}" if problem else ""))
    print(f"grader: {len(todo)} submission(s) in {seconds:.1f} s with {workers} worker(s)")
    return 0


def cmd_ungraded(args: argparse.Namespace) -> int:
    """Print the students whose submission nbgrader has not autograded since ``--since``."""
    course = Path(args.course)
    for assignment, student, path in submissions(course, args.ids):
        autograded = course / "autograded" / student / assignment / f"{assignment}.ipynb"
        if not autograded.is_file() or autograded.stat().st_mtime < args.since:
            print(student)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from grader import grade
    course = Path(args.course)
    found: dict[str, list[audit.Flag]] = {a: [] for a in args.ids}
    for assignment, student, path in submissions(course, args.ids):
        result = grade.load(course, assignment, student)
        if result is None:
            continue
        found[assignment] += [audit.Flag(**f) for f in result.flags]
        changed = audit.checksum_flag(course, assignment, student, grade.sha256(path))
        if changed:
            found[assignment].append(changed)
    report = audit.merge(course, found)
    text = audit.render(report)
    (course / "audit.txt").write_text(text)
    print(text, end="")
    print(f"audit report: {course / 'audit.txt'}")
    return 1 if any(report.get(a) for a in args.ids) else 0


def cmd_summary(args: argparse.Namespace) -> int:
    from nbgrader.api import Gradebook

    from grader import summary
    course = Path(args.course)
    flags = audit.load(course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "swin-edu") as gradebook:
        table = summary.build(course, args.ids, gradebook, flags)
    text = summary.render(table, args.ids)
    out = Path(args.out) if args.out else course / "summary.txt"
    out.write_text(text)
    print(text, end="")
    print(f"summary: {out}")
    problems = summary.problems(table)
    if problems:
        print(f"\n{len(problems)} submission(s) need a look:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
    return 1 if problems else 0


def cmd_report(args: argparse.Namespace) -> int:
    """After nbgrader's autograde: the audit and the summary in one process."""
    failed = []
    if cmd_audit(args):
        failed.append("integrity audit: findings to read (see the audit report)")
    print()
    if cmd_summary(args):
        failed.append("summary: submissions that need a look (see the summary)")
    for line in failed:
        print(f"report: {line}", file=sys.stderr)
    return 1 if failed else 0


def escape_cell(value: str) -> str:
    """A spreadsheet reads ``=``, ``+``, ``-``, ``@``, tab and CR at the start as a formula;
    such a text cell gets a leading apostrophe (numbers stay numbers)."""
    if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(value)
            return value
        except ValueError:
            return "'" + value
    return value


def cmd_escape_csv(args: argparse.Namespace) -> int:
    path = Path(args.file)
    with path.open(newline="") as file:
        rows = [[escape_cell(cell) for cell in row] for row in csv.reader(file)]
    with path.open("w", newline="") as file:
        csv.writer(file).writerows(rows)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grader", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    c = commands.add_parser("collect")
    c.add_argument("returned")
    c.add_argument("course")
    c.add_argument("ids", nargs="+")
    for name in ("prepare", "audit", "summary", "report", "ungraded"):
        p = commands.add_parser(name)
        p.add_argument("course")
        p.add_argument("ids", nargs="+")
        p.add_argument("--out")
        p.add_argument("--workers", type=int, default=0)
        p.add_argument("--since", type=float, default=0.0)
        p.add_argument("--force", action="store_true", help="grade unchanged submissions again")
    e = commands.add_parser("escape-csv")
    e.add_argument("file")
    args = parser.parse_args(argv)
    return {"collect": cmd_collect, "prepare": cmd_prepare, "audit": cmd_audit,
            "summary": cmd_summary, "report": cmd_report, "ungraded": cmd_ungraded,
            "escape-csv": cmd_escape_csv}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
