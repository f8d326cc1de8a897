"""Container health checks (stdlib only; used by the Dockerfile and compose.yaml).

    python scripts/healthcheck.py web     GET http://127.0.0.1:$PORT/healthz answers 200
    python scripts/healthcheck.py beat    the beat schedule file was written recently
                                          ($BEAT_SCHEDULE, default $VAR_DIR/celerybeat-schedule)

The web check sends a Host header taken from ALLOWED_HOSTS: with DEBUG off,
Django answers 400 to a Host it does not allow, which would read as "unhealthy".
"""

import glob
import os
import sys
import time
import urllib.request


def allowed_host():
    for host in os.environ.get("ALLOWED_HOSTS", "").split(","):
        host = host.strip().lstrip(".")
        if host and "*" not in host:
            return host
    return "localhost"


def check_web():
    port = os.environ.get("PORT", "8000")
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/healthz",
        # X-Forwarded-Proto: with SECURE_HTTPS on, plain http would be redirected to https.
        headers={"Host": allowed_host(), "X-Forwarded-Proto": "https"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status == 200


def check_beat():
    # PersistentScheduler writes its file at start and at least every 3 minutes
    # while it ticks (the dbm module may add a suffix to the name).
    default = os.path.join(os.environ.get("VAR_DIR", "var"), "celerybeat-schedule")  # As in the Procfile.
    schedule = os.environ.get("BEAT_SCHEDULE", default)
    max_age = float(os.environ.get("BEAT_MAX_AGE", "600"))
    files = glob.glob(schedule + "*")
    if not files:
        return False
    return time.time() - max(os.path.getmtime(f) for f in files) < max_age


def main(argv):
    what = argv[1] if len(argv) > 1 else "web"
    checks = {"web": check_web, "beat": check_beat}
    if what not in checks:
        print(f"usage: {argv[0]} [web|beat]", file=sys.stderr)
        return 2
    try:
        ok = checks[what]()
    except Exception as exc:  # noqa: BLE001 - any error means unhealthy
        print(f"{what} unhealthy: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
