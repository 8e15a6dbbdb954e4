"""The reference pages written by hand agree with the code.

The event catalogue and the errors page are prose a reader trusts for the
stored format and for what to catch; these tests fail when an event class,
a field, a topic, a version, a read model's or the planner's declaration, a
published type or an error class is added or changed without the page.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from eventsourcing.domain import Aggregate

import approvalflow
from approvalflow import EVENT_TYPES, ApprovalRequest
from approvalflow.notifications.delivery import HANDLES
from approvalflow.readmodels.store import MODELS

DOCS = Path(__file__).resolve().parents[2] / "docs"
# Every event has these; the catalogue lists the fields beyond them.
BASE_FIELDS = {"originator_id", "originator_version", "timestamp"}


def _event_classes() -> dict[str, type[Aggregate.Event]]:
    return {
        name: value
        for name, value in vars(ApprovalRequest).items()
        if inspect.isclass(value)
        and issubclass(value, Aggregate.Event)
        and hasattr(value, "TOPIC")
    }


def _catalogue() -> dict[str, dict[str, str]]:
    text = (DOCS / "reference/events.md").read_text()
    entries = {}
    for section in re.split(r"(?m)^## ", text)[1:]:
        title, _, body = section.partition("\n")
        name = re.fullmatch(r"`(\w+)`", title.strip())
        if name is None:
            continue
        rows = dict(re.findall(r"(?m)^\| ([a-z ]+) \| (.*) \|$", body))
        entries[name.group(1)] = rows
    return entries


def _field_names(row: str) -> set[str]:
    """The first backticked name of each item, outside parentheses."""
    names, depth, item = set(), 0, ""
    for char in f"{row},":
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            first = re.match(r"\s*`(\w+)`", item)
            assert first, f"an item without a field name: {item!r}"
            names.add(first.group(1))
            item = ""
        else:
            item += char
    return names


def test_the_catalogue_lists_every_event_class_and_no_other() -> None:
    assert set(_catalogue()) == set(_event_classes())


def test_each_entry_has_the_class_topic_version_and_fields() -> None:
    catalogue = _catalogue()
    for name, cls in _event_classes().items():
        rows = catalogue[name]
        assert rows["topic"] == f"`{cls.TOPIC}`", name  # type: ignore[attr-defined]
        assert rows["version"] == str(getattr(cls, "class_version", 1)), name
        fields = set(inspect.signature(cls.__init__).parameters) - {"self"}
        assert _field_names(rows["fields"]) == fields - BASE_FIELDS, name


def test_each_entry_names_the_read_models_deliveries_and_published_type() -> None:
    catalogue = _catalogue()
    for name, cls in _event_classes().items():
        rows = catalogue[name]
        models = {model.name for model in MODELS if cls in model.handles}
        assert set(re.findall(r"`(\w+)`", rows["read models"])) == models, name
        assert (rows["delivers"].startswith("none")) == (cls not in HANDLES), name
        published = EVENT_TYPES.get(cls)
        expected = f"`{published}`" if published else "never"
        assert rows["published as"] == expected, name


def test_the_errors_page_lists_every_error_class() -> None:
    text = (DOCS / "reference/errors.md").read_text()
    listed = set(re.findall(r"(?m)^\| `(\w+Error)`", text))
    errors = {
        name
        for name in approvalflow.__all__
        if inspect.isclass(value := getattr(approvalflow, name))
        and issubclass(value, approvalflow.ApprovalFlowError)
    }
    assert listed == errors
