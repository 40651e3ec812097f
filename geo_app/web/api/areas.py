"""/api/areas: the kecamatan or kelurahan of the city as GeoJSON, with populations."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, request

from geo_app.usecases import areas as area_usecases
from geo_app.web import deps
from geo_app.web.paging import Keyset, links, page_request
from geo_app.web.params import Listed, parsed

blueprint = Blueprint("areas_api", __name__, url_prefix="/api")

GEOJSON = "application/geo+json"
AREAS = Keyset("areas", (str,))
"""By code."""


class AreaQuery(Listed):
    level: Literal["kecamatan", "kelurahan"] = "kelurahan"


@blueprint.get("/areas")
def list_areas():
    """Admin areas of one level (default kelurahan) as a GeoJSON FeatureCollection: all of them, or keyset
    pages when ``limit`` or ``cursor`` is given."""
    query = parsed(AreaQuery)
    paged = "limit" in request.args or "cursor" in request.args
    list_request = area_usecases.AreaList(query.level, page_request(AREAS, query) if paged else None)
    with deps.connection() as conn:
        page = area_usecases.list_areas(conn, deps.city(), list_request)
    collection = {"type": "FeatureCollection", "features": page.items}
    if paged:
        collection |= {"numberReturned": len(page.items), "links": links(page, AREAS, GEOJSON)}
    return collection, 200, {"Content-Type": GEOJSON}
