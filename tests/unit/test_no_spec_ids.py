"""No specification ids in what users read.

The specification's feature ids (F1-F18) mean nothing to a reader without the
specification: the command line's help, the docstrings the API reference is
built from, the Markdown pages and the email templates use words instead.
Test names and comments may keep the ids.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import click

from approvalflow.cli import main

ROOT = Path(__file__).resolve().parents[2]
SPEC_ID = re.compile(r"\bF\d{1,2}\b")
PUBLIC_MODULES = (
    "approvalflow",
    "approvalflow.ports",
    "approvalflow.storage",
    "approvalflow.testing",
    "approvalflow.testing.contracts",
    "approvalflow.audit_verify",
)


def _commands(
    command: click.Command, path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


def test_no_command_help_cites_a_spec_id() -> None:
    found = {}
    for path, command in _commands(main, ("approvalflow",)):
        with click.Context(command, info_name=" ".join(path)) as ctx:
            text = command.get_help(ctx)
        if SPEC_ID.search(text):
            found[" ".join(path)] = SPEC_ID.findall(text)
    assert found == {}


def _docstrings() -> Iterator[tuple[str, str]]:
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        yield module_name, module.__doc__ or ""
        for name in module.__all__:
            value = getattr(module, name)
            yield f"{module_name}.{name}", inspect.getdoc(value) or ""
            if inspect.isclass(value):
                for member, attribute in vars(value).items():
                    doc = inspect.getdoc(attribute) if callable(attribute) else None
                    yield f"{module_name}.{name}.{member}", doc or ""


def test_no_public_docstring_cites_a_spec_id() -> None:
    found = [where for where, doc in _docstrings() if SPEC_ID.search(doc)]
    assert found == []


def test_no_page_or_template_cites_a_spec_id() -> None:
    pages = [
        ROOT / "README.md",
        *sorted((ROOT / "docs").rglob("*.md")),
        *sorted((ROOT / "adapters").glob("*/README.md")),
        *sorted((ROOT / "src/approvalflow/notifications/templates").rglob("*.*")),
    ]
    found = {
        str(page.relative_to(ROOT)): SPEC_ID.findall(page.read_text())
        for page in pages
        if "_build" not in page.parts and SPEC_ID.search(page.read_text())
    }
    assert found == {}
