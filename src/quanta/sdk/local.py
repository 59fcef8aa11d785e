"""The SDK in process: the REST API's own routes, called without a network (same answers, same errors)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from quanta.query.governed import GovernedStream


class LocalBackend:
    """Calls the API application in process (FastAPI's test transport): one code path for both."""

    def __init__(self, workspace: Path | None) -> None:
        from fastapi.testclient import TestClient

        from quanta.interfaces.api import create_app
        from quanta.mesh import Mesh

        self.mesh = Mesh.open(workspace)
        self._http = TestClient(create_app(self.mesh), raise_server_exceptions=False)

    def get(self, path: str, **params: Any) -> Any:
        return _answer(self._http.get("/api/v1" + path, params=params))

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return _answer(self._http.post("/api/v1" + path, json=body))

    def arrow(self, sql: str, limit: int | None) -> pa.Table:
        return self.mesh.query(sql, limit=limit)

    def reader(self, sql: str, limit: int | None) -> pa.RecordBatchReader:
        import pyarrow as pa

        stream = self.mesh.governed_stream(sql, limit=limit)
        return pa.RecordBatchReader.from_batches(stream.schema, _closing(stream))


def _closing(stream: GovernedStream) -> Iterator[pa.RecordBatch]:
    """The stream's batches; when the reader over them is closed (or dropped) early, the query stops."""
    try:
        yield from stream
    finally:
        stream.close()


def _answer(response: Any) -> Any:
    from quanta.sdk.remote import raise_problem

    raise_problem(response)
    return response.json()
