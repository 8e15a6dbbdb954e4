"""One ``Approvals`` shared by a web server's threads.

The docs (explanation/threading.md) say one instance may be shared: every
command and query takes its own connection from the store's pool for its
transaction, and two threads deciding on one document race as two processes
do. These tests hold the library to that on SQLite files and in memory.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest

import approvalflow
from approvalflow import ApprovalState, NotPendingError
from approvalflow.testing import InMemoryDirectory

THREADS = 8
DOCUMENTS_EACH = 5


def _directory() -> InMemoryDirectory:
    documents = [f"t{t}-d{d}" for t in range(THREADS) for d in range(DOCUMENTS_EACH)]
    return InMemoryDirectory.from_data(
        {
            "firm_members": [{"user_id": "f1", "name": "Anna", "email": "a@f.example"}],
            "client_users": [
                {"user_id": f"c{t}", "name": f"Client {t}", "email": f"c{t}@x.example"}
                for t in range(THREADS)
            ],
            "accounts": [{"account_id": "acme", "name": "ACME"}],
            "links": {"acme": [{"user_id": f"c{t}"} for t in range(THREADS)]},
            "documents": [
                {
                    "facts": {
                        "document_id": doc,
                        "account_id": "acme",
                        "name": doc,
                        "file_type": "pdf",
                        "uploaded_by": "Anna",
                    },
                    "client_visible": True,
                }
                for doc in [*documents, "shared"]
            ],
        }
    )


@pytest.fixture(params=["sqlite", "memory"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'threads.sqlite3'}"
    return "memory://"


def _run_all(target: object, count: int) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(number: int) -> None:
        start.wait()
        try:
            target(number)  # type: ignore[operator]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_threads_sharing_one_instance_each_see_their_own_writes(url: str) -> None:
    with approvalflow.connect(url, directory=_directory()) as approvals:

        def work(number: int) -> None:
            for d in range(DOCUMENTS_EACH):
                doc = f"t{number}-d{d}"
                approvals.request_approval(doc, by="f1")
                # Read-your-writes in the same thread, with others writing.
                assert approvals.status(doc).state is ApprovalState.PENDING
                approvals.approve(doc, by=f"c{number}")
                assert approvals.status(doc).state is ApprovalState.APPROVED

        assert _run_all(work, THREADS) == []
        rows = approvals.approvals_tab("acme", limit=100).rows
        assert Counter(row.state for row in rows) == {
            ApprovalState.APPROVED: THREADS * DOCUMENTS_EACH
        }
        assert approvals.accounts_pending() == []


def test_threads_deciding_one_document_have_exactly_one_winner(url: str) -> None:
    with approvalflow.connect(url, directory=_directory()) as approvals:
        approvals.request_approval("shared", by="f1")
        outcomes: list[str] = []
        lock = threading.Lock()

        def decide(number: int) -> None:
            try:
                if number % 2:
                    approvals.approve("shared", by=f"c{number}")
                else:
                    approvals.reject("shared", by=f"c{number}", reasons=["No"])
                result = "won"
            except NotPendingError:
                result = "refused"
            with lock:
                outcomes.append(result)

        assert _run_all(decide, THREADS) == []
        assert Counter(outcomes) == {"won": 1, "refused": THREADS - 1}
        (cycle,) = approvals.cycles("shared")
        assert cycle.outcome is not None
