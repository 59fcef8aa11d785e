"""File delivery: a governed read written into a subscriber's folder atomically, with a manifest.

The data file is written under a hidden temporary name in the target folder, flushed to disk and
renamed into place; the manifest (version, rows, files with their SHA-256, schema, masks applied) is
written the same way, last. A reader that waits for the manifest never sees a partial delivery; a
delivery that dies midway leaves only a hidden temporary file, removed by the next delivery into the
folder, and is delivered again (same names: the second delivery replaces the first).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from quanta.query.export import write_file

if TYPE_CHECKING:
    from quanta.query.governed import GovernedStream

FORMATS = {"parquet": ".parquet", "csv": ".csv"}
"""The file formats a delivery writes, and their suffixes."""
MODES = ("full", "changes")
PARTIAL = ".quanta-partial-"
"""The prefix of a delivery's temporary files (hidden, removed by the next delivery)."""
MANIFEST_SUFFIX = ".manifest.json"


def deliver_stream(
    stream: GovernedStream, folder: Path, stem: str, format: str, facts: dict[str, Any]
) -> dict[str, Any]:
    """Write ``stream`` as ``<stem>.<format>`` and ``<stem>.manifest.json`` into ``folder`` (created
    when missing), each atomically; returns the manifest. ``facts`` (product, version, mode, ...) go
    into the manifest as they are."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(PARTIAL + "*"):
        stale.unlink(missing_ok=True)  # what an earlier delivery left when it died
    target = folder / (stem + FORMATS[format])
    temp = folder / f"{PARTIAL}{uuid.uuid4().hex}{FORMATS[format]}"
    try:
        rows = write_file(stream.reader, temp)
        _sync(temp)
        digest, size = _sha256(temp)
        temp.replace(target)
    finally:
        temp.unlink(missing_ok=True)
    manifest = {
        **facts,
        "format": format,
        "rows": rows,
        "files": [{"name": target.name, "rows": rows, "bytes": size, "sha256": digest}],
        "schema": [{"name": f.name, "type": str(f.type)} for f in stream.schema],
        "masked": {p: dict(m) for p, m in stream.masked.items()},
        "row_filters": dict(stream.filtered),
        "audit_ids": stream.audit_ids,
        "delivered_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_atomically(folder / (stem + MANIFEST_SUFFIX), json.dumps(manifest, indent=2).encode())
    return manifest


def write_atomically(target: Path, data: bytes) -> None:
    """``data`` into ``target``: a hidden temporary file in the same folder, synced, then renamed."""
    temp = target.parent / f"{PARTIAL}{uuid.uuid4().hex}.json"
    try:
        temp.write_bytes(data)
        _sync(temp)
        temp.replace(target)
    finally:
        temp.unlink(missing_ok=True)


def _sync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
