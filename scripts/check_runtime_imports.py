"""Fail if the running system imports a module that a clean install of requirements.txt lacks.

    .venv/bin/python scripts/check_runtime_imports.py

First it works out what requirements.txt pulls in: its pins with their extras and dependencies,
followed through the installed metadata. Every module of any other distribution in this
virtualenv (what requirements-run.txt or requirements-dev.txt add: pytest brought `packaging`)
is then made to look absent, so that the checks see what the image's virtualenv would hold:

1. every absolute import in the app packages, manage.py and scripts/healthcheck.py (in functions
   too), minus the standard library and the project's own packages, can be found;
2. with Django set up as the processes set it up, what they load by name at run time imports:
   every app module, the middleware, URLconf, templates, cache, storages, DRF classes, the MariaDB
   backend, kombu's transports for redis:// and amqp://, the Celery CLI, prefork pool and beat
   scheduler, granian.

.ci/run runs it in the virtualenv `make run` made; it gives the same answer in a dev one.
Environment markers other than `extra` are not evaluated: a dependency with one counts as
pulled in when it is installed.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata as metadata
import importlib.util
import os
import pkgutil
import re
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP_PACKAGES = ["config", "inventory", "flashsale", "orders", "reconciliation"]
SCANNED = [*APP_PACKAGES, "manage.py", "scripts/healthcheck.py"]
FIRST_PARTY = {*APP_PACKAGES, "devstack", "manage", "healthcheck"}
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?\s*(.*)$")
# What `python -m venv` itself installs (on 3.11, in the image's venv too): never in a requirements file.
VENV_OWN = {"pip", "setuptools"}
EXTRA_MARKER = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# --- what requirements.txt pulls in -------------------------------------------------------------


def pinned(path: Path) -> list[tuple[str, set[str]]]:
    """(name, extras) of each requirement in a requirements file, following `-r` includes."""
    found = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r"):
            found += pinned(path.parent / line[2:].strip())
        elif line and (m := REQUIREMENT.match(line)):
            found.append((m.group(1), {canonical(e) for e in (m.group(2) or "").split(",") if e.strip()}))
    return found


def pulled_in(roots: list[tuple[str, set[str]]], problems: list[str]) -> set[str]:
    """Canonical names of the distributions `roots` install, with their extras, transitively."""
    extras_of: dict[str, set[str]] = {}
    todo = list(roots)
    while todo:
        name, extras = todo.pop()
        key = canonical(name)
        if key in extras_of and extras <= extras_of[key]:
            continue
        extras_of.setdefault(key, set()).update(extras)
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            problems.append(f"{name}: required by requirements.txt but not installed in {sys.prefix}")
            continue
        for requirement in requires:
            m = REQUIREMENT.match(requirement.split(";", 1)[0])
            marker = requirement.split(";", 1)[1] if ";" in requirement else ""
            wanted_extra = EXTRA_MARKER.search(marker)
            if wanted_extra and canonical(wanted_extra.group(1)) not in extras_of[key]:
                continue
            if marker and not wanted_extra and not is_installed(m.group(1)):
                continue  # A dependency for another platform or Python (win32, python < 3.11...).
            todo.append((m.group(1), {canonical(e) for e in (m.group(2) or "").split(",") if e.strip()}))
    return set(extras_of)


def is_installed(name: str) -> bool:
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


# --- 1. the imports written in the code ---------------------------------------------------------


def python_files() -> list[Path]:
    files = []
    for entry in SCANNED:
        path = ROOT / entry
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


def written_imports() -> dict[str, str]:
    """Top-level module -> the first file:line importing it (absolute imports only)."""
    found = {}
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def third_party(modules: dict[str, str]) -> dict[str, str]:
    # "__main__", "__mp_main__" (multiprocessing's alias of it) name scripts, not installed modules.
    return {
        name: where
        for name, where in sorted(modules.items())
        if name not in sys.stdlib_module_names and name not in FIRST_PARTY and not name.startswith("__")
    }


# --- 2. what the processes load by name ---------------------------------------------------------


def app_modules():
    for package in APP_PACKAGES:
        yield package
        for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
            yield info.name


def lazy_loads():
    """(what, loader) pairs: each loader imports what a process loads from a name at run time."""
    import django
    from django.conf import settings

    django.setup()
    from celery.utils.imports import symbol_by_name
    from django.core.cache import caches
    from django.core.files.storage import storages
    from django.core.wsgi import get_wsgi_application
    from django.template import engines
    from kombu.transport import resolve_transport
    from rest_framework.settings import api_settings

    from config.celery_app import app

    yield "app modules", lambda: [importlib.import_module(name) for name in app_modules()]
    yield "the middleware (WSGI handler)", get_wsgi_application
    yield "the URLconf", lambda: importlib.import_module(settings.ROOT_URLCONF)
    yield "the templates' tag libraries", lambda: [engine.engine.template_libraries for engine in engines.all()]
    yield "the cache", lambda: caches["default"].client
    yield "the storages", lambda: [storages[alias] for alias in settings.STORAGES]
    yield "DRF settings", lambda: [getattr(api_settings, key) for key in settings.REST_FRAMEWORK]
    yield "the MariaDB backend", lambda: importlib.import_module("django.db.backends.mysql.base")
    for scheme in ("redis", "amqp"):
        yield f"kombu's {scheme}:// transport", lambda scheme=scheme: resolve_transport(scheme)
    yield "the Celery tasks", app.loader.import_default_modules
    yield "the Celery CLI", lambda: importlib.import_module("celery.bin.celery")
    yield "the prefork pool", lambda: symbol_by_name("celery.concurrency.prefork:TaskPool")
    yield "beat's scheduler", lambda: symbol_by_name(app.conf.beat_scheduler)
    yield "granian", lambda: importlib.import_module("granian.cli")


def loaded_at_run_time(problems: list[str]) -> dict[str, str]:
    """Top-level module -> the step that first loaded it."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "check-runtime-imports-only")
    # Static files are collected at deploy time, not here: whitenoise's warning about it is noise.
    warnings.filterwarnings("ignore", message="No directory at")
    found, before = {}, set(sys.modules)
    try:
        for what, load in lazy_loads():
            try:
                load()
            except Exception as exc:  # noqa: BLE001 - report every step that fails, not just the first
                problems.append(f"{what}: {type(exc).__name__}: {exc}")
            for name in set(sys.modules) - before:
                found.setdefault(name.split(".")[0], what)
            before = set(sys.modules)
    except Exception as exc:  # noqa: BLE001 - Django itself did not set up
        problems.append(f"Django setup: {type(exc).__name__}: {exc}")
    return found


# --- what requirements.txt leaves out looks absent ----------------------------------------------


class OnlyRequirements:
    """A meta path finder that makes the modules of every distribution requirements.txt does not pull
    in look absent, so steps 1 and 2 see what a clean `pip install -r requirements.txt` would hold:
    an optional import (try/except ImportError) falls back as it would there, a needed one fails."""

    def __init__(self, allowed: set[str]) -> None:
        self.owners: dict[str, set[str]] = {}
        for module, dists in metadata.packages_distributions().items():
            dists = {canonical(d) for d in dists}
            if not dists & allowed:
                self.owners[module] = dists

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.partition(".")[0]
        if top in self.owners:
            raise ModuleNotFoundError(
                f"No module named {top!r} (installed here, but only by "
                f"{', '.join(sorted(self.owners[top]))}, which requirements.txt "
                "does not pull in)",
                name=top,
            )
        return None  # Not ours to decide: the normal finders go on.


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def main() -> int:
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    problems: list[str] = []
    allowed = pulled_in(pinned(ROOT / "requirements.txt"), problems) | VENV_OWN
    blocker = OnlyRequirements(allowed)
    sys.meta_path.insert(0, blocker)
    written = third_party(written_imports())
    for module, where in written.items():
        if not installed(module):
            extra = (
                f", installed only by {', '.join(sorted(blocker.owners[module]))}" if module in blocker.owners else ""
            )
            problems.append(f"{module} (imported at {where}): not installed by requirements.txt{extra}")
    loaded = third_party(loaded_at_run_time(problems))
    if problems:
        print("runtime imports: FAILED (a clean install of requirements.txt would miss these)", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(
        f"runtime imports: ok: the {len(written)} third-party modules the code imports and the {len(loaded)} "
        f"loaded at run time come from requirements.txt ({len(allowed)} distributions)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
