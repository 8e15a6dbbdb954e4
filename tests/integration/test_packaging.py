"""The distributions a host installs: what the sdists and the wheels hold.

Built here the way a release is built (``python -m build``, through
``tests/packages.py``, without build isolation so the build backends come
from the dev venv), then opened and read, and the wheels installed into a
new venv that runs the demo and the Django example's check, as CI does.
"""

from __future__ import annotations

import re
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import approvalflow
from tests import packages


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    packages.build(out, isolation=False)
    return out


def _wheel(dist: Path) -> zipfile.ZipFile:
    (wheel,) = dist.glob("approvalflow-*.whl")
    return zipfile.ZipFile(wheel)


def _metadata(dist: Path) -> tuple[dict[str, list[str]], str]:
    with _wheel(dist) as wheel:
        (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        message = Parser().parsestr(wheel.read(name).decode())
    headers: dict[str, list[str]] = {}
    for key, value in message.items():
        headers.setdefault(key, []).append(value)
    return headers, str(message.get_payload())


def test_the_wheel_holds_the_code_the_templates_the_catalogs_the_types_and_the_licence(
    dist: Path,
) -> None:
    with _wheel(dist) as wheel:
        names = set(wheel.namelist())
    for needed in (
        "approvalflow/__init__.py",
        "approvalflow/py.typed",
        "approvalflow/audit_verify.py",
        "approvalflow/__main__.py",
    ):
        assert needed in names, needed
    assert any(n.startswith("approvalflow/notifications/templates/") for n in names)
    # The compiled catalogs: without them every email and report is English.
    for language in ("en", "fr", "de"):
        catalog = f"approvalflow/locale/{language}/LC_MESSAGES/approvalflow"
        assert f"{catalog}.mo" in names, language
        assert f"{catalog}.po" in names, language
    licences = [n for n in names if n.endswith("dist-info/licenses/LICENSE")]
    assert licences, sorted(n for n in names if "dist-info" in n)
    # Tests and development files stay out of what hosts install.
    assert not any(n.startswith(("tests/", "bench/", "examples/")) for n in names)


def test_the_sdist_holds_the_licence_the_sources_and_the_tests(dist: Path) -> None:
    (sdist,) = dist.glob("approvalflow-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    for needed in (
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "pyproject.toml",
        "src/approvalflow/__init__.py",
        "tests/unit/test_aggregate.py",
    ):
        assert needed in names, needed
    assert not any(n.startswith(".venv/") for n in names)


def test_the_metadata_names_the_project_its_pythons_and_its_licence(
    dist: Path,
) -> None:
    headers, _ = _metadata(dist)
    assert headers["Version"] == [approvalflow.__version__]
    assert headers["License-Expression"] == ["MIT"]
    urls = dict(u.split(", ", 1) for u in headers["Project-URL"])
    assert {"Homepage", "Documentation", "Source", "Changelog", "Issues"} <= set(urls)
    assert all(u.startswith("https://") for u in urls.values())
    # A classifier for the Python the tests run on, and requires-python to match.
    running = f"Programming Language :: Python :: {sys.version_info.major}." + str(
        sys.version_info.minor
    )
    assert running in headers["Classifier"]
    assert headers["Requires-Python"] == [">=3.11"]
    # The platforms: Linux is tested; macOS and Windows are expected to work
    # (nothing POSIX-only at import: tests/unit/test_portable_imports.py).
    systems = {c for c in headers["Classifier"] if c.startswith("Operating System")}
    assert systems == {
        "Operating System :: POSIX :: Linux",
        "Operating System :: MacOS",
        "Operating System :: Microsoft :: Windows",
    }


def test_the_postgres_extra_leaves_psycopgs_implementation_to_the_application(
    dist: Path,
) -> None:
    headers, _ = _metadata(dist)
    postgres = [r for r in headers["Requires-Dist"] if "extra == 'postgres'" in r]
    assert any(r.startswith("psycopg") for r in postgres), postgres
    assert not any("binary" in r for r in postgres), postgres
    dev = [r for r in headers["Requires-Dist"] if "extra == 'dev'" in r]
    assert any("psycopg[binary]" in r for r in dev), dev


def test_the_description_on_the_index_has_only_absolute_links(dist: Path) -> None:
    headers, description = _metadata(dist)
    assert headers["Description-Content-Type"] == ["text/markdown"]
    assert "## Quickstart" in description
    targets = re.findall(r"\]\(([^)\s]+)\)", description)
    assert targets, "the README has links"
    relative = [t for t in targets if not t.startswith(("https://", "#"))]
    assert relative == []
    assert "https://github.com/approvalflow/approvalflow/blob/main/docs/" in (
        description
    )


def test_each_adapter_has_an_sdist_and_a_wheel_that_needs_the_library(
    dist: Path,
) -> None:
    for name in ("approvalflow_django", "approvalflow_webhooks"):
        (sdist,) = dist.glob(f"{name}-*.tar.gz")
        with tarfile.open(sdist) as archive:
            names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
        assert {"pyproject.toml", "README.md", f"src/{name}/__init__.py"} <= names
        (wheel,) = dist.glob(f"{name}-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            (metadata,) = [
                n for n in archive.namelist() if n.endswith(".dist-info/METADATA")
            ]
            message = Parser().parsestr(archive.read(metadata).decode())
            assert f"{name}/py.typed" in archive.namelist(), name
        requires = message.get_all("Requires-Dist") or []
        assert any(r.startswith("approvalflow>=") for r in requires), requires


def test_the_wheels_alone_run_the_demo_and_the_django_example(
    dist: Path, tmp_path: Path
) -> None:
    # A new venv with the three wheels and what they declare, nothing else:
    # a dependency missing from a pyproject fails here (the dev venv has it).
    venv = tmp_path / "venv"
    packages.install(sorted(dist.glob("*.whl")), venv)
    work = tmp_path / "work"
    work.mkdir()
    output = packages.smoke(venv, work)
    assert "Run the demo again" in output["demo"]
    assert "System check identified no issues" in output["check"]


def test_version_is_exported() -> None:
    assert re.fullmatch(
        r"\d+\.\d+\.\d+(\.dev\d+|a\d+|b\d+|rc\d+)?", (approvalflow.__version__)
    )
