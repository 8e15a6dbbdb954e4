"""Every example in the documentation runs.

Python: every fenced ```python block of README.md and docs/**/*.md runs, in
the page's order, in one namespace per page, in a fresh working directory.
A page whose examples start from objects the reader already has (a
directory, a store URL, an open application) gets them from a small setup
named in ``SETUP`` below; every other page starts from nothing. Blocks that
are not Python (unit files, Dockerfiles, env files) are fenced with their
own language and are not run.

Shell: every ``approvalflow ...`` command line in a ```sh block names a
command that exists and only options that command has (checked against the
click commands, not run: they name servers and hosts of the reader's).

To add an example: write it in a ```python block; if it needs an object
the page does not make, give the page a setup here.
"""

from __future__ import annotations

import re
import shlex
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

import approvalflow
from approvalflow.cli import main
from approvalflow.testing import ControllableClock, InMemoryDirectory
from tests.helpers import postgres_url
from tests.smtp_server import SMTPTestServer

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"(?ms)^```(\w*)[^\n]*\n(.*?)^```")


def _pages() -> list[Path]:
    docs = sorted(p for p in (ROOT / "docs").rglob("*.md") if "_build" not in p.parts)
    return [ROOT / "README.md", *docs]


def _blocks(page: Path, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(page.read_text()) if lang == language]


# -- what some pages start from ------------------------------------------------


def _firm() -> InMemoryDirectory:
    """The firm the README and the reference pages talk about."""
    document = {
        "account_id": "acme",
        "file_type": "pdf",
        "uploaded_by": "Anna Martin",
    }
    return InMemoryDirectory.from_data(
        {
            "firm_members": [
                {
                    "user_id": "staff-1",
                    "name": "Anna Martin",
                    "email": "anna@firm.example",
                    "approvals_notifications": True,
                }
            ],
            "client_users": [
                {"user_id": "client-9", "name": "Claire", "email": "c@acme.example"}
            ],
            "accounts": [{"account_id": "acme", "name": "ACME"}],
            "links": {"acme": [{"user_id": "client-9", "notify": True}]},
            "documents": [
                {
                    "facts": {"document_id": doc, "name": doc, **document},
                    "client_visible": True,
                }
                for doc in ("doc-1", "doc-42", "d1")
            ],
        }
    )


Setup = Callable[[Path, pytest.FixtureRequest], dict[str, Any]]


def _with_directory(folder: Path, _request: pytest.FixtureRequest) -> dict[str, Any]:
    return {
        "my_directory": _firm(),
        "url": f"sqlite:///{folder / 'approvals.sqlite3'}",
    }


def _with_approvals(folder: Path, request: pytest.FixtureRequest) -> dict[str, Any]:
    names = _with_directory(folder, request)
    approvals = approvalflow.connect(
        names["url"], directory=names["my_directory"], clock=ControllableClock()
    )
    request.addfinalizer(approvals.close)
    approvals.request_approval("doc-42", by="staff-1")
    return {**names, "approvals": approvals}


def _with_smtp_server(folder: Path, request: pytest.FixtureRequest) -> dict[str, Any]:
    server = SMTPTestServer().start()
    request.addfinalizer(server.stop)
    return {
        **_with_directory(folder, request),
        "smtp_host": "127.0.0.1",
        "smtp_port": server.port,
    }


def _with_postgres(folder: Path, request: pytest.FixtureRequest) -> dict[str, Any]:
    server = request.getfixturevalue("postgres")
    return {**_with_directory(folder, request), "postgres_url": postgres_url(server)}


def _with_host_folders(folder: Path, _request: pytest.FixtureRequest) -> dict[str, Any]:
    """A host's template folder and a Spanish catalog, as the page describes."""
    (folder / "myhost/email_templates").mkdir(parents=True)
    messages = folder / "myhost/locale/es/LC_MESSAGES"
    messages.mkdir(parents=True)
    catalog = Catalog(locale="es", domain="approvalflow")
    catalog.add("Review documents", "Revisar los documentos")
    with (messages / "approvalflow.mo").open("wb") as out:
        write_mo(out, catalog)
    return {}


#: Pages whose examples start from objects the reader already has.
SETUP: dict[str, Setup] = {
    "README.md": _with_directory,
    "docs/explanation/time.md": _with_directory,
    "docs/explanation/read-models.md": _with_approvals,
    "docs/reference/stores.md": _with_directory,
    "docs/how-to/postgresql.md": _with_postgres,
    "docs/how-to/workers.md": _with_smtp_server,
    "docs/how-to/languages.md": _with_host_folders,
    "docs/how-to/reminders.md": _with_directory,
    "docs/how-to/monitoring.md": _with_approvals,
    "docs/how-to/audit.md": _with_approvals,
}

PAGES_WITH_PYTHON = [
    p.relative_to(ROOT).as_posix() for p in _pages() if _blocks(p, "python")
]


@pytest.mark.parametrize("page", PAGES_WITH_PYTHON)
def test_the_pages_python_examples_run(
    page: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.chdir(tmp_path)
    # A module of its own, as a reader's script is: dataclasses and
    # eventsourcing look classes' modules up in sys.modules.
    module = types.ModuleType("docs_example")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    namespace = module.__dict__
    setup = SETUP.get(page)
    namespace.update(setup(tmp_path, request) if setup else {})
    try:
        for number, block in enumerate(_blocks(ROOT / page, "python"), 1):
            try:
                exec(compile(block, f"{page}, example {number}", "exec"), namespace)
            except Exception as exc:
                pytest.fail(f"{page}, example {number} fails: {exc!r}\n{block}")
    finally:
        approvals = namespace.get("approvals")
        if isinstance(approvals, approvalflow.Approvals):
            approvals.close()


def test_every_setup_names_a_page_with_examples() -> None:
    assert set(SETUP) <= set(PAGES_WITH_PYTHON)


# -- the command lines ----------------------------------------------------------


def _command_lines() -> Iterator[tuple[str, str]]:
    for page in _pages():
        for block in _blocks(page, "sh"):
            for text in block.replace("\\\n", " ").splitlines():
                line = re.sub(r"^(\.venv/bin/)", "", text.split(" #", 1)[0].strip())
                if line.startswith("approvalflow "):
                    yield page.relative_to(ROOT).as_posix(), line


def _check(line: str) -> list[str]:
    """What is wrong with one documented command line (nothing: [])."""
    # "[--json]" and "jsonl|csv" are the pages' notation for optional parts
    # and alternatives.
    words = shlex.split(line.replace("[", " ").replace("]", " "))[1:]
    command: click.Command = main
    problems = []
    while words:
        word = words.pop(0)
        if word.startswith("-"):
            name = word.split("=", 1)[0]
            known = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
            if name not in known | {"--help", "-h"}:
                problems.append(f"{command.name} has no option {name}")
        elif isinstance(command, click.Group):
            with click.Context(command) as ctx:
                _, sub, _ = command.resolve_command(ctx, [word, *words])
            if sub is None:
                problems.append(f"no command {word}")
                break
            # "audit DOCUMENT_ID" resolves to "audit trail".
            command = sub
    return problems


def test_every_documented_command_line_names_real_commands_and_options() -> None:
    lines = list(_command_lines())
    assert len(lines) >= 5
    problems = [
        f"{page}: {line}: {_check(line)}" for page, line in lines if _check(line)
    ]
    assert problems == []
