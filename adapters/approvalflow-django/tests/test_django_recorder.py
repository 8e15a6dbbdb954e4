"""eventsourcing's own recorder test cases, on Django's SQLite and PostgreSQL.

The cases are eventsourcing's (``eventsourcing.tests.persistence``), run
unchanged on the recorders of ``approvalflow_django.persistence``; each test
gets a fresh database (an SQLite file, a PostgreSQL schema) through the
fixtures in ``conftest.py``.
"""

from __future__ import annotations

from uuid import uuid4

import pytest
from approvalflow_django.db import DjangoDatabase
from approvalflow_django.persistence import (
    DjangoAggregateRecorder,
    DjangoApplicationRecorder,
)
from django.db import transaction
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.tests.persistence import (
    AggregateRecorderTestCase,
    ApplicationRecorderTestCase,
)


class _AggregateCases(AggregateRecorderTestCase):
    # pytest collects unittest cases whatever their name: only the concrete
    # classes below, which have a database, run.
    __test__ = False

    def create_recorder(self) -> DjangoAggregateRecorder:
        recorder = DjangoAggregateRecorder(DjangoDatabase("default"))
        recorder.create_table()
        return recorder


class _ApplicationCases(ApplicationRecorderTestCase[DjangoApplicationRecorder]):
    __test__ = False

    def create_recorder(self) -> DjangoApplicationRecorder:
        recorder = DjangoApplicationRecorder(DjangoDatabase("default"))
        recorder.create_table()
        return recorder

    def test_subscriptions_are_not_offered_so_followers_poll(self) -> None:
        """eventsourcing's subscription case is optional and cannot apply.

        A subscription would need a connection outside Django's; approvalflow
        polls when ``subscribe`` raises NotImplementedError. What holds: the
        refusal, and the events are all there to poll.
        """
        recorder = self.create_recorder()
        recorder.insert_events([StoredEvent(uuid4(), 1, "topic1", b"state1")])
        with pytest.raises(NotImplementedError, match="poll"):
            recorder.subscribe(gt=0)
        assert [n.id for n in recorder.select_notifications(0, 10)] == [1]

    def test_a_conflict_inside_the_hosts_transaction_leaves_it_usable(self) -> None:
        recorder = self.create_recorder()
        first = StoredEvent(uuid4(), 1, "topic1", b"state1")
        recorder.insert_events([first])
        with transaction.atomic():
            with pytest.raises(IntegrityError):
                recorder.insert_events([first])
            # The host's transaction goes on: the savepoint was rolled back.
            second = StoredEvent(uuid4(), 1, "topic2", b"state2")
            assert recorder.insert_events([second]) is not None
        topics = [n.topic for n in recorder.select_notifications(None, 10)]
        assert topics == ["topic1", "topic2"]

    def test_events_written_in_a_rolled_back_transaction_are_gone(self) -> None:
        recorder = self.create_recorder()
        originator = uuid4()

        def insert_then_fail() -> None:
            with transaction.atomic():
                recorder.insert_events([StoredEvent(originator, 1, "t", b"s")])
                assert len(recorder.select_events(originator)) == 1  # own write
                raise RuntimeError

        with pytest.raises(RuntimeError):
            insert_then_fail()
        assert recorder.select_events(originator) == []
        assert recorder.max_notification_id() is None


@pytest.mark.usefixtures("sqlite_default")
class TestSQLiteAggregateRecorder(_AggregateCases):
    __test__ = True


@pytest.mark.usefixtures("sqlite_default")
class TestSQLiteApplicationRecorder(_ApplicationCases):
    __test__ = True


@pytest.mark.usefixtures("postgres_default")
class TestPostgresAggregateRecorder(_AggregateCases):
    __test__ = True


@pytest.mark.usefixtures("postgres_default")
class TestPostgresApplicationRecorder(_ApplicationCases):
    __test__ = True
    # Sequence values consumed by a failed insert leave gaps on PostgreSQL.
    EXPECT_CONTIGUOUS_NOTIFICATION_IDS = False


@pytest.mark.usefixtures("postgres_default")
def test_postgres_inserts_wait_for_an_open_insert_so_ids_commit_in_order() -> None:
    """A follower reading ids in order must never skip one committed later.

    PostgreSQL hands out sequence values at insert time, not at commit: a
    second writer could commit id 2 while id 1 is still open, and a follower
    at 2 would never see 1. The recorder takes the events table's EXCLUSIVE
    lock on every insert, so a second insert waits for the first to commit.
    Here the waiting is seen as a lock timeout, not as time passing.
    """
    import threading  # noqa: PLC0415

    from django.db import connection  # noqa: PLC0415
    from eventsourcing.persistence import OperationalError  # noqa: PLC0415

    recorder = DjangoApplicationRecorder(DjangoDatabase("default"))
    recorder.create_table()
    inserted, release = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def first_writer() -> None:
        try:
            with transaction.atomic():
                recorder.insert_events([StoredEvent(uuid4(), 1, "first", b"s")])
                inserted.set()
                release.wait(30)
        except BaseException as exc:  # pragma: no cover - reported below
            failure.append(exc)
        finally:
            inserted.set()
            connection.close()

    holder = threading.Thread(target=first_writer)
    holder.start()
    try:
        assert inserted.wait(30)
        with (  # noqa: PT012 - the timeout is set in the same transaction
            pytest.raises(OperationalError, match="lock timeout"),
            transaction.atomic(),
        ):
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '200ms'")
            recorder.insert_events([StoredEvent(uuid4(), 1, "second", b"s")])
    finally:
        release.set()
        holder.join(30)
    assert failure == []
    # Once the first commits, the second goes through, after it.
    recorder.insert_events([StoredEvent(uuid4(), 1, "second", b"s")])
    assert [n.topic for n in recorder.select_notifications(None, 10)] == [
        "first",
        "second",
    ]
