"""Prometheus metrics at ``/metrics`` (text exposition format)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["metrics"])
