"""The command line's settings: one environment variable scheme, host objects."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from approvalflow.cli import DEMO_DB_VARIABLE, ENV_PREFIX, load_object, main


def _options(command: click.Command, path: str) -> Iterator[tuple[str, click.Option]]:
    for param in command.params:
        if isinstance(param, click.Option):
            yield path, param
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _options(sub, f"{path} {name}")


def test_every_option_has_its_variable_in_the_one_scheme() -> None:
    checked = 0
    for path, option in _options(main, "approvalflow"):
        if option.name in ("help", "version"):
            continue
        long = next(o for o in option.opts if o.startswith("--"))
        expected = ENV_PREFIX + long[2:].upper().replace("-", "_")
        if (path, long) == ("approvalflow demo", "--db"):
            expected = DEMO_DB_VARIABLE  # never the real store's variable
        assert option.envvar == expected, f"{path} {long}"
        assert option.show_envvar, f"{path} {long}"
        checked += 1
    # --db alone is on eleven commands; the worker has twenty-two options.
    assert checked > 40


def test_the_same_option_means_the_same_variable_everywhere() -> None:
    seen: dict[str, str] = {}
    for path, option in _options(main, "approvalflow"):
        if option.name in ("help", "version") or path == "approvalflow demo":
            continue
        long = next(o for o in option.opts if o.startswith("--"))
        assert seen.setdefault(long, str(option.envvar)) == option.envvar


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "unit_host.py").write_text(
        "class Directory:\n"
        "    made = 0\n"
        "    def __init__(self):\n"
        "        Directory.made += 1\n"
        "def make():\n"
        "    return {'made by': 'factory'}\n"
        "def broken():\n"
        "    raise RuntimeError('no database')\n"
        "ready = {'an': 'object'}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("unit_host", None)


def test_a_class_is_instantiated_a_factory_called_an_object_taken(host: Path) -> None:
    made = load_object("unit_host:Directory")
    assert type(made).__name__ == "Directory"
    assert type(made).made == 1
    assert load_object("unit_host:make") == {"made by": "factory"}
    assert load_object("unit_host:ready") == {"an": "object"}


def test_loading_failures_say_what_to_name(host: Path) -> None:
    with pytest.raises(click.BadParameter, match=r"not of the form package\.module"):
        load_object("unit_host")
    with pytest.raises(click.BadParameter, match="cannot load 'unit_host:nope'"):
        load_object("unit_host:nope")
    with pytest.raises(click.BadParameter, match=r"cannot load 'unit_host:ready\.x'"):
        load_object("unit_host:ready.x")
    # Names that are not Python names say so, rather than "no module named".
    for spec in ("unit-host:Directory", "unit_host:1st", "unit_host:ready..x"):
        with pytest.raises(click.BadParameter, match=r"\(Python names separated"):
            load_object(spec)
    with pytest.raises(click.BadParameter, match="--app-dir"):
        load_object("no_such_module_here:x")
    with pytest.raises(
        click.BadParameter, match=r"calling 'unit_host:broken' .*RuntimeError"
    ):
        load_object("unit_host:broken")


def test_an_unknown_entry_point_lists_the_group(host: Path) -> None:
    with pytest.raises(click.BadParameter) as caught:
        load_object("firm-directory", "directory")
    message = str(caught.value)
    assert "'approvalflow.directory'" in message
    assert "none installed" in message


def test_the_settings_table_lists_every_variable_and_no_other() -> None:
    doc = (
        Path(__file__).resolve().parents[2] / "docs/reference/settings.md"
    ).read_text()
    table = doc.split("## Settings", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(APPROVALFLOW_[A-Z_]+)`", table, re.MULTILINE))
    variables = {
        str(option.envvar)
        for _path, option in _options(main, "approvalflow")
        if option.name not in ("help", "version")
    }
    assert documented == variables
