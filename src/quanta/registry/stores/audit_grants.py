"""The audit log (hash-chained) and access grants, as part of the registry."""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from quanta.errors import NotFoundError, RegistryError
from quanta.registry.models import ApiToken, AuditEntry, Grant, Subscription, utcnow

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

GENESIS = "0" * 64
APPEND_PATIENCE = 30.0
"""Seconds an audit entry waits for other processes appending at the same time before giving up."""
_APPENDERS: dict[str, threading.Lock] = {}
_APPENDERS_LOCK = threading.Lock()
_LAST_LINK = select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
_APPEND = insert(AuditEntry)
_TOKEN = select(ApiToken.__table__).where(ApiToken.id == bindparam("id"))


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at: datetime
    kind: str
    actor: str
    domain: str | None
    subject: str
    decision: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class GrantRecord:
    id: int
    principal: str
    product_id: str
    columns: list[str]
    purpose: str
    status: str
    requested_at: datetime
    requested_days: int
    decided_by: str | None
    expires_at: datetime | None
    reason: str | None
    policy: str | None = None
    """The access policies (``id@version``) that decided the request, if any did."""
    policy_reason: str | None = None
    terms: dict[str, Any] | None = None

    def active(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return self.status == "granted" and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True)
class TokenRecord:
    id: str
    principal: str
    name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= utcnow() else "active"


def _appender(url: str) -> threading.Lock:
    """The lock this process's appenders to the audit log at ``url`` take in turn."""
    with _APPENDERS_LOCK:
        return _APPENDERS.setdefault(url, threading.Lock())


def entry_hash(prev_hash: str, seq: int, at: datetime, fields: dict[str, Any]) -> str:
    """The chain link: everything a row says, and the hash of the row before it."""
    body = json.dumps(
        {"seq": seq, "at": at.isoformat(), **fields}, sort_keys=True, default=str, separators=(",", ":")
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def _fields(row: AuditEntry) -> dict[str, Any]:
    return {
        "kind": row.kind,
        "actor": row.actor,
        "domain": row.domain,
        "subject": row.subject,
        "decision": row.decision,
        "details": row.details,
    }


class GovernanceStore:
    """Mixin of :class:`Registry`: the audit log and grants."""

    session: Callable[[], AbstractContextManager[Session]]
    engine: Engine

    # --- audit ---------------------------------------------------------------------------------

    def audit(self, kind: str, actor: str, subject: str, decision: str, **entry: Any) -> int:
        """Append one entry (``domain``, ``details``: see :meth:`audit_link`) to the chain; returns
        its sequence number."""
        seq: int = self.audit_link(kind, actor, subject, decision, **entry)[0]
        return seq

    def audit_link(
        self,
        kind: str,
        actor: str,
        subject: str,
        decision: str,
        *,
        domain: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> tuple[int, str]:
        """:meth:`audit`, returning the entry's link in the chain: (sequence number, hash). Two plain
        SQL statements on one connection, no ORM session: every governed read writes one."""
        fields = {
            "kind": kind,
            "actor": actor,
            "domain": domain,
            "subject": subject,
            "decision": decision,
            "details": json.loads(json.dumps(details or {}, default=str)),
        }
        # One appender at a time in this process (each entry names the one before it); another
        # process may still take the same next number: the loser retries after a short random wait.
        deadline, attempt = time.monotonic() + APPEND_PATIENCE, 0
        while True:
            with _appender(str(self.engine.url)):
                try:
                    with self.engine.begin() as connection:
                        last = connection.execute(_LAST_LINK).first()
                        seq, prev = (last[0] + 1, str(last[1])) if last else (1, GENESIS)
                        at = utcnow()
                        link = entry_hash(prev, seq, at, fields)
                        row = {"seq": seq, "at": at, "prev_hash": prev, "hash": link, **fields}
                        connection.execute(_APPEND, row)
                    return seq, link
                except IntegrityError:
                    pass
                except SQLAlchemyError as exc:
                    message = f"cannot append to the audit log: {getattr(exc, 'orig', exc)}"
                    raise RegistryError(message) from None
            attempt += 1
            if time.monotonic() > deadline:
                waited = f"{APPEND_PATIENCE:.0f} s"
                raise RegistryError(
                    f"could not append to the audit log: other processes kept appending for {waited}",
                    hint="nothing was read; try again",
                )
            time.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))

    def audit_entries(self, *, domain: str | None = None, limit: int | None = None) -> list[AuditRecord]:
        query = select(AuditEntry).order_by(AuditEntry.seq)
        if domain:
            query = query.where(AuditEntry.domain == domain)
        with self.session() as s:
            records = [_audit_record(r) for r in s.scalars(query)]
        return records[-limit:] if limit else records

    def audit_entry(self, seq: int) -> AuditRecord | None:
        """One entry by its position in the chain (None when there is none)."""
        with self.session() as s:
            row = s.get(AuditEntry, seq)
            return _audit_record(row) if row is not None else None

    def verify_audit(self, upto: int | None = None) -> tuple[int, list[str]]:
        """(entries checked, problems): every edit, deletion or reordering breaks a link somewhere.
        ``upto``: only the chain up to that entry (what a receipt issued at that entry vouches for)."""
        problems: list[str] = []
        query = select(AuditEntry).order_by(AuditEntry.seq)
        if upto is not None:
            query = query.where(AuditEntry.seq <= upto)
        with self.session() as s:
            rows = list(s.scalars(query))
            expected_seq, prev = 1, GENESIS
            for row in rows:
                if row.seq != expected_seq:
                    missing = (
                        f"{expected_seq}" if row.seq == expected_seq + 1 else f"{expected_seq}-{row.seq - 1}"
                    )
                    problems.append(f"entry {missing} is missing (deleted)")
                if row.prev_hash != prev:
                    problems.append(
                        f"entry {row.seq} does not follow the entry before it (deleted or reordered)"
                    )
                if entry_hash(row.prev_hash, row.seq, row.at, _fields(row)) != row.hash:
                    problems.append(f"entry {row.seq} was edited: its content no longer matches its hash")
                expected_seq, prev = row.seq + 1, row.hash
        return len(rows), problems

    def audit_head(self) -> tuple[int, str]:
        with self.session() as s:
            count = s.scalar(select(func.count()).select_from(AuditEntry)) or 0
            last = s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()
            return count, last.hash if last else GENESIS

    # --- tokens --------------------------------------------------------------------------------

    def add_token(
        self,
        token_id: str,
        principal: str,
        name: str,
        secret_hash: str,
        scopes: list[str],
        days: int,
        scram_verifier: str | None = None,
    ) -> TokenRecord:
        with self.session() as s:
            row = ApiToken(
                id=token_id,
                principal=principal,
                name=name,
                secret_hash=secret_hash,
                scram_verifier=scram_verifier,
                scopes={"scopes": scopes},
                expires_at=utcnow() + timedelta(days=days),
            )
            s.add(row)
            s.flush()
            return _token(row)

    def token(self, token_id: str) -> tuple[TokenRecord, str] | None:
        """A token and its stored hash (None when unknown): read on every authenticated request (so a
        revocation holds from the next one), with a statement built once."""
        try:
            with self.engine.connect() as connection:
                row = connection.execute(_TOKEN, {"id": token_id}).first()
        except SQLAlchemyError as exc:
            raise RegistryError(f"registry database unavailable: {getattr(exc, 'orig', exc)}") from None
        return (_token(row), row.secret_hash) if row is not None else None  # type: ignore[arg-type]

    def scram_verifiers(self, principal: str) -> list[tuple[TokenRecord, str]]:
        """The principal's tokens that carry a SCRAM verifier, with it (whatever their status)."""
        query = select(ApiToken).where(ApiToken.principal == principal, ApiToken.scram_verifier.is_not(None))
        with self.session() as s:
            return [(_token(t), str(t.scram_verifier)) for t in s.scalars(query)]

    def token_used(self, token_id: str) -> None:
        """Remember that a token just authenticated someone."""
        with self.session() as s:
            row = s.get(ApiToken, token_id)
            if row is not None:
                row.last_used_at = utcnow()

    def tokens(self, principal: str | None = None) -> list[TokenRecord]:
        query = select(ApiToken).order_by(ApiToken.created_at)
        if principal:
            query = query.where(ApiToken.principal == principal)
        with self.session() as s:
            return [_token(t) for t in s.scalars(query)]

    def revoke_token(self, token_id: str) -> TokenRecord:
        with self.session() as s:
            row = s.get(ApiToken, token_id)
            if row is None:
                raise NotFoundError(f"no token {token_id}", hint="see quanta token ls")
            row.revoked_at = row.revoked_at or utcnow()
            s.info["catalog_changed"] = True  # servers that remember verified tokens check this counter
            return _token(row)

    # --- subscriptions -------------------------------------------------------------------------

    def subscribe(self, principal: str, product_id: str) -> bool:
        """Follow a product; False when already following it."""
        with self.session() as s:
            found = s.scalar(
                select(Subscription).where(
                    Subscription.principal == principal, Subscription.product_id == product_id
                )
            )
            if found is not None:
                return False
            s.add(Subscription(principal=principal, product_id=product_id))
            return True

    def unsubscribe(self, principal: str, product_id: str) -> bool:
        with self.session() as s:
            found = s.scalar(
                select(Subscription).where(
                    Subscription.principal == principal, Subscription.product_id == product_id
                )
            )
            if found is None:
                return False
            s.delete(found)
            return True

    def subscriptions(self, principal: str) -> list[str]:
        with self.session() as s:
            query = select(Subscription.product_id).where(Subscription.principal == principal)
            return sorted(s.scalars(query))

    # --- grants --------------------------------------------------------------------------------

    def request_grant(
        self,
        principal: str,
        product_id: str,
        columns: list[str],
        purpose: str,
        days: int,
        *,
        policy: tuple[str, str] | None = None,
        terms: dict[str, Any] | None = None,
    ) -> int:
        """A new request; ``policy``: (deciding policies, their reason), ``terms``: those accepted."""
        with self.session() as s:
            row = Grant(
                principal=principal,
                product_id=product_id,
                columns={"columns": columns},
                purpose=purpose,
                status="requested",
                requested_days=days,
                policy=policy[0] if policy else None,
                policy_reason=policy[1] if policy else None,
                terms=terms,
            )
            s.add(row)
            s.flush()
            return row.id

    def decide_grant(self, grant_id: int, status: str, by: str, reason: str | None = None) -> GrantRecord:
        with self.session() as s:
            row = s.get(Grant, grant_id)
            if row is None:
                raise NotFoundError(f"no access request {grant_id}", hint="see quanta access ls")
            row.status, row.decided_by, row.decided_at, row.reason = status, by, utcnow(), reason
            if status == "granted":
                row.expires_at = utcnow() + timedelta(days=row.requested_days)
            s.flush()
            return grant_record(row)

    def grants(self, *, principal: str | None = None, product_id: str | None = None) -> list[GrantRecord]:
        query = select(Grant).order_by(Grant.id)
        if principal:
            query = query.where(Grant.principal == principal)
        if product_id:
            query = query.where(Grant.product_id == product_id)
        with self.session() as s:
            return [grant_record(g) for g in s.scalars(query)]


def _audit_record(r: AuditEntry) -> AuditRecord:
    return AuditRecord(
        r.seq, r.at, r.kind, r.actor, r.domain, r.subject, r.decision, dict(r.details), r.prev_hash, r.hash
    )


def grant_record(row: Grant | Any) -> GrantRecord:
    return GrantRecord(
        row.id,
        row.principal,
        row.product_id,
        list((row.columns or {}).get("columns") or []),
        row.purpose,
        row.status,
        row.requested_at,
        row.requested_days,
        row.decided_by,
        row.expires_at,
        row.reason,
        row.policy,
        row.policy_reason,
        row.terms,
    )


def _token(row: ApiToken) -> TokenRecord:
    return TokenRecord(
        row.id,
        row.principal,
        row.name,
        list((row.scopes or {}).get("scopes") or []),
        row.created_at,
        row.expires_at,
        row.revoked_at,
        row.last_used_at,
    )
