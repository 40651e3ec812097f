"""Place names for analysis results: readers find a hexagon by its kelurahan, not by its cell id."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from geo_app.city import CityContext
from geo_app.store import geocode


def cell_places(conn: psycopg.Connection, city: CityContext, cells: Sequence[dict]) -> list[dict]:
    """``{"kelurahan", "kecamatan"}`` for each cell, by its centre (``x``, ``y`` in the city's metric CRS)."""
    if not cells:
        return []
    lons, lats = city.to_lonlat.transform([cell["x"] for cell in cells], [cell["y"] for cell in cells])
    return geocode.places_at(conn, city.code, list(lons), list(lats))
