"""Command line of the teacher's grader; scripts/assignments.sh calls it.

    python -m grader collect RETURNED COURSE ID...   copy returned notebooks, warn about the rest
    python -m grader prepare COURSE ID...            delete stale hidden answers before autograde
    python -m grader verify COURSE ID...             decide the hidden tests, update the gradebook
    python -m grader audit COURSE ID... [--report F] integrity report
    python -m grader summary COURSE ID... [--out F] [--log F]   the student x assignment table
    python -m grader report COURSE ID... [--log F]   verify, audit and summary in one process

(run with ``scripts/`` on ``PYTHONPATH``). Every command handles every assignment and student
it is given and exits 1 at the end when something needs the teacher, after listing it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict
from pathlib import Path

from grader import audit, collect

# verify and summary import torch and nbgrader (seconds); collect and audit need neither.


def graded_functions(course: Path, assignment: str) -> list[str]:
    """The functions an assignment grades: its ``test_<function>`` cells."""
    path = course / "source" / assignment / f"{assignment}.ipynb"
    nb = json.loads(path.read_text())
    ids = [c["metadata"].get("nbgrader", {}).get("grade_id", "") for c in nb["cells"]
           if c["cell_type"] == "code" and c["metadata"].get("nbgrader", {}).get("grade")]
    return [i.removeprefix("test_") for i in ids if i.startswith("test_")]


def _gradebook(course: Path):
    from nbgrader.api import Gradebook
    return Gradebook(f"sqlite:///{course / 'gradebook.db'}", "swin-edu")


def cmd_collect(args: argparse.Namespace) -> int:
    results, warnings = collect.collect(Path(args.returned), Path(args.course), args.ids)
    for result in results:
        if result.status == "collected":
            print(f"collected {result.student}/{result.assignment} ({result.detail})")
    for warning in warnings:
        print(warning, file=sys.stderr)
    if warnings:
        print(f"collect: {len(warnings)} warning(s) above; those files were not graded as "
              f"they are", file=sys.stderr)
    return 1 if warnings else 0


def cmd_prepare(args: argparse.Namespace) -> int:
    from grader import verify
    for assignment in args.ids:
        verify.clear_answers(Path(args.course), assignment)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from grader import verify
    course = Path(args.course)
    results_path = course / "verify.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    changes = []
    with _gradebook(course) as gradebook:
        for assignment in args.ids:
            functions = graded_functions(course, assignment)
            results[assignment] = {}
            for path in sorted((course / "autograded").glob(f"*/{assignment}/{assignment}.ipynb")):
                student = path.parent.parent.name
                try:
                    gradebook.find_submission(assignment, student)
                except Exception:
                    continue
                verdicts = [verify.verify(course, assignment, student, f) for f in functions]
                results[assignment][student] = {v.function: asdict(v) for v in verdicts}
                changes += verify.apply_to_gradebook(gradebook, assignment, student, verdicts)
    results_path.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    for change in changes:
        print(f"hidden tests: {change}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    course = Path(args.course)
    flags = audit.audit_course(course, {a: graded_functions(course, a) for a in args.ids})
    report = Path(args.report) if args.report else course / "audit.txt"
    text = "\n".join(str(f) for f in flags)
    header = (f"INTEGRITY AUDIT: {len(flags)} suspicious line(s) in "
              f"{len({(f.student, f.assignment) for f in flags})} submission(s)"
              if flags else "INTEGRITY AUDIT: nothing suspicious")
    report.write_text(header + "\n" + (text + "\n" if text else ""))
    audit.write_report(flags, course / "audit.json")
    print(header)
    if text:
        print(text)
    print(f"audit report: {report}")
    return 1 if flags else 0


def _crashes_from_log(log: Path | None) -> dict[tuple[str, str], str]:
    """nbgrader's per-submission failures from an autograde log."""
    crashes: dict[tuple[str, str], str] = {}
    if log is None or not log.is_file():
        return crashes
    current = None
    for line in log.read_text(errors="replace").splitlines():
        match = re.search(r"Autograding \S*autograded[/\\]([^/\\\s]+)[/\\]([^/\\\s]+)", line)
        if match:
            current = (match.group(1), match.group(2))
        named = re.search(r"error processing assignment: \S*submitted[/\\]([^/\\\s]+)"
                          r"[/\\]([^/\\\s]+)", line)
        if named:
            current = (named.group(1), named.group(2))
            crashes.setdefault(current, "nbgrader could not grade it (see the autograde log)")
        if current and ("DeadKernelError" in line or "Kernel died" in line):
            crashes[current] = ("the kernel died while grading (a cell ended the process, "
                                "e.g. os._exit, or crashed it); nothing was graded")
        elif current and "Kernel didn't respond" in line:
            crashes[current] = "the kernel stopped responding while grading"
    return crashes


def cmd_summary(args: argparse.Namespace) -> int:
    from grader import summary
    course = Path(args.course)
    verdicts_path = course / "verify.json"
    verdicts = json.loads(verdicts_path.read_text()) if verdicts_path.is_file() else {}
    flags_path = course / "audit.json"
    flags = [audit.Flag(**f) for f in json.loads(flags_path.read_text())] \
        if flags_path.is_file() else []
    flags = [f for f in flags if f.assignment in args.ids]
    crashes = _crashes_from_log(Path(args.log) if args.log else None)
    saved = course / "crashes.json"
    if saved.is_file():
        for key, why in json.loads(saved.read_text()).items():
            student, assignment = key.split("/", 1)
            crashes.setdefault((student, assignment), why)
    if args.log:
        old = json.loads(saved.read_text()) if saved.is_file() else {}
        old.update({f"{s}/{a}": why for (s, a), why in crashes.items()})
        saved.write_text(json.dumps(old, indent=1) + "\n")
    with _gradebook(course) as gradebook:
        table = summary.build(course, args.ids, gradebook, verdicts, flags, crashes)
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
    """After nbgrader: hidden tests, audit and summary in one process (one torch import)."""
    cmd_verify(args)
    failed = []
    if cmd_audit(argparse.Namespace(course=args.course, ids=args.ids, report=None)):
        failed.append("integrity audit: suspicious submissions (see the audit report)")
    print()
    if cmd_summary(args):
        failed.append("summary: submissions that need a look (see the summary)")
    for line in failed:
        print(f"report: {line}", file=sys.stderr)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grader", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    c = commands.add_parser("collect")
    c.add_argument("returned")
    c.add_argument("course")
    c.add_argument("ids", nargs="+")
    for name in ("prepare", "verify", "audit", "summary", "report"):
        p = commands.add_parser(name)
        p.add_argument("course")
        p.add_argument("ids", nargs="+")
        if name == "audit":
            p.add_argument("--report")
        if name in ("summary", "report"):
            p.add_argument("--out")
            p.add_argument("--log")
    args = parser.parse_args(argv)
    return {"collect": cmd_collect, "prepare": cmd_prepare, "verify": cmd_verify,
            "audit": cmd_audit, "summary": cmd_summary, "report": cmd_report}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
