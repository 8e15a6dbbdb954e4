"""``approvalflow backup``: a consistent copy of a live SQLite store.

A writer in another process keeps recording commands while the backup is
taken; the copy opens with approvalflow, its chain verifies, and every event
committed before the backup started is in it. A restore is a backup of the
backup into the store's place. The refusals protect the store and anything
else an ``--out`` could name.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from approvalflow import connect
from tests.helpers import eventually, make_directory
from tests.integration.test_operations import ROOT, clean_env, cli

WRITER = """
import sys
from pathlib import Path

from approvalflow import connect
from tests.helpers import make_directory

store, stop = sys.argv[1], Path(sys.argv[2])
done = 0
with connect(f"sqlite:///{store}", directory=make_directory()) as app:
    while not stop.exists():
        document = f"d{done % 4 + 1}"
        app.request_approval(document, by="f1")
        app.cancel(document, by="f1")
        done += 2
        print(done, flush=True)  # commands committed so far
"""


def stored(path: Path) -> list[tuple[object, ...]]:
    """Every stored event, byte for byte, in order (read-only, no lock)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(
            "SELECT rowid, originator_id, originator_version, topic, state"
            " FROM stored_events ORDER BY rowid"
        ).fetchall()
    finally:
        conn.close()


class Writer:
    """A process recording commands until told to stop."""

    def __init__(self, store: Path) -> None:
        self.stop_file = store.parent / "stop-writing"
        self.process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(store), str(self.stop_file)],
            cwd=ROOT,
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.done = 0
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.done = int(line)

    def finish(self) -> str:
        self.stop_file.touch()
        _, errors = self.process.communicate(timeout=120)
        assert self.process.returncode == 0, errors
        return errors


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "live" / "approvals.sqlite3"
    path.parent.mkdir()
    with connect(f"sqlite:///{path}", directory=make_directory()) as app:
        app.request_approval("d1", by="f1")
        app.cancel("d1", by="f1")
    return path


def test_a_backup_taken_while_another_process_writes_is_complete_and_verifies(
    store: Path, tmp_path: Path
) -> None:
    out = tmp_path / "backups" / "approvals-backup.sqlite3"
    out.parent.mkdir()
    # A long read elsewhere (a report, a slow page) holds checkpoints back:
    # every event the writer commits stays in the write-ahead log, not in the
    # main file, which is what a plain cp of the store would miss.
    report = sqlite3.connect(f"file:{store}?mode=ro", uri=True, isolation_level=None)
    report.execute("BEGIN")
    report.execute("SELECT count(*) FROM stored_events").fetchone()
    writer = Writer(store)
    try:
        eventually(lambda: writer.done >= 30, "the writer never recorded 30 commands")
        before = stored(store)  # committed before the backup starts
        started = writer.done
        taken = cli("backup", "--db", str(store), "--out", str(out), cwd=tmp_path)
        during = writer.done
        # The writer goes on after the backup, unhindered.
        eventually(
            lambda: writer.done >= during + 20,
            "the writer stopped recording during the backup",
        )
    finally:
        errors = writer.finish()
        report.close()
    assert taken.returncode == 0, taken.stderr
    assert "locked" not in errors
    assert during > started  # it was writing while the backup ran
    head = int(re.findall(r"up to #(\d+)", taken.stdout)[0])
    copy = stored(out)
    assert head == copy[-1][0]
    assert len(copy) >= len(before)
    assert copy[: len(before)] == before  # every event, byte for byte
    assert len(stored(store)) > len(copy)  # and the store went on without it
    # The copy is a store approvalflow opens, and its chain verifies.
    verified = cli("audit", "verify", "--db", str(out), cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout
    assert verified.stdout.startswith("VERIFIED")
    assert f"events checked: {len(copy)}" in verified.stdout
    assert f"head: #{head} " in verified.stdout
    assert (
        cli("health", "--db", str(out), "--no-deliveries", cwd=tmp_path).returncode == 0
    )
    # No partial file was left beside it.
    assert sorted(p.name for p in out.parent.iterdir() if "partial" in p.name) == []


def test_a_restore_puts_a_backup_in_the_stores_place(
    store: Path, tmp_path: Path
) -> None:
    out = tmp_path / "approvals-backup.sqlite3"
    assert (
        cli("backup", "--db", str(store), "--out", str(out), cwd=tmp_path).returncode
        == 0
    )
    kept = stored(out)
    # Lost: the store is gone (a disk failed). Restored from the backup:
    for path in store.parent.iterdir():
        path.unlink()
    restored = cli("backup", "--db", str(out), "--out", str(store), cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert stored(store) == kept
    with connect(f"sqlite:///{store}", create=False, directory=make_directory()) as app:
        app.request_approval("d2", by="f1")  # it records again
    verified = cli("audit", "verify", "--db", str(store), cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout


def test_an_existing_file_is_replaced_only_with_force(
    store: Path, tmp_path: Path
) -> None:
    out = tmp_path / "nightly.sqlite3"
    out.write_text("yesterday's")
    refused = cli("backup", "--db", str(store), "--out", str(out), cwd=tmp_path)
    assert refused.returncode == 2
    assert "exists" in refused.stderr
    assert "give --force to replace it" in refused.stderr
    assert out.read_text() == "yesterday's"
    for _ in range(2):  # also over a backup that was opened (its -shm beside it)
        done = cli("backup", "--db", str(store), "--out", str(out), "--force",
                   cwd=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert cli("audit", "verify", "--db", str(out), cwd=tmp_path).returncode == 0
    assert stored(out) == stored(store)


def _refusals(store: Path, tmp_path: Path) -> dict[str, Path]:
    """Targets that must be refused, even with --force."""
    folder = tmp_path / "a-folder"
    folder.mkdir()
    link = tmp_path / "link.sqlite3"
    link.symlink_to(store)
    hard = tmp_path / "hard.sqlite3"
    os.link(store, hard)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    return {
        "the store": store,
        "the store, by another path": tmp_path / "live" / ".." / "live" / store.name,
        "its -wal": Path(f"{store}-wal"),
        "its -shm": Path(f"{store}-shm"),
        "its -journal, absent": Path(f"{store}-journal"),
        "a link to it": link,
        "a hard link to it": hard,
        "a folder": folder,
        "a FIFO": fifo,
        "a device": Path("/dev/null"),
        "a file in a missing folder": tmp_path / "missing" / "b.sqlite3",
    }


def test_what_is_not_a_safe_target_is_refused_even_with_force(
    store: Path, tmp_path: Path
) -> None:
    # Open: the store has its -wal and -shm while a process uses it.
    with connect(f"sqlite:///{store}", directory=make_directory()) as app:
        app.request_approval("d2", by="f1")
        assert Path(f"{store}-wal").exists()
        before = stored(store)
        for name, target in _refusals(store, tmp_path).items():
            refused = cli("backup", "--db", str(store), "--out", str(target),
                          "--force", cwd=tmp_path)  # fmt: skip
            assert refused.returncode == 2, (name, refused.stdout, refused.stderr)
            assert "Invalid value" in refused.stderr or "--out:" in refused.stderr
            assert "Traceback" not in refused.stderr
    assert stored(store) == before
    assert not list(tmp_path.glob("**/*.partial"))
    assert not (tmp_path / "missing").exists()


def test_a_target_with_a_log_of_its_own_is_refused(store: Path, tmp_path: Path) -> None:
    # A store open (or crashed) at the target: its log would be replayed
    # onto the copy. An empty log, as a reader leaves it, is harmless.
    out = tmp_path / "other.sqlite3"
    out.write_bytes(b"")
    log = Path(f"{out}-wal")
    log.write_bytes(b"")
    done = cli("backup", "--db", str(store), "--out", str(out), "--force", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    log.write_bytes(b"\x37\x7f\x06\x82" + bytes(28))
    refused = cli("backup", "--db", str(store), "--out", str(out), "--force",
                  cwd=tmp_path)  # fmt: skip
    assert refused.returncode == 2
    assert "has a -wal file beside it" in refused.stderr


def test_no_store_no_sqlite_no_backup(tmp_path: Path) -> None:
    missing = cli("backup", "--db", str(tmp_path / "typo.sqlite3"), "--out",
                  str(tmp_path / "b.sqlite3"), cwd=tmp_path)  # fmt: skip
    assert missing.returncode == 1
    assert "no approvalflow store at" in missing.stderr
    memory = cli("backup", "--db", "memory://", "--out", "b.sqlite3", cwd=tmp_path)
    assert memory.returncode == 2
    assert "not an SQLite file" in memory.stderr
    assert list(tmp_path.iterdir()) == []


def test_postgresql_gets_pg_dump_guidance_and_no_password_is_shown(
    tmp_path: Path,
) -> None:
    url = "postgresql://approvals:s3cret@db.internal:5433/firm?schema=approvals"
    guided = cli("backup", "--db", url, "--out", "b.sqlite3", cwd=tmp_path)
    assert guided.returncode == 1
    text = guided.stderr
    assert (
        "pg_dump --format=custom --file=approvals.dump --host=db.internal "
        "--port=5433 --username=approvals --schema=approvals firm"
    ) in text
    assert "pg_restore" in text
    assert "Back up and restore a store" in text
    assert "s3cret" not in text
    assert list(tmp_path.iterdir()) == []


# -- the docs ----------------------------------------------------------------------

DOCS = ROOT / "docs"
#: A copy of a store's files by a file tool: what loses a live store's writes.
FILE_COPY = re.compile(
    r"^\s*(?:sudo\s+)?(?:cp|rsync|scp|install|dd)\b[^\n]*\.sqlite3", re.MULTILINE
)


def _shell_blocks(text: str) -> list[str]:
    return re.findall(r"```(?:sh|bash|console|shell|text)?\n(.*?)```", text, re.DOTALL)


def test_the_docs_back_up_with_the_backup_command_never_with_cp() -> None:
    # The pattern is not one that never matches.
    assert FILE_COPY.search("cp approvals.sqlite3 /backups/")
    assert FILE_COPY.search("  sudo rsync -a /srv/approvals.sqlite3 backup:/")
    assert not FILE_COPY.search("approvalflow backup --db approvals.sqlite3 --out b")
    howto = (DOCS / "how-to" / "backups.md").read_text()
    assert howto.startswith("# Back up and restore a store")
    assert "backups" in (DOCS / "how-to" / "index.md").read_text()
    blocks = "\n".join(_shell_blocks(howto))
    assert "approvalflow backup --db approvals.sqlite3 --out" in blocks
    assert "pg_dump --format=custom" in blocks
    assert "pg_restore" in blocks
    assert "## Restore" in howto
    assert "approvalflow audit verify --db" in blocks  # a restore is checked
    for page in [*DOCS.glob("**/*.md"), ROOT / "README.md"]:
        for block in _shell_blocks(page.read_text()):
            assert not FILE_COPY.search(block), f"{page.name}: {block}"
