"""Signed JSON webhooks: the alert as a JSON body, signed with HMAC-SHA256 and a shared secret.

A receiver verifies a request like this (see docs/observability.md):

1. read the raw body bytes and the headers ``X-Quanta-Timestamp`` (Unix seconds) and
   ``X-Quanta-Signature`` (``v1=<hex>``);
2. refuse a timestamp more than 5 minutes from its own clock (a replayed request);
3. compute ``HMAC-SHA256(secret, timestamp + "." + body)`` and compare it with the hex digest in
   constant time; refuse on mismatch;
4. de-duplicate by ``X-Quanta-Alert`` (the alert id): a retried delivery carries the same id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import ClassVar, Literal

from pydantic import Field, field_validator

from quanta.observability.alerts.base import Alert, AlertSink, SinkConfig
from quanta.observability.alerts.http import post

SIGNATURE_HEADER = "X-Quanta-Signature"
TIMESTAMP_HEADER = "X-Quanta-Timestamp"
ALERT_HEADER = "X-Quanta-Alert"
EVENT_HEADER = "X-Quanta-Event"
REPLAY_WINDOW = 300
"""Seconds a receiver should accept a signed request for (and the clock skew it tolerates)."""


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The signature header value of ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def verify(secret: bytes, body: bytes, timestamp: str, signature: str, now: float | None = None) -> bool:
    """Whether a received request is authentic and recent (for Python receivers)."""
    if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > REPLAY_WINDOW:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


def body_of(alert: Alert) -> bytes:
    return json.dumps(alert.to_dict(), sort_keys=True, separators=(",", ":"), default=str).encode()


class WebhookConfig(SinkConfig):
    type: Literal["webhook"] = "webhook"
    url: str = Field(description="http(s) URL the alert is POSTed to.")
    secret_env: str = Field(description="Environment variable holding the shared signing secret.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers.")

    @field_validator("url")
    @classmethod
    def _http(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return url


class WebhookSink(AlertSink):
    """POSTs each alert as signed JSON."""

    type_name: ClassVar[str] = "webhook"
    Config: ClassVar[type[SinkConfig]] = WebhookConfig
    config: WebhookConfig

    def send(self, alert: Alert) -> None:
        secret = self.secret(self.config.secret_env).get_secret_value().encode()
        body = body_of(alert)
        timestamp = int(time.time())
        headers = {
            **self.config.headers,
            "Content-Type": "application/json",
            "User-Agent": "quanta-alerts/1",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(secret, timestamp, body),
            ALERT_HEADER: alert.id,
            EVENT_HEADER: alert.kind,
        }
        post(self.config.url, body, headers, self.config.timeout, self.name)

    def problems(self) -> list[str]:
        return self.missing(self.config.secret_env)
