"""Settings: one pydantic-settings object read from ``QUANTA_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

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
