"""``audit verify --head`` takes exactly what ``audit verify`` prints.

The head is kept elsewhere by copying the line a verification printed; it
must come back as it was copied, whole or in part, with the whitespace a
copy and paste leaves, and a wrong one is explained in the command's terms.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from approvalflow import connect
from approvalflow.audit_verify import parse_head
from tests.helpers import make_directory
from tests.integration.test_operations import cli

ROOT = Path(__file__).resolve().parents[2]


def store_with_history(path: Path, documents: tuple[str, ...] = ("d1",)) -> Path:
    with connect(f"sqlite:///{path}", directory=make_directory()) as app:
        for document in documents:
            app.request_approval(document, by="f1")
    return path


def head_line(output: str) -> str:
    (line,) = [x for x in output.splitlines() if x.startswith("head:")]
    return line


def verify(db: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return cli("audit", "verify", "--db", str(db), *extra, cwd=db.parent)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return store_with_history(tmp_path / "approvals.sqlite3")


def test_the_printed_head_line_is_taken_back_as_printed(store: Path) -> None:
    first = verify(store)
    assert first.returncode == 0, first.stderr
    line = head_line(first.stdout)
    value = line.removeprefix("head:").strip()  # "#N hash"
    digest = value.split()[1]
    for kept in (line, f"  {line}\n", f"\t{value} ", digest, f"{digest}\n"):
        again = verify(store, "--head", kept)
        assert again.returncode == 0, (kept, again.stderr)
        assert again.stdout.startswith("VERIFIED")
        assert head_line(again.stdout) == line
    # Also from the variable, as a monitoring job would keep it.
    by_variable = cli(
        "audit", "verify", "--db", str(store), cwd=store.parent,
        env={"APPROVALFLOW_HEAD": line},
    )  # fmt: skip
    assert by_variable.returncode == 0, by_variable.stderr


def test_a_head_kept_earlier_still_verifies_after_more_events(store: Path) -> None:
    earlier = head_line(verify(store).stdout)
    store_with_history(store, ("d2", "d3"))
    later = verify(store, "--head", earlier)
    assert later.returncode == 0, later.stdout
    assert head_line(later.stdout) != earlier  # the chain went on
    # The hash alone is the head now, and the earlier one no longer is.
    digest = earlier.split()[-1]
    moved = verify(store, "--head", digest)
    assert moved.returncode == 1
    assert f"not the {digest} kept elsewhere" in moved.stdout


@pytest.mark.parametrize(
    "change",
    [
        lambda line: line[:-1] + ("0" if line[-1] != "0" else "1"),  # another hash
        lambda line: line.replace("#", "#9"),  # an event the chain does not hold
    ],
)
def test_a_head_that_does_not_match_is_a_finding(store: Path, change: object) -> None:
    line = head_line(verify(store).stdout)
    assert callable(change)
    found = verify(store, "--head", change(line))
    assert found.returncode == 1
    assert found.stdout.startswith("NOT VERIFIED")
    assert "kept elsewhere" in found.stdout


@pytest.mark.parametrize(
    "kept",
    [
        "",
        "head:",
        "head: #3",
        "a" * 63,
        "a" * 65,
        "head: #x " + "a" * 64,
        "g" * 64,
        "head #1 " + "a" * 64,
        "tail: #1 " + "a" * 64,
    ],
)
def test_what_is_not_a_head_is_refused_in_the_commands_terms(
    store: Path, kept: str
) -> None:
    refused = verify(store, "--head", kept)
    assert refused.returncode == 2, refused.stdout
    assert "Invalid value for '--head'" in refused.stderr
    assert "is not a chain head" in refused.stderr
    assert "64 hexadecimal digits" in refused.stderr
    assert "expected_head" not in refused.stderr
    assert "Traceback" not in refused.stderr


def test_the_bounds_of_the_hash_length() -> None:
    assert parse_head("A" * 64) == (None, "a" * 64)
    assert parse_head(" head: #0 " + "b" * 64 + " ") == (0, "b" * 64)
    for wrong in ("a" * 63, "a" * 65):
        with pytest.raises(ValueError, match="is not a chain head"):
            parse_head(wrong)


def test_a_bundles_printed_head_is_taken_back_by_both_verifiers(store: Path) -> None:
    bundle = store.parent / "bundle.json"
    exported = cli(
        "audit", "export", "--db", str(store), "--out", str(bundle), cwd=store.parent
    )
    assert exported.returncode == 0, exported.stderr
    first = cli("audit", "verify", "--bundle", str(bundle), cwd=store.parent)
    line = head_line(first.stdout)
    again = cli(
        "audit", "verify", "--bundle", str(bundle), "--head", f" {line} ",
        cwd=store.parent,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    # The standard-library verifier a third party runs takes it too.
    alone = ROOT / "src" / "approvalflow" / "audit_verify.py"
    for kept, code in ((line, 0), ("head: #1", 2)):
        done = subprocess.run(
            [sys.executable, "-I", "-S", str(alone), str(bundle), "--head", kept],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert done.returncode == code, done.stdout + done.stderr
    assert "is not a chain head" in done.stderr
