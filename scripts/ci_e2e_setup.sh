#!/usr/bin/env bash
# Install what the browser test (`make e2e`) needs on a fresh Debian machine: Debian's Chromium.
# Playwright (the `e2e` extra) drives it through `executable_path`; never run
# `playwright install`, which downloads a browser (CI has no internet beyond the package mirrors).
set -euo pipefail

SUDO=""
if [ "$(id -u)" != "0" ]; then
    SUDO="sudo"
fi

if [ -x /usr/bin/chromium ]; then
    echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null)"
    exit 0
fi
$SUDO apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
/usr/bin/chromium --version
