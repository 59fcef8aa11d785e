"""A standalone contract's data on one of its servers, read as ``datacontract test`` reads it.

Relative paths are read against the contract's folder, then the working directory (datacontract-cli
users run from a project root); text files (CSV, JSON) are read with the types the contract declares
where inference would contradict them; several files are unioned by column name, and a required column
missing from one of them fails, naming the file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quanta.contracts.run import Check
from quanta.contracts.servers import DuckDBTable, ServerError, targets
from quanta.engines.base import ArrowInput, ColumnStats, Engine, FileScan, Input
from quanta.errors import EngineCatalogError, EngineConversionError, EngineError

if TYPE_CHECKING:
    from quanta.spec.contract import Contract, SchemaObject, Server
    from quanta.spec.product import FileSource

Roots = list[tuple[str, Path]]
TEXT_FORMATS = ("csv", "json")


@dataclass
class ServerData:
    """Each object's input, what metadata knows of it, and what reading it found."""

    inputs: dict[str, Input] = field(default_factory=dict)
    stats: dict[str, dict[str, ColumnStats]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    """How the data was found, e.g. a path read relative to the working directory."""
    checks: list[Check] = field(default_factory=list)
    """Checks made while reading: a missing table, a required column missing from one file."""


def search_roots(contract_dir: Path, cwd: Path) -> Roots:
    """Where a relative server path is looked for, in order (one entry when both are the same)."""
    roots = [("the contract's folder", contract_dir.resolve()), ("the working directory", cwd.resolve())]
    return roots[:1] if roots[0][1] == roots[1][1] else roots


def read_server(
    contract: Contract, server: Server, roots: Roots, engine: Engine, json_format: str | None = None
) -> ServerData:
    """Every schema object's data on ``server``; JSON laid out as ``json_format`` says (DuckDB's
    ``newline_delimited`` or ``array``) when given."""
    from quanta.build.sources import reader_for
    from quanta.spec.product import FileSource

    data = ServerData()
    located = targets(contract, server)
    for obj in contract.objects:
        where = located[obj.name]
        if isinstance(where, DuckDBTable):
            _read_table(data, obj, where, roots, engine)
        elif isinstance(where, FileSource):
            _read_files(data, obj, where, roots, engine, json_format)
        else:
            data.inputs[obj.name] = _materialized(reader_for(where).read(where, root=roots[0][1]))
    data.notes = list(dict.fromkeys(data.notes))
    return data


def _materialized(data: Input) -> Input:
    """Streams can be read once; a test reads each table several times."""
    if isinstance(data, ArrowInput) and hasattr(data.data, "read_all"):
        return ArrowInput(data.data.read_all())
    return data


def resolve_file(path: str, roots: Roots, what: str) -> tuple[Path, str | None]:
    """``path`` in the first of ``roots`` where it exists, and a note when that is not the first; a
    ServerError naming every place searched when it exists nowhere."""
    if Path(path).is_absolute():
        if Path(path).is_file():
            return Path(path), None
        raise ServerError(f"{what} {path} does not exist", hint="fix the path or create the file")
    for index, (label, root) in enumerate(roots):
        if (root / path).is_file():
            note = f"{what} {path!r} read relative to {label} {root}" if index else None
            return (root / path).resolve(), note
    searched = ", ".join(str(root / path) for _, root in roots)
    order = ", then ".join(f"{label} ({root})" for label, root in roots)
    raise ServerError(
        f"{what} {path!r} does not exist (searched {searched})",
        hint=f"a relative path is read against {order}: fix the path or run from where it is relative to",
    )


def _read_table(
    data: ServerData, obj: SchemaObject, where: DuckDBTable, roots: Roots, engine: Engine
) -> None:
    database, note = resolve_file(where.database, roots, "DuckDB database")
    data.notes += [note] if note else []
    try:
        data.inputs[obj.name] = ArrowInput(engine.read_table(str(database), where.schema, where.table))
    except EngineCatalogError:
        # Each column of a missing table is missing, as a missing column of a present table is.
        name = f"{where.schema}.{where.table}" if where.schema else where.table
        tables = _tables(database)
        message = f"table {name} does not exist in {database}" + (f" (it has: {tables})" if tables else "")
        data.checks += [
            Check(
                f"{p.column} is present",
                "presence",
                "failed",
                "missing",
                "present",
                obj.name,
                p.column,
                message=message,
            )
            for p in obj.properties or []
        ] or [Check(f"{obj.name} is readable", "presence", "error", object=obj.name, message=message)]
    except EngineError as exc:
        raise ServerError(
            f"cannot open DuckDB database {database}: {str(exc).splitlines()[0]}",
            hint="check that the file is a DuckDB database (written by DuckDB 1.x or 2.x) not opened for "
            "writing by another process",
        ) from exc


def _tables(database: Path) -> str:
    import duckdb

    with duckdb.connect(str(database), read_only=True) as connection:
        rows = connection.execute("select schema_name, table_name from duckdb_tables() order by all")
        return ", ".join(f"{schema}.{table}" for schema, table in rows.fetchall()[:10])


def _read_files(
    data: ServerData,
    obj: SchemaObject,
    source: FileSource,
    roots: Roots,
    engine: Engine,
    json_format: str | None,
) -> None:
    from quanta.build.sources import first_matching, infer_format

    files, root = first_matching(source.path, roots)
    if root != roots[0][1]:
        label = next(label for label, folder in roots if folder == root)
        data.notes.append(f"path {source.path!r} read relative to {label} {root}")
    fmt = source.format or infer_format(files, source.path)
    # Files written over time differ in columns: read them all by name, not by the first file's columns.
    options: dict[str, Any] = {"union_by_name": True} if len(files) > 1 else {}
    if fmt == "json" and json_format:
        options["format"] = json_format
    scan = FileScan(files, fmt, options)
    if fmt in TEXT_FORMATS:
        # Types inferred from a sample hold only for it: a later value of another kind would fail the
        # whole read, or pass unseen when a rule reads only other columns. Infer from every row.
        options["sample_size"] = -1
        scan = FileScan(files, fmt, options)
        scan = FileScan(files, fmt, options, types=declared_types(obj, scan, engine))
        if fmt == "csv":
            scan = convertible(scan, engine)
    data.inputs[obj.name] = scan
    data.stats[obj.name] = engine.file_stats(scan)
    if len(files) > 1:
        data.checks += presence_per_file(obj, scan, engine)


def declared_types(obj: SchemaObject, scan: FileScan, engine: Engine) -> dict[str, str]:
    """The types to read a text file's columns as where DuckDB's inference contradicts the contract:
    a ``string`` column holding ``2006-01-01`` stays text, a ``timestamp`` column of dates is one.
    For JSON every column is listed (``read_json`` takes all or none)."""
    try:
        inferred = dict(engine.describe("select * from __data", {"__data": scan}))
    except EngineError:  # unreadable: the schema checks report why
        return {}
    wanted = {"string": "VARCHAR", "timestamp": "TIMESTAMP"}
    by_lower = {name.lower(): name for name in inferred}
    overrides: dict[str, str] = {}
    for prop in obj.properties or []:
        name = by_lower.get(prop.column.lower())
        target = wanted.get(prop.logical_type or "")
        if name is None or target is None or inferred[name].startswith(target):
            continue
        if target == "VARCHAR" or inferred[name] == "DATE":
            overrides[name] = target
    if not overrides:
        return {}
    return {**inferred, **overrides} if scan.format == "json" else overrides


def convertible(scan: FileScan, engine: Engine) -> FileScan:
    """``scan`` with each CSV column whose values do not all convert to the sniffed type read as text,
    so its type check fails instead of the whole read (DuckDB's sniffer can pick a date format that only
    some rows follow). Reads every value once."""
    types = dict(scan.types)
    for _ in range(64):  # one column per attempt; a file with more bad columns fails its checks instead
        candidate = FileScan(scan.files, scan.format, scan.options, scan.where, types)
        try:
            engine.first_row("select count(columns(*)) from __data", {"__data": candidate})
            return candidate
        except EngineConversionError as exc:
            column = re.search(r'converting column "((?:[^"]|"")+)"', str(exc))
            if column is None or types.get(column[1]) == "VARCHAR":
                return candidate
            types[column[1]] = "VARCHAR"
        except EngineError:  # unreadable for another reason: the checks say which
            return candidate
    return scan


def presence_per_file(obj: SchemaObject, scan: FileScan, engine: Engine) -> list[Check]:
    """For each required (or primary key) column: is it in every file? Reading by name fills a column
    an old file lacks with NULLs, which only a required column forbids."""
    required = [p.column for p in obj.properties or [] if p.required or p.primary_key]
    if not required:
        return []
    columns: dict[str, set[str]] = {}
    for path in scan.files:
        try:
            single = FileScan([path], scan.format)
            columns[path] = {n.lower() for n, _ in engine.describe("select * from __f", {"__f": single})}
        except EngineError:  # an unreadable file fails the scan of the whole object, which says why
            return []
    union = set().union(*columns.values())
    common = os.path.commonpath(scan.files) if len(scan.files) > 1 else ""
    checks = []
    for column in required:
        if column.lower() not in union:
            continue  # missing everywhere: the presence check says so
        lacking = [os.path.relpath(p, common) for p, names in columns.items() if column.lower() not in names]
        checks.append(
            Check(
                f"{column} is present in every file",
                "filePresence",
                "failed" if lacking else "passed",
                f"missing from {len(lacking)} of {len(columns)} files" if lacking else len(columns),
                "present in every file",
                obj.name,
                column,
                message=f"no column {column!r} in {', '.join(lacking[:3])}" if lacking else None,
            )
        )
    return checks
