"""Product page fragments for health: incidents, anomalies and schema changes (loaded by htmx)."""

from __future__ import annotations

from fastapi import APIRouter

from quanta.interfaces.web.pages import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)
