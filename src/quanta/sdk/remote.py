"""The SDK over HTTP: a ``quanta serve`` server, an API token, Arrow IPC for data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quanta.errors import AuthenticationError, NotFoundError, PermissionDenied, QuantaError

if TYPE_CHECKING:
    import pyarrow as pa

_ERRORS: dict[int, type[QuantaError]] = {401: AuthenticationError, 403: PermissionDenied, 404: NotFoundError}


class RemoteBackend:
    def __init__(self, url: str, token: str | None) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=url.rstrip("/") + "/api/v1", headers=headers, timeout=300)

    def get(self, path: str, **params: Any) -> Any:
        response = self._http.get(path, params=params)
        raise_problem(response)
        return response.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = self._http.post(path, json=body)
        raise_problem(response)
        return response.json()

    def arrow(self, sql: str, limit: int | None) -> pa.Table:
        import pyarrow as pa

        response = self._http.post("/query", json={"sql": sql, "limit": limit, "format": "arrow"})
        raise_problem(response)
        return pa.ipc.open_stream(response.content).read_all()


def raise_problem(response: Any) -> None:
    """Turn a problem+json answer back into the error the server raised (same message and hint)."""
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = {"detail": response.text[:500]}
    error = _ERRORS.get(response.status_code, QuantaError)
    raise error(str(body.get("detail") or body.get("title") or response.status_code), hint=body.get("hint"))
