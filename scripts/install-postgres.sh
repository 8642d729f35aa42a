#!/usr/bin/env bash
# Installs Debian's PostgreSQL server binaries for the Node tests when no initdb
# is found (PG_BIN, /usr/lib/postgresql/N/bin or PATH). The tests start their own
# private cluster (dev/postgres.ts); the package's default cluster is not used.
set -euo pipefail
if [ -n "${PG_BIN:-}" ] && [ -x "${PG_BIN}/initdb" ]; then
  exit 0
fi
if compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
echo "installed $(ls /usr/lib/postgresql)"
