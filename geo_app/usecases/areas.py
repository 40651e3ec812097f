"""The city's kecamatan or kelurahan with their populations, as GeoJSON."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from geo_app.city import CityContext
from geo_app.store import areas as area_store
from geo_app.usecases.paging import Page, PageRequest


@dataclass(frozen=True)
class AreaList:
    level: str = "kelurahan"
    page: PageRequest | None = None
    """None: every area of the level (the map pages draw them all); else one keyset page by code."""


def list_areas(conn: psycopg.Connection, city: CityContext, request: AreaList) -> Page[dict]:
    """Areas of one level ordered by code (the sort key) as GeoJSON features."""
    if request.page is None:
        return Page(area_store.areas_geojson(conn, city.code, request.level)["features"], None)
    after = request.page.after[0] if request.page.after else None
    limit = request.page.limit
    features = area_store.areas_geojson(conn, city.code, request.level, after, limit + 1)["features"]
    return Page(features[:limit], (features[limit - 1]["id"],) if len(features) > limit else None)
