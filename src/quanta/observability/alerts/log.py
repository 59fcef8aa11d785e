"""The log sink: each alert as one line of the ``quanta.alerts`` logger (for servers whose logs are
collected anyway, and for trying routes out)."""

from __future__ import annotations

import json
import logging
from typing import ClassVar, Literal

from quanta.observability.alerts.base import Alert, AlertSink, SinkConfig

log = logging.getLogger("quanta.alerts")
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class LogConfig(SinkConfig):
    type: Literal["log"] = "log"
    level: Literal["debug", "info", "warning", "error"] = "warning"


class LogSink(AlertSink):
    """Logs each alert (title, then the alert as JSON)."""

    type_name: ClassVar[str] = "log"
    Config: ClassVar[type[SinkConfig]] = LogConfig
    config: LogConfig

    def send(self, alert: Alert) -> None:
        document = json.dumps(alert.to_dict(), sort_keys=True, default=str)
        log.log(LEVELS[self.config.level], "%s: %s %s", alert.kind, alert.title, document)
