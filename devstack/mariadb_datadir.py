"""A pristine MariaDB datadir, initialised once per version and cached.

Copying a datadir takes tens of milliseconds; mariadb-install-db takes ~2 s.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from ._process import ServerError

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "mariadb-install-db"

# Options that shape files on disk: the server must run with the same ones.
# Why 8M: the default 96M redo log would dominate the size of every copy.
ON_DISK_ARGS = ["--innodb-log-file-size=8M"]

# Baked into the image so both servers of a pair start with identical users
# and the primary's binlog starts empty: nothing to keep out of replication.
USERS_SQL = """\
FLUSH PRIVILEGES;
CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'app';
CREATE USER 'app'@'localhost' IDENTIFIED BY 'app';
GRANT ALL PRIVILEGES ON *.* TO 'app'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'app'@'localhost';
CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY 'repl';
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1';
"""
# Why FLUSH PRIVILEGES first: install-db runs the server with grant tables
# off, and CREATE USER refuses to run until they are loaded.


@functools.cache  # One subprocess per interpreter, not per server start.
def server_version() -> str:
    """E.g. '10.11.19', from `mariadbd --version`."""
    out = subprocess.run([MARIADBD, "--version"], capture_output=True, text=True, timeout=10, check=True).stdout
    match = re.search(r"Ver (\d+\.\d+\.\d+)", out)
    if not match:
        raise ServerError(f"cannot parse the MariaDB version from {out!r}")
    return match.group(1)


def cache_root() -> Path:
    """$DEVSTACK_CACHE_DIR, else $XDG_CACHE_HOME/flashsale-devstack (~/.cache by default),
    else the temp dir if the home cache is not writable (created if missing)."""
    if os.environ.get("DEVSTACK_CACHE_DIR"):
        candidates = [Path(os.environ["DEVSTACK_CACHE_DIR"])]
    else:
        home_cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        candidates = [Path(home_cache) / "flashsale-devstack", Path(tempfile.gettempdir()) / "flashsale-devstack"]
    for root in candidates[:-1]:
        try:
            root.mkdir(parents=True, exist_ok=True)
            return root
        except OSError:
            continue  # Read-only or missing home (CI containers): try the next one.
    candidates[-1].mkdir(parents=True, exist_ok=True)
    return candidates[-1]


def run_as_args() -> list[str]:
    # mariadbd refuses to run as root unless told to; other users need nothing.
    return ["--user=root"] if os.geteuid() == 0 else []


def pristine_datadir(timeout: float = 120.0) -> Path:
    """Path of the cached, never-started datadir; built on first use."""
    root = cache_root()
    # Why hash the recipe: editing USERS_SQL or ON_DISK_ARGS must not reuse a stale image.
    recipe = hashlib.sha256(f"{ON_DISK_ARGS}{USERS_SQL}".encode()).hexdigest()[:10]
    target = root / f"mariadb-{server_version()}-{recipe}"
    if target.is_dir():
        return target  # Only ever created by an atomic rename of a complete build.
    with tempfile.TemporaryDirectory(dir=root, prefix=".build-") as build:
        datadir = Path(build) / "data"
        sql = Path(build) / "users.sql"
        sql.write_text(USERS_SQL)
        cmd = [
            INSTALL_DB,
            "--no-defaults",  # Must come first; ignore the system my.cnf (port 3306, /var/lib/mysql).
            f"--datadir={datadir}",
            "--auth-root-authentication-method=normal",  # root without password, via our own socket.
            "--skip-test-db",
            "--skip-name-resolve",
            f"--extra-file={sql}",
            *run_as_args(),
            *ON_DISK_ARGS,
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            output = (result.stdout + result.stderr)[-4000:]
            raise ServerError(f"{INSTALL_DB} failed with code {result.returncode}:\n{output}")
        try:
            datadir.rename(target)  # Atomic: a concurrent builder either wins or finds it done.
        except OSError:
            if not target.is_dir():
                raise
    return target


def copy_pristine_datadir(dest: Path) -> None:
    """Populate `dest` (which must not exist) with a fresh copy of the pristine datadir."""
    shutil.copytree(pristine_datadir(), dest, symlinks=True)
