"""How value types are stored: one cattrs converter behind eventsourcing.

eventsourcing's JSON transcoder asks a :class:`Transcoding` for every object
type it cannot write itself. :func:`register_transcodings` gives it one per
value type, all backed by :data:`converter`. Stored names (``"Actor"``,
``"DocumentFacts"``, ...) are part of the stored format.

Reading stored data back does not re-run the value types' validators: what
was accepted once stays readable even if a later release tightens a rule,
because nothing a user recorded may become unreadable.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn, override
from eventsourcing.persistence import JSONTranscoder, Transcoding

from approvalflow.domain.aggregate import Cycle
from approvalflow.domain.values import (
    Actor,
    DeliveryRecord,
    DocumentFacts,
    InvoiceLock,
    NotificationReport,
    Rejection,
    ReminderPolicy,
    ReminderSchedule,
)

__all__ = ["STORED_VALUE_TYPES", "converter", "register_transcodings"]

T = TypeVar("T")

#: Stored name -> value type. Names are public API: never rename one.
STORED_VALUE_TYPES: dict[str, type[Any]] = {
    "Actor": Actor,
    "DocumentFacts": DocumentFacts,
    "ReminderPolicy": ReminderPolicy,
    "Rejection": Rejection,
    "InvoiceLock": InvoiceLock,
    "Cycle": Cycle,
    "DeliveryRecord": DeliveryRecord,
    "NotificationReport": NotificationReport,
    "ReminderSchedule": ReminderSchedule,
}


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter()
    conv.register_unstructure_hook(datetime, datetime.isoformat)
    conv.register_structure_hook(
        datetime, lambda value, _: datetime.fromisoformat(value)
    )
    conv.register_unstructure_hook(time, time.isoformat)
    conv.register_structure_hook(time, lambda value, _: time.fromisoformat(value))
    for cls in STORED_VALUE_TYPES.values():
        conv.register_structure_hook(cls, _trusted_structure(conv))
    # A policy without a schedule is stored as before schedules existed, so
    # such records read the same in every release.
    conv.register_unstructure_hook(
        ReminderPolicy,
        make_dict_unstructure_fn(
            ReminderPolicy, conv, schedule=override(omit_if_default=True)
        ),
    )
    return conv


def _trusted_structure(conv: cattrs.Converter) -> Any:
    """A structure hook that builds a value without running its validators."""

    def structure(data: dict[str, Any], cls: type[T]) -> T:
        attrs_cls: Any = cls
        attrs.resolve_types(attrs_cls)
        obj = object.__new__(cls)
        for field in attrs.fields(attrs_cls):
            if field.name in data:
                value = conv.structure(data[field.name], field.type)
            elif field.default is not attrs.NOTHING:
                # Fields added later take their default on old records.
                value = field.default
            else:
                msg = f"stored {cls.__name__} lacks field {field.name!r}"
                raise ValueError(msg)
            object.__setattr__(obj, field.name, value)
        return obj

    return structure


#: The one converter between value types and stored data.
converter = _make_converter()


class _ValueTranscoding(Transcoding):
    def __init__(self, name: str, cls: type[Any]) -> None:
        self.name = name
        self.type = cls

    def encode(self, obj: Any) -> Any:
        return converter.unstructure(obj, unstructure_as=self.type)

    def decode(self, data: Any) -> Any:
        return converter.structure(data, self.type)


def register_transcodings(transcoder: JSONTranscoder) -> None:
    """Teach an eventsourcing JSON transcoder every approvalflow value type."""
    for name, cls in STORED_VALUE_TYPES.items():
        transcoder.register(_ValueTranscoding(name, cls))
