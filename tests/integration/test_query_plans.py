"""Every list is served by an index in the list's own order, on a full store.

The plans are read on a store of 10,000 documents in mixed states across 50
accounts, after the databases gathered statistics (ANALYZE), for every
filter combination, with and without an account, first and next pages: a
plan that looks fine on an empty store can sort the whole table on a full
one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from approvalflow import Approvals, connect
from approvalflow.testing import ControllableClock
from tests.helpers import START, populate, postgres_url

DOCUMENTS = 10_000
# The populated documents' activity spans 40 days from START.
NOW = START + timedelta(days=40)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def full_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Approvals]:
    if request.param == "postgres":
        url = postgres_url(request.getfixturevalue("postgres"))
    else:
        folder: Path = tmp_path_factory.mktemp("plans")
        url = f"sqlite:///{folder / 'plans.sqlite3'}"
    with connect(url, clock=ControllableClock(NOW)) as app:
        populate(app, DOCUMENTS)
        with app.views.backend.write() as c:
            app.views.backend.analyze(c)
        yield app


def plans(app: Approvals) -> dict[str, list[str]]:
    return app.views.query_plans(NOW, "acct7")


def test_the_store_is_full(full_store: Approvals) -> None:
    rows = full_store.recent(limit=500).rows
    assert len(rows) == 500
    assert {r.state.value for r in rows} >= {"pending_approval", "approved"}
    assert len(full_store.accounts_pending()) == 50


def test_every_query_is_checked(full_store: Approvals) -> None:
    found = plans(full_store)
    # 16 filter sets x (recent: 2 scopes x 2 pages + tab: 2 pages) + 6 more.
    assert len(found) == 16 * 6 + 6


def test_every_query_uses_an_index_in_order(full_store: Approvals) -> None:
    sqlite = full_store.views.backend.limit_arms is False
    for label, steps in plans(full_store).items():
        text = "\n".join(steps)
        if sqlite:
            check_sqlite(label, steps)
        else:
            check_postgres(label, text)


def check_sqlite(label: str, steps: list[str]) -> None:
    for step in steps:
        assert "TEMP B-TREE" not in step, (label, step)
        if step.startswith("SCAN"):
            # Only the accounts with pending documents are scanned: the
            # answer itself, served by a partial index.
            assert "account_pending USING COVERING INDEX" in step, (label, step)
    assert any(s.startswith(("SEARCH", "SCAN")) for s in steps)


def check_postgres(label: str, text: str) -> None:
    for scan in re.findall(r"Seq Scan on (\S+)", text):
        assert scan.endswith("account_pending"), (label, text)
    if label.startswith(("recent", "approvals tab", "due")):
        # Rows come off an index in the list's order; several filters are
        # merged in order (Merge Append), never sorted.
        assert not re.search(r"(^|->  )Sort ", text, re.MULTILINE), (label, text)
        assert "Bitmap Heap Scan" not in text, (label, text)
        assert "Index" in text, (label, text)


def test_a_page_of_the_full_store_is_right(full_store: Any) -> None:
    # The merged lists agree with filtering one list by hand.
    every = full_store.recent(limit=500).rows
    mixed = full_store.recent(filters=["approved", "pending_payment"], limit=100)
    expected = [r for r in every if r.state.value == "approved" or r.pending_payment]
    assert len(expected) > 100
    assert list(mixed.rows) == expected[:100]
