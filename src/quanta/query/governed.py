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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

from quanta.engines.base import TableScan
from quanta.errors import EngineError
from quanta.governance.access import Access
from quanta.governance.masks import ColumnView, column_views
from quanta.governance.model import Principal
from quanta.query.cursor import BATCH_ROWS, RunningQuery, batch_rows
from quanta.query.products import AccessDenied, QueryError, parse_ref
from quanta.query.results import Keeper, ResultCache, words
from quanta.query.statements import parse_governed, product_text, referenced_columns
from quanta.query.views import projection, view_sql
from quanta.spec.contract import SchemaObject

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlglot import exp

    from quanta.engines.duckdb import DuckDBEngine


# Writes the audit entries of a query while the engine runs it.
_AUDIT = ThreadPoolExecutor(max_workers=1, thread_name_prefix="quanta-audit")
# DuckDB's words for a column a query names that its tables do not have.
_BINDER_COLUMN = re.compile(r'Binder Error: .*?column (?:named )?"([^"]+)"')
_K = TypeVar("_K")
_V = TypeVar("_V")


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
    audit_aside: bool = False
    """Write them on another thread while the engine binds the query (worth it when the audit log
    is a server's round trips away); else first, on this thread (a local file: a fraction of a
    millisecond, less than handing the work to a thread and back)."""
    finished: Callable[[Exception | None], None] | None = None
    """Called once the stream closes, with the engine's failure while computing rows (or None)."""
    signer: Callable[[GovernedPlan, int, bool], dict[str, Any]] | None = None
    """Issues the receipt of the read: the plan, the rows handed out, whether it was read to the end."""
    batch_bytes: int | None = None
    """Batches of about this many bytes (by the result's column types) rather than ``BATCH_ROWS``
    rows, within ``BATCH_ROWS`` and ``MAX_BATCH_ROWS``."""


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
    cached: bool = False
    """Whether the rows come from the result cache (query/results.py), not from the engine."""


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


@dataclass(frozen=True)
class _Parsed:
    """A statement parsed and checked once: its tree (never rewritten in place), the products it
    names (as written, each once) and the columns it mentions (None: ``*``, all)."""

    sql: str
    tree: exp.Expr
    products: list[str]
    referenced: set[str] | None
    references: int
    """How many times the statement names a product."""


@dataclass(frozen=True)
class _View:
    """A product's governed view for one way of seeing it: its name and its columns as shown."""

    name: str
    columns: list[ColumnView]


_CACHED = 512
_CACHED_CHARS = 16_384  # longer statements (generated IN lists) are never remembered: caches stay small
_PRODUCT = "quanta_product"


def _with_views(tree: exp.Expr, views: dict[str, str]) -> tuple[exp.Expr, int]:
    """A copy of ``tree`` with each product table (marked by the parse) replaced by its governed view,
    under the name the query gave it; and how many were replaced. (sqlglot's compiled generator
    cannot be subclassed, and its copy is cheap.)"""
    from sqlglot import exp

    copied = tree.copy()
    renamed = 0
    for table in list(copied.find_all(exp.Table)):
        product = table.meta.get(_PRODUCT)
        if product is None:
            continue
        alias = exp.TableAlias(this=exp.to_identifier(table.alias or table.name))
        table.replace(exp.Table(this=exp.to_identifier(views[product]), alias=alias))
        renamed += 1
    return copied, renamed


def _remember(cache: dict[_K, _V], key: _K, value: _V, sql: str = "") -> None:
    """``cache[key] = value`` unless ``sql`` is long, dropping the oldest entry beyond a few hundred."""
    if len(sql) > _CACHED_CHARS:
        return
    cache[key] = value
    if len(cache) > _CACHED:
        cache.pop(next(iter(cache)))


def _plan_fields(plan: GovernedPlan) -> dict[str, Any]:
    return {name: getattr(plan, name) for name in GovernedPlan.__dataclass_fields__}


class GovernedQueries:
    """Runs queries for a principal on one locked-down engine (shared: queries open cursors on it)."""

    def __init__(
        self, engine: DuckDBEngine, storage_root: str, mask_key: bytes, results: ResultCache | None = None
    ) -> None:
        self.engine = engine
        self.storage_root = storage_root
        self.mask_key = mask_key
        """The ``hash`` mask's HMAC key (the mesh's mask key)."""
        self.results = results if results is not None else ResultCache(0)
        """Kept results of queries whose answer cannot change (query/results.py)."""
        self._views: set[str] = set()
        self._unstable_views: set[str] = set()  # views whose rows can change (a row filter reads the clock)
        self._parses: dict[str, _Parsed] = {}
        self._finals: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
        self._known: dict[tuple[object, ...], tuple[SchemaObject, TableScan, _View]] = {}
        self._lock = threading.Lock()

    def stream(self, call: QueryCall) -> GovernedStream:
        """Parse, authorize (``call.resolve`` raises when a product may not be read), rewrite and bind
        the query on a cursor of its own; rows are computed as the stream is read. ``call.audit``
        records the plan (products, columns, masks, filters) before the engine starts, or while it
        does (``call.audit_aside``): no row leaves before it has."""
        final, plan = self._plan(call)
        key, keep = (final, call.batch_bytes), bool(self.results.max_bytes) and self._stable(final)
        found = self.results.get(key) if keep else None
        plan.cached = found is not None
        keeper = Keeper(self.results, key) if keep and found is None else None
        recorded: Future[list[int]] | None = None
        if call.audit is not None and call.audit_aside:
            recorded = _AUDIT.submit(call.audit, plan)
        elif call.audit is not None:
            recorded = Future()
            recorded.set_result(call.audit(plan))
        if plan.cached:  # governance has run (authorized, audited); the engine need not
            running = RunningQuery(
                None, None, batch_rows=BATCH_ROWS, audit=recorded, translate=lambda exc: exc,
                finished=call.finished, cached=found,
            )  # fmt: skip
            return GovernedStream(**vars(plan), running=running, signer=call.signer)
        connection = self.engine.connect()
        try:
            with self.engine.translated():
                relation = connection.sql(final)  # binds now: unknown columns and types fail here
        except EngineError as exc:
            connection.close()
            if recorded is not None:
                recorded.result()
            raise self.failure(exc, plan) from None
        rows = BATCH_ROWS if call.batch_bytes is None else batch_rows(relation, call.batch_bytes)
        running = RunningQuery(
            connection,
            relation,
            batch_rows=rows,
            audit=recorded,
            translate=lambda exc: self.failure(self.engine.translate(exc), plan),
            finished=call.finished,
            keeper=keeper,
        )
        return GovernedStream(**vars(plan), running=running, signer=call.signer)

    def _plan(self, call: QueryCall) -> tuple[str, GovernedPlan]:
        """The SQL the engine runs (products replaced by their governed views) and what it shows."""
        principal, resolve, limit = call.principal, call.resolve, call.limit
        parsed = self._parsed(call.sql)
        reads: dict[str, tuple[ProductRead, _View]] = {}
        for text in parsed.products:
            ref = parse_ref(text)
            if ref is None:
                raise QueryError(
                    f"unknown table {text!r}", hint="query data products by id, e.g. sales.orders"
                )
            reads[text] = self._read_view(principal, resolve, *ref)
        final = self._rewritten(parsed, {text: view.name for text, (_, view) in reads.items()})
        if limit is not None:
            final = f"select * from ({final}) as q limit {int(limit)}"
        plan = GovernedPlan(sorted({r.product_id for r, _ in reads.values()}))
        for read, view in reads.values():
            plan.columns[read.product_id] = [
                v.column
                for v in view.columns
                if (read.access.columns is None or v.column in read.access.columns)
                and (parsed.referenced is None or v.column.lower() in parsed.referenced)
            ]
            visible = set(plan.columns[read.product_id])
            plan.masked[read.product_id] = {
                v.column: v.mask for v in view.columns if v.mask and v.column in visible
            }
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

    def _rewritten(self, parsed: _Parsed, views: dict[str, str]) -> str:
        """The statement with each product replaced by its view, as DuckDB SQL; remembered by the
        views it names (a view's name is the hash of what it shows, so the same names mean the same
        governed SQL, for any principal who sees the products alike)."""
        key = (parsed.sql, tuple(sorted(views.items())))
        with self._lock:
            found = self._finals.get(key)
        if found is not None:
            return found
        tree, renamed = _with_views(parsed.tree, views)  # a copy: the cached tree stays pristine
        final = tree.sql(dialect="duckdb")
        if renamed != parsed.references:  # fail closed: every product read through its view
            raise QueryError("the query could not be rewritten", hint="simplify the query")
        with self._lock:
            _remember(self._finals, key, final, parsed.sql)
        return final

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

    def _parsed(self, sql: str) -> _Parsed:
        """``parse_governed``, remembered for the last few hundred statements: dashboards and
        notebooks send the same SQL again and again (like a prepared statement)."""
        with self._lock:
            found = self._parses.get(sql)
        if found is None:
            tree, tables = parse_governed(sql)
            for table in tables:  # marks that survive the copy _with_views makes
                table.meta[_PRODUCT] = product_text(table)
            texts = list(dict.fromkeys(product_text(t) for t in tables))
            found = _Parsed(sql, tree, texts, referenced_columns(tree), len(tables))
            with self._lock:
                _remember(self._parses, sql, found, sql)
        return found

    def _read_view(
        self,
        principal: Principal,
        resolve: Callable[[str, str | None], ProductRead],
        product: str,
        at: str | None,
    ) -> tuple[ProductRead, _View]:
        """The read a product reference authorizes and the view it reads; a version range
        (``product@since..until``) reads the change feed between two authorized reads."""
        from quanta.query.changes import version_range

        versions = version_range(at)
        if versions is None:
            read = resolve(product, at)
            return read, self._view(principal, read)
        old, new = resolve(product, versions[0]), resolve(product, versions[1])
        changes = self._changes_sql(principal, old, new)
        columns = column_views(new.obj, principal)
        view = _View(self._named_view(changes), columns)
        return replace(new, version=f"{old.version}..{new.version}"), view

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

    def _named_view(self, sql: str) -> str:
        """A view over ``sql``, named by its hash, created on first use."""
        import hashlib

        name = "__quanta_view_" + hashlib.sha256(sql.encode()).hexdigest()[:24]
        with self._lock:
            if name not in self._views:
                self.engine.execute(f"create or replace view {name} as {sql}")
                self._views.add(name)
                if words(sql) & self.engine.unstable_words():
                    self._unstable_views.add(name)
        return name

    def _stable(self, final: str) -> bool:
        """Whether the statement the engine runs gives the same rows every time: it, and the views it
        reads, call nothing that reads the clock, the session or a random source."""
        named = words(final)
        return not (named & self.engine.unstable_words() or named & self._unstable_views)

    def _view(self, principal: Principal, read: ProductRead) -> _View:
        """The view holding the product as this principal sees it, created on first use.

        Views are named by the hash of their SQL (snapshot files, columns, masks, row filter), so one
        view serves every principal who sees the product the same way, and a query names a short
        view instead of carrying the long scan. Queries cannot name these views themselves: the
        parser admits product ids only. Remembered for the same contract object and scan (the
        caller hands out one object per immutable version) and what of the principal and the
        access decision shapes the view.
        """
        key = (
            id(read.obj), id(read.scan), principal.id, principal.clearance, principal.tags,
            read.access.columns, read.access.row_filter,
        )  # fmt: skip
        with self._lock:
            known = self._known.get(key)
        if known is not None and known[0] is read.obj and known[1] is read.scan:
            return known[2]  # the same objects (held here, so their ids were not reused)
        view = _View(self._named_view(self._view_sql(principal, read)), column_views(read.obj, principal))
        with self._lock:
            _remember(self._known, key, (read.obj, read.scan, view))
        return view

    def _view_sql(self, principal: Principal, read: ProductRead, extra: list[str] | None = None) -> str:
        return view_sql(principal, read, self.mask_key, extra)

    def _projection(self, principal: Principal, read: ProductRead) -> dict[str, str]:
        return projection(principal, read, self.mask_key)

    def clean(self, message: str) -> str:
        """The first line of an engine's message (the rest is DuckDB's context, naming views)."""
        return message.strip().splitlines()[0] if message.strip() else "error"
