"""approvalflow on Django's database: the storage contract, migrations, transactions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from approvalflow_django import build_approvals
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings

import approvalflow
from approvalflow import (
    Approvals,
    ApprovalState,
    ConfigurationError,
    ReminderPolicy,
    ReminderSchedule,
)
from approvalflow.testing import ControllableClock, InMemoryDirectory, RecordingPortal
from approvalflow.testing.contracts import SEED, StorageContract

_START = datetime(2026, 3, 2, 9, tzinfo=UTC)


def _directory() -> InMemoryDirectory:
    return InMemoryDirectory(
        firm_members=SEED.firm_members,
        client_users=SEED.client_users,
        accounts=SEED.accounts,
        links=SEED.links,
        documents=SEED.documents,
    )


@pytest.mark.usefixtures("database")
class TestDjangoStorage(StorageContract):
    def open(self, **ports: Any) -> Approvals:
        return build_approvals(**ports)


def _tables() -> set[str]:
    return {t for t in connection.introspection.table_names() if "approvalflow" in t}


@pytest.mark.usefixtures("database")
def test_migrating_back_drops_the_tables_and_approvalflow_then_asks_to_migrate() -> (
    None
):
    assert {"approvalflow_events", "approvalflow_deliveries"} <= _tables()
    call_command("migrate", "approvalflow", "zero", verbosity=0)
    assert _tables() == set()
    with pytest.raises(ConfigurationError, match=r"run manage\.py migrate"):
        build_approvals(directory=_directory())
    assert _tables() == set()  # nothing was created behind the host's back
    call_command("migrate", "approvalflow", verbosity=0)
    with build_approvals(
        directory=_directory(), clock=ControllableClock(_START)
    ) as app:
        app.request_approval("tax-2025", by="anna")
        assert app.status("tax-2025").state is ApprovalState.PENDING


@pytest.mark.usefixtures("sqlite_default")
def test_an_unmigrated_database_is_refused_with_what_to_run() -> None:
    with pytest.raises(ConfigurationError) as refused:
        build_approvals(directory=_directory())
    assert "approvalflow_events" in str(refused.value)
    assert "manage.py migrate" in str(refused.value)
    assert _tables() == set()


@pytest.mark.usefixtures("database")
def test_a_command_in_a_rolled_back_host_transaction_leaves_no_trace() -> None:
    clock = ControllableClock(_START)
    with build_approvals(directory=_directory(), clock=clock) as app:

        def request_then_fail() -> None:
            with transaction.atomic():
                app.request_approval("tax-2025", by="anna")
                # Inside the transaction the host reads its own write.
                assert app.status("tax-2025").state is ApprovalState.PENDING
                raise RuntimeError

        with pytest.raises(RuntimeError):
            request_then_fail()
        assert app.status("tax-2025").state is ApprovalState.NONE
        assert app.recent().rows == ()
        assert app.accounts_pending() == []
        # And the store goes on: the same request now commits.
        app.request_approval("tax-2025", by="anna")
        assert [r.document_id for r in app.recent().rows] == ["tax-2025"]


@pytest.mark.usefixtures("database")
def test_a_refused_command_inside_the_hosts_transaction_leaves_it_usable() -> None:
    with build_approvals(
        directory=_directory(), clock=ControllableClock(_START)
    ) as app:
        with transaction.atomic():
            app.request_approval("tax-2025", by="anna")
            with pytest.raises(approvalflow.AlreadyPendingError):
                app.request_approval("tax-2025", by="anna")
            app.request_approval("vat-q1", by="anna")
        assert {r.document_id for r in app.recent().rows} == {"tax-2025", "vat-q1"}


@pytest.mark.usefixtures("database")
def test_an_unknown_database_alias_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="no database 'elsewhere'"):
        approvalflow.connect(
            settings={
                "PERSISTENCE_MODULE": "approvalflow_django.persistence",
                "DJANGO_DATABASE": "elsewhere",
            },
            directory=_directory(),
        )


@pytest.mark.usefixtures("database")
def test_read_models_are_written_in_the_commands_own_transaction() -> None:
    # With catching up on read off, only the inline write can fill the lists.
    with build_approvals(
        directory=_directory(),
        clock=ControllableClock(_START),
        refresh_views_on_read=False,
    ) as app:
        with transaction.atomic():
            app.request_approval("tax-2025", by="anna")
            assert [r.document_id for r in app.recent().rows] == ["tax-2025"]
        app.approve("tax-2025", by="claire")
        assert [r.state for r in app.approvals_tab("dupont").rows] == [
            ApprovalState.APPROVED
        ]
        assert [v.behind for v in app.views_status()] == [0] * len(app.views_status())


@pytest.mark.usefixtures("sqlite_default")
def test_the_portal_and_firm_url_settings_are_wired_into_the_application() -> None:
    call_command("migrate", database="default", verbosity=0)
    config = {
        **settings.APPROVALFLOW,
        "PORTAL": "approvalflow.testing.RecordingPortal",
        "FIRM_URL": "https://app.martin.example",
    }
    with override_settings(APPROVALFLOW=config), build_approvals() as app:
        assert isinstance(app.portal, RecordingPortal)
        links = app.links
        assert links is not None
        assert links.firm_document("dupont", "d-1") == (  # type: ignore[attr-defined]
            "https://app.martin.example/accounts/dupont/documents/d-1"
        )
    with build_approvals() as app:  # the example host sets neither
        assert app.portal is None
        assert app.links is not None
        assert app.links.firm_document("dupont", "d-1") is None  # type: ignore[attr-defined]


PARIS = ReminderSchedule(time_zone="Europe/Paris", holidays="FR")


@pytest.mark.usefixtures("sqlite_default")
def test_the_reminder_schedule_setting_is_the_firms_schedule() -> None:
    call_command("migrate", database="default", verbosity=0)
    here = "test_django_storage"
    config = {**settings.APPROVALFLOW, "REMINDER_SCHEDULE": f"{here}.PARIS"}
    clock = ControllableClock(_START)
    with (
        override_settings(APPROVALFLOW=config),
        build_approvals(directory=_directory(), clock=clock) as app,
    ):
        app.request_approval(
            "tax-2025", by="anna", reminders=ReminderPolicy(days_before_next=1, count=1)
        )
        assert app.status("tax-2025").reminder_time_zone == "Europe/Paris"
    wrong = {**settings.APPROVALFLOW, "REMINDER_SCHEDULE": f"{here}._START"}
    with (
        override_settings(APPROVALFLOW=wrong),
        pytest.raises(ConfigurationError, match="a datetime: give the dotted path"),
    ):
        build_approvals()


#: Counted in working days, on Israel's Friday-Saturday weekend.
ISRAEL = ReminderSchedule(
    time_zone="Asia/Jerusalem", holidays="IL", count_working_days=True
)


@pytest.mark.usefixtures("sqlite_default")
def test_the_schedule_setting_takes_every_field_and_without_it_days_are_exact() -> None:
    call_command("migrate", database="default", verbosity=0)
    config = {
        **settings.APPROVALFLOW,
        "REMINDER_SCHEDULE": "test_django_storage.ISRAEL",
    }
    thursday = datetime(2026, 1, 8, 8, 0, tzinfo=UTC)  # 10:00 in Jerusalem
    clock = ControllableClock(thursday)
    with (
        override_settings(APPROVALFLOW=config),
        build_approvals(directory=_directory(), clock=clock) as app,
    ):
        app.request_approval("tax-2025", by="anna", reminders=ReminderPolicy(1, 1))
        (cycle,) = app.cycles("tax-2025")
        assert cycle.reminders is not None
        assert cycle.reminders.schedule == ISRAEL
        # The next working day there is Sunday, not Friday.
        assert app.status("tax-2025").next_reminder_at == datetime(
            2026, 1, 11, 8, 0, tzinfo=UTC
        )
    plain = {k: v for k, v in settings.APPROVALFLOW.items() if k != "REMINDER_SCHEDULE"}
    with (
        override_settings(APPROVALFLOW=plain),
        build_approvals(directory=_directory(), clock=clock) as app,
    ):
        app.request_approval("vat-q1", by="anna", reminders=ReminderPolicy(1, 1))
        (cycle,) = app.cycles("vat-q1")
        assert cycle.reminders == ReminderPolicy(1, 1)
        assert app.status("vat-q1").next_reminder_at == thursday + timedelta(days=1)
