"""nbgrader settings for the swin-edu assignments.

`scripts/assignments.sh generate` copies this file into the course directory (default
`nbgrader_work/`), where every `nbgrader` command run from that directory reads it, and writes
the path of the grader (`scripts/`) into it. Any setting can be overridden on the command line.

Autograde never runs the student's notebook in a kernel: `SandboxGrade` takes the place of
nbgrader's `Execute` and writes each graded cell's output from the course's grader, which runs
the solution cells in a bubblewrap sandbox on inputs drawn from the course's secret
(scripts/grader; docs/teachers.md, "What the grader guarantees").
"""

import os
import sys

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

_here = os.path.dirname(os.path.abspath(__file__))
_scripts = "@GRADER_SCRIPTS@"
if _scripts.startswith("@"):  # the uncopied file, in notebooks/assignments/
    _scripts = os.path.join(_here, "..", "..", "scripts")
if _scripts not in sys.path:
    sys.path.insert(0, _scripts)

from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata,  # noqa: E402
                                    ClearOutput, IgnorePattern, LimitOutput,
                                    OverwriteCells, OverwriteKernelspec, SaveAutoGrades)

from grader.nbgrader_step import ResolveDuplicateIds, SandboxGrade  # noqa: E402

c.CourseDirectory.course_id = "swin-edu"

c.Autograde.sanitize_preprocessors = [ClearOutput, ResolveDuplicateIds, OverwriteKernelspec,
                                      OverwriteCells, CheckCellMetadata]
c.Autograde.autograde_preprocessors = [SandboxGrade, IgnorePattern, ClearMetadataPreprocessor,
                                       LimitOutput, SaveAutoGrades, AssignLatePenalties,
                                       CheckCellMetadata]
c.SandboxGrade.course_root = _here

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Where `nbgrader release_assignment` / `collect` (JupyterHub) exchange files; every user must
# be able to read and write it. The default of nbgrader, spelled out.
c.Exchange.root = "/srv/nbgrader/exchange"
