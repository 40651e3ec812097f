"""HTTP layer: blueprints parse requests and shape responses; SQL lives in geo_app.store."""

from geo_app.web import auth, csw, health, national_pages, ogc, openapi, ows, pages, report_pages, tiles
from geo_app.web.api import (
    analysis_coverage,
    analysis_incidents,
    areas,
    assets,
    audit,
    green,
    incident_counts,
    incidents,
)

BLUEPRINTS = [
    health.blueprint,
    pages.blueprint,
    national_pages.blueprint,
    report_pages.blueprint,
    auth.blueprint,
    areas.blueprint,
    assets.blueprint,
    analysis_coverage.blueprint,
    incidents.blueprint,
    incident_counts.blueprint,
    analysis_incidents.blueprint,
    green.blueprint,
    audit.blueprint,
    ogc.blueprint,
    tiles.blueprint,
    ows.blueprint,
    csw.blueprint,
    openapi.blueprint,
]
