#!/usr/bin/env bash
# Run the whole system in the foreground: web (granian) + workers + beat under honcho.
#
# Embedded mode (nothing configured): SQLite in var/, a redis-server on a free
# local port with AOF in var/redis/ (started here, stopped on exit), DEBUG on,
# a dev SECRET_KEY kept in var/secret_key, and a demo sale seeded and preheated
# (its id and the shoppers' API tokens in var/demo.txt, and as JSON in var/demo.json).
# Production-like: set DATABASE_URL, REDIS_URL, CELERY_BROKER_URL, SECRET_KEY...
#
# "ready" is printed once every Procfile process is up (scripts/wait_ready.py:
# /healthz, a ping from each worker, beat's schedule written). If a process stops
# before, it names it with its last lines of output and exits non-zero. honcho's
# output is also kept in $VAR_DIR/run.log.
#
# Knobs: PORT (web port, default 8000), VAR_DIR (runtime data instead of ./var;
# relative to the current directory), READY_TIMEOUT (s, default 120), SEED_DEMO=0|1,
# DEMO_STOCK, DEMO_LIMIT, DEMO_USERS, DEMO_STARTS_IN, DEMO_QUEUE=1|0 (the demo sale's waiting
# room, on by default), DEMO_ADMIT_PER_SECOND, DEMO_ADMISSION_SECONDS, DEMO_PREQUEUE_SECONDS,
# DJANGO_SUPERUSER_USERNAME/PASSWORD/EMAIL.
# Ctrl-C (or SIGTERM to this script) stops everything, Redis last.
# shellcheck disable=SC2317  # functions below run from traps
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Runtime data (SQLite, Redis AOF, secret key, demo accounts, beat schedule, lock).
# Absolute, so that settings.VAR_DIR, honcho's processes and this script agree.
VAR_DIR="${VAR_DIR:-$ROOT/var}"
mkdir -p "$VAR_DIR"
VAR_DIR="$(cd "$VAR_DIR" && pwd)"
export VAR_DIR
cd "$ROOT"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
mask() { sed -E 's#(://[^:/@]*:)[^@/]*@#\1***@#' <<<"$1"; }  # hide passwords in URLs

[ -x .venv/bin/python ] || die ".venv is missing: run 'make run' (or scripts/bootstrap.sh run) first"
[ -f manage.py ] || die "manage.py not found in $ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
export PYTHONUNBUFFERED=1
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-config.settings}"
PY=python

# One run per VAR_DIR: a second one would share it (and reap the first one's Redis).
exec 9>"$VAR_DIR/run.lock"
flock -n 9 || die "another scripts/run.sh is already running with $VAR_DIR ($VAR_DIR/run.lock)"

# --- processes this script owns, stopped by the EXIT trap -------------------
REDIS_PID=""
HONCHO_PID=""
READY_PID=""
TEE_PID=""

stop_pid() {  # stop_pid PID NAME: SIGTERM, wait up to 10 s, then SIGKILL
  local pid="$1" name="$2" _
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not stop in 10 s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  if [ -n "$READY_PID" ]; then kill "$READY_PID" 2>/dev/null || true; fi
  stop_pid "$HONCHO_PID" honcho
  if [ -n "$REDIS_PID" ]; then
    log "stopping embedded redis (pid $REDIS_PID)"
    stop_pid "$REDIS_PID" redis
  fi
}

on_signal() {
  # Stopping on request is no start-up failure: wait_ready.py must not report one.
  if [ -n "$READY_PID" ]; then kill "$READY_PID" 2>/dev/null || true; READY_PID=""; fi
  if [ -n "$HONCHO_PID" ] && kill -0 "$HONCHO_PID" 2>/dev/null; then
    kill -TERM "$HONCHO_PID" 2>/dev/null || true  # honcho stops web/worker/beat
  else
    exit 130
  fi
}

trap cleanup EXIT
trap on_signal INT TERM

# --- web port -----------------------------------------------------------------
export WEB_PORT="${PORT:-8000}"
export WEB_HOST="${WEB_HOST:-127.0.0.1}"
$PY scripts/waitfor.py port-free "$WEB_PORT" --host "$WEB_HOST" \
  || die "port $WEB_PORT on $WEB_HOST is already in use: free it or run with PORT=<other port>"

# --- embedded mode: SQLite + dev secrets ------------------------------------
EMBEDDED_DB=0
[ -z "${DATABASE_URL:-}" ] && EMBEDDED_DB=1
if [ "$EMBEDDED_DB" = 1 ] && [ -z "${SECRET_KEY:-}" ]; then
  if [ ! -s "$VAR_DIR/secret_key" ]; then
    (umask 077 && $PY -c 'import secrets; print(secrets.token_urlsafe(50))' > "$VAR_DIR/secret_key")
  fi
  SECRET_KEY="$(cat "$VAR_DIR/secret_key")"
  export SECRET_KEY
  export DEBUG=true
  log "embedded mode: SQLite in $VAR_DIR/, DEBUG=true, dev SECRET_KEY from $VAR_DIR/secret_key"
fi

# --- Redis: use REDIS_URL, or start an embedded one ---------------------------
if [ -z "${REDIS_URL:-}" ]; then
  $PY -c 'import importlib.util as u, sys; sys.exit(u.find_spec("devstack.redis_server") is None)' 2>/dev/null \
    || die "devstack.redis_server is missing: cannot start the embedded Redis (or set REDIS_URL)"
  mkdir -p "$VAR_DIR/redis"
  log "starting embedded redis (AOF and log in $VAR_DIR/redis/)"
  # The wrapper picks the free port itself (and picks another if it is taken
  # before redis binds it), then prints REDIS_URL=... once Redis answers PING.
  # setsid: its own session, so a terminal Ctrl-C reaches this script (which stops
  # web/worker/beat first) and not Redis, which is stopped last by the EXIT trap.
  setsid $PY -m devstack.redis_server --dir "$VAR_DIR/redis" > "$VAR_DIR/redis/wrapper.log" 2>&1 &
  REDIS_PID=$!
  REDIS_URL=""
  for _ in $(seq 1 600); do  # up to 60 s
    REDIS_URL="$(sed -n 's/^REDIS_URL=//p' "$VAR_DIR/redis/wrapper.log" | head -n 1)"
    [ -n "$REDIS_URL" ] && break
    kill -0 "$REDIS_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$REDIS_URL" ]; then
    tail -n 20 "$VAR_DIR/redis/wrapper.log" "$VAR_DIR/redis/redis.log" >&2 2>/dev/null || true
    die "the embedded Redis did not start (logs in $VAR_DIR/redis/)"
  fi
  export REDIS_URL
  log "embedded redis on $REDIS_URL"
fi
export CELERY_BROKER_URL="${CELERY_BROKER_URL:-$REDIS_URL}"
# The Procfile's two workers consume these (the same defaults as config/settings.py).
export CELERY_QUEUE="${CELERY_QUEUE:-flashsale}"
export CELERY_MAINTENANCE_QUEUE="${CELERY_MAINTENANCE_QUEUE:-$CELERY_QUEUE-maintenance}"
if ! $PY scripts/waitfor.py redis "$REDIS_URL" --timeout 60 ${REDIS_PID:+--pid "$REDIS_PID"}; then
  [ -n "$REDIS_PID" ] && tail -n 20 "$VAR_DIR/redis/wrapper.log" "$VAR_DIR/redis/redis.log" >&2 2>/dev/null
  die "Redis is not reachable at $(mask "$REDIS_URL")"
fi

# --- database, static files, accounts, demo data ----------------------------
log "migrate"
$PY manage.py migrate --noinput
case "${DEBUG:-false}" in
  1|[Tt]rue|[Yy]es|[Oo]n) ;;  # DEBUG: whitenoise serves straight from the app folders
  *) log "collectstatic"; $PY manage.py collectstatic --noinput -v 0 ;;
esac

if [ -n "${DJANGO_SUPERUSER_USERNAME:-}" ] && [ -n "${DJANGO_SUPERUSER_PASSWORD:-}" ]; then
  if out="$($PY manage.py createsuperuser --noinput 2>&1)"; then
    log "superuser ${DJANGO_SUPERUSER_USERNAME} created"
  elif grep -qi 'already' <<<"$out"; then
    log "superuser ${DJANGO_SUPERUSER_USERNAME} already exists"
  else
    printf '%s\n' "$out" >&2
    die "createsuperuser failed"
  fi
fi

SEED_DEMO="${SEED_DEMO:-$EMBEDDED_DB}"
if [ "$SEED_DEMO" = 1 ]; then
  log "seeding a demo sale (preheated into Redis)"
  seed_args=(--stock "${DEMO_STOCK:-100}" --limit "${DEMO_LIMIT:-2}" --users "${DEMO_USERS:-5}")
  [ -n "${DEMO_STARTS_IN:-}" ] && seed_args+=(--starts-in "$DEMO_STARTS_IN")
  [ "${DEMO_QUEUE:-1}" = 1 ] && seed_args+=(--queue)  # a newcomer sees the waiting room
  [ -n "${DEMO_ADMIT_PER_SECOND:-}" ] && seed_args+=(--admit-per-second "$DEMO_ADMIT_PER_SECOND")
  [ -n "${DEMO_ADMISSION_SECONDS:-}" ] && seed_args+=(--admission-seconds "$DEMO_ADMISSION_SECONDS")
  [ -n "${DEMO_PREQUEUE_SECONDS:-}" ] && seed_args+=(--prequeue-seconds "$DEMO_PREQUEUE_SECONDS")
  # JSON for programs (sale id, shoppers with password and API token), text for humans.
  $PY manage.py seed_demo --json "${seed_args[@]}" > "$VAR_DIR/demo.json.tmp"
  mv -f "$VAR_DIR/demo.json.tmp" "$VAR_DIR/demo.json"  # whole or absent, never half-written
  $PY - "$VAR_DIR/demo.json" "${DEMO_STOCK:-100}" "${DEMO_LIMIT:-2}" "${DEMO_STARTS_IN:-0}" <<'PY' | tee "$VAR_DIR/demo.txt"
import json, sys
demo = json.load(open(sys.argv[1]))
users = demo["users"]
opens = f"opens in {sys.argv[4]} s" if sys.argv[4] not in ("", "0") else "open now"
line = ", shoppers line up in a waiting room" if demo.get("queue") else ""
print(f"Demo sale {demo['sale_id']}: {sys.argv[2]} units, limit {sys.argv[3]}, {opens}{line}")
for u in users[:5]:
    print(f"  shopper {u['username']} / {u['password']}  (API token {u['token']})")
if len(users) > 5:
    print(f"  ... and {len(users) - 5} more (same password; all in {sys.argv[1]})")
PY
fi

URL="http://127.0.0.1:${WEB_PORT}/"
cat >&2 <<BANNER

============================================================
  Flash sale:  $URL
  Redis:       $(mask "$REDIS_URL")
  Database:    $(mask "${DATABASE_URL:-sqlite ($VAR_DIR/db.sqlite3)}")
  Demo users:  $( [ "$SEED_DEMO" = 1 ] && echo "printed above, also in $VAR_DIR/demo.txt and demo.json" || echo "not seeded (SEED_DEMO=1 to seed)" )
  Stop:        Ctrl-C
============================================================

BANNER

# --- web + worker + beat ------------------------------------------------------
# honcho runs in the background so that this script keeps control: a signal
# here is forwarded to honcho, and Redis is stopped only after honcho exits.
# Its output goes to the terminal and to run.log, where wait_ready.py finds a
# process that stopped. tee ignores INT/TERM: a Ctrl-C must not cut the output
# (and break honcho's pipe) while honcho is still stopping the processes.
RUN_LOG="$VAR_DIR/run.log"
: > "$RUN_LOG"
exec {TEE_FD}> >(trap '' INT TERM; exec tee -a "$RUN_LOG")
TEE_PID=$!
honcho start -f Procfile </dev/null >&"$TEE_FD" 2>&1 &
HONCHO_PID=$!
exec {TEE_FD}>&-  # honcho holds the pipe now: tee ends when honcho's output does
# Prints the ready line once every Procfile process is up; if one stops first (or
# READY_TIMEOUT passes), it says which one and why, and the stack is stopped.
$PY scripts/wait_ready.py --log "$RUN_LOG" --pid "$HONCHO_PID" --url "$URL" --timeout "${READY_TIMEOUT:-120}" &
READY_PID=$!

rc=0
wait "$HONCHO_PID" || rc=$?
while kill -0 "$HONCHO_PID" 2>/dev/null; do  # a signal interrupted wait: wait for honcho to finish
  rc=0
  wait "$HONCHO_PID" || rc=$?
done
HONCHO_PID=""
wait "$TEE_PID" 2>/dev/null || true  # the last lines of honcho's output, before this script's own
if [ -n "$READY_PID" ]; then
  # Not stopped by a signal: wait_ready.py has said (or is saying) whether the stack was ever up.
  ready_rc=0
  wait "$READY_PID" || ready_rc=$?
  READY_PID=""
  if [ "$ready_rc" -ne 0 ] && [ "$rc" -eq 0 ]; then rc=1; fi
fi
exit "$rc"
