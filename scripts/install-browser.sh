#!/usr/bin/env bash
# Installs the three engines the browser tests run in, each only when missing
# (Playwright cannot download its own browsers here):
# - Chromium: Debian's `chromium`, unless CHROMIUM_PATH or /usr/bin/chromium names one;
# - Firefox: `firefox-esr`, unless FIREFOX_PATH or /usr/bin/firefox-esr names one;
# - WebKit: `webkit2gtk-driver` (WebKitWebDriver and MiniBrowser) and `xvfb`
#   (MiniBrowser has no headless mode; xvfb-run needs the recommended xauth), unless WebKitWebDriver and xvfb-run are on PATH.
set -euo pipefail
packages=()
if [ -z "${CHROMIUM_PATH:-}" ] && [ ! -x /usr/bin/chromium ]; then packages+=(chromium); fi
if [ -z "${FIREFOX_PATH:-}" ] && [ ! -x /usr/bin/firefox-esr ]; then packages+=(firefox-esr); fi
if ! command -v WebKitWebDriver >/dev/null; then packages+=(webkit2gtk-driver); fi
if ! command -v xvfb-run >/dev/null; then packages+=(xvfb); fi
if [ ${#packages[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
echo "installed ${packages[*]}"
