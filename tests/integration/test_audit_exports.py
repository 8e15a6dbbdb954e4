"""The firm's audit log exported as an auditor or a spreadsheet reads it."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from approvalflow import Approvals, BatchRequest, InvalidInputError, connect
from approvalflow.testing import ControllableClock
from tests.helpers import START, make_directory, stored_records


@pytest.fixture
def story(tmp_path: Path) -> Iterator[tuple[Approvals, ControllableClock, Path]]:
    """Three days: d1 requested in ACME, rejected, moved to Globex, requested."""
    db = tmp_path / "s.sqlite3"
    directory = make_directory()
    directory.add_document(
        attrs.evolve(directory.documents["d2"].facts, name='=HYPERLINK("x")')
    )
    clock = ControllableClock(START)
    with connect(f"sqlite:///{db}", directory=directory, clock=clock) as app:
        app.request_approval("d1", by="f1", message="Merci de valider — é")
        app.request_approval("d2", by="f1")
        clock.advance(timedelta(days=1))
        app.reject("d1", by="c1", reasons=["Wrong period"])
        clock.advance(timedelta(days=1))
        moved = attrs.evolve(directory.documents["d1"].facts, account_id="globex")
        directory.add_document(moved)
        app.request_approval("d1", by="f1")
        app.approve("d1", by="g1")
        yield app, clock, db


def jsonl(app: Approvals, **options: Any) -> list[dict[str, Any]]:
    out = io.StringIO()
    count = app.export_audit_log(out, **options)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert count == len(rows)
    return rows


def test_the_firm_wide_log_has_every_event_once_in_log_order(
    story: tuple[Approvals, ControllableClock, Path],
) -> None:
    app, _, _ = story
    rows = jsonl(app)
    assert [r["position"] for r in rows] == list(range(1, len(stored_records(app)) + 1))
    # The same rows as each document's own trail, with position and account.
    for doc in ("d1", "d2"):
        trail = io.StringIO()
        app.export_audit(doc, trail)
        expected = [json.loads(line) for line in trail.getvalue().splitlines()]
        mine = [
            {k: v for k, v in r.items() if k not in ("position", "account_id")}
            for r in rows
            if r["document_id"] == doc
        ]
        assert mine == expected


def test_an_account_gets_the_events_of_its_time_with_the_document(
    story: tuple[Approvals, ControllableClock, Path],
) -> None:
    app, _, _ = story
    acme = [(r["document_id"], r["event"]) for r in jsonl(app, account_id="acme")]
    globex = [(r["document_id"], r["event"]) for r in jsonl(app, account_id="globex")]
    assert acme == [
        ("d1", "Created"),
        ("d1", "Requested"),
        ("d2", "Created"),
        ("d2", "Requested"),
        ("d1", "Rejected"),
    ]
    assert globex == [("d1", "Requested"), ("d1", "Approved")]
    assert jsonl(app, account_id="initech") == []


def test_dates_bound_the_log_from_since_included_to_until_excluded(
    story: tuple[Approvals, ControllableClock, Path],
) -> None:
    app, _, _ = story
    day2 = START + timedelta(days=1)
    day3 = START + timedelta(days=2)
    assert [r["event"] for r in jsonl(app, since=day2, until=day3)] == ["Rejected"]
    assert [r["event"] for r in jsonl(app, since=day3)] == [
        "Requested",
        "Approved",
    ]
    # One microsecond later, the event at day2 itself is out; one earlier, in.
    assert jsonl(app, since=day2 + timedelta(microseconds=1), until=day3) == []
    assert [
        r["event"]
        for r in jsonl(app, since=day2, until=day2 + timedelta(microseconds=1))
    ] == ["Rejected"]
    assert len(jsonl(app, until=day2)) == 4


def test_csv_for_excel_has_a_bom_semicolons_and_no_formulas(
    story: tuple[Approvals, ControllableClock, Path],
) -> None:
    app, _, _ = story
    out = io.StringIO()
    app.export_audit_log(out, fmt="csv", bom=True, delimiter=";")
    text = out.getvalue()
    assert text.startswith("\ufeffposition;account_id;document_id;")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))
    assert [int(r["position"]) for r in rows] == [r["position"] for r in jsonl(app)]
    names = {json.loads(r["details"]).get("document", {}).get("name") for r in rows}
    assert '=HYPERLINK("x")' in names  # the fact itself is kept, inside JSON
    summaries = [r["summary"] for r in rows if r["document_id"] == "d2"]
    assert all(not s.startswith("=") for s in summaries)
    assert "Merci de valider — é" in text
    plain = io.StringIO()
    app.export_audit_log(plain, fmt="csv")
    assert plain.getvalue().startswith("position,account_id,")


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"fmt": "jsonl", "bom": True}, "bom"),
        ({"fmt": "jsonl", "delimiter": ";"}, "delimiter"),
        ({"fmt": "csv", "delimiter": "\t"}, "delimiter"),
        ({"fmt": "xlsx"}, "fmt"),
        ({"since": START, "until": START}, "until"),
        ({"since": START.replace(tzinfo=None)}, "since"),
        ({"account_id": ""}, "account_id"),
    ],
)
def test_bad_export_options_are_refused_before_anything_is_written(
    story: tuple[Approvals, ControllableClock, Path],
    options: dict[str, Any],
    field: str,
) -> None:
    app, _, _ = story
    out = io.StringIO()
    with pytest.raises(InvalidInputError) as caught:
        app.export_audit_log(out, **options)
    assert caught.value.field == field
    assert out.getvalue() == ""


def test_the_log_is_streamed_not_gathered(tmp_path: Path) -> None:
    directory = make_directory()
    with connect("memory://", directory=directory) as app:
        docs = [f"bulk{i}" for i in range(2_600)]
        for doc in docs:
            directory.add_document(
                attrs.evolve(directory.documents["d1"].facts, document_id=doc)
            )
        for start in range(0, len(docs), 1_000):  # batches of at most 1,000
            batch = docs[start : start + 1_000]
            app.request_approvals([BatchRequest(doc) for doc in batch], by="f1")
        recorder = app.log.recorder
        reads = 0
        select = recorder.select_notifications

        def counting(*args: Any, **kwargs: Any) -> Any:
            nonlocal reads
            reads += 1
            return select(*args, **kwargs)

        recorder.select_notifications = counting  # type: ignore[method-assign]
        reads_at_first_write: list[int] = []

        class Sink(io.StringIO):
            def write(self, text: str) -> int:
                if not reads_at_first_write:
                    reads_at_first_write.append(reads)
                return 0  # nothing kept: the export must not need it

        count = app.export_audit_log(Sink())
    assert count == 5_200
    # Rows went out after the first batch was read, long before the last.
    assert reads_at_first_write == [1]
    assert reads >= 3


def test_the_command_line_writes_an_excel_ready_file(
    story: tuple[Approvals, ControllableClock, Path], tmp_path: Path
) -> None:
    _, _, db = story
    out = tmp_path / "acme.csv"
    exe = Path(sys.executable).parent / "approvalflow"
    done = subprocess.run(
        [
            str(exe), "audit", "log", "--db", str(db), "--account", "acme",
            "--since", "2026-01-06", "--format", "csv", "--bom",
            "--delimiter", ";", "--out", str(out),
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == "1 event written to " + str(out) + "\n"
    with out.open(encoding="utf-8-sig", newline="") as handle:
        (row,) = csv.DictReader(handle, delimiter=";")
    assert (row["document_id"], row["event"], row["account_id"]) == (
        "d1",
        "Rejected",
        "acme",
    )
    refused = subprocess.run(
        [str(exe), "audit", "log", "--db", str(db), "--bom", "--out", str(out) + "2"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert refused.returncode == 2
    assert "bom" in refused.stderr
    assert not Path(str(out) + "2").exists()
    assert not Path(str(out) + "2.partial").exists()
