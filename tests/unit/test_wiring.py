"""One wiring point: ports checked when wired, stores chosen by adapter."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

import approvalflow
from approvalflow import ConfigurationError, connect
from approvalflow.storage import register_storage, storage_for
from approvalflow.testing import ControllableClock, RecordingSink
from tests.helpers import START, make_directory

SRC = Path(approvalflow.__file__).parent


class _NoLinks:
    def review_document(self, account_id: str, document_id: str) -> str:  # typo'd
        return ""


@pytest.mark.parametrize(
    ("port", "value", "missing"),
    [
        ("directory", object(), "document()"),
        ("clock", object(), "now()"),
        ("mailer", object(), "send()"),
        ("portal", object(), "put_task()"),
        ("links", _NoLinks(), "review_documents()"),
        ("event_sink", object(), "publish()"),
    ],
)
def test_a_wrong_port_is_refused_at_connect_naming_port_and_method(
    port: str, value: object, missing: str
) -> None:
    wiring: dict[str, Any] = {port: value}
    with pytest.raises(ConfigurationError) as caught:
        connect("memory://", **wiring)
    assert f"{port}=" in str(caught.value)
    assert missing in str(caught.value)


def test_a_right_port_is_accepted() -> None:
    with connect(
        "memory://", directory=make_directory(), event_sink=RecordingSink()
    ) as app:
        assert app.recent().rows == ()


def test_a_persistence_module_without_storage_adapter_is_refused_at_connect(
    tmp_path: Path,
) -> None:
    # eventsourcing's own module is fine for events, but approvalflow could
    # not keep read models beside them: refused before any command runs.
    class Factory:
        pass

    with pytest.raises(ConfigurationError) as caught:
        storage_for(Factory())  # type: ignore[arg-type]
    message = str(caught.value)
    assert "has no approvalflow storage adapter" in message
    assert "eventsourcing.sqlite" in message
    assert "register_storage" in message


def test_settings_pass_eventsourcing_settings_through(tmp_path: Path) -> None:
    settings = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(tmp_path / "s.sqlite3"),
    }
    with connect(
        settings=settings, directory=make_directory(), clock=ControllableClock(START)
    ) as app:
        app.request_approval("d1", by="f1")
    assert (tmp_path / "s.sqlite3").exists()


@pytest.mark.parametrize(
    ("url", "settings", "problem"),
    [
        ("memory://", {"PERSISTENCE_MODULE": "eventsourcing.popo"}, "not both"),
        (None, {"SQLITE_DBNAME": "x"}, "PERSISTENCE_MODULE"),
        (None, {"PERSISTENCE_MODULE": 3}, "strings"),
    ],
)
def test_bad_settings_are_refused(
    url: str | None, settings: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        connect(url, settings=settings)


def test_an_unknown_persistence_module_in_settings_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        connect(settings={"PERSISTENCE_MODULE": "no.such.module"})


def test_a_registered_storage_adapter_is_used(tmp_path: Path) -> None:
    from approvalflow.storage import SQLiteStorage  # noqa: PLC0415

    used: list[object] = []

    def build(factory: Any) -> SQLiteStorage:
        used.append(factory)
        return SQLiteStorage(factory)

    # eventsourcing.sqlite again, under a builder of our own.
    register_storage("eventsourcing.sqlite", build)
    try:
        with connect(f"sqlite:///{tmp_path / 'r.sqlite3'}"):
            pass
    finally:
        register_storage("eventsourcing.sqlite", SQLiteStorage)
    assert len(used) == 1


# Concrete adapters the core ships; only the wiring point (and the modules
# defining them) may construct them.
_ADAPTERS = {
    "SMTPMailer",
    "FileMailer",
    "PortalLinks",
    "SystemClock",
    "EmailComposer",
    "SQLiteStorage",
    "PostgresStorage",
    "MemoryStorage",
}
_ALLOWED = {
    "bootstrap.py",
    "storage.py",
    "clocks.py",
    "links.py",
    "notifications/mailers.py",
    "notifications/emails.py",
    # The fakes and contract suites hosts test with build what they test.
    "testing/__init__.py",
    "testing/contracts.py",
}


def test_only_the_wiring_point_constructs_concrete_adapters() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if relative in _ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in _ADAPTERS
            ):
                offenders.append(f"{relative}:{node.lineno} {node.func.id}()")
    assert offenders == []


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def test_no_import_cycle_between_core_modules() -> None:
    graph = {
        _module(p): {m for m in _imports(p) if m.startswith("approvalflow")}
        for p in SRC.rglob("*.py")
    }
    # Packages' __init__ re-export their parts; a part importing a sibling
    # through the package would show as a cycle, which is what we look for.
    seen: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state = seen.get(node, 0)
        if state == 1:
            cycles.append([*stack[stack.index(node) :], node])
            return
        if state == 2:
            return
        seen[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt != "approvalflow":  # the facade package imports everything
                visit(nxt, [*stack, node])
        seen[node] = 2

    for module in sorted(graph):
        if module != "approvalflow":
            visit(module, [])
    assert cycles == []


def test_the_domain_imports_no_infrastructure() -> None:
    for path in (SRC / "domain").rglob("*.py"):
        outside = {
            m
            for m in _imports(path)
            if m.startswith("approvalflow") and not m.startswith("approvalflow.domain")
        }
        assert outside == set(), path.name
