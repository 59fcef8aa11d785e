"""Request dependencies: who is calling, and the shared mesh acting for them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Query, Request

from quanta.errors import AuthenticationError, PermissionDenied
from quanta.mesh import Mesh, acting_as


@dataclass(frozen=True)
class Caller:
    """The shared ``Mesh`` and the principal a request acts for (None: the workspace user)."""

    mesh: Mesh
    principal: str | None
    scopes: frozenset[str] | None = None
    """What the caller's token allows (None: no token, local mode, everything the principal may do)."""

    def require(self, scope: str) -> None:
        """Refuse a request its token's scopes do not cover (the principal's own rights apply too)."""
        from quanta.mesh import scope_covers

        if self.scopes is not None and not scope_covers(self.scopes, scope):
            raise PermissionDenied(
                f"this token's scopes ({', '.join(sorted(self.scopes))}) do not include {scope!r}",
                hint=f"create a token with --scopes {scopes_with(self.scopes, scope)} (a token's scopes "
                "replace the default read,request; they are not added to it)",
            )

    @contextmanager
    def act(self) -> Iterator[Mesh]:
        """The mesh acting for this caller; use it in the endpoint's own thread."""
        with acting_as(self.principal):  # None: the workspace user, in local mode
            yield self.mesh


def scopes_with(scopes: frozenset[str], scope: str) -> str:
    """The ``--scopes`` value that keeps what a token may do and adds ``scope``, e.g. read,request."""
    from quanta.mesh import scopes_to_use

    return scopes_to_use(scopes, scope)


def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Caller:
    """Authenticate: a bearer token (or the web session cookie) names the principal; without one, the
    workspace user acts in local mode and the request is refused in server mode."""
    mesh: Mesh = request.app.state.mesh
    token = None
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthenticationError("use 'Authorization: Bearer <token>'", hint="quanta token create NAME")
        token = value.strip()
    elif request.cookies.get("quanta_token"):
        token = request.cookies["quanta_token"]
    if token is None:
        if request.app.state.server_mode:
            raise AuthenticationError("this server needs a token", hint="Authorization: Bearer <token>")
        return Caller(mesh, None)
    principal, scopes = mesh.authenticate(token)
    return Caller(mesh, principal.id, frozenset(scopes))


CallerDep = Annotated[Caller, Depends(caller)]
Limit = Annotated[int, Query(ge=1, le=500, description="Page size.")]
Offset = Annotated[int, Query(ge=0, description="Items to skip.")]
