"""``quanta new --from``: where the data to infer a contract from is (a file, a database table, a published
product), read as an engine input, and the blueprint answers that point the new product at it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from quanta.blueprints.catalog import BlueprintError

if TYPE_CHECKING:
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
