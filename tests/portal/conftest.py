"""The example portal as a person runs it, and a browser to drive it.

``portal`` starts ``manage.py portal`` (the one documented command: tables,
demo data, the worker process and the web server) on a fresh data folder
and a free port, and stops it with Ctrl-C as a person would. ``browser`` is
Debian's chromium driven by Playwright. Screenshots go to
``test-artifacts/portal/``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests import chromium

ROOT = Path(__file__).resolve().parents[2]
PORTAL = ROOT / "examples" / "portal"
SHOTS = ROOT / "test-artifacts" / "portal"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Portal:
    """A running portal: its address and data folder."""

    def __init__(self, url: str, data: Path, process: subprocess.Popen[bytes]) -> None:
        self.url = url
        self.data = data
        self.process = process


def start_portal(data: Path, **env: str) -> Iterator[Portal]:
    """``manage.py portal`` until the generator closes, then Ctrl-C."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    data.mkdir(parents=True, exist_ok=True)
    log = (data / "portal.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "portal", "--worker-interval", "0.3"],
        cwd=PORTAL,
        env={**os.environ, "PORTAL_DATA_DIR": str(data), "PORTAL_URL": url, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url + "/login/", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.close()
                output = (data / "portal.log").read_text(errors="replace")
                pytest.fail(f"the portal did not start:\n{output[-4000:]}")
            time.sleep(0.3)
        yield Portal(url, data, process)
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C: the server, then its worker
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """The portal on a fresh SQLite file, for the tests of one module."""
    yield from start_portal(tmp_path_factory.mktemp("portal") / "data")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless chromium (Debian's package), driven by Playwright.

    Per module, not per session: Playwright's sync API runs an event loop in
    the main thread until it stops, and Django (the adapter's tests, later
    in the same run) refuses to touch its database while one runs.
    """
    executable = chromium.find_or_install()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


def sign_in(browser: Browser, portal: Portal, username: str, **context: Any) -> Page:
    """A new browser window signed in as ``username`` (password: demo)."""
    page = browser.new_context(
        viewport={"width": 1200, "height": 900}, **context
    ).new_page()
    page.set_default_timeout(20_000)
    page.goto(portal.url + "/login/")
    fill_login(page, username)
    return page


def fill_login(page: Page, username: str) -> None:
    """Fill in and send the sign-in form on the current page."""
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill("demo")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as a test artifact."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path
