# The class's settings, shared by class.sh and teach.sh (see class.sh for what each one is).
# shellcheck shell=bash
BUILD="${BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/.build}"
export CLASS_ROOT="${CLASS_ROOT:-/srv/swin-class}"
export CLASS_PORT="${CLASS_PORT:-8000}"
export CLASS_IP="${CLASS_IP:-0.0.0.0}"
export CLASS_PREFIX="${CLASS_PREFIX-swin-}"
export CLASS_INSTRUCTOR="${CLASS_INSTRUCTOR:-teacher}"
export CLASS_STUDENTS="${CLASS_STUDENTS:-alice bob carol}"
export CLASS_AUTH="${CLASS_AUTH:-pam}"
export EXCHANGE_ROOT="${EXCHANGE_ROOT:-/srv/nbgrader/exchange}"
export HUB_VENV="${HUB_VENV:-$BUILD/hub-venv}"
export CLASS_ENV="${CLASS_ENV:-$BUILD/user-env}"
export CHP="${CHP:-$BUILD/node/node_modules/.bin/configurable-http-proxy}"
export CLASS_REPO="$REPO"
COURSE_ID=swin-edu
instructor() { echo "${CLASS_PREFIX}${CLASS_INSTRUCTOR}"; }
students() { local s; for s in $CLASS_STUDENTS; do echo "${CLASS_PREFIX}$s"; done; }
home_of() { getent passwd "$1" | cut -d: -f6; }
