"""Installing a Debian package the tests need (standard library only).

The PostgreSQL server (``tests/pg_server.py``) and Chromium
(``tests/chromium.py``) come from Debian's packages; when one is missing and
the tests run as root, it is installed with apt-get, else the tests stop
with a message saying what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess

__all__ = ["apt_install"]


def apt_install(package: str, error: type[Exception], missing: str) -> None:
    """Install ``package`` with apt-get, or raise ``error``.

    ``missing`` is the message when it cannot be installed here (not root,
    or no apt-get); a failed apt-get raises ``error`` with its output.
    """
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise error(missing)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "update"], check=True, env=env, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", package],
            check=True,
            env=env,
            capture_output=True,
        )
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode(errors="replace")
        msg = f"apt-get could not install {package}: {detail}"
        raise error(msg) from exc
