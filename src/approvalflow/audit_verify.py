r"""Verify an approvalflow audit chain: one module, standard library only.

Every event approvalflow records is hashed when it is recorded, in the same
transaction, into two chains:

- **the document's chain**: ``stream_hash(v) = H(stream_hash(v-1) +
  event_hash)``, starting from ``H("approvalflow-stream:" + originator_id)``;
- **the log's chain**, over every event in recording order:
  ``log_hash(n) = H(log_hash(previous) + ":" + n + ":" + stream_hash)``,
  starting from ``H("approvalflow-log")``;

where ``H`` is SHA-256 in hex and ``event_hash`` hashes what is stored:
``H(originator_id + "\n" + version + "\n" + topic + "\n" + state)``.

Editing an event changes its hash; deleting, inserting or reordering events
breaks a chain; rewriting the chains to match changes the log's last hash
(the *head*). Keep the head somewhere the store's administrator cannot edit
(a ticket, an email, a notary) and compare it later: a matching head and a
clean verification mean the history up to it is what was recorded.

This module is all a third party needs to check an exported bundle
(``approvalflow audit export``) without approvalflow or the database::

    python audit_verify.py bundle.json [--head "head: #12 3f2a..."]

(``--head`` takes the head line a verification printed, or its hash alone.)

It exits 0 when the bundle verifies, 1 when it does not, and prints what it
found.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from gettext import NullTranslations
from typing import Any

__all__ = [
    "BUNDLE_FORMAT",
    "LOG_START",
    "MAX_BUNDLE_BYTES",
    "BundleError",
    "ChainRecord",
    "Finding",
    "Report",
    "StoredRecord",
    "event_hash",
    "load_bundle",
    "log_hash",
    "main",
    "parse_bundle",
    "parse_head",
    "stream_hash",
    "stream_start",
    "verify",
    "verify_bundle",
]

# The report is English (operators, logs): gettext's English plural rule.
# Bound to a name babel does not extract: these are not catalog messages.
_plural = NullTranslations().ngettext

#: The bundle format this module reads.
BUNDLE_FORMAT = "approvalflow-audit-bundle/1"


def _h(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


#: The log chain's starting value.
LOG_START = _h(b"approvalflow-log")


def event_hash(originator_id: str, version: int, topic: str, state: bytes) -> str:
    """The hash of one stored event, as recorded."""
    head = f"{originator_id}\n{version}\n{topic}\n".encode()
    return _h(head + state)


def stream_start(originator_id: str) -> str:
    """A document chain's starting value."""
    return _h(f"approvalflow-stream:{originator_id}".encode())


def stream_hash(previous: str, event: str) -> str:
    """The document chain after one more event."""
    return _h(f"{previous}{event}".encode())


def log_hash(previous: str, notification_id: int, stream: str) -> str:
    """The log chain after one more event."""
    return _h(f"{previous}:{notification_id}:{stream}".encode())


@dataclass(frozen=True)
class StoredRecord:
    """An event as the store holds it now."""

    notification_id: int
    originator_id: str
    originator_version: int
    topic: str
    state: bytes


@dataclass(frozen=True)
class ChainRecord:
    """What was hashed for an event when it was recorded."""

    notification_id: int
    originator_id: str
    originator_version: int
    topic: str
    event_hash: str
    stream_hash: str
    log_hash: str


@dataclass(frozen=True)
class Finding:
    """One problem: what, where, and how it was seen."""

    #: ``modified``, ``deleted``, ``inserted``, ``reordered``, ``retopiced``
    #: or ``chain-broken`` (the hashes themselves were edited).
    kind: str
    originator_id: str
    originator_version: int
    notification_id: int
    detail: str


@dataclass
class Report:
    """The outcome of a verification."""

    events: int = 0
    #: Events recorded before the chain began (not covered by it).
    before_checkpoint: int = 0
    #: The notification id the chain starts after (0: from the first event).
    checkpoint: int = 0
    head_notification_id: int = 0
    head: str = LOG_START
    findings: list[Finding] = field(default_factory=list)
    #: False for a store whose chain has not begun: nothing was checked.
    chain_started: bool = True

    @property
    def ok(self) -> bool:
        """True when every event was checked and nothing was found.

        A log whose chain has not begun is not "ok": nothing in it could be
        checked (the report says so, and how to begin the chain).
        """
        return not self.findings and (self.chain_started or not self.events)

    def lines(self, names: Mapping[str, str | None] | None = None) -> Iterator[str]:
        """The report as text, one line at a time.

        ``names`` gives a record's document id where it is known.
        """
        found = len(self.findings)
        if self.ok:
            verdict = "VERIFIED"
        elif not found:
            verdict = "NOT VERIFIED: no event is covered by the chain yet"
        else:
            verdict = (
                "NOT VERIFIED: " + _plural("%d problem", "%d problems", found) % found
            )
        yield verdict
        yield f"events checked: {self.events}"
        if not self.chain_started:
            yield (
                "the chain has not begun: "
                + _plural(
                    "the %d event is not covered yet",
                    "none of the %d events is covered yet",
                    self.before_checkpoint,
                )
                % self.before_checkpoint
                + "; open the store for writing once to chain them from that "
                "point on"
            )
        elif self.checkpoint:
            yield (
                f"chain starts after event #{self.checkpoint}: "
                + _plural(
                    "%d earlier event was recorded before the chain existed and "
                    "is hashed from that point on",
                    "%d earlier events were recorded before the chain existed and "
                    "are hashed from that point on",
                    self.before_checkpoint,
                )
                % self.before_checkpoint
            )
        yield f"head: #{self.head_notification_id} {self.head}"
        for f in self.findings:
            name = (names or {}).get(f.originator_id)
            record = f"document {name!r}" if name else f"record {f.originator_id}"
            yield (
                f"{f.kind}: {record} version {f.originator_version}"
                f" (event #{f.notification_id}): {f.detail}"
            )


def verify(
    stored: Iterable[StoredRecord],
    chain: Iterable[ChainRecord],
    *,
    checkpoint: int = 0,
    expected_head: str | None = None,
    chain_started: bool = True,
) -> Report:
    """Check the events the store holds against the chain recorded with them.

    Both are read in notification order. ``checkpoint`` is the last event
    recorded before the chain began (those are hashed into it, but were not
    hashed when recorded). ``expected_head`` is a head kept elsewhere.
    ``chain_started=False`` says the store has no chain yet (an earlier
    release's store never opened for writing): every event is reported as
    not covered rather than as inserted.
    """
    report = Report(checkpoint=checkpoint, chain_started=chain_started)
    # What each stored event is, with its hash: the states are not kept.
    by_id: dict[int, tuple[str, int, str, str]] = {}
    for record in stored:
        if record.notification_id in by_id:
            # Two events in one place: a bundle edited by hand (a store's
            # ids are unique). Whichever one a reader takes, one is foreign.
            report.events += 1
            report.findings.append(
                Finding(
                    "inserted",
                    record.originator_id,
                    record.originator_version,
                    record.notification_id,
                    "a second event with this notification id: it was added "
                    "outside approvalflow",
                )
            )
            continue
        by_id[record.notification_id] = (
            record.originator_id,
            record.originator_version,
            record.topic,
            event_hash(
                record.originator_id,
                record.originator_version,
                record.topic,
                record.state,
            ),
        )
    chained: dict[int, ChainRecord] = {}
    log = LOG_START
    streams: dict[str, tuple[int, str]] = {}
    for link in chain:
        chained[link.notification_id] = link
        _check_link(link, by_id.get(link.notification_id), report)
        previous_version, previous = streams.get(
            link.originator_id, (0, stream_start(link.originator_id))
        )
        if link.originator_version != previous_version + 1:
            report.findings.append(
                Finding(
                    "deleted"
                    if link.originator_version > previous_version
                    else "reordered",
                    link.originator_id,
                    link.originator_version,
                    link.notification_id,
                    f"the chain goes from version {previous_version} to "
                    f"{link.originator_version}",
                )
            )
        if stream_hash(previous, link.event_hash) != link.stream_hash or (
            log_hash(log, link.notification_id, link.stream_hash) != link.log_hash
        ):
            report.findings.append(
                Finding(
                    "chain-broken",
                    link.originator_id,
                    link.originator_version,
                    link.notification_id,
                    "the recorded hashes do not follow from the ones before",
                )
            )
        streams[link.originator_id] = (link.originator_version, link.stream_hash)
        log = link.log_hash
        report.head, report.head_notification_id = log, link.notification_id
    for notification_id, (originator_id, version, _, _) in sorted(by_id.items()):
        report.events += 1
        if notification_id in chained:
            # The chain began by hashing every event already recorded: those
            # up to the checkpoint are covered, hashed when the chain began.
            if notification_id <= checkpoint:
                report.before_checkpoint += 1
            continue
        if not chain_started:
            report.before_checkpoint += 1
            continue
        # An event the chain does not cover is foreign whatever its id: a
        # range the chain does not reach (ids <= 0, ids before the
        # checkpoint) is never trusted unchecked.
        report.findings.append(
            Finding(
                "inserted",
                originator_id,
                version,
                notification_id,
                "this event was not hashed when recorded: it was added outside "
                "approvalflow",
            )
        )
    if expected_head is not None:
        _check_head(expected_head, chained, report)
    return report


#: A head as ``verify`` prints it: ``head: #12 <hash>``, ``#12 <hash>``, or
#: the hash alone, with whatever whitespace a copy and paste leaves around.
_HEAD = re.compile(r"\s*(?:head:\s*)?(?:#(\d+)\s+)?([0-9a-fA-F]{64})\s*")


def parse_head(text: str) -> tuple[int | None, str]:
    """A head kept elsewhere: ``(its event number, or None; its hash)``.

    Takes exactly what a verification prints, the whole line
    (``head: #12 3f...``) or its value (``#12 3f...``), or the hash alone.
    ``ValueError`` says what is accepted otherwise.
    """
    found = _HEAD.fullmatch(text)
    if found is None:
        shown = text if len(text) <= 100 else text[:100] + "..."
        msg = (
            f"{shown!r} is not a chain head: give the line a verification "
            "prints, e.g. 'head: #12 ' followed by the hash (64 hexadecimal "
            "digits), or the hash alone"
        )
        raise ValueError(msg)
    return (int(found[1]) if found[1] else None, found[2].lower())


def _check_head(
    expected: str, chained: Mapping[int, ChainRecord], report: Report
) -> None:
    """Compare a head kept elsewhere with the chain, where it was taken.

    With its event number, the head is checked at that event: a store that
    recorded more since still verifies against a head kept earlier.
    """
    at, kept = parse_head(expected)
    if at is None or at == report.head_notification_id:
        actual, where = report.head, "the head is"
    elif at == 0:
        actual, where = LOG_START, "the chain's start is"
    elif at in chained:
        actual, where = chained[at].log_hash, f"the chain's hash at event #{at} is"
    else:
        report.findings.append(
            Finding(
                "chain-broken",
                "-",
                0,
                at,
                f"the head kept elsewhere is at event #{at}, which the chain does "
                f"not hold (it ends at #{report.head_notification_id})",
            )
        )
        return
    if actual != kept:
        report.findings.append(
            Finding(
                "chain-broken",
                "-",
                0,
                at if at is not None else report.head_notification_id,
                f"{where} {actual}, not the {kept} kept elsewhere",
            )
        )


def _check_link(
    link: ChainRecord, record: tuple[str, int, str, str] | None, report: Report
) -> None:
    where = (link.originator_id, link.originator_version, link.notification_id)
    if record is None:
        report.findings.append(
            Finding("deleted", *where, "the event is no longer in the store")
        )
        return
    originator_id, version, topic, recomputed = record
    if (originator_id, version) != (link.originator_id, link.originator_version):
        report.findings.append(
            Finding(
                "reordered",
                *where,
                f"the store has record {originator_id} version {version} in this place",
            )
        )
        return
    if topic != link.topic:
        report.findings.append(
            Finding(
                "retopiced",
                *where,
                f"the topic was {link.topic!r} and is now {topic!r}",
            )
        )
        return
    if recomputed != link.event_hash:
        report.findings.append(
            Finding(
                "modified", *where, "the stored event differs from what was recorded"
            )
        )


class BundleError(ValueError):
    """A file that is not a readable audit bundle: it says where and why."""


#: The largest bundle read (bytes); a larger file is refused unread.
MAX_BUNDLE_BYTES = 2 * 1024**3
#: Notification ids, versions and checkpoints are 64-bit integers.
_MAX_INT = 2**63 - 1
_HASH = frozenset("0123456789abcdef")


def _refuse_constant(name: str) -> Any:
    msg = f"{name} is not a number a bundle can hold"
    raise BundleError(msg)


def _refuse_float(text: str) -> Any:
    msg = f"{text} is not an integer: a bundle holds whole numbers only"
    raise BundleError(msg)


def load_bundle(path: str) -> dict[str, Any]:
    """Read the bundle file at ``path``, refusing what no bundle can be.

    Only a regular file of at most :data:`MAX_BUNDLE_BYTES` is read (not a
    device or FIFO that never ends); NaN, infinities, fractions and deep
    nesting are refused. Raises :class:`BundleError` (or
    ``OSError`` for a file that cannot be opened).
    """
    import os  # noqa: PLC0415 - only the command line reads files
    import stat  # noqa: PLC0415

    with open(path, "rb") as handle:  # noqa: PTH123 - stdlib only
        found = os.fstat(handle.fileno())
        if not stat.S_ISREG(found.st_mode):
            msg = "not a regular file (a bundle is a .json file)"
            raise BundleError(msg)
        if found.st_size > MAX_BUNDLE_BYTES:
            msg = f"{found.st_size} bytes, more than a bundle may have"
            raise BundleError(msg)
        data = handle.read(MAX_BUNDLE_BYTES + 1)
    return parse_bundle(data)


def parse_bundle(data: bytes | str) -> dict[str, Any]:
    """Decode a bundle's JSON text; :class:`BundleError` if it cannot be one."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            msg = f"not UTF-8 text ({exc})"
            raise BundleError(msg) from exc
    try:
        bundle = json.loads(
            data, parse_constant=_refuse_constant, parse_float=_refuse_float
        )
    except BundleError:
        raise
    except RecursionError as exc:
        # json's decoder counts its depth and stops here: a bundle is four
        # levels deep, so this is a hostile file.
        msg = "nested too deeply to be a bundle"
        raise BundleError(msg) from exc
    except ValueError as exc:
        msg = f"not JSON ({exc})"
        raise BundleError(msg) from exc
    if not isinstance(bundle, dict):
        msg = f"the top level is a JSON {type(bundle).__name__}, not an object"
        raise BundleError(msg)
    return bundle


def _field(item: Any, where: str, name: str, kind: type) -> Any:
    if not isinstance(item, dict):
        msg = f"{where} is a JSON {type(item).__name__}, not an object"
        raise BundleError(msg)
    if name not in item:
        msg = f"{where} has no {name!r}"
        raise BundleError(msg)
    value = item[name]
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            msg = f"{where}.{name} is {value!r:.60}, not an integer"
            raise BundleError(msg)
        if not -_MAX_INT - 1 <= value <= _MAX_INT:
            msg = f"{where}.{name} is out of the 64-bit range"
            raise BundleError(msg)
    elif not isinstance(value, kind):
        msg = f"{where}.{name} is {value!r:.60}, not a {kind.__name__}"
        raise BundleError(msg)
    return value


def _hash(item: Any, where: str, name: str) -> str:
    value = str(_field(item, where, name, str))
    if len(value) != 64 or not _HASH.issuperset(value):
        msg = f"{where}.{name} is not a SHA-256 hash (64 lowercase hex digits)"
        raise BundleError(msg)
    return value


def _records(bundle: dict[str, Any], name: str) -> list[Any]:
    items = bundle.get(name)
    if not isinstance(items, list):
        msg = f"{name!r} is missing or not a list"
        raise BundleError(msg)
    return items


def verify_bundle(bundle: dict[str, Any], expected_head: str | None = None) -> Report:
    """Verify an exported bundle (see :data:`BUNDLE_FORMAT`).

    Raises :class:`BundleError` (a ``ValueError``) for anything that is not
    a bundle of that format, saying where: a hostile file is refused, never
    half-checked.
    """
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        msg = f"not an audit bundle of format {BUNDLE_FORMAT!r}"
        raise BundleError(msg)
    stored = []
    for i, e in enumerate(_records(bundle, "events")):
        where = f"events[{i}]"
        try:
            state = base64.b64decode(_field(e, where, "state", str), validate=True)
        except ValueError as exc:
            msg = f"{where}.state is not base64 ({exc})"
            raise BundleError(msg) from exc
        stored.append(
            StoredRecord(
                _field(e, where, "notification_id", int),
                _field(e, where, "originator_id", str),
                _field(e, where, "originator_version", int),
                _field(e, where, "topic", str),
                state,
            )
        )
    chain = []
    for i, c in enumerate(_records(bundle, "chain")):
        where = f"chain[{i}]"
        chain.append(
            ChainRecord(
                _field(c, where, "notification_id", int),
                _field(c, where, "originator_id", str),
                _field(c, where, "originator_version", int),
                _field(c, where, "topic", str),
                _hash(c, where, "event_hash"),
                _hash(c, where, "stream_hash"),
                _hash(c, where, "log_hash"),
            )
        )
    checkpoint = 0
    if "checkpoint" in bundle:
        checkpoint = _field(bundle, "the bundle", "checkpoint", int)
    started = True
    if "chain_started" in bundle:
        started = _field(bundle, "the bundle", "chain_started", bool)
        if not started and chain:
            msg = "the bundle says its chain has not begun, yet it has chain rows"
            raise BundleError(msg)
    recorded_head = None
    if "head" in bundle:
        head = _field(bundle, "the bundle", "head", dict)
        recorded_head = _hash(head, "head", "log_hash") if "log_hash" in head else None
    report = verify(
        sorted(stored, key=lambda r: r.notification_id),
        sorted(chain, key=lambda r: r.notification_id),
        checkpoint=(
            checkpoint
            if started
            else max((r.notification_id for r in stored), default=0)
        ),
        expected_head=expected_head,
        chain_started=started,
    )
    if recorded_head is not None and recorded_head != report.head:
        report.findings.append(
            Finding(
                "chain-broken",
                "-",
                0,
                report.head_notification_id,
                f"the bundle states head {recorded_head}, "
                f"its chain ends at {report.head}",
            )
        )
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """``python audit_verify.py BUNDLE [--head HASH]``: 0 verified, 1 not, 2 misuse."""
    args = list(sys.argv[1:] if argv is None else argv)
    head = None
    if "--head" in args:
        at = args.index("--head")
        if at + 1 >= len(args):
            print("--head needs the hash kept elsewhere", file=sys.stderr)
            return 2
        head = args[at + 1]
        del args[at : at + 2]
    if len(args) != 1:
        print("usage: audit_verify.py BUNDLE.json [--head HASH]", file=sys.stderr)
        return 2
    if head is not None:
        try:
            parse_head(head)
        except ValueError as exc:
            print(f"--head: {exc}", file=sys.stderr)
            return 2
    try:
        report = verify_bundle(load_bundle(args[0]), head)
    except (OSError, ValueError) as exc:
        print(f"cannot read {args[0]!r} as an audit bundle: {exc}", file=sys.stderr)
        return 2
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
