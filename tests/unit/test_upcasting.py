"""Stored events stay readable when an event class gains a version.

This uses eventsourcing's class versioning on a real stored event: the event
class is given ``class_version = 2`` and an upcaster, as docs/how-to/upcasting.md tells
a maintainer to do, and events written before the change are read through it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from approvalflow import ApprovalRequest, connect
from approvalflow.testing import ControllableClock
from tests.helpers import START, make_directory


def test_an_old_event_is_upcast_when_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    with connect(
        url, directory=make_directory(), clock=ControllableClock(START)
    ) as app:
        app.request_approval("d1", by="f1")
        app.approve("d1", by="c1")

    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["comment"] = "(approved before comments were required)"

    # Both the class the store resolves and its original carry the version.
    for cls in ApprovalRequest.Approved.__mro__[:2]:
        monkeypatch.setattr(cls, "class_version", 2, raising=False)
        monkeypatch.setattr(
            cls, "upcast_v1_v2", staticmethod(upcast_v1_v2), raising=False
        )

    with connect(url) as app:
        approved = [e for e in app.history("d1") if e.event == "Approved"]
        assert (
            approved[0].details["comment"] == "(approved before comments were required)"
        )
        assert app.cycles("d1")[0].comment == "(approved before comments were required)"
