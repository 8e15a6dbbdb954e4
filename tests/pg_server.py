"""A throwaway PostgreSQL server for the tests, from Debian's packages.

``start()`` installs the ``postgresql`` package if its programs are missing
(apt-get, as root), makes a data folder in a temporary directory, starts the
server on a free loopback port (as the ``postgres`` user when run as root:
PostgreSQL refuses to run as root) and creates a database and a user for the
tests. ``stop()`` stops it and removes everything. The test suite does this
once per run (``tests/conftest.py``); run ``python -m tests.pg_server`` to get
one by hand until Enter is pressed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.debian import apt_install

__all__ = ["PostgresServer", "find_binaries", "start"]

USER = "approvalflow"
PASSWORD = "approvalflow-test"
DATABASE = "approvalflow"


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL server could be started here."""


def find_binaries() -> Path | None:
    """The folder with Debian's initdb and pg_ctl, newest version first."""
    # Version folders sort as numbers: 16 is newer than 9.6.
    folders = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: [int(x) for x in p.parent.name.split(".") if x.isdigit()],
        reverse=True,
    )
    for folder in folders:
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def _install() -> None:
    apt_install(
        "postgresql",
        PostgresUnavailableError,
        "PostgreSQL is missing and cannot be installed (needs root and apt-get)",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    """A running throwaway server."""

    port: int
    folder: Path
    bin: Path
    as_postgres: bool

    @property
    def url(self) -> str:
        """A store URL for approvalflow.connect()."""
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{DATABASE}"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True)

    def psql(self, sql: str, database: str = "postgres") -> str:
        out = self.run(
            str(self.bin / "psql") if (self.bin / "psql").exists() else "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-Atc",
            sql,
        )
        return out.stdout

    @property
    def options(self) -> str:
        """The server's start options: its port, loopback, its socket folder."""
        return (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} "
            "-c max_connections=200 -c fsync=off -c synchronous_commit=off"
        )

    def pause(self) -> None:
        """Stop the server, keeping its data (an outage)."""
        self.run(
            str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"),
            "-m", "fast", "-w", "stop",
        )  # fmt: skip

    def resume(self) -> None:
        """Start the server again after :meth:`pause`."""
        self.run(
            str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"),
            "-l", str(self.folder / "server.log"), "-o", self.options, "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self.run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.folder / "data"),
            "-m",
            "fast",
            "stop",
            check=False,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def start() -> PostgresServer:
    """Install if needed, then start a fresh server; see the module docstring."""
    binaries = find_binaries()
    if binaries is None:
        _install()
        binaries = find_binaries()
        if binaries is None:
            msg = "apt-get installed postgresql but its programs were not found"
            raise PostgresUnavailableError(msg)
    as_postgres = os.geteuid() == 0
    folder = Path(tempfile.mkdtemp(prefix="approvalflow-pg-"))
    if as_postgres:
        shutil.chown(folder, "postgres", "postgres")
    server = PostgresServer(_free_port(), folder, binaries, as_postgres)
    data, log = folder / "data", folder / "server.log"
    try:
        server.run(
            str(binaries / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        )
        options = server.options
        server.run(
            str(binaries / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(log),
            "-o",
            options,
            "-w",
            "start",
        )
        server.psql(f"CREATE USER {USER} PASSWORD '{PASSWORD}'")
        server.psql(f"CREATE DATABASE {DATABASE} OWNER {USER}")
    except (subprocess.CalledProcessError, OSError) as exc:
        detail = getattr(exc, "stderr", "") or ""
        log_text = log.read_text() if log.exists() else ""
        server.stop()
        msg = f"cannot start PostgreSQL: {exc}\n{detail}\n{log_text}"
        raise PostgresUnavailableError(msg) from exc
    return server


if __name__ == "__main__":
    running = start()
    print(running.url, flush=True)
    try:
        input("PostgreSQL is running; press Enter to stop it. ")
    finally:
        running.stop()
