#!/usr/bin/env bash
# A class on a real JupyterHub on this machine (docs/classroom.md). Run as root.
#
#   classroom/class.sh up        setup, then start the hub; prints the URL and logins (Ctrl-C stops)
#   classroom/class.sh setup     everything but the hub (idempotent: run it again after a change)
#   classroom/class.sh hub       the hub alone, in the foreground (after setup)
#   classroom/class.sh logins    print the URL and the logins again
#   classroom/class.sh destroy   stop the class's processes, delete its users, homes and CLASS_ROOT
#
# Settings (environment variables; `make class` uses the defaults):
#   CLASS_ROOT=/srv/swin-class      hub state (database, cookie secret, logins), student config,
#                                   the copy of the course handed to students
#   CLASS_PORT=8000                 the hub's public port (the proxy), on CLASS_IP=0.0.0.0
#   CLASS_PREFIX=swin-              prefix of the system users' names
#   CLASS_INSTRUCTOR=teacher        the instructor (user ${CLASS_PREFIX}teacher)
#   CLASS_STUDENTS="alice bob carol" the students (users ${CLASS_PREFIX}alice ...)
#   CLASS_AUTH=pam                  pam (system users' passwords, set here) or native
#                                   (NativeAuthenticator: sign-up page, the instructor approves)
#   CLASS_ASSIGNMENTS=              assignment IDs to generate for the instructor (default: all)
#   EXCHANGE_ROOT=/srv/nbgrader/exchange   nbgrader's exchange (the course's nbgrader_config.py
#                                   names the same directory)
# The environments are built once under classroom/.build/ (git-ignored): hub-venv/ (JupyterHub
# from PyPI), node/ (configurable-http-proxy from npm) and user-env/ (what every user's server
# runs: the course, non-editable, with the `test` extra, nbgrader and jupyterhub-singleuser).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HERE="$REPO/classroom"
BUILD="$HERE/.build"
# shellcheck source=classroom/settings.sh
source "$HERE/settings.sh"
CLASS_ASSIGNMENTS="${CLASS_ASSIGNMENTS:-}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
# The users' servers run Debian's Python: a pyenv or conda interpreter under /root is unreadable
# for them.
USER_PYTHON="${USER_PYTHON:-/usr/bin/python3}"

STEPS=6
n=0
progress() { n=$((n + 1)); printf '[class %d/%d] %s\n' "$n" "$STEPS" "$*"; }
note() { printf '        %s\n' "$*"; }
die() { echo "class.sh: $*" >&2; exit 1; }
# pip's messages about the machine's local index mirrors are noise here.
quiet_pip() { "$@" 2>&1 | grep -v -e "is ignored: it is neither" -e "^$" || true; return "${PIPESTATUS[0]}"; }

# Run a command as a class user, with the class's environment first on PATH.
as_user() {
    local user="$1"; shift
    runuser -u "$user" -- env -i HOME="$(home_of "$user")" USER="$user" LANG=C.UTF-8 \
        PATH="$CLASS_ENV/bin:/usr/local/bin:/usr/bin:/bin" \
        JUPYTER_CONFIG_PATH="$CLASS_ROOT/etc/jupyter" JUPYTER_PREFER_ENV_PATH=0 "$@"
}

need_root() { [[ "$(id -u)" == 0 ]] || die "run as root (it creates system users): sudo $0 $*"; }

apt_install() {
    local missing=()
    command -v bwrap >/dev/null || missing+=(bubblewrap)
    command -v node >/dev/null || missing+=(nodejs)
    command -v npm >/dev/null || missing+=(npm)
    [[ -x "$USER_PYTHON" ]] || missing+=(python3 python3-venv)
    "$USER_PYTHON" -c "import ensurepip" 2>/dev/null || missing+=(python3-venv)
    if ((${#missing[@]})); then
        note "apt-get install ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    note "bubblewrap $(bwrap --version | cut -d' ' -f2), node $(node --version)"
}

build_hub() {
    if [[ ! -x "$HUB_VENV/bin/jupyterhub" ]]; then
        python3 -m venv "$HUB_VENV"
        quiet_pip "$HUB_VENV/bin/pip" install --quiet jupyterhub
    fi
    if [[ "$CLASS_AUTH" == native && ! -d "$HUB_VENV/lib/python3"*/site-packages/nativeauthenticator ]]; then
        quiet_pip "$HUB_VENV/bin/pip" install --quiet jupyterhub-nativeauthenticator
    fi
    note "JupyterHub $("$HUB_VENV/bin/jupyterhub" --version) in $HUB_VENV"
    if [[ ! -x "$CHP" ]]; then
        mkdir -p "$BUILD/node"
        (cd "$BUILD/node" && npm install --silent --no-audit --no-fund --prefix . configurable-http-proxy)
    fi
    note "configurable-http-proxy $("$CHP" --version) in $BUILD/node"
}

hub_version() { "$HUB_VENV/bin/python" -c "import jupyterhub; print(jupyterhub.__version__)"; }

# The users' environment: the course as the students install it, plus jupyterhub-singleuser of
# the hub's version. Rebuilt when pyproject.toml changes; the course itself is reinstalled on
# every setup (seconds), so the users run the checkout's current code.
build_user_env() {
    local stamp="$CLASS_ENV/.class-stamp" want
    # What the environment holds: the course's dependencies (not the rest of pyproject.toml).
    want="$("$HUB_VENV/bin/python" -c 'import sys, tomllib; p = tomllib.load(open(sys.argv[1], "rb"))["project"]; print(sorted(p["dependencies"]), sorted(p["optional-dependencies"]["test"]))' "$REPO/pyproject.toml" | sha256sum | cut -c1-16) $TORCH_SPEC jupyterhub==$(hub_version)"
    local src; src="$(mktemp -d)"
    # A copy of what the package needs, so that pip writes nothing into the checkout.
    cp "$REPO/pyproject.toml" "$REPO/README.md" "$src/"
    cp -r "$REPO/swin_edu" "$src/swin_edu"
    find "$src" -name __pycache__ -prune -exec rm -rf {} +
    if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
        rm -rf "$CLASS_ENV"
        "$USER_PYTHON" -m venv "$CLASS_ENV"
        quiet_pip "$CLASS_ENV/bin/pip" install --quiet "$TORCH_SPEC"
        quiet_pip "$CLASS_ENV/bin/pip" install --quiet "$src[test]" "jupyterhub==$(hub_version)"
        echo "$want" > "$stamp"
    else
        quiet_pip "$CLASS_ENV/bin/pip" install --quiet --no-deps --force-reinstall "$src"
    fi
    rm -rf "$src"
    # The formgrader and Create Assignment are the instructor's (enabled in their ~/.jupyter);
    # the course list needs a hub service this class does not run. Students keep Assignments.
    "$CLASS_ENV/bin/jupyter" server extension disable --sys-prefix \
        nbgrader.server_extensions.formgrader nbgrader.server_extensions.course_list >/dev/null 2>&1
    # Written directly: `jupyter labextension disable` also locks the formgrader, and a locked
    # extension cannot be enabled again in the instructor's ~/.jupyter.
    mkdir -p "$CLASS_ENV/etc/jupyter/labconfig"
    cat > "$CLASS_ENV/etc/jupyter/labconfig/page_config.json" <<'JSON'
{"disabledExtensions": {"@jupyter/nbgrader:formgrader": true,
                        "@jupyter/nbgrader:create-assignment": true,
                        "@jupyter/nbgrader:course-list": true}}
JSON
    # No "fetch Jupyter news?" toast over the students' notebooks (the machine may be offline).
    mkdir -p "$CLASS_ENV/share/jupyter/lab/settings"
    echo '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}' \
        > "$CLASS_ENV/share/jupyter/lab/settings/overrides.json"
    chmod -R a+rX "$CLASS_ENV"
    note "$(cd / && "$CLASS_ENV/bin/python" -c 'import swin_edu, nbgrader, torch; print(f"swin_edu {swin_edu.__file__}, nbgrader {nbgrader.__version__}, torch {torch.__version__}")')"
}

write_class_root() {
    install -d -m 755 "$CLASS_ROOT" "$CLASS_ROOT/etc/jupyter"
    install -d -m 700 "$CLASS_ROOT/hub"
    # Every user's nbgrader reads this (JUPYTER_CONFIG_PATH, set by the hub for their server).
    cat > "$CLASS_ROOT/etc/jupyter/nbgrader_config.py" <<EOF
# Written by classroom/class.sh setup. The course and where its files are exchanged.
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "$COURSE_ID"
c.Exchange.root = "$EXCHANGE_ROOT"
EOF
    # The course handed to each student at first login (never notebooks/assignments: solutions).
    rm -rf "$CLASS_ROOT/course.new"
    install -d -m 755 "$CLASS_ROOT/course.new/notebooks"
    cp "$REPO"/notebooks/*.ipynb "$CLASS_ROOT/course.new/notebooks/"
    [[ -d "$REPO/notebooks/zh" ]] && cp -r "$REPO/notebooks/zh" "$CLASS_ROOT/course.new/notebooks/zh"
    cp -r "$REPO/figures" "$CLASS_ROOT/course.new/figures"
    rm -rf "$CLASS_ROOT/course.new/figures/classroom"
    chmod -R a+rX "$CLASS_ROOT/course.new"
    rm -rf "$CLASS_ROOT/course"; mv "$CLASS_ROOT/course.new" "$CLASS_ROOT/course"
    # nbgrader's documented exchange: one directory every user can write.
    mkdir -p "$EXCHANGE_ROOT"; chmod 777 "$EXCHANGE_ROOT"
    note "state $CLASS_ROOT/hub (root only), exchange $EXCHANGE_ROOT (777, as nbgrader documents)"
}

# Passwords: kept in $CLASS_ROOT/hub/logins.json (root only) so that setup can be rerun.
write_logins_and_users() {
    local logins="$CLASS_ROOT/hub/logins.json"
    "$CLASS_ENV/bin/python" - "$logins" "$(instructor)" $(students) <<'EOF'
import json, os, secrets, sys
path, instructor, *students = sys.argv[1:]
old = json.load(open(path)) if os.path.exists(path) else {}
pw = old.get("passwords", {})
users = [instructor, *students]
data = {
    "instructor": instructor,
    "students": students,
    "passwords": {u: pw.get(u) or secrets.token_urlsafe(9) for u in users},
    "admin_token": old.get("admin_token") or secrets.token_hex(32),
    "proxy_token": old.get("proxy_token") or secrets.token_hex(32),
}
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    json.dump(data, f, indent=2)
EOF
    getent group "${CLASS_PREFIX}students" >/dev/null || groupadd "${CLASS_PREFIX}students"
    getent group "${CLASS_PREFIX}instructors" >/dev/null || groupadd "${CLASS_PREFIX}instructors"
    local user group
    for user in "$(instructor)" $(students); do
        group="${CLASS_PREFIX}students"; [[ "$user" == "$(instructor)" ]] && group="${CLASS_PREFIX}instructors"
        if ! id "$user" >/dev/null 2>&1; then
            useradd --create-home --shell /bin/bash --gid "$group" "$user"
        fi
        chmod 700 "$(home_of "$user")"
        "$CLASS_ENV/bin/python" -c "import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[2] + ':' + d['passwords'][sys.argv[2]])" \
            "$logins" "$user" | chpasswd
    done
    note "instructor $(instructor); students $(students | tr '\n' ' ')(homes chmod 700)"
}

setup_instructor() {
    local user home ids=()
    user="$(instructor)"; home="$(home_of "$user")"
    as_user "$user" mkdir -p "$home/.jupyter" "$home/course"
    # The instructor's nbgrader: their course directory. CLASS_ROOT's file gives course and exchange.
    as_user "$user" bash -c "cat > '$home/.jupyter/nbgrader_config.py'" <<EOF
# Written by classroom/class.sh setup: the formgrader's course directory.
c = get_config()  # noqa: F821
c.CourseDirectory.root = "$home/course"
c.CourseDirectory.course_id = "$COURSE_ID"
c.Exchange.root = "$EXCHANGE_ROOT"
EOF
    # The formgrader and Create Assignment, for the instructor only (their ~/.jupyter wins over
    # the environment's: the hub sets JUPYTER_PREFER_ENV_PATH=0).
    as_user "$user" mkdir -p "$home/.jupyter/labconfig"
    as_user "$user" bash -c "cat > '$home/.jupyter/jupyter_server_config.json'" <<'JSON'
{"ServerApp": {"jpserver_extensions": {"nbgrader.server_extensions.formgrader": true}}}
JSON
    as_user "$user" bash -c "cat > '$home/.jupyter/labconfig/page_config.json'" <<'JSON'
{"disabledExtensions": {"@jupyter/nbgrader:formgrader": false,
                        "@jupyter/nbgrader:create-assignment": false}}
JSON
    [[ -n "$CLASS_ASSIGNMENTS" ]] && read -r -a ids <<< "$CLASS_ASSIGNMENTS"
    # The course directory, built by the course's own script, as the instructor.
    (cd "$home" && as_user "$user" env COURSE_DIR="$home/course" RELEASE_DIR="$home/release" \
        NBGRADER="$CLASS_ENV/bin/nbgrader" bash "$REPO/scripts/assignments.sh" generate "${ids[@]}" 2>&1 \
        | sed '/| INFO\]/d; s/^/        /')
}

print_logins() {
    local logins="$CLASS_ROOT/hub/logins.json" host
    host="$(hostname -I 2>/dev/null | cut -d' ' -f1)"; host="${host:-127.0.0.1}"
    [[ "$CLASS_IP" == 0.0.0.0 ]] || host="$CLASS_IP"
    echo ""
    echo "The class is open: http://$host:$CLASS_PORT/  (on this machine: http://127.0.0.1:$CLASS_PORT/)"
    "$CLASS_ENV/bin/python" - "$logins" "$CLASS_AUTH" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"  instructor  {d['instructor']:<20} password {d['passwords'][d['instructor']]}"
      "   (formgrader: /user/<name>/formgrader, in its own tab)")
for s in d["students"]:
    print(f"  student     {s:<20} password {d['passwords'][s]}")
if sys.argv[2] == "native":
    print("  NativeAuthenticator: others sign up at /hub/signup; the instructor approves at /hub/authorize")
EOF
    echo "Instructor: sudo classroom/teach.sh release 06_complexity   (docs/classroom.md)"
}

cmd_setup() {
    need_root setup
    progress "system packages (bubblewrap for the grader's sandbox, node for the proxy)"; apt_install
    progress "JupyterHub and configurable-http-proxy (separate from the course's .venv)"; build_hub
    progress "the users' environment: the course, nbgrader, jupyterhub-singleuser"; build_user_env
    progress "class directories, student configuration and the exchange"; write_class_root
    progress "system users with private homes"; write_logins_and_users
    progress "the instructor's course directory (scripts/assignments.sh generate)"; setup_instructor
    local mode; mode="$(stat -c %a "$REPO")"
    if [[ "${mode: -1}" =~ [1357] ]]; then
        note "note: $REPO is readable by every local user, students included, and holds the"
        note "solutions (notebooks/assignments/); on a shared server see docs/classroom.md, 'Solutions'."
    fi
}

HUB_PID=""
cmd_hub() {
    need_root hub
    [[ -x "$HUB_VENV/bin/jupyterhub" && -f "$CLASS_ROOT/hub/logins.json" ]] || die "run setup first"
    cd "$CLASS_ROOT/hub"
    exec "$HUB_VENV/bin/jupyterhub" -f "$HERE/jupyterhub_config.py" "$@"
}

cmd_up() {
    STEPS=7
    cmd_setup
    progress "starting JupyterHub on port $CLASS_PORT"
    (cd "$CLASS_ROOT/hub" && exec "$HUB_VENV/bin/jupyterhub" -f "$HERE/jupyterhub_config.py") \
        >> "$CLASS_ROOT/hub/jupyterhub.log" 2>&1 &
    HUB_PID=$!
    trap 'kill -TERM "$HUB_PID" 2>/dev/null; wait "$HUB_PID" 2>/dev/null; echo "hub stopped"' INT TERM
    local i
    for i in $(seq 1 120); do
        kill -0 "$HUB_PID" 2>/dev/null || { tail -30 "$CLASS_ROOT/hub/jupyterhub.log"; die "the hub exited"; }
        curl -fsS -o /dev/null "http://127.0.0.1:$CLASS_PORT/hub/api/" 2>/dev/null && break
        ((i % 5 == 0)) && note "waiting for the hub ($i s; log: $CLASS_ROOT/hub/jupyterhub.log)"
        sleep 1
    done
    curl -fsS -o /dev/null "http://127.0.0.1:$CLASS_PORT/hub/api/" || die "the hub did not answer"
    print_logins
    echo "Ctrl-C stops the hub (the users' servers keep running; 'classroom/class.sh destroy' ends all)."
    wait "$HUB_PID"
}

# PIDs of every process owned by a user (read from /proc; ended by id, one by one).
user_pids() {
    local uid; uid="$(id -u "$1" 2>/dev/null)" || return 0
    local d
    for d in /proc/[0-9]*; do
        [[ "$(stat -c %u "$d" 2>/dev/null)" == "$uid" ]] && echo "${d#/proc/}"
    done
    return 0
}

cmd_destroy() {
    need_root destroy
    local pids user
    if [[ -f "$CLASS_ROOT/hub/jupyterhub.pid" ]]; then
        kill -TERM "$(cat "$CLASS_ROOT/hub/jupyterhub.pid")" 2>/dev/null || true
    fi
    for user in "$(instructor)" $(students); do
        id "$user" >/dev/null 2>&1 || continue
        # The user's processes, by id; userdel refuses while any is alive.
        local tries
        for tries in $(seq 1 20); do
            pids="$(user_pids "$user")"
            [[ -z "$pids" ]] && break
            kill -KILL $pids 2>/dev/null || true
            sleep 0.5
        done
        userdel --remove "$user" 2>/dev/null || userdel --remove --force "$user" 2>/dev/null || true
    done
    groupdel "${CLASS_PREFIX}students" 2>/dev/null || true
    groupdel "${CLASS_PREFIX}instructors" 2>/dev/null || true
    rm -rf "${CLASS_ROOT:?}"
    [[ "$EXCHANGE_ROOT" == "$CLASS_ROOT"/* ]] || rm -rf "${EXCHANGE_ROOT:?}/$COURSE_ID"
    echo "removed the class's users, homes, $CLASS_ROOT and $EXCHANGE_ROOT/$COURSE_ID"
}

command="${1:-}"; shift || true
case "$command" in
    up) cmd_up ;;
    setup) cmd_setup ;;
    hub) cmd_hub "$@" ;;
    logins) print_logins ;;
    destroy) cmd_destroy ;;
    *) sed -n '2,/^[^#]/{/^#/p}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; [[ -z "$command" || "$command" == help ]] || exit 2 ;;
esac
