"""The class on a real JupyterHub (`make class-test`, as root): fixtures.

`class_hub` builds a class of its own with `classroom/class.sh setup` (an instructor and two
students as system users, under /srv/swin-class-test, on free loopback ports), starts the hub
with `classroom/class.sh hub` and, at the end, stops everything and removes the users, their
homes and the directory again (`classroom/class.sh destroy`; CLASS_TEST_KEEP=1 keeps them).
Logs and screenshots: build/classroom/ (git-ignored).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "classroom"))

from hubclient import Hub  # noqa: E402

BUILD_DIR = REPO / "build" / "classroom"
CLASS_SH = REPO / "classroom" / "class.sh"
TEACH_SH = REPO / "classroom" / "teach.sh"
ASSIGNMENT = "06_complexity"
MILESTONES = ("released", "fetched", "submitted", "collected", "graded", "feedback returned")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pdeathsig() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


@dataclass
class Class:
    env: dict[str, str]
    root: Path
    exchange: Path
    hub: Hub
    logins: dict
    log_path: Path
    process: subprocess.Popen | None = None
    done: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def instructor(self) -> str:
        return self.logins["instructor"]

    @property
    def students(self) -> list[str]:
        return self.logins["students"]

    def password(self, user: str) -> str:
        return self.logins["passwords"][user]

    def home(self, user: str) -> Path:
        import pwd
        return Path(pwd.getpwnam(user).pw_dir)

    def start_hub(self, timeout_s: float = 120) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(["bash", str(CLASS_SH), "hub"], env=self.env, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True,
                                        preexec_fn=_pdeathsig)
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the hub exited:\n{self.log_path.read_text()[-4000:]}")
            if self.hub.alive():
                return
            time.sleep(0.3)
        raise TimeoutError(f"the hub did not answer:\n{self.log_path.read_text()[-4000:]}")

    def stop_hub(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def teach(self, *args: str, check: bool = True, timeout: float = 600) -> str:
        """classroom/teach.sh as root (it runs nbgrader as the instructor)."""
        result = subprocess.run(["bash", str(TEACH_SH), *args], env=self.env, text=True,
                                capture_output=True, timeout=timeout)
        out = result.stdout + result.stderr
        with (BUILD_DIR / "teach.log").open("a") as f:
            f.write(f"$ teach.sh {' '.join(args)}\n{out}\n")
        if check:
            assert result.returncode == 0, out[-4000:]
        return out

    def as_user(self, user: str, *command: str) -> subprocess.CompletedProcess:
        """A shell command as a class user (what that user could do in a terminal)."""
        return subprocess.run(["runuser", "-u", user, "--", *command], text=True,
                              capture_output=True, timeout=120, cwd="/")


def _class_env() -> dict[str, str]:
    root = Path(os.environ.get("CLASS_TEST_ROOT", "/srv/swin-class-test"))
    port = _free_port()
    env = dict(os.environ)
    env.update({
        "CLASS_ROOT": str(root),
        "CLASS_PREFIX": "swtest-",
        "CLASS_INSTRUCTOR": "teacher",
        "CLASS_STUDENTS": "alice bob",
        "CLASS_IP": "127.0.0.1",
        "CLASS_PORT": str(port),
        "CLASS_HUB_PORT": str(_free_port()),
        "CLASS_PROXY_API_PORT": str(_free_port()),
        "EXCHANGE_ROOT": str(root / "exchange"),
        "CLASS_ASSIGNMENTS": ASSIGNMENT,
        "CLASS_AUTH": "pam",
    })
    return env


@pytest.fixture(scope="session")
def klass() -> Iterator[Class]:
    if os.geteuid() != 0:
        pytest.skip("the class test creates system users: run it as root (make class-test)")
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    for old in BUILD_DIR.glob("*"):
        old.unlink()
    env = _class_env()
    root = Path(env["CLASS_ROOT"])
    start = time.perf_counter()
    # A class left over by an interrupted run goes first.
    subprocess.run(["bash", str(CLASS_SH), "destroy"], env=env, capture_output=True)
    setup = subprocess.run(["bash", str(CLASS_SH), "setup"], env=env, text=True,
                           capture_output=True, timeout=1800)
    print(setup.stdout)
    assert setup.returncode == 0, (setup.stdout + setup.stderr)[-4000:]
    logins = json.loads((root / "hub" / "logins.json").read_text())
    hub = Hub(f"http://127.0.0.1:{env['CLASS_PORT']}/", logins["admin_token"])
    klass = Class(env, root, Path(env["EXCHANGE_ROOT"]), hub, logins,
                  BUILD_DIR / "jupyterhub.log")
    klass.timings["setup"] = time.perf_counter() - start
    start = time.perf_counter()
    klass.start_hub()
    klass.timings["hub start"] = time.perf_counter() - start
    print(f"[class] hub at {hub.url} (setup {klass.timings['setup']:.0f} s, "
          f"hub start {klass.timings['hub start']:.1f} s)")
    try:
        yield klass
    finally:
        try:
            if klass.process and klass.process.poll() is None:
                for user in [klass.instructor, *klass.students]:
                    try:
                        hub.stop_server(user, timeout_s=20)
                    except Exception as error:  # the hub may be the thing that broke
                        print(f"[class] could not stop the server of {user}: {error}")
        finally:
            klass.stop_hub()
            if os.environ.get("CLASS_TEST_KEEP") != "1":
                subprocess.run(["bash", str(CLASS_SH), "destroy"], env=env, capture_output=True)
            (BUILD_DIR / "timings.json").write_text(json.dumps(klass.timings, indent=2) + "\n")
            if klass.done == list(MILESTONES):
                print(f"\nclass e2e: {len(klass.students)} students, " + ", ".join(klass.done))
            else:
                print(f"\nclass e2e: incomplete, reached: {', '.join(klass.done) or 'nothing'}")
