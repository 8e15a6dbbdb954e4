"""A host's StoreOpener (click's ``obj``) opens the commands' store, not ``--db``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import approvalflow
from approvalflow import Approvals, ConfigurationError
from approvalflow.cli import StoreOpener, main


class _Opener(StoreOpener):
    def __init__(self, url: str, *, fail: bool = False) -> None:
        self.url = url
        self.fail = fail
        self.asked: list[dict[str, Any]] = []

    @contextlib.contextmanager
    def open(self, **options: Any) -> Iterator[Approvals]:
        self.asked.append(options)
        if self.fail:
            msg = "the host's settings say no store"
            raise ConfigurationError(msg)
        with approvalflow.connect(self.url, **options) as app:
            yield app


def test_the_commands_open_the_hosts_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where a --db default would be made
    store = tmp_path / "host.sqlite3"
    with approvalflow.connect(f"sqlite:///{store}"):
        pass
    opener = _Opener(f"sqlite:///{store}")
    run = CliRunner().invoke(main, ["health", "--no-deliveries"], obj=opener)
    assert (run.exit_code, run.output) == (0, "healthy\n")
    assert opener.asked == [{"read_only": True, "refresh_views_on_read": False}]
    assert not (tmp_path / "approvalflow.sqlite3").exists()


def test_the_hosts_refusal_is_a_clean_error(tmp_path: Path) -> None:
    opener = _Opener(f"sqlite:///{tmp_path / 'none.sqlite3'}", fail=True)
    run = CliRunner().invoke(main, ["audit", "verify"], obj=opener)
    assert run.exit_code == 1
    assert "Error: the host's settings say no store" in run.output
    assert run.exception is None or isinstance(run.exception, SystemExit)
