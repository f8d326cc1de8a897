#!/usr/bin/env bash
# Run the test suite: bootstrap (Debian packages incl. the MariaDB binaries,
# .venv, requirements-dev.txt), then pytest. pytest itself starts the MariaDB
# primary+replica pair and Redis it needs (see tests/ and devstack/).
#
#   scripts/test.sh [pytest args...]      PYTEST_ARGS='-k "purchase and not slow" -x' also works
#
# Exits with pytest's exit code; "no tests collected" (5) is reported as a failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/bootstrap.sh test

PY="$ROOT/.venv/bin/python"
extra=()
if [ -n "${PYTEST_ARGS:-}" ]; then
  # shell-like splitting (quotes respected) without eval
  mapfile -d '' -t extra < <("$PY" -c 'import shlex, sys; sys.stdout.write("".join(a + "\0" for a in shlex.split(sys.argv[1])))' "$PYTEST_ARGS")
fi

rc=0
"$PY" -m pytest "${extra[@]}" "$@" || rc=$?
case "$rc" in
  0) ;;
  5) printf 'error: pytest collected no tests (exit 5): treating as failure\n' >&2 ;;
  *) printf 'pytest failed (exit %s)\n' "$rc" >&2 ;;
esac
exit "$rc"
