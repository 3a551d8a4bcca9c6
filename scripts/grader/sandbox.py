"""Run a student's code in a bubblewrap sandbox the grader controls.

What the sandbox sees: the Python interpreter and its standard library, read-only; a private
``site`` folder with only ``torch``, ``numpy``, ``einops``, ``safetensors`` and what they need
(never ``swin_edu``, the grader, Hugging Face or another Swin implementation); the request, read-
only; an empty output folder; a private ``/tmp`` of limited size. What it does not see: the
course folder (source notebooks, gradebook, other submissions, the secret, the expected
answers), the home folders, the network (a new, empty network namespace), other processes
(a new PID namespace: when the runner ends, every process it started is killed).

When the grader runs as root, the student's code runs as an unprivileged user id of its own
with no capabilities (one per parallel slot, so the process limit of one submission cannot
starve another); limits on address space, file size, processes and CPU time are set before
bubblewrap starts.

Without bubblewrap nothing is graded: :func:`sandbox_problem` says how to install it. There is
no weaker fallback on purpose.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

RUNNER = Path(__file__).with_name("runner.py")
# What the student's code may import besides the standard library.
ALLOWED_DISTRIBUTIONS = ("torch", "numpy", "einops", "safetensors")
MEMORY_BYTES = 3 * 2 ** 30
FILE_BYTES = 64 * 2 ** 20
TMP_BYTES = 64 * 2 ** 20
PROCESSES = 64
CPU_SECONDS = 240
WALL_SECONDS = 300
RESPONSE_BYTES = 256 * 2 ** 20
# Unprivileged user ids of the parallel slots when the grader runs as root (no login, no files).
FIRST_UID = 61000


class SandboxUnavailable(RuntimeError):
    """Bubblewrap is missing or cannot create its namespaces here."""


@dataclass(frozen=True)
class SandboxRun:
    """What came back from one run: the runner's answers, or why there are none."""

    response: dict[str, Any] | None
    tensors: dict[str, Any]
    problem: str | None = None


def _requirement_names(distribution: metadata.Distribution) -> list[str]:
    names = []
    for requirement in distribution.requires or []:
        if "extra ==" in requirement:
            continue
        names.append(re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0])
    return names


@lru_cache(maxsize=1)
def allowed_paths() -> tuple[Path, ...]:
    """The top-level files and folders of the allowed distributions and their requirements."""
    seen: set[str] = set()
    todo = list(ALLOWED_DISTRIBUTIONS)
    paths: set[Path] = set()
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        root = Path(distribution.locate_file("")).resolve()
        for file in distribution.files or []:
            parts = Path(file).parts
            if parts and parts[0] != ".." and not parts[0].endswith(".pth"):
                paths.add(root / parts[0])
        todo += _requirement_names(distribution)
    forbidden = ("swin_edu", "__editable__", "__pycache__", "grader", "transformers")
    return tuple(sorted(p for p in paths if p.exists() and not p.name.startswith(forbidden)))


PYTHON_HOME = "/sandbox/python"


def _base() -> Path:
    return Path(sys.base_prefix).resolve()


def _interpreter() -> str:
    """The interpreter's path inside the sandbox (a Python outside /usr is bound at
    :data:`PYTHON_HOME`, so that no folder above it needs to be readable)."""
    real = Path(os.path.realpath(sys.executable))
    base = _base()
    if str(base).startswith("/usr/") or base == Path("/usr"):
        return str(real)
    return f"{PYTHON_HOME}/{real.relative_to(base)}"


def _system_binds() -> list[str]:
    args: list[str] = []
    for top in ("usr", "lib", "lib64", "lib32", "bin", "sbin"):
        path = Path("/") / top
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d"):
        if (Path("/etc") / name).exists():
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    base = _base()
    inside = base if str(base).startswith("/usr") else Path(PYTHON_HOME)
    if inside != base:
        args += ["--ro-bind", str(base), str(inside)]
    # Python packages installed outside the allowed list stay out of reach.
    hidden = {Path(sysconfig.get_paths(vars={"base": str(inside), "platbase": str(inside)})[key])
              for key in ("purelib", "platlib")}
    hidden |= set(Path("/usr/lib").glob("python3*/dist-packages"))
    hidden |= set(Path("/usr/local/lib").glob("python3*"))
    for path in sorted(hidden):
        outside = base / path.relative_to(inside) if path.is_relative_to(inside) else path
        if outside.is_dir():  # a folder that does not exist cannot be mounted over
            args += ["--tmpfs", str(path)]
    return args


def bwrap_command(request_dir: Path, output_dir: Path, slot: int = 0) -> list[str]:
    """The bubblewrap command line that runs the runner on ``request_dir``."""
    command = [shutil.which("bwrap") or "bwrap", *_unshare(), "--die-with-parent",
               "--new-session", "--clearenv", "--setenv", "HOME", "/tmp",
               "--setenv", "OMP_NUM_THREADS", "1", "--setenv", "PATH", "/usr/bin:/bin",
               "--proc", "/proc", "--dev", "/dev", "--size", str(TMP_BYTES), "--tmpfs", "/tmp",
               "--perms", "0755", "--dir", "/sandbox"]
    command += _system_binds()
    command += ["--dir", "/sandbox/site"]
    for path in allowed_paths():
        command += ["--ro-bind", str(path), f"/sandbox/site/{path.name}"]
    command += ["--ro-bind", str(RUNNER), "/sandbox/runner.py",
                "--ro-bind", str(request_dir), "/sandbox/in",
                "--bind", str(output_dir), "/sandbox/out", "--chdir", "/tmp"]
    bootstrap = ("import sys, runpy; sys.path.insert(0, '/sandbox/site'); "
                 "sys.argv = ['runner', '/sandbox/in', '/sandbox/out']; "
                 "runpy.run_path('/sandbox/runner.py', run_name='__main__')")
    return command + _drop_to_slot_user(slot) + [_interpreter(), "-I", "-S", "-c", bootstrap]


def _limits() -> None:
    """In the child before bubblewrap: resource limits, no core files."""
    for limit, value in ((resource.RLIMIT_AS, MEMORY_BYTES), (resource.RLIMIT_FSIZE, FILE_BYTES),
                         (resource.RLIMIT_CPU, CPU_SECONDS), (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(limit, (value, value))
    if os.geteuid() != 0:
        resource.setrlimit(resource.RLIMIT_NPROC, (PROCESSES + _my_processes(),) * 2)


def _my_processes() -> int:
    uid = os.getuid()
    return sum(1 for p in Path("/proc").glob("[0-9]*/status")
               if _owner(p) == uid)


def _owner(path: Path) -> int | None:
    try:
        return path.stat().st_uid
    except OSError:
        return None


def _unshare() -> list[str]:
    """New namespaces for everything; as root no user namespace, so that the sandbox can drop
    to a real unprivileged user id (see :func:`_drop_to_slot_user`)."""
    if os.geteuid() != 0:
        return ["--unshare-all"]
    return ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
            "--unshare-cgroup-try"]


def _drop_to_slot_user(slot: int) -> list[str]:
    """As root, inside the namespaces: become an unprivileged user id of the slot's own, with
    no capabilities and its own process limit. (Not root: bubblewrap already runs as the
    teacher, without privileges, in a user namespace of its own.)"""
    if os.geteuid() != 0:
        return []
    uid = str(FIRST_UID + slot)
    return ["/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
            "/usr/bin/prlimit", f"--nproc={PROCESSES}", "--"]


@lru_cache(maxsize=1)
def sandbox_problem() -> str | None:
    """``None`` when the sandbox works here, else what is missing and how to fix it."""
    if shutil.which("bwrap") is None:
        return ("bubblewrap is not installed; the grader runs student code only inside it: "
                "apt-get install bubblewrap (Debian/Ubuntu) or dnf install bubblewrap")
    with tempfile.TemporaryDirectory() as tmp:
        probe = ["bwrap", *_unshare(), "--ro-bind", "/", "/", *_drop_to_slot_user(0), "true"]
        result = subprocess.run(probe, capture_output=True, text=True, cwd=tmp)
    if result.returncode != 0:
        return (f"bubblewrap cannot create its namespaces here ({result.stderr.strip()}); "
                f"allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1) "
                f"or run the grader where they are allowed")
    return None


def run(request: dict[str, Any], inputs: dict[str, Any], slot: int = 0) -> SandboxRun:
    """Run ``request`` (see :mod:`grader.runner`) on ``inputs`` (name -> tensor) in the sandbox."""
    from safetensors.torch import load_file, save_file
    problem = sandbox_problem()
    if problem:
        raise SandboxUnavailable(problem)
    with tempfile.TemporaryDirectory(prefix="swin-edu-grade-") as tmp:
        request_dir, output_dir = Path(tmp) / "in", Path(tmp) / "out"
        request_dir.mkdir()
        output_dir.mkdir()
        (request_dir / "request.json").write_text(json.dumps(request))
        save_file({k: v.contiguous() for k, v in inputs.items()},
                  str(request_dir / "inputs.safetensors"))
        for path in (Path(tmp), request_dir):
            path.chmod(0o755)
        (request_dir / "request.json").chmod(0o644)
        (request_dir / "inputs.safetensors").chmod(0o644)
        if os.geteuid() == 0:
            os.chown(output_dir, FIRST_UID + slot, FIRST_UID + slot)
        command = bwrap_command(request_dir, output_dir, slot)
        try:
            result = subprocess.run(command, capture_output=True, timeout=WALL_SECONDS,
                                    preexec_fn=_limits, cwd=tmp)
        except subprocess.TimeoutExpired:
            return SandboxRun(None, {}, f"stopped after {WALL_SECONDS} s of wall time")
        return _read(output_dir, result, load_file)


def _read(output_dir: Path, result: subprocess.CompletedProcess, load_file: Any) -> SandboxRun:
    response_path = output_dir / "response.json"
    tensors_path = output_dir / "outputs.safetensors"
    stderr = result.stderr.decode(errors="replace").strip().splitlines()
    if not response_path.is_file() or response_path.is_symlink():
        last = stderr[-1] if stderr else f"exit status {result.returncode}"
        return SandboxRun(None, {}, f"the student's code ended the process before it answered "
                                    f"({last[:300]})")
    if response_path.stat().st_size > RESPONSE_BYTES:
        return SandboxRun(None, {}, "the answers are too large to read")
    try:
        response = json.loads(response_path.read_text())
        tensors = load_file(str(tensors_path)) if tensors_path.is_file() and \
            not tensors_path.is_symlink() else {}
    except Exception as error:  # written inside the sandbox: anything can be wrong with it
        return SandboxRun(None, {}, f"the answers cannot be read ({type(error).__name__})")
    if not isinstance(response, dict) or not isinstance(response.get("results"), list):
        return SandboxRun(None, {}, "the answers are not in the runner's format")
    return SandboxRun(response, tensors)
