"""Rendering for the web pages: the template environment, who is looking, and errors as pages.

Errors are rendered in one place, :class:`WebRoute`: a ``QuantaError`` becomes a page (or, for an htmx
request, a fragment) with its message and hint; a missing or bad token sends the browser to sign in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from quanta.errors import AuthenticationError, QuantaError

if TYPE_CHECKING:
    from quanta.mesh import Mesh

log = logging.getLogger("quanta.web")
HERE = Path(__file__).parent
TOKEN_COOKIE = "quanta_token"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.auto_reload = False  # compiled once per process: no stat of every template on each render
templates.env.filters["urlquote"] = lambda value: quote(str(value), safe="")
# Links from descriptors are shown as links only for these schemes (never javascript:).
templates.env.tests["web_link"] = lambda value: str(value).startswith(("https://", "http://", "mailto:"))


@dataclass(frozen=True)
class Viewer:
    """Who the page acts for, as the header shows it."""

    id: str
    roles: list[str]
    clearance: str
    signed_in: bool
    """A token (the session cookie) names the principal; otherwise the workspace user acts locally."""
    server_mode: bool

    @classmethod
    def of(cls, mesh: Mesh, request: Request) -> Viewer:
        """The acting principal; call inside ``caller.act()``."""
        principal = mesh.principal()
        return cls(
            principal.id,
            sorted(principal.roles),
            principal.clearance,
            TOKEN_COOKIE in request.cookies,
            bool(request.app.state.server_mode),
        )


def render(
    request: Request, template: str, viewer: Viewer | None, status: int = 200, **context: Any
) -> HTMLResponse:
    """A page or fragment from ``templates/``; every page knows its viewer and where it is."""
    response = templates.TemplateResponse(
        request, template, {"viewer": viewer, "path": request.url.path, **context}, status_code=status
    )
    response.headers["Cache-Control"] = "no-store"  # pages show governed data: keep it out of caches
    return response


def metadata_only(response: HTMLResponse) -> HTMLResponse:
    """A page that shows no governed data (only metadata the viewer may see): the viewer's own
    browser may keep it and revalidate it (ETag, 304)."""
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def error_response(request: Request, exc: QuantaError) -> HTMLResponse:
    """A refusal or failure as the user sees it: what is wrong and how to fix it, never a traceback."""
    if is_htmx(request):  # htmx swaps 2xx responses only: the fragment says what went wrong
        return render(request, "_error.html", None, error=exc)
    return render(request, "error.html", _viewer(request), status=exc.status, error=exc)


def _viewer(request: Request) -> Viewer | None:
    """Who sees an error page (its header still says who is signed in); None when nobody is."""
    from quanta.mesh import acting_as

    mesh: Mesh = request.app.state.mesh
    token = request.cookies.get(TOKEN_COOKIE)
    try:
        if token:
            principal, _ = mesh.authenticate(token)
            with acting_as(principal.id):
                return Viewer.of(mesh, request)
        return None if request.app.state.server_mode else Viewer.of(mesh, request)
    except Exception:  # a bad token, or the failure this page reports: the page offers to sign in
        return None


def sign_in(request: Request, exc: AuthenticationError) -> Response:
    """No token in server mode: to the sign-in page; a bad one: sign in again, with the reason."""
    if TOKEN_COOKIE not in request.cookies:
        target = "/login?next=" + quote(_here(request), safe="")
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    response = render(request, "login.html", None, status=401, error=exc, next=_here(request))
    response.delete_cookie(TOKEN_COOKIE, path="/")
    return response


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


class WebRoute(APIRoute):
    """A route whose errors (from the handler or its dependencies) are rendered as HTML."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except AuthenticationError as exc:
                return sign_in(request, exc)
            except QuantaError as exc:
                return error_response(request, exc)
            except RequestValidationError as exc:
                fields = "; ".join(
                    f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg', '')}"
                    for e in exc.errors()
                )
                return error_response(request, PageError(422, f"the form is not valid: {fields}"))
            except HTTPException:
                raise
            except Exception as exc:  # a bug: a page that says so; the log keeps the traceback
                log.exception("page %s failed", request.url.path)
                message = f"unexpected error: {type(exc).__name__}: {exc}"[:300]
                return error_response(request, PageError(500, message, hint="the server log has the details"))

        return guarded


class PageError(QuantaError):
    """A problem found by the web layer itself (a bad form, a bug), with its HTTP status."""

    def __init__(self, status: int, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint or "correct the field and try again")
        self.status = status
