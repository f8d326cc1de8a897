"""The collected static files the tests serve: the storage is whitenoise's manifest storage, so a
page rendered with DEBUG off names files by their hash and needs collectstatic's manifest.

Collected once into var/test-static (STATIC_ROOT for the session and its subprocesses), again only
when a source file changed: a fingerprint of every file the finders see is kept beside it.
"""

from __future__ import annotations

import fcntl
import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATIC_ROOT = ROOT / "var" / "test-static"


def _fingerprint() -> str:
    from django.contrib.staticfiles.finders import get_finders

    digest = hashlib.sha256()
    for finder in get_finders():
        for path, storage in finder.list([]):
            stat = Path(storage.path(path)).stat()
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def static_collect() -> None:
    """Run collectstatic into STATIC_ROOT unless it holds these very sources already."""
    from django.core.management import call_command

    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
    stamp = STATIC_ROOT / ".fingerprint"
    # Why a lock: pytest-xdist workers start together and share the directory.
    with open(STATIC_ROOT.parent / "test-static.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        wanted = _fingerprint()
        if stamp.exists() and stamp.read_text() == wanted and (STATIC_ROOT / "staticfiles.json").exists():
            return
        call_command("collectstatic", interactive=False, clear=True, verbosity=0)
        stamp.write_text(wanted)
