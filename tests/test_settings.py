"""Settings come from ``QUANTA_*`` environment variables, read as pydantic-settings read them (which
Quanta no longer imports: a CLI command paid for it at every start)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from quanta.settings import Settings


@pytest.fixture(autouse=True)
def _no_quanta_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.lower().startswith("quanta_"):
            monkeypatch.delenv(key)


def test_defaults_without_an_environment() -> None:
    settings = Settings()
    assert settings.database_url is None and settings.workspace is None
    assert (settings.user, settings.major_grace_days, settings.openlineage_transport) == (
        "local-admin",
        90,
        "file",
    )


def test_every_field_is_read_from_its_variable_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANTA_DATABASE_URL", "sqlite:///x.db")
    monkeypatch.setenv("QUANTA_WORKSPACE", "/srv/mesh")
    monkeypatch.setenv("QUANTA_MAJOR_GRACE_DAYS", "30")
    monkeypatch.setenv("quanta_user", "bob")
    monkeypatch.setenv("QUANTA_OPENLINEAGE_TIMEOUT", "2.5")
    monkeypatch.setenv("QUANTA_OPENLINEAGE_TRANSPORT", "http")
    monkeypatch.setenv("QUANTA_NOT_A_SETTING", "ignored")
    settings = Settings()
    assert isinstance(settings.database_url, SecretStr)
    assert settings.database_url.get_secret_value() == "sqlite:///x.db"
    assert settings.workspace == Path("/srv/mesh")
    assert (settings.major_grace_days, settings.user, settings.openlineage_timeout) == (30, "bob", 2.5)
    assert settings.openlineage_transport == "http"


def test_values_given_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANTA_DATABASE_URL", "sqlite:///x.db")
    monkeypatch.setenv("QUANTA_USER", "bob")
    settings = Settings(database_url=None, user="ana", unknown=1)
    assert settings.database_url is None and settings.user == "ana"
    assert settings.model_copy(update={"user": "erin"}).user == "erin"


def test_a_bad_value_names_its_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANTA_MAJOR_GRACE_DAYS", "soon")
    with pytest.raises(ValidationError, match="major_grace_days"):
        Settings()
