"""Slack-compatible incoming webhooks (Slack, Mattermost, Rocket.Chat): ``text`` plus Block Kit
``blocks`` (a header, the message, and a context line)."""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from quanta.observability.alerts.base import Alert, AlertSink, SinkConfig
from quanta.observability.alerts.http import post

ICONS = {"critical": ":red_circle:", "warning": ":warning:", "info": ":information_source:"}
RECOVERED = ":white_check_mark:"


class SlackConfig(SinkConfig):
    type: Literal["slack"] = "slack"
    url: str | None = Field(default=None, description="The incoming-webhook URL (or use url_env).")
    url_env: str | None = Field(default=None, description="Environment variable holding the URL.")

    @model_validator(mode="after")
    def _one_url(self) -> SlackConfig:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of url and url_env (the URL is a secret: url_env)")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError("url must be an http:// or https:// URL")
        return self


def payload(alert: Alert) -> dict[str, Any]:
    """The Slack message of an alert."""
    icon = RECOVERED if alert.kind == "incident.closed" else ICONS.get(alert.severity, "")
    headline = f"{icon} {alert.title}".strip()
    facts = [f"*{alert.kind}*", f"severity {alert.severity}", f"at {alert.at:%Y-%m-%d %H:%M} UTC"]
    if alert.product_id:
        facts.insert(0, f"`{alert.product_id}`")
    if alert.incident:
        facts.append(f"incident #{alert.incident.get('id')}")
    return {
        "text": f"{headline}: {alert.message}"[:3000],
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": headline[:150], "emoji": True}},
            {"type": "section", "text": {"type": "mrkdwn", "text": alert.message[:3000] or alert.title}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(facts)}]},
        ],
    }


class SlackSink(AlertSink):
    """Posts each alert to a Slack-compatible incoming webhook."""

    type_name: ClassVar[str] = "slack"
    Config: ClassVar[type[SinkConfig]] = SlackConfig
    config: SlackConfig

    def send(self, alert: Alert) -> None:
        url = self.config.url or self.secret(self.config.url_env or "").get_secret_value()
        body = json.dumps(payload(alert)).encode()
        post(url, body, {"Content-Type": "application/json"}, self.config.timeout, self.name)

    def problems(self) -> list[str]:
        return self.missing(self.config.url_env)
