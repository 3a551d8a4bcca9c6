#!/usr/bin/env bash
# Classroom assignments with nbgrader: generate the student versions, collect, autograde, export.
#
#   scripts/assignments.sh generate [ID...]          student versions -> assignments_release/
#   scripts/assignments.sh collect DIR [ID...]       returned notebooks DIR/<student>/<ID>.ipynb
#                                                    -> <course>/submitted/<student>/<ID>/
#   scripts/assignments.sh autograde [ID...] [-- NBGRADER_OPTION...]
#                                                    grade in the sandbox, scores into nbgrader,
#                                                    audit, summary
#   scripts/assignments.sh audit [ID...]             integrity report -> <course>/audit.txt
#   scripts/assignments.sh summary [ID...]           student x assignment table -> <course>/summary.txt
#   scripts/assignments.sh feedback [ID...]          HTML reports -> <course>/feedback/
#   scripts/assignments.sh export [FILE]             grades CSV (default <course>/grades.csv) and
#                                                    its summary next to it (<FILE stem>_summary.txt)
#   scripts/assignments.sh list                      assignment IDs
#
# Without IDs a command acts on every assignment in notebooks/assignments/. The course directory
# (nbgrader's source/, release/, submitted/, autograded/, feedback/ and gradebook.db) is
# $COURSE_DIR, default nbgrader_work/; the student versions are copied to $RELEASE_DIR, default
# assignments_release/. Both are git-ignored. Options after `--` go to nbgrader unchanged.
# Every command goes through every assignment and student it was given; when something failed
# it lists what at the end and exits 1 (2 for a wrong command line).
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
# The teacher's grader (scripts/grader) runs in its own process, never in a student's kernel.
PYTHON="$(dirname "$NBGRADER")/python"
[[ "$NBGRADER" == */* && -x "$PYTHON" ]] || PYTHON=python3
grader() { PYTHONPATH="$REPO/scripts:$PYTHONPATH" "$PYTHON" -m grader "$@"; }

FAILURES=()
# Run a step; on failure remember it and go on.
step() { local what="$1"; shift; "$@" || FAILURES+=("$what"); }
finish() {
    if ((${#FAILURES[@]})); then
        echo "" >&2
        echo "assignments.sh: ${#FAILURES[@]} step(s) failed (everything else was done):" >&2
        printf '  - %s\n' "${FAILURES[@]}" >&2
        exit 1
    fi
}

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
    # The course's copy knows where the grader is (SandboxGrade replaces nbgrader's kernel).
    sed "s|@GRADER_SCRIPTS@|$REPO/scripts|" "$SOURCES/nbgrader_config.py" > "$COURSE_DIR/nbgrader_config.py"
    mkdir -p "$COURSE_DIR/source" "$RELEASE_DIR"
    local id target
    for id in "${IDS[@]}"; do
        rm -rf "${COURSE_DIR:?}/source/$id"
        cp -r "$SOURCES/$id" "$COURSE_DIR/source/$id"
    done
    while read -r target; do
        step "generate $target" nbgrader_in_course generate_assignment "$target" --force "${EXTRA[@]}"
    done < <(nbgrader_targets)
    for id in "${IDS[@]}"; do
        [[ -f "$COURSE_DIR/release/$id/$id.ipynb" ]] || continue
        rm -rf "${RELEASE_DIR:?}/$id"
        cp -r "$COURSE_DIR/release/$id" "$RELEASE_DIR/$id"
        echo "student version: $RELEASE_DIR/$id/$id.ipynb"
    done
    finish
}

cmd_collect() {
    (($#)) || die "collect needs the folder of returned notebooks: collect DIR [ID...]"
    local returned="$1"; shift
    [[ -d "$returned" ]] || die "no folder '$returned'"
    parse_ids "$@"
    step "collect (see the warnings above)" grader collect "$returned" "$COURSE_DIR" "${IDS[@]}"
    finish
}

# The student's code runs only in the grader's sandbox (scripts/grader/sandbox.py): `prepare`
# grades every submission there in parallel; nbgrader's autograde then takes the verdicts as the
# graded cells' outputs (no kernel), and `report` writes the audit and the summary.
LOG=""
cmd_autograde() {
    parse_ids "$@"
    compgen -G "$COURSE_DIR/submitted/*/*" >/dev/null || die "nothing in $COURSE_DIR/submitted/; run collect first"
    LOG="$COURSE_DIR/autograde.log"
    : > "$LOG"
    grader prepare "$COURSE_DIR" "${IDS[@]}" || die "the grader could not run (see above)"
    local id
    # One nbgrader run per assignment: a failure in one does not stop the next.
    for id in "${IDS[@]}"; do
        compgen -G "$COURSE_DIR/submitted/*/$id" >/dev/null || { echo "autograde $id: nothing submitted"; continue; }
        local started; started=$(date +%s)
        step "nbgrader autograde $id (see $LOG)" nbgrader_logged autograde "$id" --force "${EXTRA[@]}"
        # Whoever nbgrader's run left ungraded (it stops at a notebook it cannot read) is graded
        # on their own, so that one submission never costs the students after it.
        local student
        while IFS= read -r student; do
            [[ -n "$student" ]] || continue
            step "nbgrader autograde $id --student=$student (see $LOG)" \
                nbgrader_logged autograde "$id" --student="$student" --force "${EXTRA[@]}"
        done < <(grader ungraded "$COURSE_DIR" "$id" --since "$started")
    done
    step "integrity audit or summary (see the report lines above)" grader report "$COURSE_DIR" "${IDS[@]}"
    finish
}

nbgrader_logged() { nbgrader_in_course "$@" 2>&1 | tee -a "$LOG"; }

cmd_audit() {
    parse_ids "$@"
    step "integrity audit (suspicious submissions)" grader audit "$COURSE_DIR" "${IDS[@]}"
    finish
}

cmd_summary() {
    parse_ids "$@"
    step "summary (submissions that need a look)" grader summary "$COURSE_DIR" "${IDS[@]}"
    finish
}

cmd_feedback() {
    parse_ids "$@"
    local id
    for id in "${IDS[@]}"; do
        compgen -G "$COURSE_DIR/autograded/*/$id" >/dev/null || { echo "feedback $id: nothing autograded"; continue; }
        step "feedback $id" nbgrader_in_course generate_feedback "$id" --force "${EXTRA[@]}"
    done
    finish
}

cmd_export() {
    local out="${1:-$COURSE_DIR/grades.csv}"
    [[ "$out" = /* ]] || out="$PWD/$out"
    step "export" nbgrader_in_course export --to="$out"
    # Ids such as =2+5 would be formulas in a spreadsheet.
    step "escape the CSV" grader escape-csv "$out"
    echo "grades: $out"
    local ids=() id
    for id in $(all_ids); do compgen -G "$COURSE_DIR/submitted/*/$id" >/dev/null && ids+=("$id"); done
    # The summary lists what needs a look; the export itself succeeded.
    ((${#ids[@]})) && { grader summary "$COURSE_DIR" "${ids[@]}" --out "${out%.csv}_summary.txt" || true; }
    finish
}

command="${1:-}"; shift || true
case "$command" in
    generate) cmd_generate "$@" ;;
    collect) cmd_collect "$@" ;;
    autograde) cmd_autograde "$@" ;;
    feedback) cmd_feedback "$@" ;;
    export) cmd_export "$@" ;;
    audit) cmd_audit "$@" ;;
    summary) cmd_summary "$@" ;;
    list) all_ids ;;
    *) sed -n '2,/^[^#]/{/^#/p}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; [[ -z "$command" || "$command" == help ]] || exit 2 ;;
esac
