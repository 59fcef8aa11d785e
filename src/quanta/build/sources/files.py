"""File sources: CSV, Parquet or JSON files matched by a glob, handed to the engine as a ``FileScan``."""

from __future__ import annotations

import glob
import math
from datetime import date
from decimal import Decimal
from pathlib import Path

from quanta.build.sources.base import SourceError, SourceReader
from quanta.engines.base import FileScan
from quanta.spec.product import FileSource

FORMATS = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet"}
FORMATS |= {".json": "json", ".jsonl": "json", ".ndjson": "json"}
COMPRESSIONS = (".gz", ".zst")
CURSOR_TYPES = (str, int, float, Decimal, date)  # datetime is a date


class FileReader(SourceReader[FileSource]):
    """CSV, Parquet or JSON files matched by a glob relative to the workspace root."""

    type = "file"

    def read(self, source: FileSource, *, root: Path, since: object | None = None) -> FileScan:
        files = matching_files(source.path, root)
        where = cursor_filter(source.cursor, since) if source.cursor and since is not None else None
        file_format = source.format or infer_format(files, source.path)
        return FileScan(files=files, format=file_format, options=dict(source.options or {}), where=where)


def matching_files(pattern: str, root: Path) -> list[str]:
    """Absolute paths of the files matching ``pattern`` below ``root`` (``**`` spans folders), sorted."""
    return first_matching(pattern, [("the workspace root", root)])[0]


def first_matching(pattern: str, roots: list[tuple[str, Path]]) -> tuple[list[str], Path]:
    """The files matching ``pattern`` below the first of ``roots`` (label, folder) where any match, and
    that folder; a SourceError naming every folder searched when none does."""
    for _, root in roots:
        # glob.glob, not Path.glob: an absolute pattern is allowed, and root may hold glob characters.
        found = glob.glob(pattern, root_dir=root, recursive=True)  # noqa: PTH207
        files = sorted({str((root / name).resolve()) for name in found if (root / name).is_file()})
        if files:
            return files, root
    searched = [_fixed_folder(pattern, root) for _, root in roots]
    folder = next((f for f in searched if f.is_dir()), searched[0])
    if not folder.is_dir():
        labels = ", then ".join(f"{label} {root.resolve()}" for label, root in roots)
        hint = f"{folder} does not exist: create it or fix the path (relative to {labels})"
    else:
        present = sorted(p.name for p in folder.iterdir())[:5]
        hint = f"{folder} holds: {', '.join(present)}" if present else f"{folder} is empty"
        hint += "; fix the pattern or add the files"
    places = ", ".join(str(f) for f in dict.fromkeys(searched))
    raise SourceError(f"no files match {pattern!r} (searched {places})", hint=hint)


def _fixed_folder(pattern: str, root: Path) -> Path:
    """The folder below which ``pattern`` matches: its part before the first glob character."""
    parts = Path(pattern).parts
    fixed = next((i for i, part in enumerate(parts) if glob.has_magic(part)), len(parts) - 1)
    return (root / Path(*parts[:fixed])).resolve() if fixed else root.resolve()


def infer_format(files: list[str], pattern: str) -> str:
    """The format every file's extension names (``orders.csv.gz`` is CSV), or a SourceError."""
    formats = {_format_of(name) for name in files}
    if len(formats) == 1 and None not in formats:
        return str(formats.pop())
    names = ", ".join(sorted({Path(name).name for name in files})[:3])
    raise SourceError(
        f"cannot tell the format of the files matching {pattern!r} ({names})",
        hint="set 'format: csv', 'parquet' or 'json' on the source, or match only one kind of file",
    )


def _format_of(name: str) -> str | None:
    suffixes = [s.lower() for s in Path(name).suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        suffixes.pop()
    return FORMATS.get(suffixes[-1]) if suffixes else None


def cursor_filter(cursor: str, since: object) -> str:
    """``"<cursor>" > <literal>`` in DuckDB SQL, the literal quoted by sqlglot (never pasted in)."""
    from sqlglot import exp

    if not isinstance(since, CURSOR_TYPES) or (isinstance(since, float) and not math.isfinite(since)):
        raise SourceError(
            f"cannot compare cursor {cursor!r} with {since!r} ({type(since).__name__})",
            hint="a cursor value is a string, a number, a date or a timestamp",
        )
    condition = exp.GT(this=exp.column(cursor, quoted=True), expression=exp.convert(since))
    return condition.sql(dialect="duckdb")
