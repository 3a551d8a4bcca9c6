"""How fast the grader grades a class: N students x every assignment, end to end.

A temporary course, every assignment generated; N students, each returning every assignment
(half the source solution, half the released notebook with a classic mistake planted in each
function, so that the diagnosis runs too); then `scripts/assignments.sh collect` and
`autograde`, timed separately, with as many sandbox workers as cores. Prints submissions per
minute for the sandbox phase and for the whole autograde (sandbox, nbgrader, audit, summary).

    python benchmarks/grading.py [--students 100]
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from swin_edu import grading  # noqa: E402

SOURCES = REPO / "notebooks" / "assignments"


def script(root: Path, *args: str) -> tuple[float, str]:
    env = dict(os.environ, COURSE_DIR=str(root / "course"), RELEASE_DIR=str(root / "release"),
               NBGRADER=str(Path(sys.executable).with_name("nbgrader")))
    start = time.perf_counter()
    result = subprocess.run(["bash", str(REPO / "scripts" / "assignments.sh"), *args], env=env,
                            capture_output=True, text=True)
    return time.perf_counter() - start, result.stdout + result.stderr


def planted(nb, assignment: str):
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            mistake = grading.QUESTIONS[meta["grade_id"]].mistakes[0].implementation
            cell.source = re.sub(r"^def \w+\(", f"def {meta['grade_id']}(",
                                 inspect.getsource(mistake), count=1)
    return nb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=100)
    args = parser.parse_args()
    assignments = sorted(p.name for p in SOURCES.iterdir() if (p / f"{p.name}.ipynb").is_file())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        script(root, "generate")
        for i in range(args.students):
            for assignment in assignments:
                if i % 2:
                    nb = planted(nbformat.read(root / "release" / assignment /
                                               f"{assignment}.ipynb", as_version=4), assignment)
                else:
                    nb = nbformat.read(SOURCES / assignment / f"{assignment}.ipynb",
                                       as_version=4)
                folder = root / "returned" / f"student{i:03d}"
                folder.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, str(folder / f"{assignment}.ipynb"))
        collect_s, _ = script(root, "collect", str(root / "returned"))
        autograde_s, log = script(root, "autograde")
        match = re.search(r"grader: (\d+) submission\(s\) in ([\d.]+) s with (\d+) worker", log)
        count, sandbox_s, workers = int(match[1]), float(match[2]), int(match[3])
    print(f"grading a class: {args.students} students x {len(assignments)} assignments = "
          f"{count} submissions, {os.cpu_count()} cores, {workers} sandbox workers")
    print(f"  collect                         {collect_s:7.1f} s")
    print(f"  sandbox phase (grader prepare)  {sandbox_s:7.1f} s  "
          f"{60 * count / sandbox_s:6.1f} submissions/min")
    print(f"  whole autograde                 {autograde_s:7.1f} s  "
          f"{60 * count / autograde_s:6.1f} submissions/min")
    print(json.dumps({"students": args.students, "submissions": count, "workers": workers,
                      "sandbox_s": round(sandbox_s, 1), "autograde_s": round(autograde_s, 1)}))


if __name__ == "__main__":
    main()
