"""SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL uses it, with API tokens as passwords.

A token's verifier is stored beside its hash when the token is made, in PostgreSQL's own format
(``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>``), so the wire server can check a client's
proof without ever holding the token. A principal's tokens share one salt (derived from the principal
id): the server must name the salt before it knows which of the principal's tokens the client holds,
and tokens are random enough that a per-token salt would protect nothing more.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

ITERATIONS = 4096
MECHANISM = "SCRAM-SHA-256"


class ScramError(Exception):
    """The client's SCRAM messages are malformed or its proof is wrong."""


def salt_for(principal: str) -> bytes:
    return hashlib.sha256(f"quanta-scram-salt:{principal}".encode()).digest()[:16]


def verifier(password: str, salt: bytes, iterations: int = ITERATIONS) -> str:
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    stored = hashlib.sha256(_hmac(salted, b"Client Key")).digest()
    server = _hmac(salted, b"Server Key")
    return f"{MECHANISM}${iterations}:{_b64(salt)}${_b64(stored)}:{_b64(server)}"


@dataclass(frozen=True)
class Verifier:
    iterations: int
    salt: bytes
    stored_key: bytes
    server_key: bytes

    @classmethod
    def parse(cls, text: str) -> Verifier:
        mechanism, _, rest = text.partition("$")
        counts, _, keys = rest.partition("$")
        iterations, _, salt = counts.partition(":")
        stored, _, server = keys.partition(":")
        if mechanism != MECHANISM or not iterations.isdigit():
            raise ValueError(f"not a {MECHANISM} verifier")
        return cls(int(iterations), _unb64(salt), _unb64(stored), _unb64(server))


class ServerExchange:
    """One server side of a SCRAM exchange: client-first ► server-first, client-final ► server-final."""

    def __init__(self, salt: bytes, iterations: int = ITERATIONS) -> None:
        self.salt, self.iterations = salt, iterations
        self.nonce = ""
        self.client_first_bare = ""
        self.server_first = ""

    def first(self, client_first: bytes) -> bytes:
        text = _text(client_first)
        gs2, sep, bare = text.partition(",,")  # "n,," (no channel binding) or "y,,"
        if not sep or (gs2 not in ("n", "y") and not gs2.startswith("n,a=")):
            raise ScramError("channel binding is not supported: use sslmode without channel_binding=require")
        attributes = _attributes(bare)
        if "r" not in attributes:
            raise ScramError("client-first-message has no nonce")
        self.client_first_bare = bare
        self.nonce = attributes["r"] + base64.b64encode(secrets.token_bytes(18)).decode()
        self.server_first = f"r={self.nonce},s={_b64(self.salt)},i={self.iterations}"
        return self.server_first.encode()

    def final(self, client_final: bytes, verifiers: list[Verifier]) -> tuple[int, bytes]:
        """The index of the verifier whose password made the proof, and the server-final message."""
        text = _text(client_final)
        without_proof, _, proof_part = text.rpartition(",p=")
        attributes = _attributes(without_proof)
        if attributes.get("r") != self.nonce or not proof_part:
            raise ScramError("client-final-message does not continue this exchange")
        proof = _unb64(proof_part)
        auth_message = f"{self.client_first_bare},{self.server_first},{without_proof}".encode()
        for index, known in enumerate(verifiers):
            signature = _hmac(known.stored_key, auth_message)
            if len(proof) != len(signature):
                continue
            client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
            if hmac.compare_digest(hashlib.sha256(client_key).digest(), known.stored_key):
                server_signature = _hmac(known.server_key, auth_message)
                return index, f"v={_b64(server_signature)}".encode()
        raise ScramError("wrong password")


def _attributes(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if sep and len(key) == 1:
            out.setdefault(key, value)
    return out


def _text(data: bytes) -> str:
    try:
        return data.decode()
    except UnicodeDecodeError as exc:
        raise ScramError("SCRAM message is not UTF-8") from exc


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise ScramError("invalid base64 in SCRAM message") from exc
