"""The audit chain catches every kind of edit to stored events, on real stores.

Each test records a small history, edits the store's tables directly (as a
person with database access could), and expects ``verify_audit`` and
``approvalflow audit verify`` to name what was done, where.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import pytest

from approvalflow import connect
from approvalflow.audit_verify import event_hash, verify_bundle
from approvalflow.testing import ControllableClock
from tests.helpers import START, make_directory, postgres_url

Row = tuple[int, str, int, str, bytes]


class RawStore:
    """The store's tables, edited without approvalflow."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite"):
            self.path = url.removeprefix("sqlite:///")
            self.events = "stored_events"
            self.id_column = "rowid"
            self.chain = "approvalflow_chain"
        else:
            schema = parse_qs(urlsplit(url).query)["schema"][0]
            self.events = f"{schema}.approvals_events"
            self.id_column = "notification_id"
            self.chain = f"{schema}.approvalflow_chain"

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        if self.url.startswith("sqlite"):
            with sqlite3.connect(self.path) as conn:
                return list(conn.execute(sql, params).fetchall())
        import psycopg  # noqa: PLC0415

        parts = urlsplit(self.url)
        with psycopg.connect(
            host=parts.hostname,
            port=parts.port,
            user=parts.username,
            password=parts.password,
            dbname=parts.path.lstrip("/"),
            autocommit=True,
        ) as conn:
            cursor = conn.execute(sql.replace("?", "%s"), params)
            return list(cursor.fetchall()) if cursor.description else []

    def rows(self) -> list[Row]:
        found = self.run(
            f"SELECT {self.id_column}, originator_id, originator_version, topic, state"
            f" FROM {self.events} ORDER BY {self.id_column}"
        )
        # Originator ids as the chain writes them (UUID text with dashes).
        return [
            (int(r[0]), str(UUID(str(r[1]))), int(r[2]), str(r[3]), bytes(r[4]))
            for r in found
        ]

    def find(self, topic_end: str, nth: int = 0) -> Row:
        return [r for r in self.rows() if r[3].endswith(topic_end)][nth]


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return postgres_url(request.getfixturevalue("postgres"))
    return f"sqlite:///{tmp_path / 'audited.sqlite3'}"


def record_history(url: str) -> str:
    """A few documents in every state; returns the chain's head."""
    clock = ControllableClock(START)
    with connect(url, directory=make_directory(), clock=clock) as app:
        app.request_approval("d1", by="f1", message="Please check")
        clock.advance(hours=1)
        app.approve("d1", by="c1", comment="Fine")
        app.request_approval("d2", by="f1")
        clock.advance(hours=1)
        app.reject("d2", by="c1", reasons=["Wrong year"])
        app.request_approval("d3", by="f1")
        report = app.verify_audit()
        assert report.ok, list(report.lines())
        return report.head


def verify(url: str, head: str | None = None) -> tuple[Any, dict[str, str | None]]:
    with connect(url) as app:
        report = app.verify_audit(head)
        names = {
            f.originator_id: app.document_of(f.originator_id) for f in report.findings
        }
    return report, names


def _modify_approver(raw: RawStore) -> Row:
    row = raw.find(".Approved")
    state = row[4].replace(b"Claire Dupont", b"Eve Evilson!")
    raw.run(
        f"UPDATE {raw.events} SET state = ? WHERE {raw.id_column} = ?", (state, row[0])
    )
    return row


def _modify_date(raw: RawStore) -> Row:
    row = raw.find(".Rejected")
    state = row[4].replace(b"2026-01-05", b"2025-12-31")
    assert state != row[4]
    raw.run(
        f"UPDATE {raw.events} SET state = ? WHERE {raw.id_column} = ?", (state, row[0])
    )
    return row


def _delete(raw: RawStore) -> Row:
    row = raw.find(".Rejected")
    raw.run(f"DELETE FROM {raw.events} WHERE {raw.id_column} = ?", (row[0],))
    return row


def _insert(raw: RawStore) -> Row:
    row = raw.find(".Approved")
    stored_id = raw.run(
        f"SELECT originator_id FROM {raw.events} WHERE {raw.id_column} = ?", (row[0],)
    )[0][0]
    raw.run(
        f"INSERT INTO {raw.events} (originator_id, originator_version, topic, state)"
        " VALUES (?, ?, ?, ?)",
        (stored_id, 99, row[3], row[4]),
    )
    return raw.rows()[-1]


def _reorder(raw: RawStore) -> Row:
    # Two events of one document swap places in the log.
    first = raw.find(".Requested")
    second = next(r for r in raw.rows() if r[1] == first[1] and r[2] == first[2] + 1)
    update = f"UPDATE {raw.events} SET originator_version = ? WHERE {raw.id_column} = ?"
    raw.run(update, (-1, first[0]))  # versions are unique per record
    raw.run(update, (first[2], second[0]))
    raw.run(update, (second[2], first[0]))
    return first


def _retopic(raw: RawStore) -> Row:
    row = raw.find(".Approved")
    raw.run(
        f"UPDATE {raw.events} SET topic = ? WHERE {raw.id_column} = ?",
        ("approvalflow:ApprovalRequest.Rejected", row[0]),
    )
    return row


def _edit_chain_to_match(raw: RawStore) -> Row:
    # Modify an event and recompute its own hash in the chain: the chain's
    # links after it no longer follow.
    row = _modify_approver(raw)
    edited = raw.rows()[[r[0] for r in raw.rows()].index(row[0])]
    raw.run(
        f"UPDATE {raw.chain} SET event_hash = ? WHERE notification_id = ?",
        (event_hash(edited[1], edited[2], edited[3], edited[4]), row[0]),
    )
    return row


TAMPERING: dict[str, tuple[Callable[[RawStore], Row], str, str]] = {
    "approver changed": (_modify_approver, "modified", "d1"),
    "date changed": (_modify_date, "modified", "d2"),
    "event deleted": (_delete, "deleted", "d2"),
    "event inserted": (_insert, "inserted", "d1"),
    "events reordered": (_reorder, "reordered", "d1"),
    "topic changed": (_retopic, "retopiced", "d1"),
    "chain edited to match": (_edit_chain_to_match, "chain-broken", "d1"),
}


@pytest.mark.parametrize("tampering", sorted(TAMPERING))
def test_every_kind_of_edit_is_caught_and_located(
    store_url: str, tampering: str
) -> None:
    record_history(store_url)
    edit, kind, document = TAMPERING[tampering]
    edited = edit(RawStore(store_url))
    report, names = verify(store_url)
    assert not report.ok
    kinds = {f.kind for f in report.findings}
    assert kind in kinds, list(report.lines())
    located = [f for f in report.findings if f.kind == kind]
    assert any(f.originator_id == edited[1] for f in located)
    if tampering != "event deleted":
        assert names[edited[1]] == document


CLI = [sys.executable, "-m", "approvalflow.cli"]


def _forge_approval_at(raw: RawStore, notification_id: int) -> Row:
    """An approval of the pending d3 put in by hand at ``notification_id``,
    copied from d1's real approval (as an attacker with database access
    would), at d3's next version so that d3 loads as approved."""
    approved = raw.find(".Approved")
    requested = [r for r in raw.rows() if r[3].endswith(".Requested")]
    d3 = requested[-1]
    stored_id = raw.run(
        f"SELECT originator_id FROM {raw.events} WHERE {raw.id_column} = ?", (d3[0],)
    )[0][0]
    version = max(r[2] for r in raw.rows() if r[1] == d3[1]) + 1
    raw.run(
        f"INSERT INTO {raw.events}"
        f" ({raw.id_column}, originator_id, originator_version, topic, state)"
        " VALUES (?, ?, ?, ?, ?)",
        (notification_id, stored_id, version, approved[3], approved[4]),
    )
    return next(r for r in raw.rows() if r[0] == notification_id)


@pytest.mark.parametrize("notification_id", [-7, 0])
def test_an_event_forged_below_the_first_id_is_caught_with_or_without_a_head(
    store_url: str, notification_id: int
) -> None:
    head = record_history(store_url)
    forged = _forge_approval_at(RawStore(store_url), notification_id)
    for kept in (None, head):
        report, names = verify(store_url, kept)
        assert not report.ok, list(report.lines())
        inserted = [f for f in report.findings if f.kind == "inserted"]
        assert [(f.originator_id, f.notification_id) for f in inserted] == [
            (forged[1], notification_id)
        ]
        assert names[forged[1]] == "d3"
        assert report.events == 9


def test_the_cli_refuses_an_event_forged_at_a_negative_id(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'forged.sqlite3'}"
    head = record_history(url)
    _forge_approval_at(RawStore(url), -7)
    store = url.removeprefix("sqlite:///")
    for extra in ([], ["--head", head]):
        found = subprocess.run(
            [*CLI, "audit", "verify", "--db", store, *extra],
            capture_output=True,
            text=True,
            check=False,
        )
        assert found.returncode == 1, found.stdout + found.stderr
        assert "inserted: document 'd3'" in found.stdout
        assert "(event #-7)" in found.stdout


def test_an_untouched_store_verifies_after_a_rebuild_and_reopening(
    store_url: str,
) -> None:
    head = record_history(store_url)
    with connect(store_url) as app:
        app.rebuild_views()
    report, _ = verify(store_url, head)
    assert report.ok
    assert report.head == head
    assert report.events == 8


def test_a_chain_rewritten_end_to_end_is_caught_by_the_head_kept_elsewhere(
    store_url: str,
) -> None:
    head = record_history(store_url)
    raw = RawStore(store_url)
    _modify_approver(raw)
    # Rebuild the whole chain from the edited events, as a careful forger.
    from approvalflow.audit_verify import (  # noqa: PLC0415
        LOG_START,
        log_hash,
        stream_hash,
        stream_start,
    )

    log, streams = LOG_START, dict[str, str]()
    for nid, originator, version, topic, state in raw.rows():
        hashed = event_hash(originator, version, topic, state)
        stream = stream_hash(streams.get(originator, stream_start(originator)), hashed)
        streams[originator] = stream
        log = log_hash(log, nid, stream)
        raw.run(
            f"UPDATE {raw.chain} SET event_hash = ?, stream_hash = ?, log_hash = ?"
            " WHERE notification_id = ?",
            (hashed, stream, log, nid),
        )
    forged, _ = verify(store_url)
    assert forged.ok  # consistent with itself...
    pinned, _ = verify(store_url, head)
    assert not pinned.ok  # ...but not with the head kept elsewhere
    assert "kept elsewhere" in next(iter(pinned.findings)).detail


def test_writers_in_several_processes_keep_one_chain(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    record_history(url)
    script = (
        "import sys\n"
        "from approvalflow import connect\n"
        "from approvalflow.testing import ControllableClock\n"
        "from tests.helpers import START, make_directory\n"
        "d = make_directory()\n"
        "with connect(sys.argv[1], directory=d, clock=ControllableClock(START)) as a:\n"
        "    for _ in range(15):\n"
        "        a.record_activity(sys.argv[2], kind='downloaded', by='f1')\n"
    )
    # One document each: the processes interleave in the log (the chain's
    # order), without racing on one document's versions.
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script, url, doc],
            cwd=Path(__file__).resolve().parents[2],
            stderr=subprocess.PIPE,
            text=True,
        )
        for doc in ("d1", "d2", "d3")
    ]
    outcomes = [(w.wait(120), w.communicate()[1]) for w in workers]
    assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
    report, _ = verify(url)
    assert report.ok, list(report.lines())
    assert report.events == 8 + 45


def test_a_store_from_before_the_chain_is_chained_from_a_checkpoint(
    tmp_path: Path,
) -> None:
    from tests.fixtures.make_release_store import STORE_FILE  # noqa: PLC0415

    copy = tmp_path / "older.sqlite3"
    shutil.copyfile(STORE_FILE, copy)
    before = sqlite3.connect(copy).execute("SELECT count(*) FROM stored_events")
    count = int(before.fetchone()[0])
    report, _ = verify(f"sqlite:///{copy}")
    assert report.ok
    assert report.checkpoint == count
    assert any(
        "were recorded before the chain existed" in line for line in report.lines()
    )


def _bundle(tmp_path: Path) -> dict[str, Any]:
    tmp_path.mkdir(exist_ok=True)
    url = f"sqlite:///{tmp_path / 'b.sqlite3'}"
    record_history(url)
    out_path = tmp_path / "bundle.json"
    with connect(url) as app, out_path.open("w", encoding="utf-8") as out:
        app.export_audit_bundle(out)
    bundle: dict[str, Any] = json.loads(out_path.read_text())
    return bundle


@pytest.mark.parametrize("notification_id", [0, -7, 1])
def test_a_bundle_with_an_event_added_at_an_unchained_place_does_not_verify(
    tmp_path: Path, notification_id: int
) -> None:
    bundle = _bundle(tmp_path)
    assert verify_bundle(bundle).ok
    approved = next(e for e in bundle["events"] if e["topic"].endswith(".Approved"))
    forged = dict(approved, notification_id=notification_id, originator_version=3)
    bundle["events"].append(forged)
    report = verify_bundle(bundle, bundle["head"]["log_hash"])
    assert not report.ok
    assert [f.kind for f in report.findings] == ["inserted"]
    assert report.findings[0].notification_id == notification_id


def test_a_bundle_of_an_old_store_counts_its_events_from_before_the_chain(
    tmp_path: Path,
) -> None:
    bundle = _bundle(tmp_path)
    # As a store chained at its first opening: the first five events were
    # recorded before the chain existed (and hashed when it began).
    bundle["checkpoint"] = 5
    report = verify_bundle(bundle)
    assert report.ok
    assert report.before_checkpoint == 5
    assert any("5 earlier events were recorded" in line for line in report.lines())
    # An event below the checkpoint that the chain does not cover is foreign.
    extra = dict(bundle["events"][0], notification_id=0)
    bundle["events"].append(extra)
    assert [f.kind for f in verify_bundle(bundle).findings] == ["inserted"]


def test_a_bundle_verifies_offline_with_the_standard_library_alone(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'b.sqlite3'}"
    head = record_history(url)
    bundle_path = tmp_path / "bundle.json"
    with connect(url) as app, bundle_path.open("w", encoding="utf-8") as out:
        assert app.export_audit_bundle(out) == 8
    # The verifier module copied alone, run by a bare interpreter: no
    # approvalflow, no site-packages.
    import approvalflow.audit_verify as module  # noqa: PLC0415

    alone = tmp_path / "alone" / "audit_verify.py"
    alone.parent.mkdir()
    shutil.copyfile(module.__file__, alone)
    run = [sys.executable, "-I", "-S", str(alone), str(bundle_path), "--head", head]
    checked = subprocess.run(run, capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("VERIFIED")

    bundle = json.loads(bundle_path.read_text())
    bundle["events"][3]["state"] = bundle["events"][4]["state"]
    assert not verify_bundle(bundle).ok
    bundle_path.write_text(json.dumps(bundle))
    tampered = subprocess.run(run, capture_output=True, text=True, check=False)
    assert tampered.returncode == 1
    assert "NOT VERIFIED" in tampered.stdout


def test_the_cli_reports_findings_by_document_and_exits_non_zero(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    record_history(url)
    exe = [sys.executable, "-m", "approvalflow.cli"]
    store = url.removeprefix("sqlite:///")
    clean = subprocess.run(
        [*exe, "audit", "verify", "--db", store],
        capture_output=True,
        text=True,
        check=False,
    )
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout.startswith("VERIFIED")
    _retopic(RawStore(url))
    found = subprocess.run(
        [*exe, "audit", "verify", "--db", store],
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 1
    assert "retopiced: document 'd1' version" in found.stdout
    # The trail of one document is still exported by `audit DOCUMENT_ID`.
    trail = subprocess.run(
        [*exe, "audit", "d2", "--db", store],
        capture_output=True,
        text=True,
        check=False,
    )
    assert trail.returncode == 0, trail.stderr
    assert len(trail.stdout.splitlines()) == 3


def test_a_store_of_thousands_of_events_from_before_the_chain_is_chained(
    tmp_path: Path,
) -> None:
    # Thousands of events: the checkpoint hashes them in batches, in one pass.
    from tests.helpers import populate  # noqa: PLC0415

    url = f"sqlite:///{tmp_path / 'big.sqlite3'}"
    with connect(url) as app:
        populate(app, 3_000)
    # Forget the chain, as a store of an earlier release would not have one.
    raw = RawStore(url)
    raw.run("DROP TABLE approvalflow_chain")
    raw.run("DROP TABLE approvalflow_chain_meta")
    events = len(raw.rows())
    assert events > 5_000
    report, _ = verify(url)
    assert report.ok, list(report.lines())
    assert report.checkpoint == events


def test_an_old_store_before_its_first_writable_opening_says_the_same_everywhere(
    tmp_path: Path,
) -> None:
    from tests.fixtures.make_release_store import STORE_FILE  # noqa: PLC0415

    copy = tmp_path / "older.sqlite3"
    shutil.copyfile(STORE_FILE, copy)
    count = int(
        sqlite3.connect(copy)
        .execute("SELECT count(*) FROM stored_events")
        .fetchone()[0]
    )
    url = f"sqlite:///{copy}"
    bundle_path = tmp_path / "before.json"
    with connect(url, read_only=True) as app:
        report = app.verify_audit()
        with bundle_path.open("w", encoding="utf-8") as out:
            app.export_audit_bundle(out)
    bundle = json.loads(bundle_path.read_text())
    offline = verify_bundle(bundle)
    for checked in (report, offline):
        # Nothing could be checked, and that is what both say: not a clean
        # bill, not a list of "inserted" events.
        assert not checked.ok
        assert checked.findings == []
        assert checked.before_checkpoint == count
        lines = list(checked.lines())
        assert lines[0] == "NOT VERIFIED: no event is covered by the chain yet"
        assert f"none of the {count} events is covered" in lines[2]
    # A bundle claiming "no chain yet" while carrying chain rows is refused.
    chained = _bundle(tmp_path / "chained")
    chained["chain_started"] = False
    with pytest.raises(ValueError, match="has not begun, yet it has chain rows"):
        verify_bundle(chained)
    # Once opened for writing, the store is chained and verifies.
    with connect(url) as app:
        after = app.verify_audit()
    assert after.ok
    assert after.before_checkpoint == count
