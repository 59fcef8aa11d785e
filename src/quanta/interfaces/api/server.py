"""The application factory ``quanta serve --workers N`` hands to uvicorn: each worker process opens
the workspace named in its environment (``QUANTA_WORKSPACE``) and builds its own app."""

from __future__ import annotations

import os

from fastapi import FastAPI

from quanta.interfaces.api.app import create_app

SERVER_MODE = "QUANTA_SERVER_MODE"
SCHEDULER = "QUANTA_SCHEDULER_INTERVAL"


def app_from_environment() -> FastAPI:
    from quanta.mesh import Mesh

    mesh = Mesh.open()
    _ = mesh.policies  # compile the policies before the first request
    interval = float(os.environ.get(SCHEDULER) or 0) or None
    return create_app(mesh, server_mode=os.environ.get(SERVER_MODE) == "1", scheduler=interval)
