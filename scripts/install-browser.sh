#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests when neither CHROMIUM_PATH nor
# /usr/bin/chromium names one. Playwright cannot download its own browser here.
set -euo pipefail
if [ -n "${CHROMIUM_PATH:-}" ] || [ -x /usr/bin/chromium ]; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
echo "installed $(/usr/bin/chromium --version 2>/dev/null)"
