"""What an alert is, what a sink does with it, and how a failed send is classified (retry or not)."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from quanta.errors import QuantaError

EVENT_KINDS = ("incident.opened", "incident.closed", "build.failed", "publish", "breaking_change", "anomaly")
"""What alerts are about; routes choose among them."""


@dataclass(frozen=True)
class Alert:
    """One thing worth telling someone about a product, as every sink receives it."""

    id: str
    """Unique per alert (the same for every sink and every retry): receivers de-duplicate by it."""
    kind: str
    product_id: str | None
    severity: str
    """info, warning or critical"""
    title: str
    message: str
    at: datetime
    incident: dict[str, Any] | None = None
    """The incident it opened or closed: id, kind, key, status, opened_at, closed_at."""
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document a webhook receives (and the outbox keeps)."""
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        return cls(**{**data, "at": datetime.fromisoformat(data["at"])})


class DeliveryError(QuantaError):
    """A send failed in a way that may pass (timeout, refused connection, 5xx, 429): retried later."""

    retry = True


class PermanentDeliveryError(DeliveryError):
    """A send that will fail again the same way (a 4xx answer, a missing secret): not retried."""

    retry = False


class SinkConfig(BaseModel):
    """Settings every sink has; each sink type adds its own."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: str
    timeout: float = Field(default=5.0, gt=0, le=120, description="Seconds one send may take.")


class AlertSink(ABC):
    """Where alerts go. Subclasses set ``type_name`` and ``Config`` and implement :meth:`send`."""

    type_name: ClassVar[str]
    Config: ClassVar[type[SinkConfig]] = SinkConfig

    def __init__(self, name: str, config: SinkConfig) -> None:
        self.name = name
        self.config = config

    @abstractmethod
    def send(self, alert: Alert) -> None:
        """Deliver one alert within ``config.timeout``; raise :class:`DeliveryError` when it failed."""

    def problems(self) -> list[str]:
        """What would make every send fail now (e.g. an unset secret), for ``quanta alerts ls``."""
        return []

    def secret(self, variable: str) -> SecretStr:
        """A secret from the environment variable ``variable`` (secrets never sit in files or the
        registry)."""
        value = os.environ.get(variable)
        if not value:
            raise PermanentDeliveryError(
                f"sink {self.name}: environment variable {variable} is not set",
                hint=f"export {variable}=... where the deliverer runs (quanta serve, quanta build)",
            )
        return SecretStr(value)

    def missing(self, *variables: str | None) -> list[str]:
        return [f"environment variable {v} is not set" for v in variables if v and not os.environ.get(v)]
