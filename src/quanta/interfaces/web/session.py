"""Signing in with an API token (server mode, or to act as another principal locally) and out.

The token goes into an HttpOnly, SameSite=Strict cookie that ``quanta.interfaces.api.deps.caller``
reads like a bearer header; scripts never see it and other sites cannot send it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from quanta.errors import AuthenticationError
from quanta.interfaces.web.pages import TOKEN_COOKIE, WebRoute, render

if TYPE_CHECKING:
    from quanta.mesh import Mesh

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: Annotated[str, Query(max_length=2000)] = "/") -> HTMLResponse:
    """The sign-in form (no caller yet: this is where one gets a session)."""
    return render(request, "login.html", None, next=_safe(next), error=None)


@router.post("/login", response_model=None)
def login(
    request: Request,
    token: Annotated[str, Form(max_length=500)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> RedirectResponse | HTMLResponse:
    """Check the token with the facade, then keep it in the session cookie."""
    mesh: Mesh = request.app.state.mesh
    try:
        principal, _scopes = mesh.authenticate(token.strip())
    except AuthenticationError as exc:
        return render(request, "login.html", None, status=401, next=_safe(next), error=exc)
    response = RedirectResponse(_safe(next), status_code=303)
    response.set_cookie(
        TOKEN_COOKIE,
        token.strip(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.headers["X-Quanta-Principal"] = principal.id
    return response


@router.post("/logout")
def logout() -> RedirectResponse:
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(TOKEN_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _safe(target: str) -> str:
    """Only a path on this site: never an open redirect."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
