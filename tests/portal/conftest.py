"""The example portal as a person runs it, and a browser to drive it.

``portal`` starts ``manage.py portal`` (the one documented command: tables,
demo data, the worker process and the web server) on a fresh data folder
and a free port, waits until it says it is ready (the seeded tasks are
delivered by then) and answers, and stops it with Ctrl-C as a person
would. ``browser`` is Debian's chromium driven by Playwright. Screenshots go to
``test-artifacts/portal/``.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests import chromium
from tests.helpers import PATIENCE, eventually

ROOT = Path(__file__).resolve().parents[2]
PORTAL = ROOT / "examples" / "portal"
SHOTS = ROOT / "test-artifacts" / "portal"

# Playwright's expect() waits 5 s and a page's actions 30 s by default: on
# a loaded machine a page that writes, reloads and verifies the audit chain
# can take longer. The waits are for conditions, so a generous bound only
# makes a failing run slower.
expect.set_options(timeout=PATIENCE * 1000 / 2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Portal:
    """A running portal: its address, data folder, process and worker's pid."""

    def __init__(
        self,
        url: str,
        data: Path,
        process: subprocess.Popen[bytes],
        worker_pid: int,
    ) -> None:
        self.url = url
        self.data = data
        self.process = process
        self.worker_pid = worker_pid

    def log(self) -> str:
        """What ``manage.py portal`` printed so far."""
        return (self.data / "portal.log").read_text(errors="replace")


#: The line ``manage.py portal`` prints once the seeded tasks are delivered.
READY = re.compile(r"The portal is at .*its worker is process (\d+)\.")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/login/", timeout=5) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def spawn_portal(data: Path, **env: str) -> Portal:
    """Start ``manage.py portal`` on a free port; do not wait for it."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    data.mkdir(parents=True, exist_ok=True)
    with (data / "portal.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "portal", "--worker-interval", "0.3"],
            cwd=PORTAL,
            env={
                **os.environ,
                "PORTAL_DATA_DIR": str(data),
                "PORTAL_URL": url,
                "PYTHONUNBUFFERED": "1",
                **env,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Portal(url, data, process, worker_pid=0)


def wait_until_ready(portal: Portal, *, serving: bool = True) -> None:
    """Wait for the portal's ready line (and, if ``serving``, for its pages)."""

    def ready() -> bool:
        if portal.process.poll() is not None:
            pytest.fail(f"the portal stopped while starting:\n{portal.log()[-4000:]}")
        found = READY.search(portal.log())
        if found is None:
            return False
        portal.worker_pid = int(found.group(1))
        return not serving or _answers(portal.url)

    try:
        eventually(ready, "the portal never said it was ready and served its pages")
    except BaseException:
        stop_portal(portal)
        raise


def launch_portal(data: Path, **env: str) -> Portal:
    """Start ``manage.py portal`` and wait until it says it is ready and serves."""
    portal = spawn_portal(data, **env)
    wait_until_ready(portal)
    return portal


def alive(pid: int) -> bool:
    """True while process ``pid`` runs (a zombie, dead but not reaped, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def stop_portal(portal: Portal, stop: int = signal.SIGINT) -> None:
    """Stop the portal as a person (Ctrl-C) or a service manager (SIGTERM) does.

    Whatever is left after a generous wait (a worker the portal failed to
    stop) is killed, so a failing test leaves no process behind.
    """
    process = portal.process
    if process.poll() is None:
        process.send_signal(stop)
    try:
        process.wait(timeout=PATIENCE)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        if portal.worker_pid and alive(portal.worker_pid):
            os.kill(portal.worker_pid, signal.SIGKILL)


def start_portal(data: Path, **env: str) -> Iterator[Portal]:
    """``manage.py portal`` until the generator closes, then Ctrl-C."""
    portal = launch_portal(data, **env)
    try:
        yield portal
    finally:
        stop_portal(portal)


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


def window(browser: Browser, **context: Any) -> Page:
    """A new browser window, waiting as long as a loaded machine needs."""
    page = browser.new_context(
        viewport={"width": 1200, "height": 900}, **context
    ).new_page()
    page.set_default_timeout(PATIENCE * 1000 / 2)
    return page


def sign_in(browser: Browser, portal: Portal, username: str, **context: Any) -> Page:
    """A new browser window signed in as ``username`` (password: demo)."""
    page = window(browser, **context)
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
