"""The governed query service: parse ► resolve products ► authorize ► mask and filter ► locked engine.

Every product a query names is replaced by a subquery that reads only the files of the authorized
snapshot and exposes only what the principal may see: columns outside a grant are absent, columns
above the principal's clearance are masked, row filters apply. The user's SQL never touches the
clear data, so masks hold through CTEs, subqueries, UNION, casts, ``SELECT *`` and error messages.
The parser refuses everything that is not one read-only query over products (table functions,
catalog functions, PRAGMA/SET/COPY/ATTACH/INSTALL/LOAD ...); the DuckDB connection is locked down
besides (no file access outside the warehouse, configuration locked), in case the parser misses one.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from quanta.engines.base import TableScan
from quanta.errors import EngineError
from quanta.governance.access import Access
from quanta.governance.masks import column_views, masked_sql
from quanta.governance.model import Principal
from quanta.query.cursor import RunningQuery
from quanta.query.products import AccessDenied, QueryError, parse_one_statement, parse_ref
from quanta.spec.contract import SchemaObject

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlglot import exp

    from quanta.engines.duckdb import DuckDBEngine

# Functions that reach outside the query's data: files, settings, the catalog, other SQL.
_DENIED_FUNCTIONS = {
    "current_setting", "getenv", "query", "query_table", "glob", "read_text", "read_blob", "sniff_csv",
    "which_secret", "load_extension", "json_execute_serialized_sql", "json_serialize_sql",
    "current_database", "current_schema", "current_schemas", "current_catalog", "version",
    "pg_get_viewdef", "pg_get_constraintdef", "has_table_privilege", "has_schema_privilege",
    "col_description", "obj_description", "shobj_description", "format_type", "pg_typeof",
    "current_version", "checkpoint", "force_checkpoint", "enable_logging", "disable_logging",
    "truncate_duckdb_logs",
}  # fmt: skip
_DENIED_PREFIXES = ("duckdb_", "pragma_", "read_", "parquet_", "iceberg_", "icu_", "test_", "pg_")
# Writes the audit entries of a query while the engine runs it.
_AUDIT = ThreadPoolExecutor(max_workers=1, thread_name_prefix="quanta-audit")
# DuckDB's words for a column a query names that its tables do not have.
_BINDER_COLUMN = re.compile(r'Binder Error: .*?column (?:named )?"([^"]+)"')
BATCH_ROWS = 8192
"""Rows per batch of a governed stream: what one reader holds in memory at a time."""
_CATALOG_SCHEMAS = {"information_schema", "pg_catalog", "main", "system", "temp", "memory"}


@dataclass(frozen=True)
class ProductRead:
    """One product a query reads, resolved to an authorized snapshot."""

    product_id: str
    domain: str
    version: str
    obj: SchemaObject
    scan: TableScan
    access: Access


@dataclass(frozen=True)
class QueryCall:
    """One query to run for a principal: ``resolve`` authorizes each product it names (raising when
    one may not be read), ``audit`` records what governance did before any row is returned."""

    principal: Principal
    sql: str
    resolve: Callable[[str, str | None], ProductRead]
    limit: int | None = None
    audit: Callable[[GovernedPlan], list[int]] | None = None
    """Writes the allow entries of the plan; returns their ids."""
    finished: Callable[[Exception | None], None] | None = None
    """Called once the stream closes, with the engine's failure while computing rows (or None)."""
    signer: Callable[[GovernedPlan, int, bool], dict[str, Any]] | None = None
    """Issues the receipt of the read: the plan, the rows handed out, whether it was read to the end."""


@dataclass
class GovernedPlan:
    """What governance does to a query's products (for the audit log): columns, masks, filters."""

    products: list[str]
    columns: dict[str, list[str]] = field(default_factory=dict)
    masked: dict[str, dict[str, str]] = field(default_factory=dict)
    filtered: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    """The version of each product read."""
    access: dict[str, Access] = field(default_factory=dict, repr=False)
    """What let the principal read each product (a role, visibility, a grant and its purpose)."""
    outside_grant: dict[str, list[str]] = field(default_factory=dict, repr=False)
    """Columns each product has that the principal's column-scoped grant leaves out (for errors)."""


@dataclass
class GovernedResult(GovernedPlan):
    """A governed query's rows, all in memory (a collected :class:`GovernedStream`)."""

    table: pa.Table = field(kw_only=True)
    audit_ids: list[int] = field(kw_only=True, default_factory=list)
    receipt: dict[str, Any] | None = field(kw_only=True, default=None)
    """The signed receipt of the read (docs/governance.md, "Verifiable answers")."""


@dataclass
class GovernedStream(GovernedPlan):
    """A governed query's rows as Arrow record batches, computed as they are read: memory is bounded
    by the batch size, not by the result. The one way governed rows leave the service.

    ``schema`` is the result's schema with masks applied (masked columns keep their name; their type
    is the mask's), ``audit_ids`` the audit entries written when the query started. ``close()`` (or
    leaving a ``with`` block) stops the engine and releases its cursor, from any thread.
    """

    running: RunningQuery = field(kw_only=True, repr=False)
    signer: Callable[[GovernedPlan, int, bool], dict[str, Any]] | None = field(
        kw_only=True, default=None, repr=False
    )
    _receipt: dict[str, Any] | None = field(init=False, default=None, repr=False)

    @property
    def receipt(self) -> dict[str, Any] | None:
        """The signed receipt of the rows read, once the stream has ended (read to its last row, or
        closed early: then ``complete`` is false and ``rows`` counts what was handed out); None
        while rows may still come (a stream knows its row count only at its end)."""
        if self.signer is None or not self.running.closed:
            return None
        if self._receipt is None:
            self._receipt = self.signer(self, self.running.rows, self.running.complete)
        return self._receipt

    @property
    def reader(self) -> pa.RecordBatchReader:
        """The rows (the engine starts computing on first use)."""
        return self.running.reader()

    @property
    def schema(self) -> pa.Schema:
        return self.reader.schema

    @property
    def audit_ids(self) -> list[int]:
        return self.running.audit_ids()

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return iter(self.reader)

    def read_all(self) -> pa.Table:
        """Every row, in memory (for results known to be small)."""
        with self:
            return self.reader.read_all()

    def collect(self) -> GovernedResult:
        """The stream as a :class:`GovernedResult`: what the materialised API returns."""
        table = self.read_all()
        return GovernedResult(
            **_plan_fields(self), table=table, audit_ids=self.audit_ids, receipt=self.receipt
        )

    def started(self) -> GovernedStream:
        """The stream with its first batch computed, so that an engine failure raises here (before a
        response has begun, while it can still be a proper error); closed when it does."""
        try:
            self.running.prefetch()
        except BaseException:
            self.close()
            raise
        return self

    def encoded(self, encoding: str) -> Iterator[bytes]:
        """The rows as bytes, a chunk per batch: ``csv`` or ``arrow`` (an IPC stream)."""
        from quanta.query.export import ENCODINGS

        return ENCODINGS[encoding](self.reader)

    def close(self) -> None:
        """Stop the query (interrupting the engine) and release its cursor; idempotent."""
        self.running.close()

    cancel = close

    def __enter__(self) -> GovernedStream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _plan_fields(plan: GovernedPlan) -> dict[str, Any]:
    return {name: getattr(plan, name) for name in GovernedPlan.__dataclass_fields__}


def parse_governed(sql: str) -> tuple[exp.Expr, list[exp.Table]]:
    """The one read-only query in ``sql`` and its product references; anything else is refused."""
    from sqlglot import exp

    tree = parse_one_statement(sql)
    if not isinstance(tree, exp.Query):
        raise QueryError(
            f"only read-only queries are allowed, not {tree.key.upper()}",
            hint="write a SELECT over data products",
        )
    for node in tree.walk():
        if isinstance(node, (exp.Command, exp.Pragma, exp.Set, exp.Copy, exp.Attach, exp.Install)):
            raise QueryError(f"{node.key.upper()} is not allowed in a query", hint="write a SELECT")
        if isinstance(node, (exp.Create, exp.Insert, exp.Update, exp.Delete, exp.Drop, exp.Merge)):
            raise QueryError(
                f"{node.key.upper()} is not allowed: queries are read-only", hint="write a SELECT"
            )
        if isinstance(node, exp.Func):
            _check_function(node)
    products: list[exp.Table] = []
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise QueryError(
                f"table functions are not allowed: {table.this.sql(dialect='duckdb')[:60]}",
                hint="read data products by id, e.g. select * from sales.orders",
            )
        if table.args.get("catalog"):
            raise QueryError(
                f"unknown table {table.sql(dialect='duckdb')!r}", hint="query data products by id"
            )
        db = table.args.get("db")
        if not _is_product_table(table, tree):
            continue
        if db is not None and db.name.lower() in _CATALOG_SCHEMAS:
            raise QueryError(
                f"the catalog ({db.name}) cannot be queried", hint="use quanta ls / quanta show to discover"
            )
        products.append(table)
    return tree, products


def _is_product_table(table: exp.Table, tree: exp.Expr) -> bool:
    """Whether a table reference names a product (not a CTE of the query)."""
    from sqlglot import exp

    if table.args.get("db") is not None:
        return True
    return table.name.lower() not in {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}


def _check_function(node: exp.Func) -> None:
    from sqlglot import exp

    name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
    if name in _DENIED_FUNCTIONS or name.startswith(_DENIED_PREFIXES):
        raise QueryError(f"function {name}() is not allowed in governed queries", hint="remove it")


def _referenced_columns(tree: exp.Expr) -> set[str] | None:
    """Column names the query mentions anywhere (lower case), or None when it selects ``*`` (all)."""
    from sqlglot import exp

    for select in tree.find_all(exp.Select):
        for projection in select.expressions:
            if isinstance(projection, exp.Star) or (
                isinstance(projection, exp.Column) and projection.is_star
            ):
                return None
            if isinstance(projection, exp.Anonymous) and projection.name.lower() == "columns":
                return None
    return {column.name.lower() for column in tree.find_all(exp.Column)}


def product_text(table: exp.Table) -> str:
    db = table.args.get("db")
    return f"{db.name}.{table.name}" if db is not None else table.name


class GovernedQueries:
    """Runs queries for a principal on one locked-down engine (shared: queries open cursors on it)."""

    def __init__(self, engine: DuckDBEngine, storage_root: str, mask_key: bytes) -> None:
        self.engine = engine
        self.storage_root = storage_root
        self.mask_key = mask_key
        """The ``hash`` mask's HMAC key (the mesh's mask key)."""
        self._views: set[str] = set()
        self._parses: dict[str, tuple[exp.Expr, list[exp.Table]]] = {}
        self._lock = threading.Lock()

    def stream(self, call: QueryCall) -> GovernedStream:
        """Parse, authorize (``call.resolve`` raises when a product may not be read), rewrite and bind
        the query on a cursor of its own; rows are computed as the stream is read. ``call.audit``
        records the plan (products, columns, masks, filters) while the engine starts: no row leaves
        before it has."""
        final, plan = self._plan(call)
        recorded = _AUDIT.submit(call.audit, plan) if call.audit else None
        connection = self.engine.connect()
        try:
            with self.engine.translated():
                relation = connection.sql(final)  # binds now: unknown columns and types fail here
        except EngineError as exc:
            connection.close()
            if recorded is not None:
                recorded.result()
            raise self.failure(exc, plan) from None
        running = RunningQuery(
            connection,
            relation,
            batch_rows=BATCH_ROWS,
            audit=recorded,
            translate=lambda exc: self.failure(self.engine.translate(exc), plan),
            finished=call.finished,
        )
        return GovernedStream(**vars(plan), running=running, signer=call.signer)

    def _plan(self, call: QueryCall) -> tuple[str, GovernedPlan]:
        """The SQL the engine runs (products replaced by their governed views) and what it shows."""
        from sqlglot import exp

        principal, resolve, limit = call.principal, call.resolve, call.limit
        parsed_tree, _ = self._parsed(call.sql)
        tree = parsed_tree.copy()  # the cached tree stays pristine; this copy is rewritten
        tables = [t for t in tree.find_all(exp.Table) if _is_product_table(t, tree)]
        referenced = _referenced_columns(tree)
        reads: dict[str, tuple[ProductRead, str]] = {}
        for table in tables:
            text = product_text(table)
            parsed = parse_ref(text)
            if parsed is None:
                raise QueryError(
                    f"unknown table {text!r}", hint="query data products by id, e.g. sales.orders"
                )
            if text not in reads:
                reads[text] = self._read_view(principal, resolve, *parsed)
            alias = table.alias or table.name
            table.replace(exp.to_table(reads[text][1]).as_(alias))
        final = tree.sql(dialect="duckdb")
        if limit is not None:
            final = f"select * from ({final}) as q limit {int(limit)}"
        plan = GovernedPlan(sorted({r.product_id for r, _ in reads.values()}))
        for read, _ in reads.values():
            views = column_views(read.obj, principal)
            plan.columns[read.product_id] = [
                v.column
                for v in views
                if (read.access.columns is None or v.column in read.access.columns)
                and (referenced is None or v.column.lower() in referenced)
            ]
            visible = set(plan.columns[read.product_id])
            plan.masked[read.product_id] = {v.column: v.mask for v in views if v.mask and v.column in visible}
            plan.versions[read.product_id] = read.version
            plan.access[read.product_id] = read.access
            if read.access.row_filter:
                plan.filtered[read.product_id] = read.access.row_filter
            if read.access.columns is not None:
                granted = read.access.columns
                plan.outside_grant[read.product_id] = [
                    c.name for c in read.scan.columns if c.name not in granted
                ]
        return final, plan

    def failure(self, exc: EngineError, plan: GovernedPlan | None = None) -> QueryError:
        """An engine error (without storage paths: the engine took them out) as the user may see it;
        a column the engine does not find because the grant leaves it out is named as such."""
        message = self.clean(str(exc))
        found = _BINDER_COLUMN.search(message)
        for product_id, outside in (plan.outside_grant if plan and found else {}).items():
            column = next((c for c in outside if found and c.lower() == found.group(1).lower()), None)
            if column is not None:
                return AccessDenied(
                    f"column {column} is not in your grant on {product_id}",
                    product_id=product_id,
                    hint=f"use the granted columns, or ask for this one: quanta access request {product_id} "
                    f"--columns {column} --purpose '...'",
                )
        error = QueryError(f"query failed: {message}", hint="check the SQL")
        error.sqlstate = exc.sqlstate
        return error

    def _parsed(self, sql: str) -> tuple[exp.Expr, list[exp.Table]]:
        """``parse_governed``, remembered for the last few hundred statements: dashboards and
        notebooks send the same SQL again and again (like a prepared statement)."""
        with self._lock:
            found = self._parses.get(sql)
        if found is None:
            found = parse_governed(sql)
            with self._lock:
                self._parses[sql] = found
                if len(self._parses) > 512:
                    self._parses.pop(next(iter(self._parses)))
        return found

    def _read_view(
        self,
        principal: Principal,
        resolve: Callable[[str, str | None], ProductRead],
        product: str,
        at: str | None,
    ) -> tuple[ProductRead, str]:
        """The read a product reference authorizes and the view it reads; a version range
        (``product@since..until``) reads the change feed between two authorized reads."""
        from quanta.query.changes import version_range

        versions = version_range(at)
        if versions is None:
            read = resolve(product, at)
            return read, self._view(principal, read)
        old, new = resolve(product, versions[0]), resolve(product, versions[1])
        changes = self._changes_sql(principal, old, new)
        return replace(new, version=f"{old.version}..{new.version}"), self._named_view(changes)

    def _changes_sql(self, principal: Principal, old: ProductRead, new: ProductRead) -> str:
        """The change feed between two governed reads (query/changes.py says how they are compared)."""
        from quanta.query.changes import ChangeEnd, appended_files, changes_sql, key_names, primary_key

        visible = [set(self._projection(principal, r)) for r in (old, new)]
        keys = primary_key(new.obj)
        if not keys or any(k not in seen for k in keys for seen in visible):
            keys = []  # no key, or one the grant leaves out: whole rows
        added = appended_files(old.scan, new.scan)
        if added is not None:
            new = replace(new, scan=added)
        hidden = [f'"{k}" as {name}' for k, name in zip(keys, key_names(len(keys)), strict=True)]
        ends = [
            ChangeEnd(r.version, self._view_sql(principal, r, hidden), list(self._projection(principal, r)))
            for r in (old, new)
        ]
        return changes_sql(ends[0], ends[1], keys=len(keys), appended=added is not None)

    def _view(self, principal: Principal, read: ProductRead) -> str:
        """The name of a view holding the product as this principal sees it, created on first use.

        Views are named by the hash of their SQL (snapshot files, columns, masks, row filter), so one
        view serves every principal who sees the product the same way, and a query names a short
        view instead of carrying the long scan. Queries cannot name these views themselves: the
        parser admits product ids only.
        """
        return self._named_view(self._view_sql(principal, read))

    def _named_view(self, sql: str) -> str:
        import hashlib

        name = "__quanta_view_" + hashlib.sha256(sql.encode()).hexdigest()[:24]
        with self._lock:
            if name not in self._views:
                self.engine.execute(f"create or replace view {name} as {sql}")
                self._views.add(name)
        return name

    def _view_sql(self, principal: Principal, read: ProductRead, extra: list[str] | None = None) -> str:
        """The product as this principal sees it: granted columns, masks, row filters (``extra``:
        more expressions over the raw scan, for the engine's own use, e.g. a change feed's keys)."""
        from quanta.engines.duckdb import scan_sql

        exprs = [*self._projection(principal, read).values(), *(extra or [])]
        where = f" where {read.access.row_filter}" if read.access.row_filter else ""
        return f"select {', '.join(exprs)} from ({scan_sql(read.scan)}) as __raw{where}"

    def _projection(self, principal: Principal, read: ProductRead) -> dict[str, str]:
        """Each column the principal sees, and the expression that shows it (masked where it must be)."""
        views = {v.column: v for v in column_views(read.obj, principal)}
        exprs = {}
        for column in read.scan.columns:
            if read.access.columns is not None and column.name not in read.access.columns:
                continue
            quoted = '"' + column.name.replace('"', '""') + '"'
            view = views.get(column.name)
            if view is None and not principal.cleared_for(None, set()):
                continue  # a column the contract does not describe: only for those cleared for internal
            if view is not None and view.mask:
                mask = masked_sql(column.name, view.mask, column.sql_type, self.mask_key)
                exprs[column.name] = f"{mask} as {quoted}"
            else:
                exprs[column.name] = quoted
        if not exprs:
            raise QueryError(
                f"no column of {read.product_id} is visible to {principal.id}", hint="request access"
            )
        return exprs

    def clean(self, message: str) -> str:
        """The first line of an engine's message (the rest is DuckDB's context, naming views)."""
        return message.strip().splitlines()[0] if message.strip() else "error"


def error_text(exc: Exception) -> str:
    """A short text for an unexpected failure (never a traceback)."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def as_dict(result: GovernedPlan) -> dict[str, Any]:
    return {
        "products": result.products,
        "columns": result.columns,
        "masked": result.masked,
        "filtered": result.filtered,
    }
