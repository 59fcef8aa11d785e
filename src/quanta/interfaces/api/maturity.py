"""DATSIS maturity scores: each dimension and criterion, the level and its trend."""

from __future__ import annotations

from fastapi import APIRouter

from quanta.interfaces.api.models import problem_responses

router = APIRouter(responses=problem_responses(401, 403, 404, 422), tags=["maturity"])
