"""``quanta new --from``: where the data to infer a contract from is (a file, a database table, a published
product), read as an engine input, and the blueprint answers that point the new product at it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from quanta.blueprints.catalog import BlueprintError

if TYPE_CHECKING:
    import pyarrow as pa

    from quanta.engines.base import Input

PRODUCT_ID = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Origin:
    """Data to profile (bound as an engine input), how to name it, and the answers it implies."""

    data: Input
    shown: str
    blueprint: str
    answers: dict[str, str] = field(default_factory=dict)


def from_files(text: str, root: Path, cwd: Path) -> Origin | None:
    """A file or glob (relative to the current folder); None when nothing matches."""
    from quanta.build.sources.files import FileReader
    from quanta.spec.product import FileSource

    path = Path(text).expanduser()
    absolute = path if path.is_absolute() else cwd / path
    if not absolute.exists() and not any(c in text for c in "*?["):
        return None
    try:
        pattern = str(absolute.resolve().relative_to(root.resolve()))
    except ValueError:
        pattern = str(absolute.resolve())
    scan = FileReader().read(FileSource(type="file", path=pattern), root=root)
    return Origin(scan, text, "files", {"name": name_from(absolute.name), "source_path": pattern})


def from_database(url: str, table: str | None, root: Path) -> Origin:
    """A table of a database reached by a SQLAlchemy URL (``--data table=NAME`` names it)."""
    import pyarrow as pa

    from quanta.build.sources.database import DatabaseReader
    from quanta.engines.base import ArrowInput
    from quanta.spec.product import DatabaseSource

    if not table:
        raise BlueprintError(
            f"--from {url} names a database but no table",
            hint="add --data table=NAME (the table to read)",
        )
    read = DatabaseReader().read(DatabaseSource(type="database", url=url, table=table), root=root)
    rows = read.data
    # profiling reads the rows several times; a stream is read once
    data = ArrowInput(rows.read_all() if isinstance(rows, pa.RecordBatchReader) else rows)
    answers = {"name": name_from(table), "database_url": url, "table": table}
    return Origin(data, f"table {table} of {url}", "database", answers)


def from_warehouse(url: str, answers: dict[str, str], root: Path) -> Origin:
    """The consumer's view of an existing warehouse: its hub table joined to its spoke tables on the
    business key, computed by the very SQL the ``warehouse`` blueprint writes into ``transform.sql``
    (rendered from the blueprint's template with these answers), over each table as the build reads it."""
    import pyarrow as pa

    from quanta.build.sources.database import DatabaseReader
    from quanta.engines import get_engine
    from quanta.engines.base import ArrowInput
    from quanta.spec.product import DatabaseSource

    hub = answers.get("hub", "").strip()
    if not hub:
        raise BlueprintError(
            f"the warehouse blueprint reading {url} names no hub table",
            hint="add --data hub=TABLE (one row per business key) and --data spokes=TABLE,TABLE",
        )
    spokes = [t.strip() for t in answers.get("spokes", "").split(",") if t.strip()]
    key = answers.get("key", "").strip() or f"{port_of(hub)}_id"
    prefix = str(answers.get("prefix_spokes", "")).strip().lower() in ("true", "yes", "1", "y")
    tables: dict[str, pa.Table] = {}
    for table in (hub, *spokes):
        read = DatabaseReader().read(DatabaseSource(type="database", url=url, table=table), root=root)
        rows = read.data
        tables[table] = rows.read_all() if isinstance(rows, pa.RecordBatchReader) else rows
        if key not in tables[table].column_names:
            raise BlueprintError(
                f"table {table} has no column {key!r}: the hub and its spokes are joined on it",
                hint=f"name the business key they share with --data key=COLUMN (columns of {table}: "
                f"{', '.join(tables[table].column_names[:20])})",
            )
    values = {"hub": hub, "key": key, "spokes": ",".join(spokes), "prefix_spokes": prefix}
    inputs = {port_of(t): ArrowInput(data) for t, data in tables.items()}
    joined = get_engine("duckdb").query(warehouse_sql(values), dict(inputs))
    _refuse_shared_names(joined.column_names, tables)
    found = {"name": f"{port_of(hub)}_view", "database_url": url, "hub": hub, "key": key,
             "spokes": ",".join(spokes), "prefix_spokes": "true" if prefix else "false"}  # fmt: skip
    return Origin(
        ArrowInput(joined), f"the join of {', '.join(tables)} on {key} in {url}", "warehouse", found
    )


def port_of(table: str) -> str:
    """The input port (and SQL name) of a warehouse table: ``dw.policy`` ► ``policy``."""
    return table.strip().split(".")[-1]


def warehouse_sql(values: dict[str, object]) -> str:
    """The ``warehouse`` blueprint's ``transform.sql`` for these answers, rendered from its template."""
    from importlib import resources

    from jinja2.sandbox import SandboxedEnvironment

    folder = resources.files("quanta.blueprints") / "shipped" / "product" / "template"
    source = (folder / "{% if kind != 'python' %}transform.sql{% endif %}.jinja").read_text(encoding="utf-8")
    context = {"kind": "warehouse", "inferred_properties": "", "group_by": "", "inputs": "", **values}
    return SandboxedEnvironment(keep_trailing_newline=True).from_string(source).render(**context)


def _refuse_shared_names(names: list[str], tables: dict[str, pa.Table]) -> None:
    """A column two tables share comes out of the join twice: say which, and how to keep both."""
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        having = [t for t, data in tables.items() if doubled[0] in data.column_names]
        raise BlueprintError(
            f"tables {', '.join(having[:-1])} and {having[-1]} all have a column {doubled[0]!r}"
            + (f" (and {len(doubled) - 1} more shared)" if len(doubled) > 1 else ""),
            hint="add --data prefix_spokes=true (each spoke column gets its table's name in front), or "
            "join without them and rename them in transform.sql",
        )


def name_from(text: str) -> str:
    """A product name from a file or table name: ``Order Lines.csv`` ► ``order_lines``."""
    stem = text.split(".", maxsplit=1)[0].lower()
    name = re.sub(r"[^a-z0-9]+", "_", stem).strip("_") or "product"
    return name if name[0].isalpha() else f"p_{name}"


def unknown_origin(text: str) -> BlueprintError:
    return BlueprintError(
        f"--from {text}: no such file, database URL or registered product",
        hint="give a path to CSV/Parquet/JSON files, a URL such as sqlite:///data/shop.db "
        "(with --data table=NAME), or a published product id such as sales.orders",
    )
