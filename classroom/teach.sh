#!/usr/bin/env bash
# The instructor's commands for the class on the hub (docs/classroom.md). Run as root (it then
# runs each command as the instructor) or as the instructor in a terminal of their server.
#
#   classroom/teach.sh release ID       hand the assignment out (nbgrader release_assignment)
#   classroom/teach.sh submissions [ID] what is in the exchange's inbound (nbgrader list --inbound)
#   classroom/teach.sh collect ID [--before-duedate] [--student=NAME]
#                                       copy the latest submission of every student into the course
#                                       (--before-duedate: the last one before the due date)
#   classroom/teach.sh duedate ID 'YYYY-MM-DD HH:MM:SS Zone'   set the due date (late = after it)
#   classroom/teach.sh autograde ID [-- NBGRADER_OPTION...]   the course's grader
#                                       (scripts/assignments.sh autograde), then the summary
#   classroom/teach.sh feedback ID      generate the feedback and hand it back (release_feedback)
#   classroom/teach.sh export [FILE]    grades CSV (default ~/course/grades.csv)
#   classroom/teach.sh backup           the gradebook (a consistent SQLite copy) and the course's
#                                       submitted/autograded/feedback folders -> ~/backups/
#   classroom/teach.sh shell            a shell as the instructor in the course directory
#
# The settings (CLASS_ROOT, CLASS_PREFIX, EXCHANGE_ROOT ...) are those of classroom/class.sh.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HERE="$REPO/classroom"
# shellcheck source=classroom/settings.sh
source "$HERE/settings.sh"

USER_NAME="$(instructor)"
HOME_DIR="$(home_of "$USER_NAME")"
[[ -n "$HOME_DIR" ]] || { echo "teach.sh: no user $USER_NAME; run classroom/class.sh setup" >&2; exit 1; }
COURSE="$HOME_DIR/course"
# The exchange and the course id on the command line: they win over every nbgrader_config.py.
EXCHANGE_OPTS=(--Exchange.root="$EXCHANGE_ROOT" --CourseDirectory.course_id="$COURSE_ID")

run() {
    if [[ "$(id -un)" == "$USER_NAME" ]]; then
        (cd "$COURSE" && env PATH="$CLASS_ENV/bin:$PATH" "$@")
    elif [[ "$(id -u)" == 0 ]]; then
        (cd "$COURSE" && runuser -u "$USER_NAME" -- env -i HOME="$HOME_DIR" USER="$USER_NAME" \
            LANG=C.UTF-8 PATH="$CLASS_ENV/bin:/usr/local/bin:/usr/bin:/bin" \
            JUPYTER_CONFIG_PATH="$CLASS_ROOT/etc/jupyter" JUPYTER_PREFER_ENV_PATH=0 "$@")
    else
        echo "teach.sh: run as root or as $USER_NAME" >&2; exit 1
    fi
}
assignments() {
    run env COURSE_DIR="$COURSE" RELEASE_DIR="$HOME_DIR/release" NBGRADER="$CLASS_ENV/bin/nbgrader" \
        bash "$REPO/scripts/assignments.sh" "$@"
}
need_id() { [[ -n "${1:-}" ]] || { echo "teach.sh: $2 needs an assignment ID" >&2; exit 2; }; }

command="${1:-}"; shift || true
case "$command" in
    release) need_id "${1:-}" release
        run nbgrader release_assignment "$1" --force "${EXCHANGE_OPTS[@]}" ;;
    submissions) run nbgrader list --inbound ${1:+"$1"} "${EXCHANGE_OPTS[@]}" ;;
    collect) need_id "${1:-}" collect
        # --update: a newer submission (a resubmission) replaces the one collected before.
        run nbgrader collect "$@" --update "${EXCHANGE_OPTS[@]}" ;;
    duedate) need_id "${1:-}" duedate; [[ -n "${2:-}" ]] || { echo "teach.sh: duedate ID 'YYYY-MM-DD HH:MM:SS Zone'" >&2; exit 2; }
        run nbgrader db assignment add "$1" --duedate="$2" ;;
    autograde) need_id "${1:-}" autograde
        if [[ "$(id -u)" == 0 ]]; then
            # As root the grader's sandbox runs each student's code as an unprivileged user id
            # of its own (scripts/grader/sandbox.py), with the course's own .venv as in
            # docs/teachers.md; the course directory is then given back to the instructor.
            status=0
            (cd "$COURSE" && env COURSE_DIR="$COURSE" RELEASE_DIR="$HOME_DIR/release" \
                bash "$REPO/scripts/assignments.sh" autograde "$@") || status=$?
            chown -R "$USER_NAME:$(id -gn "$USER_NAME")" "$COURSE"
            exit "$status"
        fi
        assignments autograde "$@" ;;
    feedback) need_id "${1:-}" feedback
        assignments feedback "$1"
        run nbgrader release_feedback "$1" "${EXCHANGE_OPTS[@]}" ;;
    export) assignments export "$@" ;;
    backup)
        stamp="$(date +%Y%m%d-%H%M%S)"
        run mkdir -p "$HOME_DIR/backups"
        run python -c "import sqlite3, sys; src = sqlite3.connect(sys.argv[1]); dst = sqlite3.connect(sys.argv[2]); src.backup(dst); dst.close(); print('gradebook:', sys.argv[2])" \
            "$COURSE/gradebook.db" "$HOME_DIR/backups/gradebook-$stamp.db"
        run tar -czf "$HOME_DIR/backups/course-$stamp.tar.gz" -C "$COURSE" \
            --ignore-failed-read source submitted autograded feedback nbgrader_config.py
        echo "course files: $HOME_DIR/backups/course-$stamp.tar.gz" ;;
    shell) run bash -l ;;
    *) sed -n '2,/^[^#]/{/^#/p}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; [[ -z "$command" || "$command" == help ]] || exit 2 ;;
esac
