"""nbgrader settings for the swin-edu assignments.

`scripts/assignments.sh` copies this file into the course directory (default `nbgrader_work/`),
where every `nbgrader` command run from that directory reads it. Any setting can be overridden
on the command line, e.g. `nbgrader autograde 06_complexity --Execute.timeout=10`.
"""

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "swin-edu"

# Seconds one cell may run when autograding; after that the kernel is interrupted, the cell is
# recorded as a CellTimeoutError and grading goes on with the next cell. The slowest solution
# cell runs in well under a second; the first cell imports torch.
c.Execute.timeout = 60
# Seconds to wait for a cell's output after the kernel says the cell finished. nbclient's 4 s
# is too short on a busy machine (the first cell imports torch): nbgrader then abandons the
# whole notebook ("Timeout waiting for IOPub output") and every cell scores zero.
c.Execute.iopub_timeout = 30
# Stop each student's kernel at once when its notebook is done: every output is already
# recorded, and a graceful shutdown only waits about 0.7 s per submission for torch's exit.
c.Execute.shutdown_kernel = "immediate"

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Where `nbgrader release_assignment` / `collect` (JupyterHub) exchange files; every user must
# be able to read and write it. The default of nbgrader, spelled out.
c.Exchange.root = "/srv/nbgrader/exchange"
