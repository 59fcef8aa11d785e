"""Settings: one pydantic object read from ``QUANTA_*`` environment variables.

Every field is a plain value, so reading the environment takes a few lines here rather than
pydantic-settings, whose import (asyncio, argparse, dotenv and its cloud sources with it) every CLI
command would pay for at start-up."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SecretStr, model_validator

ENV_PREFIX = "QUANTA_"


class Settings(BaseModel):
    """Process-wide settings; every field can be set as ``QUANTA_<FIELD>`` (in any case); a value
    given to the constructor wins over the environment's."""

    model_config = ConfigDict(extra="ignore", validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _environment(cls, given: Any) -> Any:
        if not isinstance(given, dict):
            return given
        environment = {key.lower(): value for key, value in os.environ.items()}
        prefix = ENV_PREFIX.lower()
        found = {
            name: environment[prefix + name] for name in cls.model_fields if prefix + name in environment
        }
        return {**found, **given}

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
