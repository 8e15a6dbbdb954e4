"""The documentation site builds with the ``docs`` extra alone.

Read the Docs installs approvalflow with only its ``docs`` extra, and so does
CI's docs build (``.ci/run``, in a venv of its own). Here the same strict
build runs in an interpreter where every distribution the ``dev`` extra adds
(pytest, hypothesis, psycopg, ...) cannot be imported, as in that venv.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from sphinx.util.inventory import InventoryFile

ROOT = Path(__file__).resolve().parents[2]

# Runs Sphinx with the given top-level modules unimportable: a finder ahead
# of every other one answers for them as if they were not installed.
BUILD_WITHOUT = """
import sys
blocked = set({blocked!r})

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
from sphinx.cmd.build import main
sys.exit(main(sys.argv[1:]))
"""


def _names(requirements: list[str]) -> set[str]:
    return {Requirement(r).name.lower().replace("_", "-") for r in requirements}


def _modules_only_the_dev_extra_brings() -> set[str]:
    """Top-level modules of the dev extra's distributions, none of docs' or core's."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    kept = _names(project["dependencies"]) | _names(extras["docs"])
    dropped = _names(extras["dev"]) - kept
    modules = set()
    for module, distributions in packages_distributions().items():
        names = {d.lower().replace("_", "-") for d in distributions}
        # A namespace shared with a kept distribution (opentelemetry) stays.
        if names <= dropped:
            modules.add(module)
    return modules


def test_the_site_builds_without_the_test_tools(tmp_path: Path) -> None:
    blocked = _modules_only_the_dev_extra_brings()
    # The bound holds: what the contract suites import is among them.
    assert {"pytest", "_pytest", "hypothesis", "psycopg"} <= blocked
    out = tmp_path / "site"
    build = subprocess.run(
        [
            sys.executable, "-c", BUILD_WITHOUT.format(blocked=sorted(blocked)),
            "-W", "--keep-going", "-n", "-q", "-b", "html",
            "-d", str(tmp_path / "doctrees"), str(ROOT / "docs"), str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    # The API reference still documents the contract suites.
    with (out / "objects.inv").open("rb") as stream:
        inventory = InventoryFile.load(stream, "", lambda base, uri: uri)
    classes = inventory["py:class"]
    for suite in ("StorageContract", "DirectoryContract", "MailerContract"):
        assert f"approvalflow.testing.contracts.{suite}" in classes, suite
