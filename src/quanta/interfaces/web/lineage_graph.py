"""The interactive lineage graph on the product page (an htmx fragment)."""

from __future__ import annotations

from fastapi import APIRouter

from quanta.interfaces.web.pages import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)
