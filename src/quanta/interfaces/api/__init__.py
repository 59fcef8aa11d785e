"""The REST API (FastAPI): discovery, observability and control over the ``Mesh`` facade."""

from quanta.interfaces.api.app import create_app

__all__ = ["create_app"]
