"""Alert sinks, looked up by type name (``type:`` of a sink in ``alerts.yaml``).

Built-in sinks register in ``SINKS``; third parties add theirs through the ``quanta.alert_sinks`` entry
point group (the value names an :class:`AlertSink` subclass). Modules are imported only when used.
"""

from __future__ import annotations

from quanta.observability.alerts.base import (
    EVENT_KINDS,
    Alert,
    AlertSink,
    DeliveryError,
    PermanentDeliveryError,
    SinkConfig,
)
from quanta.plugins import PluginRegistry

SINKS: dict[str, str] = {
    "webhook": "quanta.observability.alerts.webhook:WebhookSink",
    "slack": "quanta.observability.alerts.slack:SlackSink",
    "email": "quanta.observability.alerts.email:EmailSink",
    "log": "quanta.observability.alerts.log:LogSink",
}
ENTRY_POINTS = "quanta.alert_sinks"
_REGISTRY = PluginRegistry(ENTRY_POINTS, SINKS, AlertSink)


def sink_types() -> list[str]:
    return _REGISTRY.names()


def sink_class(type_name: str) -> type[AlertSink] | None:
    """The sink class of a type name; None when no sink has that name."""
    return _REGISTRY.find(type_name)


__all__ = [
    "EVENT_KINDS",
    "Alert",
    "AlertSink",
    "DeliveryError",
    "PermanentDeliveryError",
    "SinkConfig",
    "sink_class",
    "sink_types",
]
