"""Who an MCP caller is: the principal of its token and what the token's scopes allow."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from quanta.errors import PermissionDenied

if TYPE_CHECKING:
    from quanta.mesh import Mesh

CONNECT_SCOPES = frozenset({"agent", "read", "admin"})
"""A token needs one of these to use the MCP server at all."""
TOKEN_HINT = "quanta token create NAME --for PRINCIPAL --scopes agent,request"


@dataclass(frozen=True)
class Agent:
    """The principal an MCP session acts for (None: the workspace user, stdio in local mode) and its
    token's scopes (None: no token, everything the principal may do)."""

    principal: str | None
    scopes: frozenset[str] | None = None

    def require(self, scope: str) -> None:
        """Refuse a tool its token's scopes do not cover (the principal's own rights apply too):
        ``write`` covers what ``request`` guards, ``admin`` everything."""
        from quanta.mesh import scope_covers, scopes_to_use

        if self.scopes is None or scope_covers(self.scopes, scope):
            return
        also = " or 'write'" if scope == "request" else ""
        raise PermissionDenied(
            f"this token's scopes ({', '.join(sorted(self.scopes))}) do not include {scope!r}{also}",
            hint=f"create a token that has it: quanta token create NAME --scopes "
            f"{scopes_to_use(self.scopes, scope)} (a token's scopes replace the default; they are not "
            "added to it)",
        )

    @contextmanager
    def acting(self, mesh: Mesh) -> Iterator[Mesh]:
        """The shared mesh acting for this agent (in the thread that does the work)."""
        from quanta.mesh import acting_as

        with acting_as(self.principal):  # None: the workspace user (stdio in local mode)
            yield mesh


def authenticate(mesh: Mesh, token: str) -> Agent:
    """The agent a bearer token stands for; a clear error for a bad, expired or revoked token, or one
    without a scope that lets it use MCP (``agent``, ``read`` or ``admin``)."""
    principal, scopes = mesh.authenticate(token)
    if not CONNECT_SCOPES & set(scopes):
        raise PermissionDenied(
            f"the token of {principal.id} has scopes {', '.join(scopes) or 'none'}, none of "
            f"{', '.join(sorted(CONNECT_SCOPES))}",
            hint=f"an agent's token needs the agent (or read) scope: {TOKEN_HINT}",
        )
    return Agent(principal.id, frozenset(scopes))
