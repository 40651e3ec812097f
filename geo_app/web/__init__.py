"""HTTP layer: blueprints parse requests and shape responses; SQL lives in geo_app.store."""

from geo_app.web import auth as auth_pages
from geo_app.web import health, pages
from geo_app.web.api import analysis_coverage as coverage_api
from geo_app.web.api import areas as areas_api
from geo_app.web.api import assets as assets_api
from geo_app.web.api import audit as audit_api
from geo_app.web.api import incident_counts as incident_counts_api

BLUEPRINTS = [health.blueprint, pages.blueprint, areas_api.blueprint]
BLUEPRINTS += [assets_api.blueprint, coverage_api.blueprint]
BLUEPRINTS += [auth_pages.blueprint, audit_api.blueprint, incident_counts_api.blueprint]

from geo_app.web.api import incidents as incidents_api  # noqa: E402

BLUEPRINTS += [incidents_api.blueprint]

from geo_app.web import ogc, openapi, tiles  # noqa: E402

BLUEPRINTS += [ogc.blueprint, tiles.blueprint, openapi.blueprint]

from geo_app.web.api import green as green_api  # noqa: E402

BLUEPRINTS += [green_api.blueprint]

from geo_app.web.api import analysis_incidents as incident_analysis_api  # noqa: E402

BLUEPRINTS += [incident_analysis_api.blueprint]
