#!/usr/bin/env bash
# The grader runs student code only inside bubblewrap (scripts/grader/sandbox.py). Install it on a
# Debian/Ubuntu machine when it is missing; elsewhere say how, and let the grading tests skip.
set -euo pipefail
if command -v bwrap >/dev/null 2>&1; then
    exit 0
fi
SUDO=""
[ "$(id -u)" = "0" ] || SUDO="sudo -n"
if command -v apt-get >/dev/null 2>&1 && { [ -z "$SUDO" ] || $SUDO true 2>/dev/null; }; then
    echo "installing bubblewrap (the grader's sandbox)"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null
    bwrap --version
else
    echo "bubblewrap is not installed and cannot be installed here (no apt-get or no root):" >&2
    echo "the grading tests will be skipped; install it with your package manager." >&2
fi
