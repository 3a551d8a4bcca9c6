#!/usr/bin/env bash
# Classroom assignments with nbgrader: generate the student versions, collect, autograde, export.
#
#   scripts/assignments.sh generate [ID...]          student versions -> assignments_release/
#   scripts/assignments.sh collect DIR [ID...]       returned notebooks DIR/<student>/<ID>.ipynb
#                                                    -> <course>/submitted/<student>/<ID>/
#   scripts/assignments.sh autograde [ID...] [-- NBGRADER_OPTION...]
#   scripts/assignments.sh feedback [ID...]          HTML reports -> <course>/feedback/
#   scripts/assignments.sh export [FILE]             grades CSV (default <course>/grades.csv)
#   scripts/assignments.sh list                      assignment IDs
#
# Without IDs a command acts on every assignment in notebooks/assignments/. The course directory
# (nbgrader's source/, release/, submitted/, autograded/, feedback/ and gradebook.db) is
# $COURSE_DIR, default nbgrader_work/; the student versions are copied to $RELEASE_DIR, default
# assignments_release/. Both are git-ignored. Options after `--` go to nbgrader unchanged.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SOURCES="$REPO/notebooks/assignments"
COURSE_DIR="${COURSE_DIR:-$REPO/nbgrader_work}"
RELEASE_DIR="${RELEASE_DIR:-$REPO/assignments_release}"
[[ "$COURSE_DIR" = /* ]] || COURSE_DIR="$PWD/$COURSE_DIR"
[[ "$RELEASE_DIR" = /* ]] || RELEASE_DIR="$PWD/$RELEASE_DIR"
if [[ -z "${NBGRADER:-}" ]]; then
    if [[ -x "$REPO/.venv/bin/nbgrader" ]]; then NBGRADER="$REPO/.venv/bin/nbgrader"; else NBGRADER=nbgrader; fi
fi
# nbgrader runs `alembic` (its database migrations) from PATH: use the one next to nbgrader.
[[ "$NBGRADER" == */* ]] && export PATH="$(dirname "$NBGRADER"):$PATH"
# Kernels started by nbgrader import swin_edu from this checkout even if it is not pip-installed.
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"

die() { echo "assignments.sh: $*" >&2; exit 2; }

all_ids() {
    local dir
    for dir in "$SOURCES"/*/; do
        dir="${dir%/}"
        [[ -f "$dir/$(basename "$dir").ipynb" ]] && basename "$dir"
    done
}

# Split "$@" into IDS (before --) and EXTRA (after --); no IDs means all of them.
parse_ids() {
    IDS=(); EXTRA=()
    while (($#)); do
        if [[ "$1" == "--" ]]; then shift; EXTRA=("$@"); break; fi
        [[ -d "$SOURCES/$1" ]] || die "unknown assignment '$1'; known: $(all_ids | tr '\n' ' ')"
        IDS+=("$1"); shift
    done
    ALL=0
    if ((${#IDS[@]} == 0)); then ALL=1; mapfile -t IDS < <(all_ids); fi
}

# The nbgrader assignment arguments: one glob call for all (one start-up), else one per ID.
nbgrader_targets() { if ((ALL)); then echo "*"; else printf '%s\n' "${IDS[@]}"; fi; }

nbgrader_in_course() { mkdir -p "$COURSE_DIR" && (cd "$COURSE_DIR" && "$NBGRADER" "$@"); }

cmd_generate() {
    parse_ids "$@"
    mkdir -p "$COURSE_DIR"
    cp "$SOURCES/nbgrader_config.py" "$COURSE_DIR/nbgrader_config.py"
    mkdir -p "$COURSE_DIR/source" "$RELEASE_DIR"
    local id target
    for id in "${IDS[@]}"; do
        rm -rf "${COURSE_DIR:?}/source/$id"
        cp -r "$SOURCES/$id" "$COURSE_DIR/source/$id"
    done
    while read -r target; do
        nbgrader_in_course generate_assignment "$target" --force "${EXTRA[@]}"
    done < <(nbgrader_targets)
    for id in "${IDS[@]}"; do
        rm -rf "${RELEASE_DIR:?}/$id"
        cp -r "$COURSE_DIR/release/$id" "$RELEASE_DIR/$id"
        echo "student version: $RELEASE_DIR/$id/$id.ipynb"
    done
}

cmd_collect() {
    (($#)) || die "collect needs the folder of returned notebooks: collect DIR [ID...]"
    local returned="$1"; shift
    [[ -d "$returned" ]] || die "no folder '$returned'"
    parse_ids "$@"
    local student_dir student id found
    for student_dir in "$returned"/*/; do
        student="$(basename "$student_dir")"
        for id in "${IDS[@]}"; do
            found=""
            for candidate in "$student_dir/$id.ipynb" "$student_dir/$id/$id.ipynb"; do
                [[ -f "$candidate" ]] && found="$candidate" && break
            done
            [[ -n "$found" ]] || continue
            mkdir -p "$COURSE_DIR/submitted/$student/$id"
            cp "$found" "$COURSE_DIR/submitted/$student/$id/$id.ipynb"
            echo "collected $student/$id"
        done
    done
}

cmd_autograde() {
    parse_ids "$@"
    compgen -G "$COURSE_DIR/submitted/*/*" >/dev/null || die "nothing in $COURSE_DIR/submitted/; run collect first"
    local target
    while read -r target; do
        nbgrader_in_course autograde "$target" --force "${EXTRA[@]}"
    done < <(nbgrader_targets)
}

cmd_feedback() {
    parse_ids "$@"
    local target
    while read -r target; do
        nbgrader_in_course generate_feedback "$target" --force "${EXTRA[@]}"
    done < <(nbgrader_targets)
}

cmd_export() {
    local out="${1:-$COURSE_DIR/grades.csv}"
    [[ "$out" = /* ]] || out="$PWD/$out"
    nbgrader_in_course export --to="$out"
    echo "grades: $out"
}

command="${1:-}"; shift || true
case "$command" in
    generate) cmd_generate "$@" ;;
    collect) cmd_collect "$@" ;;
    autograde) cmd_autograde "$@" ;;
    feedback) cmd_feedback "$@" ;;
    export) cmd_export "$@" ;;
    list) all_ids ;;
    *) sed -n '2,/^[^#]/{/^#/p}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; [[ -z "$command" || "$command" == help ]] || exit 2 ;;
esac
