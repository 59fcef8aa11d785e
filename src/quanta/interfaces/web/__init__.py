"""The web marketplace and data lab: server-rendered Jinja2 pages with htmx, over the ``Mesh`` facade.

Every page acts for the caller the API authenticates (a token cookie, or the workspace user locally)
and reads data only through the governed query service. JavaScript and CSS ship in the package
(``static/``; htmx is vendored from npm by ``scripts/vendor-assets.sh``): no CDN.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI


def mount(app: FastAPI) -> None:
    """Add the marketplace's pages and static files to ``app``."""
    from fastapi.staticfiles import StaticFiles

    from quanta.interfaces.web import (
        access,
        blueprints,
        catalog,
        deliveries,
        health,
        kpis,
        lab,
        lineage_graph,
        maturity,
        session,
    )
    from quanta.interfaces.web.pages import HERE

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (
        catalog,
        lab,
        access,
        session,
        health,
        lineage_graph,
        maturity,
        kpis,
        blueprints,
        deliveries,
    ):
        app.include_router(module.router)
