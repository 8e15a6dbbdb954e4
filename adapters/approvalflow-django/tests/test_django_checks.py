"""System checks of the APPROVALFLOW setting, as ``manage.py check`` shows them."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from approvalflow_django import build_approvals
from django.conf import settings
from django.core import checks
from django.test import override_settings

from approvalflow import ConfigurationError


def _errors(**changes: Any) -> list[tuple[str, str, str]]:
    config = copy.deepcopy(settings.APPROVALFLOW)
    config.update(changes)
    config = {k: v for k, v in config.items() if v is not None}
    with override_settings(APPROVALFLOW=config):
        found = checks.run_checks(tags=["approvalflow"])
    return [(str(e.id), e.msg, str(e.hint)) for e in found]


def test_the_example_hosts_settings_pass() -> None:
    assert _errors() == []


def test_a_missing_setting_is_e001_with_an_example() -> None:
    with override_settings():
        del settings.APPROVALFLOW
        [(code, message, hint)] = [
            (str(e.id), e.msg, str(e.hint))
            for e in checks.run_checks(tags=["approvalflow"])
        ]
    assert code == "approvalflow.E001"
    assert "missing" in message
    assert "FROM_EMAIL" in hint


def test_an_unknown_key_is_e002() -> None:
    [(code, message, _)] = _errors(FROM_MAIL="x@firm.example")
    assert code == "approvalflow.E002"
    assert "FROM_MAIL" in message


def test_an_unknown_database_alias_is_e003_listing_the_known_ones() -> None:
    [(code, message, hint)] = _errors(DATABASE="replica")
    assert code == "approvalflow.E003"
    assert "'replica'" in message
    assert "'default'" in hint


def test_a_directory_that_cannot_be_imported_is_e004() -> None:
    [(code, message, _)] = _errors(DIRECTORY="firm.nowhere.Directory", MODELS=None)
    assert code == "approvalflow.E004"
    assert "firm.nowhere.Directory" in message


def test_a_mapping_naming_a_missing_field_is_e004_naming_it() -> None:
    models = copy.deepcopy(settings.APPROVALFLOW["MODELS"])
    models["firm_member"]["email"] = "mail"
    [(code, message, _)] = _errors(MODELS=models)
    assert code == "approvalflow.E004"
    assert "firm.Staff has no field 'mail'" in message


def test_both_or_neither_directory_and_models_is_e004() -> None:
    [(code, _, _)] = _errors(DIRECTORY="firm.models.Staff")
    assert code == "approvalflow.E004"
    [(code, _, _)] = _errors(MODELS=None)
    assert code == "approvalflow.E004"


def test_missing_sender_and_portal_are_e005_each() -> None:
    found = _errors(FROM_EMAIL=None, PORTAL_URL="portal.example")
    assert [code for code, _, _ in found] == ["approvalflow.E005"] * 2
    assert "FROM_EMAIL" in found[0][1]
    assert "https://" in found[1][2]


def test_an_unknown_language_and_clock_are_e006_and_e007() -> None:
    found = _errors(LANGUAGE="xx", CLOCK="firm.clocks.Frozen")
    assert [code for code, _, _ in found] == ["approvalflow.E006", "approvalflow.E007"]
    # Every language approvalflow ships a catalog for is taken.
    assert _errors(LANGUAGE="de") == []


def test_building_the_application_on_wrong_settings_says_everything_wrong() -> None:
    config = {**settings.APPROVALFLOW, "DATABASE": "replica", "FIRM_NAME": ""}
    with (
        override_settings(APPROVALFLOW=config),
        pytest.raises(ConfigurationError) as refused,
    ):
        build_approvals()
    assert "[approvalflow.E003]" in str(refused.value)
    assert "[approvalflow.E005]" in str(refused.value)


def test_a_portal_port_that_cannot_be_imported_is_e008() -> None:
    [(code, message, hint)] = _errors(PORTAL="firm.nowhere.Portal")
    assert code == "approvalflow.E008"
    assert "'firm.nowhere.Portal'" in message
    assert "package.module.Name" in hint


def test_a_firm_url_must_be_a_web_address() -> None:
    [(code, message, _)] = _errors(FIRM_URL="app.firm.example")
    assert code == "approvalflow.E005"
    assert "FIRM_URL" in message
    [(code, _, _)] = _errors(FIRM_URL=3)
    assert code == "approvalflow.E005"
    assert _errors(FIRM_URL="https://app.firm.example") == []


def test_a_reminder_schedule_that_cannot_be_imported_is_e009() -> None:
    [(code, message, _)] = _errors(REMINDER_SCHEDULE="firm.nowhere.SCHEDULE")
    assert code == "approvalflow.E009"
    assert "REMINDER_SCHEDULE" in message
