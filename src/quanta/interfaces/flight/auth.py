"""Who a Flight call comes from. A client signs in by handshake with basic auth (user = principal,
password = an API token), which answers with the bearer token to send on every later call
(``authorization: Bearer <token>``), or sends that header from the start. Tokens are checked by
``Mesh.authenticate`` on every call, so a revoked or expired token stops working at once.

In local mode (``quanta flight`` on loopback, as ``quanta pgwire``), loopback clients are trusted as the
principal they name, without a token: the user of the basic-auth handshake (its bearer is then
``local:<user>``), or the workspace user when they send no credentials at all.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow.flight as fl

from quanta.errors import QuantaError
from quanta.interfaces.flight.errors import flight_error, unauthenticated
from quanta.interfaces.pgwire.backend import needs_read

if TYPE_CHECKING:
    from quanta.interfaces.pgwire.backend import MeshBackend

LOOPBACK_PEERS = ("ipv4:127.", "ipv6:[::1]", "ipv6:%5B::1%5D", "unix:")
TRUSTED = "local:"
SIGN_IN = (
    "sign in with a handshake (user = principal, password = API token: quanta token create NAME "
    "--for USER) or send 'authorization: Bearer <API token>'"
)


@dataclass(frozen=True)
class Caller:
    """A call's credentials: a principal proven by a token, or (local mode) a user to trust."""

    principal: str | None
    trusted_user: str | None = None
    bearer: str | None = None
    """Sent back in the response headers (the handshake's answer)."""


class NoCheck(fl.ServerAuthHandler):
    """The handshake itself does nothing: :class:`Auth` reads its headers and answers with a bearer."""

    def authenticate(self, outgoing: object, incoming: object) -> None:
        return None

    def is_valid(self, token: bytes) -> str:
        return ""


class Auth(fl.ServerMiddlewareFactory):
    """Reads each call's ``authorization`` header into a :class:`Caller` (refusing bad credentials)."""

    def __init__(self, backend: MeshBackend, *, local_mode: bool) -> None:
        super().__init__()
        self.backend = backend
        self.local_mode = local_mode

    def start_call(self, info: fl.CallInfo, headers: dict[str, list[str]]) -> Signed:
        values = headers.get("authorization") or []
        scheme, _, value = (values[0] if values else "").partition(" ")
        if scheme.lower() == "basic":
            return Signed(self._basic(value.strip()))
        if scheme.lower() == "bearer":
            return Signed(self._bearer(value.strip()))
        if values:
            raise unauthenticated(f"unsupported authorization scheme {scheme!r}", SIGN_IN)
        if not self.local_mode:
            raise unauthenticated("this server needs an API token", SIGN_IN)
        return Signed(Caller(None, trusted_user=""))

    def _basic(self, value: str) -> Caller:
        try:
            padded = value + "=" * (-len(value) % 4)  # Go's Flight client sends it unpadded
            user, _, password = base64.b64decode(padded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise unauthenticated("malformed basic credentials", SIGN_IN) from None
        if self.local_mode and not password.startswith("qt_"):
            return Caller(None, trusted_user=user, bearer=TRUSTED + user)
        principal = self._token(password)
        if user and user != principal:
            raise unauthenticated(
                f"that API token is {principal}'s, not {user}'s", "sign in as the token's principal"
            )
        return Caller(principal, bearer=password)

    def _bearer(self, token: str) -> Caller:
        if token.startswith(TRUSTED):
            if not self.local_mode:
                raise unauthenticated("trusted sign-in is for local mode only", SIGN_IN)
            return Caller(None, trusted_user=token.removeprefix(TRUSTED))
        return Caller(self._token(token))

    def _token(self, token: str) -> str:
        try:
            principal, scopes = self.backend.mesh.authenticate(token)
            needs_read(principal.id, scopes)
        except QuantaError as exc:
            raise flight_error(exc) from None
        return principal.id


class Signed(fl.ServerMiddleware):
    """The call's :class:`Caller`; a handshake's answer carries the bearer token to use next."""

    def __init__(self, caller: Caller) -> None:
        super().__init__()
        self.caller = caller

    def sending_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.caller.bearer}"} if self.caller.bearer else {}


def principal(context: fl.ServerCallContext, backend: MeshBackend) -> str:
    """The principal a call acts as; trust (local mode) holds only for loopback clients."""
    signed: Signed | None = context.get_middleware("auth")
    if signed is None:
        raise unauthenticated("no credentials", SIGN_IN)
    caller = signed.caller
    if caller.principal is not None:
        return caller.principal
    if not context.peer().startswith(LOOPBACK_PEERS):
        raise unauthenticated("only loopback clients are trusted without a token", SIGN_IN)
    try:
        return backend.trusted(caller.trusted_user or "")
    except QuantaError as exc:
        raise flight_error(exc) from None
