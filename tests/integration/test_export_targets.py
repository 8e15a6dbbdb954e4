"""`--out` never destroys the store or writes through a special file.

`audit log` and `audit export` write where `--out` says; a mistyped target
that is the store itself (or its -wal/-shm/-journal file, or another name for
it) or something that is not a regular file is refused before anything is
written, with a clear message and the store exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from approvalflow import connect
from approvalflow.cli import main
from approvalflow.testing import ControllableClock
from tests.helpers import START, make_directory

COMMANDS = {
    "log": ["audit", "log", "--format", "jsonl"],
    "export": ["audit", "export"],
}


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store.sqlite3"
    with connect(
        f"sqlite:///{path}", directory=make_directory(), clock=ControllableClock(START)
    ) as app:
        app.request_approval("d1", by="f1")
        app.approve("d1", by="c1")
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(store: Path, command: str, out: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, [*COMMANDS[command], "--db", str(store), "--out", out]
    )
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    return result.exit_code, result.output


def assert_intact(store: Path, before: str) -> None:
    assert digest(store) == before
    with connect(f"sqlite:///{store}", read_only=True) as app:
        assert app.verify_audit().ok
        assert app.status("d1").state.value == "approved"
    leftovers = [p.name for p in store.parent.iterdir() if "partial" in p.name]
    assert leftovers == []


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("side", ["", "-wal", "-shm", "-journal"])
def test_the_store_and_its_side_files_are_refused(
    store: Path, command: str, side: str
) -> None:
    before = digest(store)
    code, output = run(store, command, f"{store}{side}")
    assert code == 2, output
    assert "the store's own file" in output
    assert "Traceback" not in output
    assert_intact(store, before)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_another_name_for_the_store_is_refused(
    store: Path, command: str, tmp_path: Path
) -> None:
    before = digest(store)
    hard = tmp_path / "elsewhere.sqlite3"
    os.link(store, hard)
    relative = os.path.relpath(store, Path.cwd())
    for other in (str(hard), relative, str(store.parent / "." / store.name)):
        code, output = run(store, command, other)
        assert code == 2, (other, output)
        assert "the store's own file" in output
    assert_intact(store, before)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_special_files_and_links_are_refused_untouched(
    store: Path, command: str, tmp_path: Path
) -> None:
    before = digest(store)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "link.json"
    link.symlink_to(victim)
    for target, kind in [
        (fifo, "special file"),
        (link, "symbolic link"),
        (tmp_path, "directory"),
        (Path("/dev/full"), "special file"),
    ]:
        code, output = run(store, command, str(target))
        assert code == 2, (target, output)
        # click's own check names a folder a directory first.
        assert kind in output or (kind == "directory" and "folder" in output), output
    assert fifo.exists()
    assert link.is_symlink()
    assert victim.read_text() == "keep me"
    assert_intact(store, before)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_unusable_names_get_a_clear_error(
    store: Path, command: str, tmp_path: Path
) -> None:
    before = digest(store)
    for target, words in [
        ("", "empty file name"),
        (str(tmp_path / "missing" / "out.json"), "folder that does not exist"),
    ]:
        code, output = run(store, command, target)
        assert code == 2, (target, output)
        assert words in output
        assert "Traceback" not in output
    assert_intact(store, before)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_regular_file_is_written_and_an_old_one_replaced_whole(
    store: Path, command: str, tmp_path: Path
) -> None:
    before = digest(store)
    out = tmp_path / "export.out"
    out.write_text("an older export, longer than the new one " * 1000)
    code, output = run(store, command, str(out))
    assert code == 0, output
    text = out.read_text()
    assert "older export" not in text
    if command == "export":
        assert json.loads(text)["format"].startswith("approvalflow-audit-bundle")
    else:
        assert [json.loads(line)["event"] for line in text.splitlines()][
            -1
        ] == "Approved"
    assert_intact(store, before)
