"""Settings come from ``QUANTA_*`` environment variables, read as pydantic-settings read them (which
Quanta no longer imports: a CLI command paid for it, and for pydantic, at every start); a bad value
names the variable to fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from quanta.settings import Secret, Settings, SettingsError
from tests.conftest import run_cli


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
    assert isinstance(settings.database_url, Secret)
    assert "x.db" not in repr(settings)
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
    with pytest.raises(SettingsError, match="QUANTA_MAJOR_GRACE_DAYS = 'soon' is not a whole number"):
        Settings()
    with pytest.raises(SettingsError, match="the setting openlineage_transport = 'kafka' is not one of"):
        Settings(openlineage_transport="kafka", major_grace_days=30)


def test_a_secret_given_as_pydantic_secretstr_is_kept() -> None:
    settings = Settings(database_url=SecretStr("sqlite:///y.db"))
    assert settings.database_url == Secret("sqlite:///y.db")


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("QUANTA_MAJOR_GRACE_DAYS", "soon", "QUANTA_MAJOR_GRACE_DAYS = 'soon' is not a whole number of days"),
        ("QUANTA_OPENLINEAGE_TRANSPORT", "kafka", "is not one of file, http, console, none"),
        ("QUANTA_OPENLINEAGE_TIMEOUT", "5s", "is not a number of seconds"),
        ("QUANTA_RESULT_CACHE_MB", "-1", "QUANTA_RESULT_CACHE_MB = '-1' is not a whole number of MiB"),
        ("QUANTA_RESULT_CACHE_MB", "lots", "is not a whole number of MiB (0: no result cache)"),
    ],
)
def test_the_cli_names_a_bad_variable_without_a_traceback(
    tmp_path: Path, variable: str, value: str, said: str
) -> None:
    result = run_cli("ls", cwd=tmp_path, env={variable: value})
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout + result.stderr
    assert said in out and "unset it" in out
    assert "internal error" not in out and "Traceback" not in out


def test_an_empty_variable_counts_as_unset(tmp_path: Path) -> None:
    """``QUANTA_DATABASE_URL=`` (exported empty, as shells and CI templates do) means the workspace's
    own registry, not a database at the URL ''."""
    result = run_cli("init", "--name", "empty", cwd=tmp_path, env={"QUANTA_DATABASE_URL": ""})
    assert result.returncode == 0, result.stdout + result.stderr
    listed = run_cli("ls", cwd=tmp_path, env={"QUANTA_DATABASE_URL": ""})
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert not Settings(database_url="").database_url and Settings(database_url="").database_url == Secret("")
