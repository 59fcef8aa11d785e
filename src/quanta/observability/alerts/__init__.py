"""Alert sinks, looked up by type name (``type:`` of a sink in ``alerts.yaml``).

Built-in sinks register in ``SINKS``; third parties add theirs through the ``quanta.alert_sinks`` entry
point group (the value names an :class:`AlertSink` subclass). Modules are imported only when used.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points

from quanta.observability.alerts.base import (
    EVENT_KINDS,
    Alert,
    AlertSink,
    DeliveryError,
    PermanentDeliveryError,
    SinkConfig,
)

SINKS: dict[str, str] = {
    "webhook": "quanta.observability.alerts.webhook:WebhookSink",
    "slack": "quanta.observability.alerts.slack:SlackSink",
    "email": "quanta.observability.alerts.email:EmailSink",
    "log": "quanta.observability.alerts.log:LogSink",
}
ENTRY_POINTS = "quanta.alert_sinks"


def sink_types() -> list[str]:
    return sorted({*SINKS, *(ep.name for ep in entry_points(group=ENTRY_POINTS))})


def sink_class(type_name: str) -> type[AlertSink] | None:
    """The sink class of a type name; None when no sink has that name."""
    target = SINKS.get(type_name) or next(
        (ep.value for ep in entry_points(group=ENTRY_POINTS) if ep.name == type_name), None
    )
    if target is None:
        return None
    module, _, attr = target.partition(":")
    found: type[AlertSink] = getattr(import_module(module), attr)
    return found


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
