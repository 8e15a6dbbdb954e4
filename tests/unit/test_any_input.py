"""Any argument, to any command or query: success or a typed error, never a crash.

Hypothesis draws arguments of every shape (ids that exist and do not, text
with controls, bidi marks and encoded words, huge and negative numbers,
wrong types) for every public command and query, and for the command line's
options. A refusal must be an ``ApprovalFlowError`` and leave the store
byte-identical; nothing else may escape.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvalflow import ApprovalFlowError, Approvals, connect
from approvalflow.cli import main
from approvalflow.testing import ControllableClock
from tests.helpers import START, make_directory, stored_records

IDS = ["d1", "d2", "d3", "hidden", "missing", "f1", "c1", "g1", "acme", "globex"]

text = st.one_of(
    st.sampled_from(IDS),
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            " ",
            "x" * 2_001,
            "=?utf-8?q?x=0D=0ABcc:_e@x?=",
            "a\u202eb",
            "d\u200b1",
            "\x1b[2J",
            "line\nbreak",
        ]
    ),
)
anything = st.one_of(
    text,
    st.none(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.booleans(),
    st.lists(text, max_size=3),
    st.dictionaries(text, st.integers(), max_size=2),
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes(),
    st.just(object()),
)
maybe = st.one_of(st.none(), anything)
# Half the time a value the store knows, so checks after the first are reached.
document_ids = st.one_of(st.sampled_from(IDS), anything)
users = st.one_of(st.sampled_from(["f1", "f2", "c1", "c2", "g1", "nobody"]), anything)
words = st.one_of(
    st.sampled_from(["uploaded", "sent", "csv", "jsonl", "Wrong year"]), maybe
)

Call = Callable[[Approvals], object]

CALLS: dict[str, Callable[..., Call]] = {
    "request_approval": lambda d, by, m, r: (
        lambda a: a.request_approval(d, by=by, message=m, reminders=r)
    ),
    "request_approvals": lambda d, by, m, r: (
        lambda a: a.request_approvals([d, m] if isinstance(m, str) else d, by=by)
    ),
    "resend": lambda d, by, m, r: lambda a: a.resend(d, by=by, message=m, reminders=r),
    "cancel": lambda d, by, m, r: lambda a: a.cancel(d, by=by, note=m),
    "approve": lambda d, by, m, r: lambda a: a.approve(d, by=by, comment=m),
    "reject": lambda d, by, m, r: lambda a: a.reject(d, by=by, reasons=r, comment=m),
    "lock_to_invoice": lambda d, by, m, r: (
        lambda a: a.lock_to_invoice(d, invoice_id=m, by=by)
    ),
    "mark_invoice_paid": lambda d, by, m, r: (
        lambda a: a.mark_invoice_paid(d, invoice_id=m, by=by)
    ),
    "record_activity": lambda d, by, m, r: (
        lambda a: a.record_activity(d, kind=m, by=by)
    ),
    "remind": lambda d, by, m, r: lambda a: a.remind(d),
    "send_due_reminders": lambda d, by, m, r: lambda a: a.send_due_reminders(r),
    "status": lambda d, by, m, r: lambda a: a.status(d),
    "history": lambda d, by, m, r: lambda a: a.history(d),
    "cycles": lambda d, by, m, r: lambda a: a.cycles(d),
    "recent": lambda d, by, m, r: (
        lambda a: a.recent(filters=r, account_id=m, limit=by, after=d)
    ),
    "approvals_tab": lambda d, by, m, r: (
        lambda a: a.approvals_tab(d, filters=r, limit=by, after=m)
    ),
    "rejection_reasons": lambda d, by, m, r: lambda a: a.rejection_reasons(d),
    "audit_trail": lambda d, by, m, r: lambda a: a.audit_trail(d),
    "export_audit": lambda d, by, m, r: (
        lambda a: a.export_audit(d, io.StringIO(), fmt=m)
    ),
    "export_audit_log": lambda d, by, m, r: (
        lambda a: a.export_audit_log(
            io.StringIO(), fmt=m, account_id=d, since=r, until=by, bom=bool(r)
        )
    ),
    "health": lambda d, by, m, r: lambda a: a.health(max_delay=m, max_lag=r),
    "client_view": lambda d, by, m, r: lambda a: a.client_view(d),
    "document_as_of": lambda d, by, m, r: lambda a: a.document_as_of(d, m),
    "approvals_tab_as_of": lambda d, by, m, r: lambda a: a.approvals_tab_as_of(d, m),
    "verify_audit": lambda d, by, m, r: lambda a: a.verify_audit(m),
    "retry_deliveries": lambda d, by, m, r: lambda a: a.retry_deliveries(r),
    "queries_for.status": lambda d, by, m, r: lambda a: a.queries_for(by).status(d),
    "queries_for.recent": lambda d, by, m, r: (
        lambda a: a.queries_for(by).recent(account_id=m)
    ),
    "queries_for.approvals_tab": lambda d, by, m, r: (
        lambda a: a.queries_for(by).approvals_tab(d)
    ),
}


@pytest.fixture(scope="module")
def app() -> Iterator[Approvals]:
    clock = ControllableClock(START)
    with connect("memory://", directory=make_directory(), clock=clock) as app:
        app.request_approval("d1", by="f1")
        app.request_approval("d2", by="f1")
        app.reject("d2", by="c1", reasons=["No"])
        clock.advance(timedelta(days=1))
        yield app


@settings(
    # Every call needs many draws; memory:// makes each one cheap.
    max_examples=settings().max_examples * 8,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    call=st.sampled_from(sorted(CALLS)),
    document=document_ids,
    by=users,
    message=words,
    extra=st.one_of(st.lists(text, max_size=3), maybe),
)
def test_every_call_succeeds_or_refuses_with_a_typed_error_and_no_change(  # noqa: PLR0917 - hypothesis fills them
    app: Approvals, call: str, document: Any, by: Any, message: Any, extra: Any
) -> None:
    before = stored_records(app)
    run = CALLS[call](document, by, message, extra)
    try:
        run(app)
    except ApprovalFlowError:
        assert stored_records(app) == before
    # Anything else escaping fails the test with its traceback.


OPTIONS = {
    "history": ["history", "DOC", "--db", "DB"],
    "audit": ["audit", "DOC", "--db", "DB", "--format", "FMT"],
    "verify": ["audit", "verify", "--db", "DB", "--head", "DOC"],
    "deliveries retry": ["deliveries", "retry", "--db", "DB", "--event", "FMT"],
    "audit log": [
        "audit",
        "log",
        "--db",
        "DB",
        "--account",
        "DOC",
        "--since",
        "FMT",
        "--format",
        "csv",
        "--bom",
        "--out",
        "DOC",
    ],
    "health": ["health", "--db", "DB", "--max-delay", "FMT", "--json"],
    "deliveries status": ["deliveries", "status", "--db", "DB", "--max-delay", "FMT"],
    "projections status": ["projections", "status", "--db", "DB", "--max-lag", "FMT"],
    "worker": [
        "worker",
        "--once",
        "--db",
        "DB",
        "--directory",
        "DOC",
        "--sender",
        "FMT",
        "--firm-name",
        "F",
        "--mail-dir",
        "mail",
        "--interval",
        "FMT",
    ],
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    command=st.sampled_from(sorted(OPTIONS)),
    doc=st.one_of(st.sampled_from(["d1", "json:loads", "nope:x"]), st.text()),
    db=st.sampled_from(["store.sqlite3", "missing.sqlite3", "memory://", "x://y"]),
    fmt=st.one_of(st.sampled_from(["csv", "jsonl", "nan", "-1", "0"]), st.text()),
)
def test_the_command_line_never_shows_a_traceback(
    tmp_path_factory: pytest.TempPathFactory,
    command: str,
    doc: str,
    db: str,
    fmt: str,
) -> None:
    folder = tmp_path_factory.mktemp("cli")
    store = folder / "store.sqlite3"
    with connect(f"sqlite:///{store}", directory=make_directory()) as app:
        app.request_approval("d1", by="f1")
    args = [
        {
            "DOC": doc,
            "DB": str(folder / db) if "://" not in db else db,
            "FMT": fmt,
            "OUT": str(folder / "export.csv"),
        }.get(a, a)
        for a in OPTIONS[command]
    ]
    if any("\x00" in a for a in args):
        return  # the operating system refuses NUL in arguments before us
    result = CliRunner().invoke(main, args, catch_exceptions=True)
    assert result.exit_code in (0, 1, 2), result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert "Traceback" not in result.output


def test_datetimes_in_any_zone_are_taken() -> None:
    # A control for the property above: aware times in another zone work.
    clock = ControllableClock(START)
    with connect("memory://", directory=make_directory(), clock=clock) as app:
        app.request_approval("d1", by="f1")
        paris = datetime(2026, 1, 6, 10, tzinfo=UTC).astimezone()
        assert app.document_as_of("d1", paris) is not None
