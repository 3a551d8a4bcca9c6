"""JupyterHub for one class of the swin-edu course on one machine (docs/classroom.md).

Started by `classroom/class.sh hub` (or `up`), which exports the settings read here; the users,
their passwords and the hub's admin token are in $CLASS_ROOT/hub/logins.json (root only),
written by `classroom/class.sh setup`.

- Every user is a system user with a private home; LocalProcessSpawner starts their server as
  that user from the shared environment $CLASS_ENV (the course, nbgrader, jupyterhub-singleuser).
- nbgrader's exchange is a directory on this machine ($EXCHANGE_ROOT); every user's nbgrader
  reads the course id and the exchange from $CLASS_ROOT/etc/jupyter/nbgrader_config.py.
- The formgrader is enabled in the instructor's ~/.jupyter only (disabled in $CLASS_ENV).
- At a student's first login the course's notebooks are copied into ~/swin-edu/.
- Authentication: CLASS_AUTH=pam (default; the system users' passwords) or native
  (NativeAuthenticator: sign-up and instructor approval). For an LMS, see "LTI" below.
"""

import json
import os
import pwd
import shutil
from pathlib import Path

c = get_config()  # noqa: F821

ROOT = Path(os.environ["CLASS_ROOT"])
ENV = Path(os.environ["CLASS_ENV"])
LOGINS = json.loads((ROOT / "hub" / "logins.json").read_text())
INSTRUCTOR = LOGINS["instructor"]
STUDENTS = LOGINS["students"]
AUTH = os.environ.get("CLASS_AUTH", "pam")
PORT = int(os.environ.get("CLASS_PORT", "8000"))

# --- network: the proxy on CLASS_PORT; the hub's and the proxy's APIs on loopback ports --------
c.JupyterHub.bind_url = f"http://{os.environ.get('CLASS_IP', '0.0.0.0')}:{PORT}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("CLASS_HUB_PORT", PORT + 81))
c.ConfigurableHTTPProxy.command = [os.environ["CHP"]]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{int(os.environ.get('CLASS_PROXY_API_PORT', PORT + 1))}"
# A fixed token: a hub restarted while its proxy still runs can talk to it again.
c.ConfigurableHTTPProxy.auth_token = LOGINS["proxy_token"]
c.ConfigurableHTTPProxy.pid_file = str(ROOT / "hub" / "proxy.pid")
c.JupyterHub.pid_file = str(ROOT / "hub" / "jupyterhub.pid")

# --- state: survives a hub restart (users, tokens, who runs which server) ----------------------
c.JupyterHub.db_url = f"sqlite:///{ROOT / 'hub' / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(ROOT / "hub" / "jupyterhub_cookie_secret")
# A hub restart (upgrade, config change) leaves the students' servers and kernels running.
c.JupyterHub.cleanup_servers = False

# --- users ---------------------------------------------------------------------------------
c.Authenticator.allowed_users = {INSTRUCTOR, *STUDENTS}
# The instructor can open the admin page: restart a student's server, see who is running.
c.Authenticator.admin_users = {INSTRUCTOR}
c.JupyterHub.load_groups = {
    "instructors": {"users": [INSTRUCTOR]},
    "students": {"users": STUDENTS},
}
# A hub service with the admin token of logins.json: the tests and the load benchmark use it.
c.JupyterHub.services = [{"name": "class-admin", "api_token": LOGINS["admin_token"]}]
c.JupyterHub.load_roles = [{
    "name": "class-admin",
    "scopes": ["admin:users", "admin:servers", "tokens", "admin-ui", "list:users",
               "read:users", "access:servers", "groups"],
    "services": ["class-admin"],
}]

if AUTH == "pam":
    # The system users' passwords (set by class.sh setup with chpasswd).
    c.JupyterHub.authenticator_class = "pam"
    c.PAMAuthenticator.open_sessions = False
elif AUTH == "native":
    # A real class without an LMS: students sign up at /hub/signup, the instructor approves them
    # at /hub/authorize. A signed-up name must be a system user (create it with
    # `useradd -m` and chmod 700 its home, as class.sh setup does) for LocalProcessSpawner.
    c.JupyterHub.authenticator_class = "native"
    c.NativeAuthenticator.open_signup = False
    c.NativeAuthenticator.minimum_password_length = 10
    c.NativeAuthenticator.check_common_password = True
    c.Authenticator.allow_all = False
    c.JupyterHub.template_paths = [
        str(Path(__import__("nativeauthenticator").__file__).parent / "templates")]
elif AUTH == "lti13":
    # LTI 1.3 (Moodle, Canvas, Blackboard): pip install jupyterhub-ltiauthenticator into
    # classroom/.build/hub-venv, register the hub as an LTI tool in the LMS and fill these in
    # (docs/classroom.md, "A real login").
    c.JupyterHub.authenticator_class = "ltiauthenticator.lti13.auth.LTI13Authenticator"
    c.LTI13Authenticator.issuer = os.environ["LTI_ISSUER"]
    c.LTI13Authenticator.authorize_url = os.environ["LTI_AUTHORIZE_URL"]
    c.LTI13Authenticator.jwks_endpoint = os.environ["LTI_JWKS_URL"]
    c.LTI13Authenticator.client_id = [os.environ["LTI_CLIENT_ID"]]
    c.LTI13Authenticator.username_key = "email"
else:
    raise ValueError(f"CLASS_AUTH={AUTH!r}: use pam, native or lti13")

# --- the users' servers --------------------------------------------------------------------
c.Spawner.cmd = [str(ENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.args = [
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.environment = {
    "PATH": f"{ENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
    "JUPYTER_CONFIG_PATH": str(ROOT / "etc" / "jupyter"),
    "LANG": "C.UTF-8",
    # The user's ~/.jupyter over the environment's etc/jupyter: the instructor's formgrader.
    "JUPYTER_PREFER_ENV_PATH": "0",
}
# A busy 2-core machine: the first start imports a lot; 30 s is not enough for a class at once.
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 120
# Notice a server that died (killed, out of memory) within 10 s, not 30.
c.Spawner.poll_interval = 10
c.JupyterHub.concurrent_spawn_limit = 40
c.JupyterHub.redirect_to_server = True

COURSE_COPY = ROOT / "course"


def hand_out_course(spawner) -> None:
    """First login: copy the course's notebooks into ~/swin-edu/, owned by the student.

    Runs in the hub (as root) before the server starts. A student's existing copy is never
    touched: delete ~/swin-edu to get a fresh one.
    """
    user = pwd.getpwnam(spawner.user.name)
    target = Path(user.pw_dir) / "swin-edu"
    if target.exists() or not COURSE_COPY.is_dir():
        return
    shutil.copytree(COURSE_COPY, target)
    for path in [target, *target.rglob("*")]:
        os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)
    spawner.log.info("handed out the course to %s in %s", spawner.user.name, target)


c.Spawner.pre_spawn_hook = hand_out_course

# Idle students' servers are stopped after an hour (their files stay); a cull service needs
# `pip install jupyterhub-idle-culler` in the hub's environment.
try:
    import jupyterhub_idle_culler  # noqa: F401
except ImportError:
    pass
else:
    c.JupyterHub.services.append({
        "name": "idle-culler",
        "command": [str(Path(os.sys.executable)), "-m", "jupyterhub_idle_culler", "--timeout=3600"],
    })
    c.JupyterHub.load_roles.append({
        "name": "idle-culler", "services": ["idle-culler"],
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    })
