"""Settings: one pydantic-settings object read from ``QUANTA_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide settings; every field can be set as ``QUANTA_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="QUANTA_", extra="ignore")

    database_url: SecretStr | None = None
    """SQLAlchemy URL of the registry; defaults to ``sqlite:///<workspace>/.quanta/registry.db``."""

    workspace: Path | None = None
    """Workspace root; defaults to the nearest folder above the current one holding ``quanta.yaml``."""

    major_grace_days: int = 90
    """How long a product's previous major version stays readable after the next major is published
    (a product can set its own with the custom property ``majorGraceDays``)."""

    user: str = "local-admin"
    """Who is acting in local mode; recorded on every registered version and event."""

    delivery_root: Path | None = None
    """Where file deliveries asked for through the REST API or the web land, one folder per principal
    (default ``<workspace>/.quanta/deliveries``); the CLI and SDK in process name any folder."""

    token: SecretStr | None = None
    """An API token for clients that sign in with one (``quanta mcp``: the agent acts as its principal,
    with its scopes); without one the local user acts."""

    # --- OpenLineage run events of builds (see docs/lineage.md) ---
    openlineage_transport: Literal["file", "http", "console", "none"] = "file"
    """Where builds send OpenLineage events: ``file`` (JSON lines, one file a day, in
    ``.quanta/openlineage/``), ``http`` (``openlineage_url``), ``console`` (the log) or ``none``."""

    openlineage_url: str | None = None
    """Base URL of the OpenLineage HTTP endpoint (e.g. Marquez ``http://localhost:5000``)."""

    openlineage_endpoint: str = "api/v1/lineage"
    """Path of the endpoint under ``openlineage_url``."""

    openlineage_api_key: SecretStr | None = None
    """Sent as ``Authorization: Bearer <key>``."""

    openlineage_timeout: float = 5.0
    """Seconds per HTTP attempt (events are sent in the background: a build never waits for them)."""

    openlineage_namespace: str | None = None
    """Namespace of jobs and product datasets; default ``quanta://<workspace name>``."""
