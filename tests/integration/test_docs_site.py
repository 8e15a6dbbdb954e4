"""The documentation site builds strictly and documents every public name.

The build is the README's documented command: ``sphinx-build -W --keep-going
-n -b html docs ...``: any warning, broken cross-reference, missing page or
broken Markdown link fails it, and the failure shows Sphinx's output. The
examples on the pages run in ``test_docs_examples.py``.
"""

from __future__ import annotations

import html
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sphinx.util.inventory import InventoryFile

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_MODULES = (
    "approvalflow",
    "approvalflow.ports",
    "approvalflow.storage",
    "approvalflow.testing",
    "approvalflow.testing.contracts",
    "approvalflow.audit_verify",
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [
            sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q",
            "-b", "html", "-d", str(out / "doctrees"), str(ROOT / "docs"), str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    return out


def _documented(site: Path) -> set[str]:
    with (site / "objects.inv").open("rb") as stream:
        inventory = InventoryFile.load(stream, "", lambda base, uri: uri)
    return {
        name
        for kind, entries in inventory.items()
        if kind.startswith("py:")
        for name in entries
    }


def test_every_public_name_is_in_the_api_reference(site: Path) -> None:
    documented = _documented(site)
    missing = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            # A name approvalflow re-exports is documented once, at the top.
            if {f"{module_name}.{name}", f"approvalflow.{name}"}.isdisjoint(documented):
                missing.append(f"{module_name}.{name}")
    assert missing == []


def test_every_command_is_in_the_cli_reference(site: Path) -> None:
    page = (site / "reference/cli.html").read_text()
    for command in ("worker", "health", "history", "audit-verify", "projections"):
        assert f'id="approvalflow-{command}' in page, command


def test_no_page_of_the_site_cites_a_spec_id(site: Path) -> None:
    found = {}
    for page in site.rglob("*.html"):
        if "_static" in page.parts or page.name in ("genindex.html", "search.html"):
            continue
        text = html.unescape(re.sub(r"<[^>]+>", " ", page.read_text()))
        if ids := re.findall(r"\bF\d{1,2}\b", text):
            found[str(page.relative_to(site))] = ids
    assert found == {}


def test_the_benchmarks_page_shows_its_chart(site: Path) -> None:
    page = (site / "explanation/benchmarks.html").read_text()
    assert "benchmarks.png" in page
    assert list((site / "_images").glob("benchmarks*.png"))
