"""One exception root for everything Quanta reports to a user.

Every error says what is wrong, where (file:line:column or field path) and how to fix it. Interfaces
render these in exactly one place; a traceback is only shown with ``--debug``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One positioned finding about a document: a schema violation, a broken reference, a bad cron..."""

    message: str
    source: str | None = None
    line: int | None = None
    column: int | None = None
    path: str = ""
    hint: str | None = None
    severity: Severity = "error"

    @property
    def location(self) -> str:
        parts = [self.source or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        where = f" (at {self.path})" if self.path else ""
        text = f"{self.location}: {self.severity}: {self.message}{where}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text

    def to_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "message": self.message,
            "source": self.source,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "hint": self.hint,
        }


class QuantaError(Exception):
    """Root of every error Quanta raises on purpose."""

    exit_code = 1
    status = 400
    """The HTTP status an API answers with (RFC 9457 problem details carry the rest)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class SpecError(QuantaError):
    """One or more documents are invalid; carries every problem found, not just the first."""

    status = 422

    def __init__(self, problems: list[Problem], message: str | None = None) -> None:
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(message or f"{len(errors)} problem(s) found")
        self.problems = problems


class WorkspaceError(QuantaError):
    """The workspace is missing or malformed."""


class RegistryError(QuantaError):
    """The registry refused a change (for example an immutable version registered twice)."""

    status = 409


class NotFoundError(QuantaError):
    """A product, version, contract or file that was asked for does not exist."""

    status = 404


class AuthenticationError(QuantaError):
    """No credentials, or credentials that are not (or no longer) valid."""

    status = 401


class PermissionDenied(QuantaError):
    """The acting principal may not do this (role, grant, space or policy)."""

    status = 403


class FormatError(QuantaError):
    """An import or export format is unknown or cannot represent the input."""


class PluginError(QuantaError):
    """A plugin (engine, format, alert sink ...) named by ``module:Class`` cannot be loaded."""


class EngineError(QuantaError):
    """An engine is unknown or unavailable, or failed to run a statement.

    Engines translate their driver's errors into this class (or a subclass below) in one place, with
    the storage paths taken out of the message; callers branch on the type, never on the text.
    """

    sqlstate = "XX000"
    """The SQLSTATE a PostgreSQL-wire client gets for it."""


class EngineConversionError(EngineError):
    """A value does not convert to the type asked for (a cast, a contract's column type)."""

    sqlstate = "22018"


class EngineCatalogError(EngineError):
    """A table, view, column type or function the statement names does not exist."""

    sqlstate = "42P01"


class EngineIOError(EngineError):
    """A file the statement reads or writes is missing or unreadable."""

    sqlstate = "58030"


class EnginePermissionError(EngineError):
    """A locked-down engine refused to touch a file, a setting or an extension."""

    status = 403
    sqlstate = "42501"


class EngineInterrupted(EngineError):
    """The statement was cancelled while it ran."""

    sqlstate = "57014"
