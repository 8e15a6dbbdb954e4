"""The distributions, built and installed from nothing as a host gets them.

:func:`build` makes the sdist and the wheel of approvalflow and of each
adapter with ``python -m build`` (each wheel built from its sdist, so a file
missing from an sdist fails here). :func:`install` puts the wheels into a new
virtual environment: not editable, nothing of the checkout on its path.
:func:`smoke` then runs from it what a new user runs first: ``approvalflow
demo`` in an empty folder and ``manage.py check`` of the Django example
(``examples/django_host``).

CI runs it all from ``.ci/run``::

    .venv/bin/python -m tests.packages

and ``tests/integration/test_packaging.py`` runs the same functions. The
install takes the dependencies from the package index pip is configured
with, as a host's install does.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["PROJECTS", "ROOT", "build", "install", "smoke"]

ROOT = Path(__file__).resolve().parents[1]
#: Each distribution's project folder: the library and its adapters.
PROJECTS = (
    ROOT,
    ROOT / "adapters" / "approvalflow-django",
    ROOT / "adapters" / "approvalflow-webhooks",
)
#: What the built venv must import from its own site-packages.
MODULES = ("approvalflow", "approvalflow_django", "approvalflow_webhooks")
WHERE = """
import importlib, sys, sysconfig
print(sysconfig.get_path("purelib"))
for name in sys.argv[1:]:
    print(importlib.import_module(name).__file__)
"""


def _run(
    command: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run ``command``; its output, or an error that shows it."""
    run = subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    if run.returncode != 0:
        shown = " ".join(str(c) for c in command)
        msg = f"{shown} failed:\n{run.stdout}{run.stderr}"
        raise RuntimeError(msg)
    return run.stdout


def _clean_environment() -> dict[str, str]:
    """This process's environment without what would reach into the checkout.

    No ``PYTHONPATH`` or active venv, and no ``APPROVALFLOW_*`` or Django
    settings of the caller's.
    """
    return {
        name: value
        for name, value in os.environ.items()
        if name not in {"PYTHONPATH", "VIRTUAL_ENV", "DJANGO_SETTINGS_MODULE"}
        and not name.startswith("APPROVALFLOW_")
    }


def build(outdir: Path, *, isolation: bool = True) -> list[Path]:
    """The sdists and wheels of every project, in ``outdir``.

    ``isolation=False`` builds with this interpreter's hatchling (the dev
    extra has it) instead of fetching the build backends.
    """
    for project in PROJECTS:
        command: list[str | Path] = [
            sys.executable,
            "-m",
            "build",
            "--outdir",
            outdir,
            project,
        ]
        if not isolation:
            command.insert(3, "--no-isolation")
        _run(command)
    built = sorted([*outdir.glob("*.whl"), *outdir.glob("*.tar.gz")])
    if len(built) != 2 * len(PROJECTS):
        msg = f"expected an sdist and a wheel per project, built {built}"
        raise RuntimeError(msg)
    return built


def bin_path(venv: Path, program: str) -> Path:
    """A program of the virtual environment ``venv`` (POSIX or Windows)."""
    scripts = venv / ("Scripts" if os.name == "nt" else "bin")
    return scripts / program


def install(wheels: Sequence[Path], venv: Path) -> Path:
    """A new virtual environment at ``venv`` with ``wheels``; its python."""
    # The base interpreter's venv module: a venv made from the dev venv's
    # python holds none of the dev venv's packages.
    _run([sys.executable, "-m", "venv", venv], env=_clean_environment())
    python = bin_path(venv, "python")
    _run(
        [python, "-m", "pip", "install", "--quiet", *wheels],
        env=_clean_environment(),
    )
    return python


def smoke(venv: Path, workdir: Path) -> dict[str, str]:
    """Run the demo and the Django example's check from ``venv``; their output.

    ``workdir`` is an empty folder: the demo writes its store there, the
    Django example its database.
    """
    python = bin_path(venv, "python")
    env = _clean_environment()
    # Where each module comes from: the venv's site-packages, first line.
    where = _run([python, "-c", WHERE, *MODULES], cwd=workdir, env=env).split()
    site = Path(where[0]).resolve()
    for module, path in zip(MODULES, where[1:], strict=True):
        if not Path(path).resolve().is_relative_to(site):
            msg = f"{module} comes from {path}, not from the venv's {site}"
            raise RuntimeError(msg)
    demo = _run([bin_path(venv, "approvalflow"), "demo"], cwd=workdir, env=env)
    if not (workdir / "approvalflow-demo.sqlite3").is_file():
        msg = f"approvalflow demo wrote no store in {workdir}:\n{demo}"
        raise RuntimeError(msg)
    check = _run(
        [python, ROOT / "examples" / "django_host" / "manage.py", "check"],
        cwd=workdir,
        env={**env, "EXAMPLE_DB": str(workdir / "db.sqlite3")},
    )
    return {"demo": demo, "check": check}


def main(argv: Sequence[str] | None = None) -> None:
    """Build, install into a new venv and smoke-test; see the module doc."""
    parser = argparse.ArgumentParser(prog="python -m tests.packages")
    parser.add_argument(
        "--no-isolation",
        action="store_true",
        help="build with this interpreter's build backends (no download)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="approvalflow-packages-") as tmp:
        base = Path(tmp)
        dist = base / "dist"
        built = build(dist, isolation=not args.no_isolation)
        print("built:", *(p.name for p in built), sep="\n  ")
        venv = base / "venv"
        install([p for p in built if p.suffix == ".whl"], venv)
        workdir = base / "work"
        workdir.mkdir()
        output = smoke(venv, workdir)
        print("approvalflow demo from the wheels:", output["demo"].splitlines()[-1])
        print("manage.py check from the wheels:", output["check"].strip())


if __name__ == "__main__":
    main()
