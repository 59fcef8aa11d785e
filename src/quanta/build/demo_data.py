"""TPC-H data for the demo mesh: a CSV drop, a Parquet drop and a SQLite "legacy warehouse".

The demo products read, relative to the workspace root, ``data/drops/orders/*.csv`` (one file per order
year), ``data/drops/lineitem/*.parquet`` (four files) and ``data/legacy_warehouse.db``. ``tpchgen-cli``
writes Parquet into a scratch folder under ``data/``; every output is built there and then renamed into
place, so a re-run replaces the data and a failed run leaves the previous data as it was.
"""

from __future__ import annotations

import itertools
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from quanta.errors import QuantaError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

TABLES = ("region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem")
# Primary key and indexed columns of each table of the legacy warehouse. partsupp gets no primary key:
# below scale 0.01 TPC-H's supplier formula repeats (ps_partkey, ps_suppkey) pairs.
WAREHOUSE_KEYS: dict[str, tuple[str | None, tuple[tuple[str, ...], ...]]] = {
    "region": ("r_regionkey", ()),
    "nation": ("n_nationkey", (("n_regionkey",),)),
    "supplier": ("s_suppkey", (("s_nationkey",),)),
    "customer": ("c_custkey", (("c_nationkey",),)),
    "part": ("p_partkey", ()),
    "partsupp": (None, (("ps_partkey", "ps_suppkey"), ("ps_suppkey",))),
}
ORDERS_DIR = Path("data/drops/orders")
LINEITEM_DIR = Path("data/drops/lineitem")
WAREHOUSE = Path("data/legacy_warehouse.db")
LINEITEM_FILES = 4
MAX_SCALE = 100.0
BATCH_ROWS = 50_000
INSTALL_HINT = "install it with 'pip install tpchgen-cli' (a dependency of Quanta) or put it on PATH"
SCALE_HINT = "0.01 (about 10 MB) is plenty for the demo; 1 is the TPC-H reference size (about 1 GB)"


class DemoDataError(QuantaError):
    """The demo data could not be generated."""


@dataclass(frozen=True)
class DemoData:
    """What :func:`generate_demo_data` wrote (absolute paths) and the rows of every TPC-H table."""

    root: Path
    scale: float
    orders_files: tuple[Path, ...]
    lineitem_files: tuple[Path, ...]
    warehouse: Path
    row_counts: dict[str, int]
    seconds: float

    @property
    def files(self) -> tuple[Path, ...]:
        return (*self.orders_files, *self.lineitem_files, self.warehouse)


def generate_demo_data(
    root: Path,
    scale: float = 0.01,
    *,
    on_step: Callable[[str], None] | None = None,
    tpchgen: str | Path | None = None,
) -> DemoData:
    """Generate TPC-H at ``scale`` and write the demo mesh's inputs under ``root``, replacing old ones.

    ``tpchgen`` is the ``tpchgen-cli`` executable; by default the one next to the running Python, else
    the one on PATH. ``on_step`` receives a short message before each stage (for progress output).
    """
    check_scale(scale)
    command = find_tpchgen(tpchgen)
    step = on_step or (lambda _message: None)
    started = time.perf_counter()
    root = Path(root).resolve()
    try:
        (root / "data").mkdir(parents=True, exist_ok=True)
        # Scratch space beside the targets, so moving results into place is a rename, not a copy.
        with tempfile.TemporaryDirectory(prefix=".tpch-", dir=root / "data") as scratch:
            work = Path(scratch)
            step(f"generating TPC-H at scale {scale:g} with tpchgen-cli")
            tpch = run_tpchgen(command, scale, work / "tpch")
            counts = {table: _row_count(tpch / f"{table}.parquet") for table in TABLES}
            step(f"writing the orders CSV drop ({counts['orders']:,} rows) to {ORDERS_DIR}")
            orders_names, lineitem_names = _write_drops(tpch, work, step)
            step(f"writing the legacy warehouse (6 tables) to {WAREHOUSE}")
            write_warehouse(tpch, work / "warehouse.db")
            # Everything is built: only now replace the previous data, by renames.
            orders = _replace_dir(work / "orders", root / ORDERS_DIR, work, orders_names)
            lineitem = _replace_dir(work / "lineitem", root / LINEITEM_DIR, work, lineitem_names)
            (work / "warehouse.db").replace(root / WAREHOUSE)
    except OSError as exc:
        raise DemoDataError(
            f"cannot write the demo data under {root}: {exc.strerror or exc}",
            hint="check that the folder is writable and that the disk has room",
        ) from exc
    return DemoData(root, scale, orders, lineitem, root / WAREHOUSE, counts, time.perf_counter() - started)


def check_scale(scale: float) -> None:
    """Refuse scales tpchgen-cli cannot (or should not) be asked for."""
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0 < scale <= MAX_SCALE:
        raise DemoDataError(
            f"scale must be a number above 0 and at most {MAX_SCALE:g}, got {scale!r}", hint=SCALE_HINT
        )


def find_tpchgen(explicit: str | Path | None = None) -> str:
    """The ``tpchgen-cli`` executable: ``explicit``, else next to the running Python, else on PATH."""
    if explicit is not None:
        found = shutil.which(str(explicit))
        if found is None:
            raise DemoDataError(f"tpchgen-cli not found at {explicit} (or not executable)", hint=INSTALL_HINT)
        return found
    beside_python = shutil.which("tpchgen-cli", path=str(Path(sys.executable).parent))
    found = beside_python or shutil.which("tpchgen-cli")
    if found is None:
        raise DemoDataError(f"tpchgen-cli not found next to {sys.executable} nor on PATH", hint=INSTALL_HINT)
    return found


def run_tpchgen(command: str, scale: float, folder: Path) -> Path:
    """Every TPC-H table as ``<folder>/<table>.parquet``."""
    args = [command, "parquet", "--scale-factor", repr(float(scale)), "--output-dir", str(folder)]
    try:
        result = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise DemoDataError(f"cannot run {command}: {exc.strerror or exc}", hint=INSTALL_HINT) from exc
    if result.returncode != 0:
        lines = [line.strip() for line in (result.stderr + result.stdout).splitlines() if line.strip()]
        detail = lines[-1] if lines else "no output"
        raise DemoDataError(
            f"tpchgen-cli failed at scale {scale:g} (exit status {result.returncode}): {detail}",
            hint=f"run '{' '.join(args[:4])} --output-dir /tmp/tpch' to see its full output; "
            "scales from 0.001 to 100 are known to work",
        )
    missing = [table for table in TABLES if not (folder / f"{table}.parquet").is_file()]
    if missing:
        raise DemoDataError(
            f"tpchgen-cli exited successfully but wrote no {', '.join(missing)} table in {folder}",
            hint=f"check that {command} is the TPC-H generator from PyPI package 'tpchgen-cli' 4 or later",
        )
    return folder


def _row_count(path: Path) -> int:
    import pyarrow.parquet as pq

    rows: int = pq.ParquetFile(path).metadata.num_rows
    return rows


def _write_drops(tpch: Path, work: Path, step: Callable[[str], None]) -> tuple[list[str], list[str]]:
    """The CSV drop (orders, one file per year) and the Parquet drop (lineitem, four files)."""
    import duckdb

    try:
        with duckdb.connect(":memory:") as connection:
            orders = write_orders_csv(connection, tpch / "orders.parquet", work / "orders")
            step(f"writing the lineitem Parquet drop ({LINEITEM_FILES} files) to {LINEITEM_DIR}")
            lineitem = write_lineitem_parquet(connection, tpch / "lineitem.parquet", work / "lineitem")
    except duckdb.Error as exc:
        raise DemoDataError(
            f"cannot write the demo drops: {exc}", hint="check the disk space under the workspace"
        ) from exc
    return orders, lineitem


def write_orders_csv(connection: duckdb.DuckDBPyConnection, source: Path, folder: Path) -> list[str]:
    """``orders-<year>.csv`` with a header, ordered by order key; returns the file names."""
    folder.mkdir()
    scan = f"read_parquet({_literal(str(source))})"
    years = connection.execute(f"select distinct year(o_orderdate) from {scan} order by 1").fetchall()
    names = []
    for (year,) in years:
        name = f"orders-{int(year)}.csv"
        rows = f"select * from {scan} where year(o_orderdate) = {int(year)} order by o_orderkey"
        connection.execute(f"copy ({rows}) to {_literal(str(folder / name))} (header, delimiter ',')")
        names.append(name)
    return names


def write_lineitem_parquet(connection: duckdb.DuckDBPyConnection, source: Path, folder: Path) -> list[str]:
    """``lineitem-1.parquet``... split on order-key quartiles, so an order's lines stay in one file."""
    folder.mkdir()
    scan = f"read_parquet({_literal(str(source))})"
    quantiles = [(n + 1) / LINEITEM_FILES for n in range(LINEITEM_FILES - 1)]
    row = connection.execute(f"select quantile_disc(l_orderkey, {quantiles}) from {scan}").fetchone()
    edges: list[int | None] = [None, *(int(b) for b in (row[0] if row else [])), None]
    names = []
    for number, (low, high) in enumerate(itertools.pairwise(edges), start=1):
        bounds = [f"l_orderkey > {low}" if low is not None else "true"]
        bounds.append(f"l_orderkey <= {high}" if high is not None else "true")
        name = f"lineitem-{number}.parquet"
        rows = f"select * from {scan} where {' and '.join(bounds)} order by l_orderkey, l_linenumber"
        connection.execute(f"copy ({rows}) to {_literal(str(folder / name))} (format parquet)")
        names.append(name)
    return names


def write_warehouse(tpch: Path, staged: Path) -> None:
    """The SQLite legacy warehouse, built in one transaction in a scratch file (renamed into place later)."""
    import pyarrow.parquet as pq

    connection = sqlite3.connect(staged, isolation_level=None)
    try:
        # Nobody reads the scratch file before it is complete and renamed: skip the journal's costs.
        connection.execute("pragma journal_mode = memory")
        connection.execute("pragma synchronous = off")
        connection.execute("begin")
        for table, (key, indexed) in WAREHOUSE_KEYS.items():
            parquet = pq.ParquetFile(tpch / f"{table}.parquet")
            connection.execute(create_table_sql(table, parquet.schema_arrow, key))
            marks = ", ".join("?" for _ in parquet.schema_arrow)
            insert = f"insert into {_quote(table)} values ({marks})"
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
                connection.executemany(insert, _sqlite_rows(batch))
            for columns in indexed:
                name = _quote("_".join((table, *columns)))
                connection.execute(
                    f"create index {name} on {_quote(table)} ({', '.join(map(_quote, columns))})"
                )
        connection.execute("commit")
    except sqlite3.Error as exc:
        raise DemoDataError(f"cannot write the legacy warehouse: {exc}", hint="check the disk space") from exc
    finally:
        connection.close()


def create_table_sql(table: str, schema: pa.Schema, key: str | None) -> str:
    """``create table`` with SQLite types that keep meaning: INTEGER, NUMERIC(p,s), TEXT, DATE..."""
    columns = []
    for item in schema:
        column = f"{_quote(item.name)} {sqlite_type(item.type)}{'' if item.nullable else ' not null'}"
        columns.append(column + (" primary key" if item.name == key else ""))
    return f"create table {_quote(table)} ({', '.join(columns)})"


def sqlite_type(arrow_type: pa.DataType) -> str:
    import pyarrow as pa

    if pa.types.is_boolean(arrow_type):
        return "BOOLEAN"
    if pa.types.is_integer(arrow_type):
        return "INTEGER"
    if pa.types.is_floating(arrow_type):
        return "REAL"
    if pa.types.is_decimal(arrow_type):
        return f"NUMERIC({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_date(arrow_type):
        return "DATE"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP"
    return "TEXT"


def _sqlite_rows(batch: pa.RecordBatch) -> Iterator[tuple[object, ...]]:
    """Rows sqlite3 can bind: decimals as floats, dates as ISO text, string views as plain strings."""
    import pyarrow as pa

    columns = []
    for original in batch.columns:
        column, kind = original, original.type
        if pa.types.is_decimal(kind):  # through text: a direct cast turns 711.56 into 711.5600000000001
            column = column.cast(pa.string()).cast(pa.float64())
        elif pa.types.is_temporal(kind) or pa.types.is_string_view(kind) or pa.types.is_large_string(kind):
            column = column.cast(pa.string())
        columns.append(column.to_pylist())
    return zip(*columns, strict=True)


def _replace_dir(staged: Path, target: Path, work: Path, names: list[str]) -> tuple[Path, ...]:
    """Swap ``staged`` in for ``target``; the old folder goes to the scratch space (deleted with it)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists() or target.is_symlink():
        target.rename(work / f"replaced-{target.name}")
    staged.rename(target)
    return tuple(target / name for name in names)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
