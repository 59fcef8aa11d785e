"""Platform KPIs and consumer feedback."""

from __future__ import annotations

from fastapi import APIRouter

from quanta.interfaces.api.models import problem_responses

router = APIRouter(responses=problem_responses(401, 403, 404, 422), tags=["kpis"])
