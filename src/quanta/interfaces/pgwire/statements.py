"""What a SQL string sent over the wire asks for: split into statements, each classified as a query, a
read-only session operation (BEGIN, SET, SHOW ...) or something a read-only server refuses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Kind = Literal["query", "empty", "begin", "commit", "rollback", "savepoint", "release", "set", "reset",
               "show", "discard", "deallocate", "declare", "fetch", "close", "refused"]  # fmt: skip

_SESSION_WORDS: dict[str, Kind] = {
    "BEGIN": "begin",
    "START": "begin",
    "COMMIT": "commit",
    "END": "commit",
    "ROLLBACK": "rollback",
    "ABORT": "rollback",
    "SAVEPOINT": "savepoint",
    "RELEASE": "release",
    "SET": "set",
    "RESET": "reset",
    "SHOW": "show",
    "DISCARD": "discard",
    "DEALLOCATE": "deallocate",
    "DECLARE": "declare",
    "FETCH": "fetch",
    "MOVE": "fetch",
    "CLOSE": "close",
}
_QUERY_WORDS = {"SELECT", "WITH", "VALUES", "TABLE", "("}
# Statements PostgreSQL knows that would change something: refused as writes (25006), any other word
# is a syntax error (42601).
WRITES = {"INSERT", "UPDATE", "DELETE", "MERGE", "COPY", "CREATE", "DROP", "ALTER", "TRUNCATE", "GRANT",
          "REVOKE", "VACUUM", "ANALYZE", "CLUSTER", "REINDEX", "COMMENT", "LOCK", "CALL", "DO", "REFRESH",
          "IMPORT", "SECURITY", "LISTEN", "NOTIFY", "UNLISTEN", "PREPARE", "EXECUTE", "CHECKPOINT", "LOAD",
          "REASSIGN", "EXPLAIN", "ATTACH", "DETACH", "INSTALL", "PRAGMA", "EXPORT", "USE"}  # fmt: skip
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_PARAMETER = re.compile(r"\$(\d+)")


@dataclass(frozen=True)
class Statement:
    """One statement of a query string, with its first keyword decided."""

    kind: Kind
    sql: str
    verb: str

    @property
    def parameters(self) -> int:
        """The highest ``$n`` placeholder (outside strings: a close enough count for Describe)."""
        return max((int(n) for n in _PARAMETER.findall(_without_strings(self.sql))), default=0)


def split(sql: str) -> list[Statement]:
    """Statements of ``sql`` in order; semicolons inside strings, identifiers and comments do not split."""
    parts, start, quote, i = [], 0, "", 0
    text = sql
    while i < len(text):
        char = text[i]
        if quote:
            if char == quote:
                quote = ""
        elif char in ("'", '"'):
            quote = char
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = len(text) if end < 0 else end + 2
            continue
        elif text.startswith("$$", i):
            end = text.find("$$", i + 2)
            i = len(text) if end < 0 else end + 2
            continue
        elif char == ";":
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    statements = [classify(p) for p in parts]
    meaningful = [s for s in statements if s.kind != "empty"]
    return meaningful or [Statement("empty", "", "")]


def classify(sql: str) -> Statement:
    body = _COMMENTS.sub(" ", sql).strip()
    if not body:
        return Statement("empty", "", "")
    verb = "(" if body.startswith("(") else re.split(r"\s+|\(", body, maxsplit=1)[0].upper()
    if verb in _QUERY_WORDS:
        return Statement("query", sql.strip(), "SELECT")
    if verb in _SESSION_WORDS:
        return Statement(_SESSION_WORDS[verb], body, verb)
    return Statement("refused", body, verb)


def _without_strings(sql: str) -> str:
    return re.sub(r"'(?:[^']|'')*'", "''", _COMMENTS.sub(" ", sql))


_SET = re.compile(
    r"^SET\s+(?:SESSION\s+|LOCAL\s+)?(?P<name>[\w.]+)\s*(?:=|\bTO\b)\s*(?P<value>.+?)\s*$",
    re.IGNORECASE | re.DOTALL,
)
_SET_TIME_ZONE = re.compile(r"^SET\s+(?:SESSION\s+|LOCAL\s+)?TIME\s+ZONE\s+(?P<value>.+?)\s*$", re.I)


def set_assignment(sql: str) -> tuple[str, str] | None:
    """``SET name = value`` ► (name, value) unquoted; None for the forms that set nothing we keep
    (``SET TRANSACTION ...``, ``SET SESSION CHARACTERISTICS ...``)."""
    zone = _SET_TIME_ZONE.match(sql)
    if zone:
        return "timezone", _unquote(zone["value"])
    found = _SET.match(sql)
    if not found:
        return None
    return found["name"].lower(), _unquote(found["value"])


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1].replace(value[0] * 2, value[0])
    return value


_DECLARE = re.compile(
    r"^DECLARE\s+(?P<name>\"[^\"]+\"|\w+)\s+(?:BINARY\s+|INSENSITIVE\s+|(?:NO\s+)?SCROLL\s+)*CURSOR\s+"
    r"(?:WITH(?:OUT)?\s+HOLD\s+)?FOR\s+(?P<query>.+)$",
    re.IGNORECASE | re.DOTALL,
)
_FETCH = re.compile(
    r"^(?P<verb>FETCH|MOVE)\s+(?:(?P<direction>NEXT|ALL|FORWARD\s+ALL|FORWARD\s+\d+|FORWARD|\d+)\s+)?"
    r"(?:FROM\s+|IN\s+)?(?P<name>\"[^\"]+\"|\w+)\s*$",
    re.IGNORECASE,
)


def declared_cursor(sql: str) -> tuple[str, str] | None:
    """``DECLARE name ... CURSOR FOR query`` ► (name, query)."""
    found = _DECLARE.match(sql.strip())
    return (found["name"].strip('"'), found["query"]) if found else None


def fetch_request(sql: str) -> tuple[str, str, int] | None:
    """``FETCH [FORWARD] [n|ALL] FROM name`` ► (verb, name, rows; 0 for all)."""
    found = _FETCH.match(sql.strip())
    if not found:
        return None
    direction = (found["direction"] or "NEXT").upper().split()
    count = 1 if direction[-1] in ("NEXT", "FORWARD") else 0 if direction[-1] == "ALL" else int(direction[-1])
    return found["verb"].upper(), found["name"].strip('"'), count


REMEMBERED_SQL = 16_384
"""Statements up to this long are remembered (split, catalog or not); longer ones are worked out each
time, so that large query texts cannot fill the server's memory."""


def split_remembered(sql: str) -> list[Statement]:
    """``split``, remembered: drivers send the same statements again and again (a list never changed)."""
    return _remembered_split(sql) if len(sql) <= REMEMBERED_SQL else split(sql)


_remembered_split = lru_cache(maxsize=512)(split)
