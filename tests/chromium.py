"""Debian's Chromium for the tests that look at emails as a reader would.

Playwright drives it (``chromium.launch(executable_path=...)``); Playwright's
own browser download is not used, so the tests need only Debian's package.
:func:`find_or_install` returns the browser's path, installing the
``chromium`` package first when it is missing (apt-get, as root), as
``tests/pg_server.py`` does for PostgreSQL. Where that is impossible it
raises :class:`ChromiumUnavailableError` saying what to install.
"""

from __future__ import annotations

import shutil

from tests.debian import apt_install

__all__ = ["ChromiumUnavailableError", "find", "find_or_install"]

#: Debian calls it ``chromium``; some other systems ``chromium-browser``.
_NAMES = ("chromium", "chromium-browser")


class ChromiumUnavailableError(RuntimeError):
    """No Chromium here, and it cannot be installed."""


def find() -> str | None:
    """The path of an installed Chromium, or ``None``."""
    for name in _NAMES:
        path = shutil.which(name)
        if path is not None:
            return path
    return None


def _install() -> None:
    apt_install(
        "chromium",
        ChromiumUnavailableError,
        "Chromium is missing and cannot be installed here (needs root and "
        "apt-get); install Debian's package: sudo apt-get install chromium",
    )


def find_or_install() -> str:
    """The path of Chromium, installed first if needed; see the module doc."""
    path = find()
    if path is None:
        _install()
        path = find()
        if path is None:
            msg = "apt-get installed chromium but no chromium program was found"
            raise ChromiumUnavailableError(msg)
    return path


if __name__ == "__main__":
    # CI runs this before the tests (.ci/run), so a missing browser is
    # installed, or reported, before anything else runs.
    print(find_or_install())
