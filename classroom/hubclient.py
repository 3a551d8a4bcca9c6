"""A small client for the class's JupyterHub: what a student's browser does, over HTTP.

Used by the semester test (tests/classroom/) and the load benchmark (classroom/bench.py):
log in with a password through the hub's login form, get an API token, start the server, use
the Jupyter contents and kernel APIs, and nbgrader's Assignments API (the same calls the
Assignments tab of JupyterLab makes: fetch, submit, fetch_feedback).

Only `requests` and `tornado` (both in the course's environment) are needed.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import requests

COURSE_ID = "swin-edu"


class HubError(RuntimeError):
    pass


@dataclass
class Hub:
    """The hub at `url` (ends with '/'); `admin_token` is the class-admin service's token."""

    url: str
    admin_token: str

    def api(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"token {token or self.admin_token}"}
        return requests.request(method, f"{self.url}hub/api/{path}", headers=headers,
                                timeout=60, **kwargs)

    def alive(self) -> bool:
        try:
            return requests.get(f"{self.url}hub/api/", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def login(self, username: str, password: str) -> "Student":
        """The hub's login form with a password, then a token made with that session."""
        session = requests.Session()
        page = session.get(f"{self.url}hub/login", timeout=60)
        page.raise_for_status()
        xsrf = session.cookies.get("_xsrf", "")
        response = session.post(f"{self.url}hub/login?next=", timeout=60, allow_redirects=False,
                                data={"username": username, "password": password, "_xsrf": xsrf})
        if response.status_code != 302:
            raise HubError(f"login of {username} refused: HTTP {response.status_code}")
        # The XSRF token is tied to the session, which the login renewed: fetch a fresh one.
        session.get(f"{self.url}hub/token", timeout=60).raise_for_status()
        xsrf = session.cookies.get("_xsrf", path="/hub/") or session.cookies.get("_xsrf", "")
        response = session.post(f"{self.url}hub/api/users/{username}/tokens", timeout=60,
                                headers={"X-XSRFToken": xsrf}, json={"note": "hubclient"})
        if response.status_code != 201:
            raise HubError(f"token for {username}: HTTP {response.status_code} {response.text}")
        return Student(self, username, response.json()["token"])

    def as_user(self, username: str) -> "Student":
        """A student with a token made by the admin service (no password)."""
        response = self.api("POST", f"users/{username}/tokens", json={"note": "hubclient"})
        if response.status_code != 201:
            raise HubError(f"token for {username}: HTTP {response.status_code} {response.text}")
        return Student(self, username, response.json()["token"])

    def user(self, username: str) -> dict:
        response = self.api("GET", f"users/{username}")
        response.raise_for_status()
        return response.json()

    def users(self) -> list[str]:
        response = self.api("GET", "users")
        response.raise_for_status()
        return sorted(u["name"] for u in response.json())

    def server_running(self, username: str) -> bool:
        server = self.user(username).get("servers", {}).get("")
        return bool(server and server.get("ready"))

    def stop_server(self, username: str, timeout_s: float = 60) -> None:
        self.api("DELETE", f"users/{username}/server")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.user(username).get("servers"):
            time.sleep(0.5)


@dataclass
class Student:
    hub: Hub
    name: str
    token: str
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.session.headers["Authorization"] = f"token {self.token}"

    @property
    def server_url(self) -> str:
        return f"{self.hub.url}user/{self.name}/"

    # --- the server --------------------------------------------------------------------------
    def start(self, timeout_s: float = 240) -> float:
        """Start the server (if not running) and wait until it answers; returns the seconds."""
        start = time.perf_counter()
        response = self.hub.api("POST", f"users/{self.name}/server", token=self.token)
        if response.status_code not in (201, 202, 400):  # 400: already running
            raise HubError(f"start {self.name}: HTTP {response.status_code} {response.text}")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            model = self.hub.api("GET", f"users/{self.name}", token=self.token).json()
            server = model.get("servers", {}).get("")
            if server and server.get("ready"):
                try:
                    if self.get("api/status").status_code == 200:
                        return time.perf_counter() - start
                except requests.RequestException:
                    pass
            elif not model.get("pending") and not server and time.perf_counter() - start > 5:
                # It stopped (failed to start): ask again once, as the spawn page would.
                self.hub.api("POST", f"users/{self.name}/server", token=self.token)
            time.sleep(0.5)
        raise HubError(f"the server of {self.name} was not ready within {timeout_s} s")

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.session.get(self.server_url + path, timeout=120, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.session.post(self.server_url + path, timeout=300, **kwargs)

    # --- files ---------------------------------------------------------------------------
    def read_notebook(self, path: str) -> dict:
        response = self.get(f"api/contents/{quote(path)}", params={"content": 1})
        response.raise_for_status()
        return response.json()["content"]

    def write_notebook(self, path: str, nb: dict) -> None:
        response = self.session.put(self.server_url + f"api/contents/{quote(path)}", timeout=120,
                                    json={"type": "notebook", "format": "json", "content": nb})
        response.raise_for_status()

    def read_file(self, path: str) -> str:
        response = self.get(f"files/{quote(path)}")
        response.raise_for_status()
        return response.text

    # --- nbgrader's Assignments API (the Assignments tab) -----------------------------------
    def assignments(self) -> list[dict]:
        response = self.get("assignments", params={"course_id": COURSE_ID})
        response.raise_for_status()
        value = response.json()
        if not value.get("success"):
            raise HubError(f"assignment list of {self.name}: {value.get('value')}")
        return value["value"]

    def _action(self, action: str, assignment: str) -> list[dict]:
        xsrf = self.session.cookies.get("_xsrf")
        response = self.post(f"assignments/{action}",
                             data={"assignment_id": assignment, "course_id": COURSE_ID},
                             headers={"X-XSRFToken": xsrf} if xsrf else {})
        response.raise_for_status()
        value = response.json()
        if not value.get("success", True):
            raise HubError(f"{action} {assignment} for {self.name}: {value.get('value')}")
        return value.get("value", value)

    def fetch(self, assignment: str) -> list[dict]:
        return self._action("fetch", assignment)

    def submit(self, assignment: str) -> list[dict]:
        return self._action("submit", assignment)

    def fetch_feedback(self, assignment: str) -> list[dict]:
        return self._action("fetch_feedback", assignment)

    def status_of(self, assignment: str) -> list[dict]:
        return [a for a in self.assignments() if a["assignment_id"] == assignment]

    # --- a kernel ------------------------------------------------------------------------
    def execute_notebook(self, nb: dict, timeout_s: float = 300) -> list[str]:
        """Run the code cells of `nb` in a new kernel of the user's server; returns the errors.

        The kernel is shut down afterwards. Raises on a cell that does not finish in time.
        """
        return asyncio.run(self._execute(nb, timeout_s))

    async def _execute(self, nb: dict, timeout_s: float) -> list[str]:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        response = self.post("api/kernels", json={"name": "python3"})
        response.raise_for_status()
        kernel = response.json()["id"]
        ws_url = re.sub(r"^http", "ws", self.server_url) + f"api/kernels/{kernel}/channels"
        errors: list[str] = []
        try:
            conn = await websocket_connect(HTTPRequest(
                ws_url, headers={"Authorization": f"token {self.token}"},
                request_timeout=60, connect_timeout=60))
            session = uuid.uuid4().hex
            deadline = time.monotonic() + timeout_s
            for cell in nb["cells"]:
                if cell["cell_type"] != "code":
                    continue
                source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
                msg_id = uuid.uuid4().hex
                conn.write_message(json.dumps({
                    "header": {"msg_id": msg_id, "username": self.name, "session": session,
                               "msg_type": "execute_request", "version": "5.3"},
                    "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                    "content": {"code": source, "silent": False, "store_history": True,
                                "user_expressions": {}, "allow_stdin": False,
                                "stop_on_error": False},
                }))
                replied = idle = False
                while not (replied and idle):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise HubError(f"{self.name}: a cell did not finish within {timeout_s} s")
                    raw = await asyncio.wait_for(conn.read_message(), timeout=left)
                    if raw is None:
                        raise HubError(f"{self.name}: the kernel's websocket closed")
                    msg = json.loads(raw)
                    if msg.get("parent_header", {}).get("msg_id") != msg_id:
                        continue
                    kind = msg["header"]["msg_type"]
                    if kind == "execute_reply":
                        replied = True
                    elif kind == "status" and msg["content"]["execution_state"] == "idle":
                        idle = True
                    elif kind == "error":
                        errors.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")
            conn.close()
        finally:
            self.session.delete(self.server_url + f"api/kernels/{kernel}", timeout=60)
        return errors


# --- answers -------------------------------------------------------------------------------

def solutions(source_notebook: Path) -> dict[str, str]:
    """grade_id -> the instructor's solution (markers removed) of every solution cell."""
    nb = json.loads(source_notebook.read_text())
    answers = {}
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution"):
            text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            lines = [line for line in text.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
            answers[meta["grade_id"]] = "\n".join(lines)
    return answers


def answer(nb: dict, answers: dict[str, str]) -> dict:
    """`nb` (a fetched student notebook) with `answers` written into its solution cells."""
    for cell in nb["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    return nb
