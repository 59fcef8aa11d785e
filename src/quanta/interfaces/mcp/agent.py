"""Who an MCP caller is: the principal of its token and what the token's scopes allow."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from quanta.errors import PermissionDenied

if TYPE_CHECKING:
    from quanta.mesh import Mesh, TokenCheck

CONNECT_SCOPES = frozenset({"agent", "read", "admin"})
"""A token needs one of these to use the MCP server at all."""
TOKEN_HINT = "quanta token create NAME --for PRINCIPAL --scopes agent,request"
VERIFIED_SECONDS = 60.0
"""How long a verified token lets an agent's requests skip the check on the event loop (its tool
calls and resource reads are checked again, in their worker thread, every time)."""
_T = TypeVar("_T")


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


class Verified(Generic[_T]):
    """Bearer tokens verified lately, each with what its check found (kept by the SHA-256 of the token,
    never the token itself), for at most ``seconds`` and ``size`` tokens. Thread-safe."""

    def __init__(self, seconds: float = VERIFIED_SECONDS, size: int = 1024) -> None:
        self.seconds, self.size = seconds, size
        self._found: OrderedDict[str, tuple[_T, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str) -> _T | None:
        key, now = _key(token), time.monotonic()
        with self._lock:
            found = self._found.get(key)
            if found is None or now - found[1] >= self.seconds:
                return None
            return found[0]

    def put(self, token: str, value: _T) -> None:
        key = _key(token)
        with self._lock:
            self._found[key] = (value, time.monotonic())
            self._found.move_to_end(key)
            while len(self._found) > self.size:
                self._found.popitem(last=False)

    def forget(self, token: str) -> None:
        with self._lock:
            self._found.pop(_key(token), None)


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(mesh: Mesh, token: str) -> Agent:
    """The agent a bearer token stands for; a clear error for a bad, expired or revoked token, or one
    without a scope that lets it use MCP (``agent``, ``read`` or ``admin``)."""
    return verify(mesh, token)[0]


def verify(mesh: Mesh, token: str) -> tuple[Agent, TokenCheck]:
    """:func:`authenticate`, with what checks the token again cheaply later (``Mesh.token_unchanged``)."""
    checked = mesh.verify_token(token)
    principal, scopes = checked.principal, checked.scopes
    if not CONNECT_SCOPES & set(scopes):
        raise PermissionDenied(
            f"the token of {principal.id} has scopes {', '.join(scopes) or 'none'}, none of "
            f"{', '.join(sorted(CONNECT_SCOPES))}",
            hint=f"an agent's token needs the agent (or read) scope: {TOKEN_HINT}",
        )
    return Agent(principal.id, frozenset(scopes)), checked
