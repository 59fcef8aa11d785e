"""The FastAPI application: one shared ``Mesh``, the caller's principal per request, problem details.

Errors are RFC 9457 ``application/problem+json`` rendered in one place: a ``QuantaError`` carries its
HTTP status; request validation errors name the field path; nothing else escapes as a bare 500.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from quanta.errors import AuthenticationError, QuantaError
from quanta.interfaces.api.caching import ConditionalGet

if TYPE_CHECKING:
    from quanta.mesh import Mesh

log = logging.getLogger("quanta.serve")
PROBLEM = "application/problem+json"
MAX_BODY = 1_000_000  # bytes; SQL and access requests are small, anything bigger is refused


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    """An RFC 9457 problem document."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def create_app(mesh: Mesh, *, server_mode: bool = False, scheduler: float | None = None) -> FastAPI:
    """The API (and, when installed, the web marketplace) over ``mesh``. In server mode every request
    needs ``Authorization: Bearer <token>``; locally the workspace user acts. ``scheduler``: run the
    cron schedules in the background, checking every that many seconds."""
    from quanta.interfaces.api import (
        control,
        deliveries,
        discovery,
        kpis,
        lineage,
        maturity,
        metrics,
        observability,
    )
    from quanta.interfaces.mcp import http as mcp_http

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        thread = None
        if scheduler:
            thread = threading.Thread(
                target=_schedule, args=(mesh, scheduler, stop), daemon=True, name="scheduler"
            )
            thread.start()
        async with mcp_sessions():
            yield
        stop.set()
        if thread is not None:
            thread.join(timeout=30)

    app = FastAPI(
        title="Quanta",
        version="1",
        description="Discovery, observability and control of a data mesh; every data read is governed.",
        lifespan=lifespan,
        # FastAPI's /docs and /redoc pages load their scripts from a CDN; Quanta serves nothing from
        # outside the package, so only the OpenAPI document itself is published.
        docs_url=None,
        redoc_url=None,
    )
    app.state.mesh = mesh
    app.state.server_mode = server_mode
    for module in (discovery, observability, lineage, maturity, kpis, control, deliveries):
        app.include_router(module.router, prefix="/api/v1")
    app.include_router(metrics.router)
    mcp_sessions = mcp_http.mount(app, mesh)  # MCP at /mcp: agents, each with its own bearer token
    _errors(app)
    _limits(app)
    app.add_middleware(ConditionalGet)
    _web(app)
    return app


def _schedule(mesh: Mesh, interval: float, stop: threading.Event) -> None:
    """Fire due schedules, then judge every product's freshness (opening and closing incidents), until
    stopped. Each worker may run this: the scheduler's database lease lets one of them build each due
    product, and incidents are de-duplicated in the database. A failure is logged and the loop goes on."""
    from quanta.mesh import ProblemLog

    owner, problems = f"serve-{os.getpid()}", ProblemLog(log)
    while not stop.wait(interval):
        found: list[str] = []
        try:
            found = [str(p) for p in mesh.schedule_problems()]
            for result in mesh.run_schedule(owner=owner):
                log.info("scheduled build of %s: %s", result.product_id, result.status)
        except QuantaError as exc:  # a positioned problem, not a bug: once, and the loop goes on
            found += [str(p) for p in getattr(exc, "problems", None) or [exc]]
        except Exception:
            log.exception("the scheduler failed; trying again in %s s", interval)
        problems.report(found)
        try:
            mesh.check_health()
        except Exception:
            log.exception("the health check failed; trying again in %s s", interval)


def _errors(app: FastAPI) -> None:
    @app.exception_handler(QuantaError)
    async def quanta_error(_request: Request, exc: QuantaError) -> JSONResponse:
        extra: dict[str, Any] = {"hint": exc.hint} if exc.hint else {}
        problems = getattr(exc, "problems", None)
        if problems:
            extra["errors"] = [p.to_dict() for p in problems]
        extra.update(getattr(exc, "details", None) or {})  # e.g. the terms a request must accept
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthenticationError) else None
        response = problem(exc.status, type(exc).__name__, exc.message, **extra)
        if headers:
            response.headers.update(headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "path": ".".join(str(p) for p in e.get("loc", ())),
                "message": e.get("msg", ""),
                "type": e.get("type"),
            }
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['path']}: {e['message']}" for e in errors) or "invalid request"
        return problem(422, "Unprocessable Content", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = problem(exc.status_code, "HTTP error", str(exc.detail))
        response.headers.update(exc.headers or {})  # e.g. Allow on 405
        return response

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        # A bug: say so without a traceback; the server log has it.
        return problem(500, "Internal Server Error", f"{type(exc).__name__}: {exc}"[:500])


def _limits(app: FastAPI) -> None:
    app.add_middleware(BodyLimit)


class BodyLimit:
    """Refuses a request whose declared body is over :data:`MAX_BODY` bytes. A pure ASGI middleware:
    a function middleware (``@app.middleware``) runs every request through a task and streams of
    its own, a millisecond that small requests (an agent's tool call) notice."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = Headers(scope=scope).get("content-length")
            if declared and declared.isdigit() and int(declared) > MAX_BODY:
                refused = problem(413, "Content Too Large", f"request body over {MAX_BODY:,} bytes")
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _web(app: FastAPI) -> None:
    """Mount the web marketplace when its package is there."""
    import importlib

    try:
        web = importlib.import_module("quanta.interfaces.web")
    except ModuleNotFoundError:
        return
    if hasattr(web, "mount"):
        web.mount(app)
