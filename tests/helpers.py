"""Test data and helpers shared by the test modules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from approvalflow import Approvals
from approvalflow.testing import InMemoryDirectory
from tests.pg_server import PostgresServer

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

FIRM_DATA: dict[str, Any] = {
    "firm_members": [
        {
            "user_id": "f1",
            "name": "Anna Martin",
            "email": "anna@firm.example",
            "approvals_notifications": True,
        },
        {"user_id": "f2", "name": "Paul Leroy", "email": "paul@firm.example"},
    ],
    "client_users": [
        {"user_id": "c1", "name": "Claire Dupont", "email": "claire@acme.example"},
        {"user_id": "c2", "name": "Marc Dupont", "email": "marc@acme.example"},
        {"user_id": "g1", "name": "Greta Globex", "email": "greta@globex.example"},
    ],
    "accounts": [
        {"account_id": "acme", "name": "ACME"},
        {"account_id": "globex", "name": "Globex"},
    ],
    "links": {
        "acme": [{"user_id": "c1", "notify": True}, {"user_id": "c2", "notify": False}],
        "globex": [{"user_id": "g1", "notify": True}],
    },
    "documents": [
        *(
            {
                "facts": {
                    "document_id": f"d{i}",
                    "account_id": "acme",
                    "name": f"Document {i}",
                    "file_type": "pdf",
                    "uploaded_by": "Anna Martin",
                    "description": f"Description {i}",
                },
                "client_visible": True,
            }
            for i in range(1, 5)
        ),
        {
            "facts": {
                "document_id": "hidden",
                "account_id": "acme",
                "name": "Internal notes",
                "file_type": "docx",
                "uploaded_by": "Paul Leroy",
            },
            "client_visible": False,
        },
        {
            "facts": {
                "document_id": "g-doc",
                "account_id": "globex",
                "name": "Globex accounts",
                "file_type": "xlsx",
                "uploaded_by": "Paul Leroy",
            },
            "client_visible": True,
        },
    ],
}


def make_directory() -> InMemoryDirectory:
    """A fresh copy of the test firm's directory."""
    return InMemoryDirectory.from_data(FIRM_DATA)


def stored_records(app: Approvals) -> list[tuple[object, ...]]:
    """Every stored event, byte for byte, in notification order."""
    return [
        (n.id, n.originator_id, n.originator_version, n.topic, bytes(n.state))
        for n in app.recorder.select_notifications(start=1, limit=1_000_000)
    ]


def postgres_url(server: PostgresServer) -> str:
    """A store URL in a schema of its own, so every test starts empty."""
    return f"{server.url}?schema=t_{uuid.uuid4().hex[:12]}&pool_size=2"
