"""/api/areas: the kecamatan or kelurahan of the city as GeoJSON, with populations."""

from __future__ import annotations

from flask import Blueprint

from geo_app.store import areas as area_store
from geo_app.web import deps
from geo_app.web.params import choice, reject_unknown

blueprint = Blueprint("areas_api", __name__, url_prefix="/api")


@blueprint.get("/areas")
def list_areas():
    """Admin areas of one level (default kelurahan) as a GeoJSON FeatureCollection."""
    reject_unknown({"level"})
    level = choice("level", area_store.LEVELS, default="kelurahan")
    with deps.connection() as conn:
        collection = area_store.areas_geojson(conn, deps.city_code(), level)
    return collection, 200, {"Content-Type": "application/geo+json"}
