"""Hostile bundles: both offline verifiers refuse them cleanly, never crash.

A bundle comes from whoever hands it over. The standalone module
(`python audit_verify.py BUNDLE`) and `approvalflow audit verify --bundle`
must answer every file with "verified" (0), "not verified" (1) or "not a
bundle" (the module's 2; the command line's usage error, also with a
message) — never a traceback or a hang.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import approvalflow.audit_verify as module
from approvalflow import connect
from approvalflow.audit_verify import BundleError, main, parse_bundle, verify_bundle
from approvalflow.cli import main as cli_main
from approvalflow.testing import ControllableClock
from tests.helpers import START, make_directory


@pytest.fixture(scope="module")
def valid_bundle(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("bundle")
    url = f"sqlite:///{folder / 'b.sqlite3'}"
    clock = ControllableClock(START)
    with connect(url, directory=make_directory(), clock=clock) as app:
        app.request_approval("d1", by="f1")
        app.approve("d1", by="c1")
        app.request_approval("d2", by="f1")
        out = folder / "bundle.json"
        with out.open("w", encoding="utf-8") as handle:
            app.export_audit_bundle(handle)
    bundle: dict[str, Any] = json.loads(out.read_text())
    assert verify_bundle(bundle).ok
    return bundle


def both_verifiers(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, int, str]:
    """(standalone exit code, CLI exit code, everything both printed)."""
    alone = main([str(path)])
    printed = capsys.readouterr()
    result = CliRunner().invoke(cli_main, ["audit", "verify", "--bundle", str(path)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return alone, result.exit_code, printed.out + printed.err + result.output


def assert_refused(alone: int, cli: int, output: str) -> None:
    assert alone == 2, output
    # The command line reports a file it cannot read as a ClickException (1)
    # with its message, never as a traceback.
    assert cli == 1, output
    assert output.count("cannot read") == 2, output
    assert "NOT VERIFIED" not in output
    assert "Traceback" not in output


HOSTILE_FILES: dict[str, bytes] = {
    "a list": b"[1, 2, 3]",
    "a string": b'"approvalflow"',
    "a number": b"42",
    "null": b"null",
    "deep nesting": b"[" * 100_000 + b"]" * 100_000,
    "deep nesting in events": b'{"format": "approvalflow-audit-bundle/1", "events": '
    + b"[" * 50_000
    + b"]" * 50_000
    + b"}",
    "not JSON": b"{'format': 1}",
    "not UTF-8": b'{"format": "\xff"}',
    "empty": b"",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_files_that_are_not_bundles_are_refused_with_a_message(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "hostile.json"
    path.write_bytes(HOSTILE_FILES[name])
    assert_refused(*both_verifiers(path, capsys))


FIELD_EDITS: dict[str, tuple[tuple[str | int, ...], Any]] = {
    "head as a list": (("head",), ["a", "b"]),
    "log_hash as a number": (("head", "log_hash"), 7),
    "notification_id Infinity": (("events", 0, "notification_id"), "Infinity"),
    "notification_id 1e400": (("events", 0, "notification_id"), "1e400"),
    "notification_id a float": (("events", 0, "notification_id"), 1.5),
    "notification_id huge": (("events", 0, "notification_id"), 10**400),
    "notification_id true": (("events", 0, "notification_id"), True),
    "version a string": (("events", 1, "originator_version"), "2"),
    "state not base64": (("events", 0, "state"), "%%%"),
    "events an object": (("events",), {"a": 1}),
    "chain missing": (("chain",), None),
    "chain row a list": (("chain", 0), [1, 2]),
    "event hash too short": (("chain", 0, "event_hash"), "abc"),
    "checkpoint a string": (("checkpoint",), "0"),
}


def _edit(bundle: dict[str, Any], where: tuple[str | int, ...], value: Any) -> Any:
    edited = copy.deepcopy(bundle)
    target: Any = edited
    for key in where[:-1]:
        target = target[key]
    if value is None:
        del target[where[-1]]
    else:
        target[where[-1]] = value
    return edited


@pytest.mark.parametrize("name", sorted(FIELD_EDITS))
def test_bundles_with_a_field_of_the_wrong_kind_are_refused(
    tmp_path: Path,
    valid_bundle: dict[str, Any],
    name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    where, value = FIELD_EDITS[name]
    path = tmp_path / "edited.json"
    text = json.dumps(_edit(valid_bundle, where, value))
    # JSON spellings Python would not write: a bare Infinity and 1e400.
    text = text.replace('"Infinity"', "Infinity").replace('"1e400"', "1e400")
    path.write_text(text)
    assert_refused(*both_verifiers(path, capsys))


def test_a_device_that_never_ends_is_refused_unread(
    capsys: pytest.CaptureFixture[str],
) -> None:
    alone, cli, output = both_verifiers(Path("/dev/zero"), capsys)
    assert_refused(alone, cli, output)
    assert "not a regular file" in output


def test_the_standalone_module_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    alone = tmp_path / "audit_verify.py"
    shutil.copyfile(module.__file__, alone)
    # Opening a FIFO for reading waits for a writer: a writer is there, so a
    # verifier that reads it would hang on its endless zeros; it must refuse.
    with subprocess.Popen(
        ["sh", "-c", f"cat /dev/zero > {fifo}"], stderr=subprocess.DEVNULL
    ) as writer:
        try:
            done = subprocess.run(
                [sys.executable, "-I", "-S", str(alone), str(fifo)],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        finally:
            writer.kill()
    assert done.returncode == 2, done.stderr
    assert "not a regular file" in done.stderr


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
PATHS = st.lists(
    st.sampled_from(
        [
            "events",
            "chain",
            "head",
            "checkpoint",
            "format",
            0,
            1,
            "notification_id",
            "state",
            "log_hash",
            "originator_version",
            "topic",
        ]
    ),
    min_size=1,
    max_size=3,
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(where=PATHS, value=JSON)
def test_any_edit_of_a_bundle_is_verified_or_refused_never_a_crash(
    valid_bundle: dict[str, Any], where: list[str | int], value: Any
) -> None:
    edited: Any = copy.deepcopy(valid_bundle)
    target = edited
    for key in where[:-1]:
        try:
            target = target[key]
        except (KeyError, IndexError, TypeError):
            return  # the path is not in this bundle: nothing edited
    key = where[-1]
    try:
        replaced = key in target if isinstance(target, dict) else True
        before = copy.deepcopy(target[key]) if replaced else None
        target[key] = value
    except (IndexError, TypeError, KeyError):
        return
    try:
        report = verify_bundle(parse_bundle(json.dumps(edited)))
    except BundleError:
        return  # refused with a message (the parametrized tests read them)
    checked = len(where) == 3 and where[0] in {"events", "chain"}
    checked = checked or tuple(where) == ("head", "log_hash")
    if checked and replaced and before != value:
        # A changed value of a field the chain covers is found, never passed.
        assert not report.ok, (where, value)


@settings(max_examples=300, deadline=None)
@given(value=JSON)
def test_any_json_value_is_refused_never_a_crash(value: Any) -> None:
    with pytest.raises(BundleError):
        verify_bundle(parse_bundle(json.dumps(value)))
