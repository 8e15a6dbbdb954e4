"""approvalflow imports where POSIX-only modules do not exist (Windows).

The suite runs on Linux, where ``fcntl`` and friends exist, so each check runs
in a fresh interpreter that has them blocked (``sys.modules[name] = None``
makes ``import name`` raise ``ImportError``, as on Windows), then imports
every module of the package.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# The standard library's modules that exist only on POSIX systems and that a
# library is most tempted to use: locks, terminals, users and limits.
POSIX_ONLY = ("fcntl", "termios", "pwd", "grp", "resource")

IMPORT_EVERYTHING = """
import importlib, json, pkgutil, sys, traceback
for name in {blocked!r}:
    sys.modules[name] = None
sys.path[:0] = {path!r}
package = importlib.import_module({package!r})
failures = {{}}
names = [package.__name__] + [
    m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
]
for name in names:
    try:
        importlib.import_module(name)
    except Exception:
        failures[name] = traceback.format_exc(limit=-3)
print(json.dumps({{"imported": names, "failures": failures}}))
"""


def _import_everything(
    package: str, blocked: tuple[str, ...], path: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Import every module of ``package`` with ``blocked`` unimportable."""
    code = IMPORT_EVERYTHING.format(blocked=blocked, path=list(path), package=package)
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    result: dict[str, Any] = json.loads(run.stdout.splitlines()[-1])
    return result


def test_every_module_imports_without_the_posix_only_modules() -> None:
    result = _import_everything("approvalflow", POSIX_ONLY)
    assert result["failures"] == {}
    # Every module really was tried: the whole package, the CLI, the read
    # models' store (the rebuild lock) and the contract suites.
    for module in (
        "approvalflow",
        "approvalflow.cli",
        "approvalflow.readmodels.store",
        "approvalflow.storage",
        "approvalflow.testing.contracts",
    ):
        assert module in result["imported"], module


@pytest.mark.parametrize("blocked", POSIX_ONLY)
def test_a_module_that_needs_a_posix_only_one_is_reported(
    blocked: str, tmp_path: Path
) -> None:
    # The other side: the same check names a module that imports one of them.
    package = tmp_path / "posixonly"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "portable.py").write_text("import os\n")
    (package / "lock.py").write_text(f"import {blocked}\n")
    result = _import_everything("posixonly", POSIX_ONLY, (str(tmp_path),))
    assert set(result["failures"]) == {"posixonly.lock"}
    assert blocked in result["failures"]["posixonly.lock"]
    assert "posixonly.portable" in result["imported"]
