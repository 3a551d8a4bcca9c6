"""Start and stop the JupyterLab server and find stray browser processes, by PID.

Linux only (reads /proc): the e2e test runs on Debian in CI.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

# Variables that would make the server read or write the developer's own Jupyter setup.
_FOREIGN_ENV = (
    "JUPYTER_PATH",
    "JUPYTER_TOKEN",
    "JUPYTER_PREFER_ENV_PATH",
    "JUPYTERLAB_SETTINGS_DIR",
    "JUPYTERLAB_WORKSPACES_DIR",
)


@dataclass
class LabServer:
    """A running `jupyter lab` process serving `root` at `url` (ends with '/')."""

    process: subprocess.Popen
    url: str
    root: Path
    log_path: Path
    # Where the course's notebooks sit in the served tree (the root, or root/notebooks).
    notebooks: Path

    def notebook_path(self, name: str) -> str:
        """`name` (a notebook file name) as a path relative to the server root."""
        return (self.notebooks / name).relative_to(self.root).as_posix()

    def log_tail(self, n_chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-n_chars:]


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the server must not retry others)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def isolated_env(home: Path, venv_bin: Path) -> dict[str, str]:
    """Environment with every Jupyter/IPython/matplotlib config and data dir under `home`.

    Lab extensions are still found: jupyter_core always searches `sys.prefix/share/jupyter`
    of the server's interpreter (the venv), whatever JUPYTER_DATA_DIR says.
    """
    env = {k: v for k, v in os.environ.items() if k not in _FOREIGN_ENV}
    dirs = {
        "JUPYTER_CONFIG_DIR": home / "jupyter_config",
        "JUPYTER_DATA_DIR": home / "jupyter_data",
        "JUPYTER_RUNTIME_DIR": home / "jupyter_runtime",
        "IPYTHONDIR": home / "ipython",
        "MPLCONFIGDIR": home / "matplotlib",
    }
    for name, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_lab(jupyter: Path, root: Path, notebooks: Path, env: dict[str, str], log_path: Path,
              timeout_s: float = 90.0) -> LabServer:
    """Start `jupyter lab` on a free loopback port, auth disabled, and wait until it answers.

    The server is a process-group leader so that `stop_process_tree` can signal all of it.
    """
    port = free_loopback_port()
    command = [
        str(jupyter), "lab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        "--IdentityProvider.token=", "--PasswordIdentityProvider.hashed_password=",
        # No internet in CI: do not let the server fetch news or poll PyPI for updates.
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = log_path.open("wb")
    process = subprocess.Popen(command, cwd=root, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True,
                               preexec_fn=_terminate_with_parent)
    log.close()
    server = LabServer(process, f"http://127.0.0.1:{port}/", root, log_path, notebooks)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {process.returncode}:\n"
                               f"{server.log_tail()}")
        if _answers(server.url + "api/status"):
            return server
        time.sleep(0.1)
    stop_process_tree(process)
    raise TimeoutError(f"jupyter lab did not answer within {timeout_s} s:\n{server.log_tail()}")


def _terminate_with_parent() -> None:
    """In the child: get SIGTERM when pytest dies, even when killed before its finalizers ran.

    The server then shuts its kernels down as on any SIGTERM.
    """
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _parent_pids() -> dict[int, int]:
    """pid -> parent pid for every process visible in /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name (field 2) may contain spaces; it ends at the last ')'.
        parents[int(entry.name)] = int(stat[stat.rindex(")") + 2:].split()[1])
    return parents


def descendants(pid: int) -> list[int]:
    """All live processes below `pid` (kernels run in their own session, not our group)."""
    children: dict[int, list[int]] = {}
    for child, parent in _parent_pids().items():
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def pids_with_argument(argument: str) -> list[int]:
    """Processes whose command line contains `argument` (e.g. our unique user-data dir)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if argument in cmdline:
            pids.append(int(entry.name))
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def kill_pids(pids: list[int], grace_s: float = 5.0) -> list[int]:
    """SIGTERM `pids`, then SIGKILL those still alive after `grace_s`; returns the killed ones."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.05)
    killed = [pid for pid in pids if _alive(pid)]
    for pid in killed:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return killed


def stop_process_tree(process: subprocess.Popen, grace_s: float = 10.0) -> None:
    """Stop the process group led by `process` and every descendant (kernels included).

    SIGTERM lets jupyter_server shut its kernels down cleanly; anything left afterwards is
    killed by PID.
    """
    tree = descendants(process.pid)
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
    kill_pids([pid for pid in tree if _alive(pid)], grace_s=2.0)
