"""Small readiness checks for scripts/run.sh (stdlib, plus redis-py for `redis`).

    python scripts/waitfor.py redis URL [--timeout S] [--pid PID]   PING answers PONG
    python scripts/waitfor.py http URL [--timeout S] [--pid PID]    any HTTP answer
    python scripts/waitfor.py port-free PORT [--host H]             nothing listens there

--pid: give up at once if that process (the server being waited for) has exited.
Exit status 0 when ready, 1 otherwise (with the last error on stderr).
"""

import argparse
import os
import socket
import sys
import time
import urllib.error
import urllib.request


def process_alive(pid):
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait(check, timeout, pid, what):
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        if not process_alive(pid):
            print(f"{what}: process {pid} exited", file=sys.stderr)
            return 1
        try:
            check()
            return 0
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
            last_error = exc
        time.sleep(0.2)
    print(f"{what}: not ready after {timeout:.0f}s: {type(last_error).__name__}: {last_error}", file=sys.stderr)
    return 1


def check_redis(url):
    import redis  # from the virtualenv

    def check():
        # LOADING (AOF replay) raises BusyLoadingError: keep waiting.
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            if not client.ping():
                raise RuntimeError("PING did not answer PONG")
        finally:
            client.close()

    return check


def check_http(url):
    def check():
        try:
            urllib.request.urlopen(url, timeout=2).close()
        except urllib.error.HTTPError:
            pass  # the server answered: it is up

    return check


def port_free(host, port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("redis", "http"):
        p = sub.add_parser(name)
        p.add_argument("url")
        p.add_argument("--timeout", type=float, default=30.0)
        p.add_argument("--pid", type=int)
    p = sub.add_parser("port-free")
    p.add_argument("port", type=int)
    p.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)

    if args.cmd == "port-free":
        return 0 if port_free(args.host, args.port) else 1
    check = check_redis(args.url) if args.cmd == "redis" else check_http(args.url)
    return wait(check, args.timeout, args.pid, f"{args.cmd} {args.url}")


if __name__ == "__main__":
    sys.exit(main())
