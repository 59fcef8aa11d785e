"""Settings: one object read from ``QUANTA_*`` environment variables.

Every field is a plain value (a string, a number, a path, one of a few words, or a secret), so a
dataclass and a converter per type do here what pydantic-settings (and pydantic) would: every CLI
command pays for its imports at start-up, and a bad value must say which variable to fix rather than
end in a validation traceback."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, get_args

from quanta.errors import QuantaError

ENV_PREFIX = "QUANTA_"
Transport = Literal["file", "http", "console", "none"]


class SettingsError(QuantaError):
    """A setting (from the environment or given) that is not a value of its kind."""


class Secret:
    """A value kept out of reprs, logs and tracebacks (as pydantic's ``SecretStr``)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __len__(self) -> int:  # an empty secret is false, as an unset one (``QUANTA_DATABASE_URL=``)
        return len(self._value)

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclasses.dataclass(init=False)
class Settings:
    """Process-wide settings; every field can be set as ``QUANTA_<FIELD>`` (in any case); a value
    given to the constructor wins over the environment's; names that are not settings are ignored."""

    database_url: Secret | None = None
    """SQLAlchemy URL of the registry; defaults to ``sqlite:///<workspace>/.quanta/registry.db``."""

    workspace: Path | None = None
    """Workspace root; defaults to the nearest folder above the current one holding ``quanta.yaml``."""

    major_grace_days: int = 90
    """How long a product's previous major version stays readable after the next major is published
    (a product can set its own with the custom property ``majorGraceDays``)."""

    result_cache_mb: int = 64
    """MiB of small query results a process keeps to answer the same governed query again without the
    engine (governance still runs on every query: docs/governance.md, "The result cache"); 0 keeps none."""

    user: str = "local-admin"
    """Who is acting in local mode; recorded on every registered version and event."""

    delivery_root: Path | None = None
    """Where file deliveries asked for through the REST API or the web land, one folder per principal
    (default ``<workspace>/.quanta/deliveries``); the CLI and SDK in process name any folder."""

    token: Secret | None = None
    """An API token for clients that sign in with one (``quanta mcp``: the agent acts as its principal,
    with its scopes); without one the local user acts."""

    # --- OpenLineage run events of builds (see docs/lineage.md) ---
    openlineage_transport: Transport = "file"
    """Where builds send OpenLineage events: ``file`` (JSON lines, one file a day, in
    ``.quanta/openlineage/``), ``http`` (``openlineage_url``), ``console`` (the log) or ``none``."""

    openlineage_url: str | None = None
    """Base URL of the OpenLineage HTTP endpoint (e.g. Marquez ``http://localhost:5000``)."""

    openlineage_endpoint: str = "api/v1/lineage"
    """Path of the endpoint under ``openlineage_url``."""

    openlineage_api_key: Secret | None = None
    """Sent as ``Authorization: Bearer <key>``."""

    openlineage_timeout: float = 5.0
    """Seconds per HTTP attempt (events are sent in the background: a build never waits for them)."""

    openlineage_namespace: str | None = None
    """Namespace of jobs and product datasets; default ``quanta://<workspace name>``."""

    def __init__(self, **given: Any) -> None:
        environment = {key.lower(): value for key, value in os.environ.items()}
        prefix = ENV_PREFIX.lower()
        for field in dataclasses.fields(self):
            if field.name in given:
                value, source = given[field.name], f"the setting {field.name}"
            elif prefix + field.name in environment:
                value, source = environment[prefix + field.name], f"{ENV_PREFIX}{field.name.upper()}"
            else:
                value, source = field.default, ""
            if value is not None and source:
                value = _convert(field.name, value, source)
            object.__setattr__(self, field.name, value)

    def model_copy(self, *, update: dict[str, Any]) -> Settings:
        """A copy with some fields changed (the environment is not read again)."""
        return Settings(**{**{f.name: getattr(self, f.name) for f in dataclasses.fields(self)}, **update})


def _secret(value: Any) -> Secret:
    if isinstance(value, Secret):
        return value
    if hasattr(value, "get_secret_value"):  # pydantic's SecretStr, given by a caller
        return Secret(str(value.get_secret_value()))
    return Secret(str(value))


def _number(kind: type[int] | type[float], what: str, minimum: float | None = None) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        try:
            number = kind(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            raise ValueError(f"is not {what}") from None
        if minimum is not None and number < minimum:
            raise ValueError(f"is not {what}")
        return number

    return convert


def _one_of(words: tuple[str, ...]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if str(value).strip().lower() not in words:
            raise ValueError(f"is not one of {', '.join(words)}")
        return str(value).strip().lower()

    return convert


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "database_url": _secret,
    "token": _secret,
    "openlineage_api_key": _secret,
    "workspace": Path,
    "delivery_root": Path,
    "major_grace_days": _number(int, "a whole number of days"),
    "result_cache_mb": _number(int, "a whole number of MiB (0: no result cache)", minimum=0),
    "openlineage_timeout": _number(float, "a number of seconds"),
    "openlineage_transport": _one_of(get_args(Transport)),
}


def _convert(name: str, value: Any, source: str) -> Any:
    convert = _CONVERTERS.get(name, str)
    try:
        return convert(value)
    except ValueError as exc:
        hint = f"set {source} to a valid value, or unset it to use the default"
        raise SettingsError(f"{source} = {str(value)!r} {exc}", hint=hint) from None
