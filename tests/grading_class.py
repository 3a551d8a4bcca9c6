"""An adversarial class for the grader: cheaters, honest students and hostile folder names.

Every cheater submits wrong code (a classic mistake, or a stub) plus one technique for gaining
the points anyway; each must score 0 on the function it cheats on or be flagged by name. The
techniques cover every kind that gained points against the old in-kernel grading: forging what
the kernel records, reaching the reference by another route, using precomputed answers for the
inputs that used to ship with the package, writing where the student must not (the gradebook,
the course's source, a classmate's submission), outliving the grading process, and abusing the
data channel back to the grader.

Every honest student must get every point, unflagged, whatever their style: loops, einops,
warnings and prints, IPython lines, a duplicated cell, a resubmission under another name.

Assignments used: ``02_windows`` (window_partition, window_reverse) and ``06_complexity``
(msa_flops, wmsa_flops, flops_saving).
"""

from __future__ import annotations

import inspect
import re

from swin_edu import grading

COURSE_MARK = "COURSE_DIR_PLACEHOLDER"  # replaced by the test with the real course folder


def wrong(function: str, index: int = 0) -> str:
    """A classic mistake's source under the graded function's name."""
    source = inspect.getsource(grading.QUESTIONS[function].mistakes[index].implementation)
    return re.sub(r"^def \w+\(", f"def {function}(", source, count=1)


PARTITION_RIGHT = '''\
def window_partition(x, window_size):
    B, H, W, C = x.shape
    M = window_size
    x = x.view(B, H // M, M, W // M, M, C).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, M, M, C)
'''
REVERSE_RIGHT = '''\
def window_reverse(windows, window_size, H, W):
    M = window_size
    C = windows.shape[-1]
    B = windows.shape[0] // ((H // M) * (W // M))
    x = windows.view(B, H // M, W // M, M, M, C).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(B, H, W, C)
'''
FLOPS_RIGHT = {
    "msa_flops": "def msa_flops(h, w, C):\n    return 4 * h * w * C ** 2 + 2 * (h * w) ** 2 * C\n",
    "wmsa_flops": "def wmsa_flops(h, w, C, M):\n    return 4 * h * w * C ** 2 + 2 * M ** 2 * h * w * C\n",
    "flops_saving": "def flops_saving(h, w, C, M):\n"
                    "    return 2 * (h * w) ** 2 * C - 2 * M ** 2 * h * w * C\n",
}

# name -> (assignment, {function: solution cell source}); functions not named get wrong code.
CHEATERS: dict[str, tuple[str, dict[str, str]]] = {
    # --- forging what the kernel used to record ------------------------------------------
    "forge_answers_file": ("02_windows", {"window_reverse": wrong("window_reverse") + '''
import os, torch
os.makedirs(".swin_edu_answers", exist_ok=True)
torch.save({"function": "window_reverse", "answers": []},
           ".swin_edu_answers/window_reverse.pt")
'''}),
    "patch_checker_vars": ("02_windows", {"window_reverse": wrong("window_reverse") + '''
vars(grading)["check_window_reverse"] = lambda f: type("P", (), {"assert_ok": lambda s: None})()
'''}),
    "patch_via_gc": ("02_windows", {"window_partition": wrong("window_partition") + '''
import gc
for obj in gc.get_objects():
    if getattr(obj, "__name__", "") == "check":
        obj.__code__ = (lambda *a, **k: None).__code__
'''}),
    "patch_with_mock": ("06_complexity", {"msa_flops": '''\
from unittest import mock
mock.patch("swin_edu.grading.core.describe_difference", return_value=None).start()
def msa_flops(h, w, C):
    return 0
'''}),
    "setattr_on_frozen": ("06_complexity", {"wmsa_flops": '''\
object.__setattr__(grading.Feedback, "passed", True)
def wmsa_flops(h, w, C, M):
    return 1
'''}),
    "read_caller_frame": ("06_complexity", {"msa_flops": '''\
import sys
def msa_flops(h, w, C):
    frame = sys._getframe(1)
    while frame is not None:
        if "expected" in frame.f_locals:
            return frame.f_locals["expected"]
        frame = frame.f_back
    return -1
'''}),
    "patch_function_globals": ("06_complexity", {"flops_saving": '''\
def flops_saving(h, w, C, M):
    return 0
flops_saving.__globals__["__builtins__"]["isinstance"] = lambda *a: True
'''}),
    # --- reaching the reference by any route ---------------------------------------------
    "import_reference": ("02_windows", {"window_partition": '''\
from swin_edu.windows import window_partition as _reference
def window_partition(x, window_size):
    return _reference(x, window_size)
'''}),
    "import_module_call": ("02_windows", {"window_reverse": '''\
import importlib
def window_reverse(windows, window_size, H, W):
    return importlib.import_module("swin_edu.windows").window_reverse(windows, window_size, H, W)
'''}),
    "computed_import_name": ("06_complexity", {"msa_flops": '''\
def msa_flops(h, w, C):
    module = __import__("swin" + "_edu.complexity", fromlist=["msa_flops"])
    return module.msa_flops(h, w, C)
'''}),
    "laundered_exec": ("06_complexity", {"wmsa_flops": '''\
import base64
exec(base64.b64decode(b"ZnJvbSBzd2luX2VkdS5jb21wbGV4aXR5IGltcG9ydCB3bXNhX2Zsb3Bz").decode())
'''}),
    "magic_run": ("06_complexity", {"flops_saving": '''\
%run -i ../../swin_edu/complexity.py
def flops_saving(h, w, C, M):
    return msa_flops(h, w, C) - wmsa_flops(h, w, C, M)
'''}),
    "function_from_code_object": ("02_windows", {"window_partition": '''\
import types
import swin_edu.windows as _w
window_partition = types.FunctionType(_w.window_partition.__code__, _w.__dict__)
'''}),
    "other_implementation": ("02_windows", {"window_partition": '''\
from transformers.models.swin.modeling_swin import window_partition as _hf
def window_partition(x, window_size):
    return _hf(x, window_size)
'''}),
    "sys_path_to_repo": ("02_windows", {"window_reverse": '''\
import sys
sys.path[:0] = ["/work/main", "/repo", "../.."]
sys.meta_path[:] = [f for f in sys.meta_path if "Refuse" not in type(f).__name__]
from swin_edu.windows import window_reverse
'''}),
    "pasted_package_body": ("02_windows", {}),  # filled in by the test (the package's source)
    # --- the hidden inputs used to ship with the package ---------------------------------
    "precomputed_outputs": ("06_complexity", {"msa_flops": '''\
KNOWN = {(224, 224, 3): 10_116_691_968, (14, 7, 384): 4_241_664 + 2 * (14 * 7) ** 2 * 384}
def msa_flops(h, w, C):
    return KNOWN.get((h, w, C), 4 * h * w * C ** 2 + 2 * (h * w) ** 2 * C if h * w < 50 else 0)
'''}),
    # --- writing where the student must not ----------------------------------------------
    "write_gradebook": ("06_complexity", {"wmsa_flops": f'''\
import sqlite3, glob
for path in glob.glob("{COURSE_MARK}/gradebook.db") + glob.glob("/**/gradebook.db", recursive=True):
    db = sqlite3.connect(path)
    db.execute("UPDATE grade_cells SET max_score = 0")
    db.commit()
def wmsa_flops(h, w, C, M):
    return 0
'''}),
    "write_course_source": ("06_complexity", {"flops_saving": f'''\
import glob, json
for path in glob.glob("{COURSE_MARK}/source/*/*.ipynb"):
    open(path, "w").write("{{}}")
def flops_saving(h, w, C, M):
    return 0
'''}),
    "sabotage_classmate": ("02_windows", {"window_partition": f'''\
import glob
for path in glob.glob("{COURSE_MARK}/submitted/*/02_windows/02_windows.ipynb"):
    open(path, "w").write("sabotaged")
def window_partition(x, window_size):
    return x
'''}),
    "outlive_the_grader": ("06_complexity", {"msa_flops": f'''\
import subprocess, sys
subprocess.Popen([sys.executable, "-c",
                  "import time; time.sleep(3); open('{COURSE_MARK}/late.txt', 'w').write('x')"
                  "  # swin-edu-outlive-marker"],
                 start_new_session=True)
import os
if os.fork() == 0:
    os.execv(sys.executable, [sys.executable, "-c",
                              "import time; time.sleep(30)  # swin-edu-outlive-marker"])
def msa_flops(h, w, C):
    return 0
'''}),
    "network_exfiltration": ("06_complexity", {"wmsa_flops": '''\
import socket
try:
    socket.create_connection(("127.0.0.1", 8888), timeout=1).sendall(b"hello")
except OSError:
    pass
def wmsa_flops(h, w, C, M):
    return 0
'''}),
    # --- abusing the channel back to the grader -----------------------------------------
    "always_equal_object": ("06_complexity", {"msa_flops": '''\
class Anything(int):
    def __eq__(self, other):
        return True
    __hash__ = int.__hash__
def msa_flops(h, w, C):
    return Anything(0)
'''}),
    "tensor_subclass_equal": ("02_windows", {"window_reverse": '''\
import torch
class Agreeable(torch.Tensor):
    def __eq__(self, other):
        return torch.ones_like(other, dtype=torch.bool)
def window_reverse(windows, window_size, H, W):
    return torch.zeros(1).as_subclass(Agreeable)
'''}),
    "forge_response_file": ("06_complexity", {"flops_saving": '''\
import atexit, json
def _forge():
    json.dump({"results": [], "notes": [], "printed": "", "warnings": [],
               "refused_imports": []}, open("/sandbox/out/response.json", "w"))
atexit.register(_forge)
def flops_saving(h, w, C, M):
    return 0
'''}),
    "kill_the_process": ("06_complexity", {"flops_saving": '''\
import os
def flops_saving(h, w, C, M):
    os._exit(0)
'''}),
    "endless_loop": ("06_complexity", {"msa_flops": '''\
import signal
signal.signal(signal.SIGALRM, signal.SIG_IGN)
def msa_flops(h, w, C):
    while True:
        pass
'''}),
}

# name -> (assignment, {function: source}); every function given (the right answer by default).
HONEST: dict[str, tuple[str, dict[str, str]]] = {
    "honest_loops": ("02_windows", {"window_partition": '''\
def window_partition(x, window_size):
    B, H, W, C = x.shape
    M = window_size
    windows = []
    for b in range(B):
        for i in range(0, H, M):
            for j in range(0, W, M):
                windows.append(x[b, i:i + M, j:j + M])
    return torch.stack(windows)
''', "window_reverse": REVERSE_RIGHT}),
    "honest_einops": ("02_windows", {"window_partition": '''\
from einops import rearrange
def window_partition(x, window_size):
    return rearrange(x, "b (nh m1) (nw m2) c -> (b nh nw) m1 m2 c", m1=window_size, m2=window_size)
''', "window_reverse": '''\
from einops import rearrange
def window_reverse(windows, window_size, H, W):
    return rearrange(windows, "(b nh nw) m1 m2 c -> b (nh m1) (nw m2) c",
                     nh=H // window_size, nw=W // window_size)
'''}),
    "honest_warnings": ("02_windows", {"window_partition": '''\
import sys, warnings
torch.backends.cudnn.deterministic = True
def window_partition(x, window_size):
    warnings.warn("this is my first try", UserWarning)
    print("shape in:", tuple(x.shape), file=sys.stderr)
    B, H, W, C = x.shape
    M = window_size
    x = x.view(B, H // M, M, W // M, M, C).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, M, M, C)
''', "window_reverse": REVERSE_RIGHT}),
    "honest_ipython": ("02_windows", {"window_partition": "window_partition??\n%time 1 + 1\n"
                                                          + PARTITION_RIGHT,
                                      "window_reverse": "!echo checking\n" + REVERSE_RIGHT}),
    "honest_numpy": ("06_complexity", {"msa_flops": '''\
import numpy as np
def msa_flops(h, w, C):
    tokens = int(np.prod([h, w]))
    return 4 * tokens * C ** 2 + 2 * tokens ** 2 * C
''', "wmsa_flops": FLOPS_RIGHT["wmsa_flops"], "flops_saving": '''\
def flops_saving(h, w, C, M):
    return msa_flops(h, w, C) - wmsa_flops(h, w, C, M)
'''}),
    "=2+5": ("06_complexity", dict(FLOPS_RIGHT)),  # an id a spreadsheet would evaluate
    "victim": ("02_windows", {"window_partition": PARTITION_RIGHT,
                              "window_reverse": REVERSE_RIGHT}),
}
