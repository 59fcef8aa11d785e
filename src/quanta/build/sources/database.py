"""Database sources: a table or query read through SQLAlchemy and streamed as Arrow record batches.

Driver errors are translated here, once, into :class:`SourceError` naming the database and how to fix it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from quanta.build.sources.arrow import arrow_schema, record_batch
from quanta.build.sources.base import SourceError, SourceReader
from quanta.engines.base import ArrowInput
from quanta.spec.product import DatabaseSource

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlalchemy.engine import URL, Connection, CursorResult, Engine
    from sqlalchemy.sql import Executable
    from sqlalchemy.sql.elements import BindParameter
    from sqlalchemy.types import TypeEngine


class DatabaseReader(SourceReader[DatabaseSource]):
    """A table or query of a database reached through a SQLAlchemy URL, streamed as Arrow batches."""

    type = "database"
    batch_rows: ClassVar[int] = 65_536

    def read(self, source: DatabaseSource, *, root: Path, since: object | None = None) -> ArrowInput:
        import pyarrow as pa

        if not source.table and not source.query:
            raise SourceError(
                f"database source {_masked(source.url)} names no table or query", hint="set one"
            )
        url = database_url(source.url, root)
        shown = url.render_as_string(hide_password=True)
        what = f"table {source.table!r}" if source.table else f"query {_abridged(source.query or '')!r}"
        engine = _engine(url, shown)
        connection: Connection | None = None
        try:
            with _reported(shown, what, "check that the server is running and the URL is right"):
                connection = engine.connect()
            with _reported(shown, what, _hint(source)):
                types, statement = self._plan(connection, engine, source, since, shown, what)
                result = connection.execution_options(yield_per=self.batch_rows).execute(statement)
                first = result.fetchmany(self.batch_rows)
            schema = arrow_schema(list(result.keys()), types, first)
            batch = record_batch(first, schema, f"{what} of {shown}")
        except BaseException:
            if connection is not None:
                connection.close()
            engine.dispose()
            raise
        rest = self._rest(result, connection, engine, schema, shown, what)
        return ArrowInput(pa.RecordBatchReader.from_batches(schema, _chain(batch, rest)))

    def _plan(
        self,
        connection: Connection,
        engine: Engine,
        source: DatabaseSource,
        since: object,
        shown: str,
        what: str,
    ) -> tuple[dict[str, TypeEngine[Any]], Executable]:
        """SQL types by column (missing: infer from the values), and the SELECT to run."""
        import sqlalchemy as sa

        cursor = source.cursor if since is not None else None
        where = f"{what} in {shown}"
        if source.table:
            types = table_columns(connection, source.table, shown)
            schema, _, name = source.table.rpartition(".")
            table = sa.table(name, *(sa.column(c) for c in types), schema=schema or None)
            if not cursor:
                return types, sa.select(*table.c)
            _check_cursor(cursor, types, where)
            return types, sa.select(*table.c).where(table.c[cursor] > since_param(since, types[cursor]))
        query = (source.query or "").strip().rstrip(";").replace(":", r"\:")  # colons are not parameters
        types = query_types(engine, query)
        if not cursor:
            return types, sa.text(query)
        _check_cursor(cursor, types, where)
        column = connection.dialect.identifier_preparer.quote(cursor)
        sql = f"select * from ({query}) as quanta_source where quanta_source.{column} > :quanta_since"
        return types, sa.text(sql).bindparams(since_param(since, types.get(cursor)))

    def _rest(
        self,
        result: CursorResult[Any],
        connection: Connection,
        engine: Engine,
        schema: pa.Schema,
        shown: str,
        what: str,
    ) -> Iterator[pa.RecordBatch]:
        """Later batches; the connection closes when the stream ends (or is dropped)."""
        try:
            while True:
                with _reported(shown, what, "the database failed while rows were read; try again"):
                    rows = result.fetchmany(self.batch_rows)
                if not rows:
                    return
                yield record_batch(rows, schema, f"{what} of {shown}")
        finally:
            result.close()
            connection.close()
            engine.dispose()


def database_url(text: str, root: Path) -> URL:
    """The URL, with a relative SQLite file resolved against ``root`` (not the current folder)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(text)
    except (ArgumentError, ValueError) as exc:  # a port that is not a number is a ValueError
        raise SourceError(
            f"invalid database URL {_masked(text)}",
            hint="use a SQLAlchemy URL: sqlite:///data/warehouse.db, postgresql+psycopg://user@host/db",
        ) from exc
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:") or database.startswith("file:"):
        return url
    path = Path(database) if Path(database).is_absolute() else (root / database).resolve()
    if not path.is_file():
        raise SourceError(
            f"SQLite database {path} not found (from {url.render_as_string(hide_password=True)})",
            hint="sqlite:///path.db is relative to the workspace root, sqlite:////path.db is absolute",
        )
    return url.set(database=str(path))


def table_columns(connection: Connection, table: str, shown: str) -> dict[str, TypeEngine[Any]]:
    """Reflected column types of ``table`` (``schema.table`` for another schema)."""
    import sqlalchemy as sa
    from sqlalchemy.exc import NoSuchTableError

    schema, _, name = table.rpartition(".")
    inspector = sa.inspect(connection)
    try:
        columns = inspector.get_columns(name, schema=schema or None)
    except NoSuchTableError as exc:
        known = sorted(inspector.get_table_names(schema=schema or None))
        known += sorted(inspector.get_view_names(schema=schema or None))
        raise SourceError(
            f"table {table!r} not found in {shown}",
            hint=f"tables there: {', '.join(known[:20])}" if known else "the database has no tables",
        ) from exc
    return {column["name"]: column["type"] for column in columns}


def query_types(engine: Engine, query: str) -> dict[str, TypeEngine[Any]]:
    """Column types of a query, from a temporary view of it; empty when the database cannot tell."""
    import uuid

    import sqlalchemy as sa
    from sqlalchemy.exc import SQLAlchemyError

    view = f"quanta_probe_{uuid.uuid4().hex[:12]}"
    try:
        with engine.connect() as connection:  # its own connection: the view dies with it
            connection.execute(sa.text(f"create temporary view {view} as {query}"))
            columns = sa.inspect(connection).get_columns(view)
            connection.rollback()
    except SQLAlchemyError:
        return {}  # the query runs next and reports its own error, or types are inferred
    return {column["name"]: column["type"] for column in columns}


def since_param(since: object, sql_type: TypeEngine[Any] | None) -> BindParameter[Any]:
    """The cursor value as a bound parameter of the column's type (ISO text parsed to a date, etc.)."""
    import sqlalchemy as sa
    from sqlalchemy import types

    parsers: list[tuple[type[Any], Callable[[str], object]]] = [
        (types.DateTime, datetime.fromisoformat),
        (types.Date, date.fromisoformat),
        (types.Integer, int),
        (types.Float, float),
        (types.Numeric, Decimal),
    ]
    value = since
    if isinstance(sql_type, types.String) and not isinstance(since, str):
        value = str(since)  # text columns (ISO dates in SQLite) compare with text
    parse = next((p for kind, p in parsers if isinstance(sql_type, kind)), None)
    if isinstance(since, str) and parse is not None:
        try:
            value = parse(since)
        except (ValueError, ArithmeticError) as exc:
            raise SourceError(
                f"cursor value {since!r} is not a valid {sql_type}", hint="reset the cursor or fix its column"
            ) from exc
    typed = None if sql_type is None or isinstance(sql_type, types.NullType) else sql_type
    return sa.bindparam("quanta_since", value, type_=typed)


def _check_cursor(cursor: str, types: dict[str, Any], where: str) -> None:
    if types and cursor not in types:
        raise SourceError(
            f"cursor column {cursor!r} is not a column of {where}", hint=f"columns: {', '.join(types)}"
        )


def _chain(first: pa.RecordBatch, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield first
    yield from rest


def _engine(url: URL, shown: str) -> Engine:
    import sqlalchemy as sa
    from sqlalchemy.exc import NoSuchModuleError
    from sqlalchemy.pool import NullPool

    try:
        return sa.create_engine(url, poolclass=NullPool)
    except NoSuchModuleError as exc:
        raise SourceError(
            f"unknown database type {url.drivername!r} in {shown}",
            hint="use a SQLAlchemy dialect such as sqlite, postgresql+psycopg or mysql+pymysql",
        ) from exc
    except ImportError as exc:
        raise SourceError(
            f"the driver for {url.drivername!r} is not installed ({exc.name or exc}); needed by {shown}",
            hint="install it with pip, or name an installed driver (e.g. postgresql+psycopg)",
        ) from exc


@contextmanager
def _reported(shown: str, what: str, hint: str) -> Iterator[None]:
    """Driver and SQLAlchemy errors as one SourceError naming the database and what was read."""
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    try:
        yield
    except DBAPIError as exc:
        raise SourceError(f"cannot read {what} from {shown}: {_first_line(exc.orig)}", hint=hint) from exc
    except SQLAlchemyError as exc:
        raise SourceError(f"cannot read {what} from {shown}: {_first_line(exc)}", hint=hint) from exc


def _hint(source: DatabaseSource) -> str:
    if source.table:
        return "check the table name (schema.table for another schema) and the cursor column"
    return "run the query in the database's own client to see the problem; it must be a single SELECT"


def _first_line(error: BaseException | None) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def _abridged(query: str, limit: int = 60) -> str:
    flat = " ".join(query.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _masked(url: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
