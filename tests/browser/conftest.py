"""Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

The live server runs in this process on the real test stack (MariaDB primary + replica, Redis),
so the test can also look at Redis and the DB directly. Playwright's own browser download is not
used: Debian's /usr/bin/chromium is.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("FLASHSALE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def _unavailable(reason: str) -> None:
    # Under CI every part of the suite must run: a missing browser fails instead of skipping.
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -r requirements-dev.txt)")
    expect.set_options(timeout=8000)  # a busy 2-core machine: explicit waits, never fixed sleeps
    if not shutil.which(CHROMIUM):
        _unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    # Why: Playwright's sync API keeps an asyncio loop running in this thread, and Django refuses
    # ORM calls from a thread with a running loop unless told that this is safe (it is: we are sync).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def live_server():
    """pytest-django's live server, but static files come from the app itself (whitenoise, hashed
    names from the manifest, the production headers), not from the finders by their plain names."""
    import django.contrib.staticfiles.handlers as handlers
    from pytest_django.live_server_helper import LiveServer

    class AppServesStatic(handlers.StaticFilesHandler):
        def _should_handle(self, path):
            return False  # every request goes to the WSGI app and its middleware

    original, handlers.StaticFilesHandler = handlers.StaticFilesHandler, AppServesStatic
    try:
        server = LiveServer(os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost")
    finally:
        handlers.StaticFilesHandler = original
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _captcha_test_mode(monkeypatch):
    """The captcha answer "passed" is accepted (read at import: patch the module, not settings)."""
    import captcha.conf.settings as captcha_settings

    monkeypatch.setattr(captcha_settings, "CAPTCHA_TEST_MODE", True)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # The default hasher takes ~0.5 s per user; the live server runs in this process and follows.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def open_page(browser, live_server, stack):
    """Open a path in a new browser context, optionally logged in as ``user`` (session cookie)."""
    from django.conf import settings
    from django.test import Client

    from tests.browser.support import DESKTOP

    contexts = []

    def open_(path: str, *, user=None, viewport=DESKTOP, init_script: str | None = None):
        stack.mariadb.wait_for_replica()  # the pages read the replica
        context = browser.new_context(viewport=viewport, base_url=live_server.url)
        contexts.append(context)
        if user is not None:
            client = Client()
            client.force_login(user)
            cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
        page = context.new_page()
        page.set_default_timeout(8000)
        if init_script:
            page.add_init_script(init_script)
        page.goto(path)
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def shoot():
    """Save a screenshot of a state to artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str, full_page: bool = False) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return save
