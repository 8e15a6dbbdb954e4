"""Value types: validation with clear errors, and a lossless stored round trip."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, time

import pytest
from eventsourcing.persistence import JSONTranscoder
from hypothesis import given
from hypothesis import strategies as st

from approvalflow import (
    Actor,
    ActorRole,
    AlreadyPendingError,
    ApprovalState,
    DocumentFacts,
    InvalidInputError,
    InvoiceLock,
    Rejection,
    ReminderPolicy,
    ReminderSchedule,
)
from approvalflow.domain.aggregate import Cycle
from approvalflow.domain.validation import (
    MAX_COMMENT,
    MAX_ID,
    MAX_MESSAGE,
    MAX_NAME,
    MAX_REASON,
    MAX_REASONS,
    check_identifier,
    check_int,
    check_reasons,
    check_text,
    check_utc,
)
from approvalflow.domain.values import (
    CycleOutcome,
    DeliveryRecord,
    EntryPoint,
    NotificationReport,
)
from approvalflow.persistence import STORED_VALUE_TYPES, register_transcodings

text = st.text(
    # Format characters (Cf) are refused in identifiers; texts are tested
    # with them apart (test_texts_keep_marks_people_type).
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Cf")),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip() == s and s.strip())
times = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.just(UTC),
)
actors = st.builds(Actor, text, text, st.sampled_from(ActorRole))
facts = st.builds(
    DocumentFacts,
    document_id=text,
    account_id=text,
    name=text,
    file_type=text,
    uploaded_by=text,
    description=st.none() | text,
)
schedules = st.builds(
    ReminderSchedule,
    time_zone=st.sampled_from(["UTC", "Europe/Paris", "Europe/London"]),
    window_start=st.sampled_from([time(8), time(9, 30)]),
    window_end=st.sampled_from([time(17), time(18, 45)]),
    business_days=st.booleans(),
    holidays=st.sampled_from([None, "FR", "GB"]),
    holiday_region=st.none(),
) | st.just(ReminderSchedule.elapsed())
policies = st.builds(
    ReminderPolicy,
    days_before_next=st.integers(1, 365),
    count=st.integers(1, 30),
    schedule=st.none() | schedules,
)
rejections = st.builds(
    Rejection,
    reasons=st.lists(text, min_size=1, max_size=5, unique=True).map(tuple),
    comment=st.none() | text,
)
cycles = st.builds(
    Cycle,
    number=st.integers(1, 50),
    document=facts,
    requested_at=times,
    requested_by=actors,
    message=st.none() | text,
    reminders=st.none() | policies,
    entry_point=st.none() | st.sampled_from(EntryPoint),
    outcome=st.sampled_from(CycleOutcome),
    schedule_started_at=st.none() | times,
    last_contact_at=st.none() | times,
    closed_by=st.none() | actors,
    rejection=st.none() | rejections,
)
deliveries = st.builds(
    DeliveryRecord,
    channel=st.sampled_from(["email", "portal", "inbox"]),
    kind=text,
    recipient_id=text,
    recipient_name=text,
    address=text,
    outcome=st.sampled_from(["sent", "refused"]),
    detail=st.none() | text,
)
reports = st.builds(
    NotificationReport,
    about_version=st.integers(1, 1000),
    about_event=text,
    deliveries=st.lists(deliveries, max_size=3).map(tuple),
)
values = st.one_of(
    actors,
    facts,
    policies,
    rejections,
    st.builds(InvoiceLock, text, times, st.none() | times),
    cycles,
    deliveries,
    reports,
)


def transcoder() -> JSONTranscoder:
    t = JSONTranscoder()
    register_transcodings(t)
    return t


@given(values)
def test_every_value_type_survives_the_store(value: object) -> None:
    t = transcoder()
    assert t.decode(t.encode({"value": value}))["value"] == value


def test_every_stored_value_type_is_covered_by_the_round_trip() -> None:
    covered = {Actor, DocumentFacts, ReminderPolicy, Rejection, InvoiceLock, Cycle}
    covered |= {DeliveryRecord, NotificationReport, ReminderSchedule}
    assert set(STORED_VALUE_TYPES.values()) == covered


def test_stored_form_uses_the_public_names() -> None:
    encoded = transcoder().encode(ReminderPolicy(days_before_next=5, count=2))
    assert (
        encoded
        == b'{"_type_":"ReminderPolicy","_data_":{"days_before_next":5,"count":2}}'
    )


def test_stored_values_read_back_even_if_rules_tightened() -> None:
    # A policy stored under looser bounds must still load: nothing recorded
    # may become unreadable.
    data = b'{"_type_":"ReminderPolicy","_data_":{"days_before_next":999,"count":2}}'
    policy = transcoder().decode(data)
    assert policy.days_before_next == 999


def test_fields_added_later_take_their_default_on_old_records() -> None:
    data = (
        b'{"_type_":"DocumentFacts","_data_":{"document_id":"d","account_id":"a",'
        b'"name":"n","file_type":"pdf","uploaded_by":"u"}}'
    )
    assert transcoder().decode(data).description is None


def test_reminder_policy_defaults_follow_the_help_centre() -> None:
    policy = ReminderPolicy()
    assert (policy.days_before_next, policy.count) == (3, 1)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"days_before_next": 0}, "days_before_next"),
        ({"days_before_next": 366}, "days_before_next"),
        ({"days_before_next": True}, "days_before_next"),
        ({"days_before_next": 2.5}, "days_before_next"),
        ({"count": 0}, "count"),
        ({"count": 31}, "count"),
        ({"count": "3"}, "count"),
    ],
)
def test_out_of_range_reminder_settings_are_refused(
    kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        ReminderPolicy(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert "allowed: a whole number from" in str(caught.value)


@pytest.mark.parametrize(
    ("reasons", "problem"),
    [
        ([], "no reason given"),
        (["ok", "ok"], "repeated"),
        (["  "], "empty or only spaces"),
        (["x" * 2001], "2,001 characters"),
        (["line\nbreak"], "control character U+000A"),
        ("a string, not a list", "got str"),
        ([f"r{i}" for i in range(21)], "21 reasons"),
    ],
)
def test_bad_rejection_reasons_are_refused(reasons: object, problem: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(problem)):
        Rejection(reasons=reasons)


def test_actor_refuses_blank_ids() -> None:
    with pytest.raises(InvalidInputError, match="user_id: is empty"):
        Actor("", "Ann", ActorRole.FIRM_MEMBER)


@pytest.mark.parametrize(
    ("raw", "invisible"),
    [
        ("doc\u200b1", "U+200B"),  # zero-width space
        ("\ufeffdoc1", "U+FEFF"),  # byte-order mark
        ("doc\u202e1", "U+202E"),  # right-to-left override
        ("doc\u2066x\u20691", "U+2066"),  # left-to-right isolate
        ("doc\u200d1", "U+200D"),  # zero-width joiner
    ],
)
def test_identifiers_refuse_invisible_characters(raw: str, invisible: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(invisible)):
        check_identifier("document_id", raw)


def test_one_identifier_typed_two_ways_is_one_identifier() -> None:
    composed, decomposed = "d\u00e9cl-2025", "de\u0301cl-2025"
    assert composed != decomposed
    assert check_identifier("document_id", decomposed) == composed
    assert check_identifier("document_id", composed) == composed


def test_nfd_and_nfc_forms_of_a_document_id_are_one_document() -> None:
    from approvalflow import connect  # noqa: PLC0415
    from approvalflow.testing import ControllableClock  # noqa: PLC0415
    from tests.helpers import START, make_directory  # noqa: PLC0415

    directory = make_directory()
    facts = directory.documents["d1"].facts
    composed = "d\u00e9cl"
    directory.add_document(
        DocumentFacts(composed, facts.account_id, "Déclaration", "pdf", "Anna"),
        client_visible=True,
    )
    with connect(
        "memory://", directory=directory, clock=ControllableClock(START)
    ) as app:
        app.request_approval("de\u0301cl", by="f1")
        assert app.status(composed).state is ApprovalState.PENDING
        with pytest.raises(AlreadyPendingError):
            app.request_approval(composed, by="f1")


@pytest.mark.parametrize("mark", ["\u202e", "\u2066", "\ufeff"])
def test_texts_refuse_bidi_controls_and_byte_order_marks(mark: str) -> None:
    with pytest.raises(InvalidInputError, match=f"U\\+{ord(mark):04X}"):
        Rejection(reasons=[f"Wrong {mark}year"], comment=None)


@pytest.mark.parametrize(
    # A zero-width joiner in an emoji, a non-joiner in Persian, an RTL mark.
    "text",
    [
        "Merci \U0001f469\u200d\U0001f4bb",
        "\u0645\u06cc\u200c\u0634\u0648\u062f",
        "abc \u200f123",
    ],
)
def test_texts_keep_marks_people_type(text: str) -> None:
    assert Rejection(reasons=[text], comment=text).reasons == (text,)


# What a user reads when an argument is refused: the whole message, as the
# docs promise it (what was wrong; what is allowed), with the documented
# bounds written out rather than read from the code.
REFUSALS: list[tuple[Callable[[], object], str]] = [
    (
        lambda: check_text("name", 3, max_length=500),
        "name: got int; allowed: a single line of text, 1 to 500 characters,"
        " not only spaces",
    ),
    (
        lambda: check_text("name", " ", max_length=500),
        "name: is empty or only spaces; allowed: a single line of text, 1 to 500"
        " characters, not only spaces",
    ),
    (
        lambda: check_text("name", "x" * 501, max_length=500),
        "name: has 501 characters; allowed: a single line of text, 1 to 500"
        " characters, not only spaces",
    ),
    (
        lambda: check_text("message", "a\nb\x07", max_length=10_000, multiline=True),
        "message: contains the control character U+0007; allowed: text with line"
        " breaks, 1 to 10,000 characters, not only spaces",
    ),
    (
        lambda: check_text("message", "a\tb\ud800", max_length=10_000, multiline=True),
        "message: contains the control character U+D800; allowed: text with line"
        " breaks, 1 to 10,000 characters, not only spaces",
    ),
    (
        lambda: check_text("name", "a\nb", max_length=500),
        "name: contains the control character U+000A; allowed: a single line of"
        " text, 1 to 500 characters, not only spaces",
    ),
    (
        lambda: check_identifier("document_id", " d1"),
        "document_id: has leading or trailing spaces; allowed: an identifier of 1"
        " to 200 visible characters without surrounding spaces",
    ),
    (
        lambda: check_identifier("document_id", "d\u200b1"),
        "document_id: contains the invisible character U+200B; allowed: an"
        " identifier of 1 to 200 visible characters without surrounding spaces",
    ),
    (
        lambda: check_int("count", True, low=1, high=30),
        "count: got bool; allowed: a whole number from 1 to 30",
    ),
    (
        lambda: check_int("count", 31, low=1, high=30),
        "count: got 31; allowed: a whole number from 1 to 30",
    ),
    (
        lambda: check_reasons("reasons", "one"),
        "reasons: got str; allowed: a list of 1 to 20 distinct reasons, each 1 to"
        " 2,000 characters",
    ),
    (
        lambda: check_reasons("reasons", []),
        "reasons: no reason given; allowed: a list of 1 to 20 distinct reasons,"
        " each 1 to 2,000 characters",
    ),
    (
        lambda: check_reasons("reasons", ["a"] * 21),
        "reasons: got 21 reasons; allowed: a list of 1 to 20 distinct reasons,"
        " each 1 to 2,000 characters",
    ),
    (
        lambda: check_reasons("reasons", ["a", "a"]),
        "reasons: a reason is repeated; allowed: a list of 1 to 20 distinct"
        " reasons, each 1 to 2,000 characters",
    ),
    (
        lambda: check_utc("at", "2026"),
        "at: got str; allowed: a timezone-aware datetime (it is stored in UTC)",
    ),
    (
        lambda: check_utc("at", datetime(2026, 1, 1)),
        "at: is naive (no timezone); allowed: a timezone-aware datetime (it is"
        " stored in UTC)",
    ),
]


@pytest.mark.parametrize(("check", "message"), REFUSALS)
def test_refusals_say_what_was_wrong_and_what_is_allowed(
    check: Callable[[], object], message: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        check()
    assert str(caught.value) == message


def test_the_documented_bounds() -> None:
    # Hosts size their forms by these; changing one is a breaking change.
    assert (MAX_ID, MAX_NAME, MAX_MESSAGE, MAX_COMMENT, MAX_REASON, MAX_REASONS) == (
        200,
        500,
        10_000,
        2_000,
        2_000,
        20,
    )
