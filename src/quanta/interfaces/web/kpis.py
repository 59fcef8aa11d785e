"""The platform KPI dashboard page and the feedback panel on the product page."""

from __future__ import annotations

from fastapi import APIRouter

from quanta.interfaces.web.pages import WebRoute

router = APIRouter(route_class=WebRoute, include_in_schema=False)
