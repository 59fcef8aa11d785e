"""The SDK in process: the REST API's own routes, called without a network (same answers, same errors)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from quanta.sdk.client import Batches


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

    def batches(self, sql: str, limit: int | None) -> Batches:
        from quanta.sdk.client import Batches

        stream = self.mesh.governed_stream(sql, limit=limit).started()  # closed if it fails
        return Batches(stream.schema, iter(stream), stream.close)


def _answer(response: Any) -> Any:
    from quanta.sdk.remote import raise_problem

    raise_problem(response)
    return response.json()
