"""Lineage: the product and column lineage graph and impact analysis."""

from __future__ import annotations

from fastapi import APIRouter

from quanta.interfaces.api.models import problem_responses

router = APIRouter(responses=problem_responses(401, 403, 404, 422), tags=["lineage"])
