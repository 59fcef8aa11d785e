"""What the command line and environment change about a contract test, as in datacontract-cli: server
fields from ``DATACONTRACT_<TYPE>_<FIELD>`` variables, and row filters (``--filter``/``--filters``)."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import replace
from typing import Any

from quanta.errors import EngineError, QuantaError
from quanta.spec.contract import Contract, Server

log = logging.getLogger("quanta.test")

# server type ► server field ► environment variable (an empty variable leaves the contract's value)
ENVIRONMENT = {
    "duckdb": {"database": "DATACONTRACT_DUCKDB_DATABASE", "schema_": "DATACONTRACT_DUCKDB_SCHEMA"},
    "postgres": {
        "host": "DATACONTRACT_POSTGRES_HOST",
        "port": "DATACONTRACT_POSTGRES_PORT",
        "database": "DATACONTRACT_POSTGRES_DATABASE",
        "schema_": "DATACONTRACT_POSTGRES_SCHEMA",
    },
}


class FilterError(QuantaError):
    """``--filter``/``--filters`` cannot be applied as given."""


def with_environment(server: Server) -> Server:
    """The server with the fields its type's ``DATACONTRACT_*`` variables set (logged, never silent)."""
    kind = "postgres" if server.type.lower() == "postgresql" else server.type.lower()
    updates: dict[str, Any] = {}
    for field, variable in ENVIRONMENT.get(kind, {}).items():
        value = os.environ.get(variable)
        if not value or getattr(server, field) == value:
            continue
        if field == "port" and not value.isdigit():
            raise QuantaError(f"{variable}={value!r} is not a port number", hint="e.g. 5432")
        updates[field] = int(value) if field == "port" else value
        log.info("server %r: %s %r from %s", server.server, field.rstrip("_"), value, variable)
    return server.model_copy(update=updates) if updates else server


def only_object(contract: Contract, name: str | None) -> Contract:
    """The contract with only the object ``--schema-name`` names (``all``: every object)."""
    if name is None or name == "all":
        return contract
    names = [o.name for o in contract.objects]
    if name not in names:
        raise FilterError(
            f"--schema-name {name!r}: contract {contract.id} has no such object",
            hint=f"objects: {', '.join(names) or 'none'} (or all)",
        )
    return contract.model_copy(update={"schema_": [o for o in contract.objects if o.name == name]})


def row_filters(contract: Contract, one: str | None, per_object: str | None) -> dict[str, str]:
    """Object name ► SQL predicate. ``--filter`` needs a contract of one object; ``--filters`` is a JSON
    object keyed by object name."""
    if one is not None and per_object is not None:
        raise FilterError("--filter and --filters are both given", hint="use one of them")
    names = [o.name for o in contract.objects]
    if one is not None:
        if not one.strip():
            raise FilterError(
                "--filter is empty", hint="give a SQL predicate, e.g. \"placed >= '2026-01-01'\""
            )
        if len(names) != 1:
            raise FilterError(
                f"--filter applies to one object, and contract {contract.id} has {len(names)}",
                hint=f'use --filters \'{{"{names[0] if names else "orders"}": "..."}}\' to name the object',
            )
        return {names[0]: one.strip()}
    if per_object is None:
        return {}
    usage = 'a JSON object of object name ► SQL predicate, e.g. --filters \'{"orders": "order_id > 100"}\''
    try:
        parsed = json.loads(per_object)
    except json.JSONDecodeError as exc:
        raise FilterError(f"--filters is not valid JSON: {exc}", hint=usage) from None
    if not isinstance(parsed, dict) or not parsed:
        raise FilterError("--filters must be a non-empty JSON object", hint=usage)
    for name, predicate in parsed.items():
        if name not in names:
            raise FilterError(f"--filters names {name!r}, which contract {contract.id} does not have",
                              hint=f"objects: {', '.join(names)}")  # fmt: skip
        if not isinstance(predicate, str) or not predicate.strip():
            raise FilterError(f"--filters: the predicate for {name!r} is empty or not a string", hint=usage)
    return {name: predicate.strip() for name, predicate in parsed.items()}


def filtered(engine: Any, name: str, data: Any, predicate: str) -> Any:
    """Only the rows of ``data`` where ``predicate`` holds: pushed into the file scan where there is one."""
    from quanta.engines.base import ArrowInput, FileScan

    try:  # the predicate is the user's: a mistake in it is theirs to fix, said before any check runs
        engine.describe(f'select * from "{name}" where {predicate}', {name: data})
        if isinstance(data, FileScan):
            where = f"({data.where}) and ({predicate})" if data.where else predicate
            return replace(data, where=where)
        return ArrowInput(engine.query(f'select * from "{name}" where {predicate}', {name: data}))
    except EngineError as exc:
        raise FilterError(
            f"the row filter for {name!r} cannot be applied: {str(exc).strip().splitlines()[0]}",
            hint='write it in DuckDB SQL over the object\'s columns, e.g. "amount > 0"',
        ) from None


JSON_LAYOUTS = {"new_line": "newline_delimited", "array": "array"}


def json_format(server: Server) -> str | None:
    """How JSON files are laid out by the server's ``delimiter`` (``new_line`` or ``array``), as the
    peer reads them; None without one (DuckDB tells the layout from the file)."""
    delimiter = (server.delimiter or "").lower()
    if not delimiter:
        return None
    if delimiter not in JSON_LAYOUTS:
        raise QuantaError(
            f"server {server.server!r} has delimiter {server.delimiter!r}, which JSON files cannot have",
            hint="use delimiter: new_line (one JSON object per line) or delimiter: array",
        )
    return JSON_LAYOUTS[delimiter]


def unreadable(engine: Any, name: str, data: Any) -> Any:
    """An error check when JSON cannot be read the way the server's delimiter says (DuckDB's DESCRIBE
    does not read far enough to notice), else None."""
    from quanta.contracts.run import Check
    from quanta.engines.base import FileScan

    if not isinstance(data, FileScan) or "format" not in data.options:
        return None
    try:
        engine.query(f'select count(*) from "{name}"', {name: data})
    except EngineError as exc:  # the reader's own words are the reason
        reason = str(exc).strip().splitlines()[0]
        hint = f"the files are not laid out as delimiter {data.options['format']!r} says"
        return Check(
            f"{name} is readable", "presence", "error", None, None, name, message=f"{reason} ({hint})"
        )
    return None
