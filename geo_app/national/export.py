"""``geo-app export-parquet``: one city node's layers into a national collection, without personal data.

Incidents carry exactly the fields a planner may see (geo_app.auth.privacy: no caller, no free text, no
call-centre number), read through the same field list the API answers planners with. Assets, the current
version of each green area and the administrative areas follow. Everything is read in one
REPEATABLE READ transaction, so the layers agree with each other, and streamed in batches, so a city of
millions of calls does not have to fit in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import psycopg
import shapely

from geo_app.auth.privacy import incident_fields
from geo_app.auth.roles import PERENCANA
from geo_app.city import CityError, load_city
from geo_app.db import connect
from geo_app.national import collection
from geo_app.store.incidents import TIME_FIELDS, incident_select

BATCH_ROWS = 200_000
INCIDENT_FIELDS = tuple(name for name in incident_fields(PERENCANA) if name not in {"lon", "lat"})
"""The planner's fields; the point travels as the geometry."""

LAYER_QUERIES = {
    "assets": """
        SELECT a.id, a.asset_type, a.name, a.status, a.owner_opd, a.dimension, a.roadmap_phase,
               a.kelurahan_code, a.coverage_radius_m, ST_AsBinary(a.geom) AS wkb
        FROM assets a WHERE a.city_code = %(city)s ORDER BY a.id
    """,
    "green_areas": """
        SELECT g.id, g.green_type, g.is_public, g.managing_opd, g.name, g.survey_date, g.source,
               g.valid_from, ST_AsBinary(g.geom) AS wkb
        FROM green_areas g WHERE g.city_code = %(city)s AND g.valid_to IS NULL ORDER BY g.id
    """,
    "admin_areas": """
        SELECT a.code, a.level, a.name, a.parent_code, a.population, a.population_year,
               a.population_is_estimate, ST_AsBinary(a.geom) AS wkb
        FROM admin_areas a WHERE a.city_code = %(city)s ORDER BY a.level, a.code
    """,
}
TIME_COLUMNS = {"incidents": TIME_FIELDS, "green_areas": ("valid_from",)}

Progress = Callable[[str, int], None]


def _incident_query() -> str:
    fields = (*INCIDENT_FIELDS, "lon", "lat")
    return f"{incident_select(fields)} WHERE i.city_code = %(city)s ORDER BY i.id"


def _frames(conn: psycopg.Connection, layer: str, sql: str, city_code: str) -> Iterator[gpd.GeoDataFrame]:
    """The query's rows as GeoDataFrames of at most BATCH_ROWS (one, empty, when there are none)."""
    with conn.cursor(name=f"export_{layer}") as cursor:
        cursor.execute(sql, {"city": city_code})
        first = True
        while True:
            rows = cursor.fetchmany(BATCH_ROWS)
            if not rows and not first:
                return
            columns = [column.name for column in cursor.description]
            yield _frame(pd.DataFrame(rows, columns=columns), layer)
            first = False
            if len(rows) < BATCH_ROWS:
                return


def _frame(rows: pd.DataFrame, layer: str) -> gpd.GeoDataFrame:
    if layer == "incidents":
        located = rows["lon"].notna() & rows["lat"].notna()
        points = shapely.points(rows["lon"].astype(float), rows["lat"].astype(float))
        geometry = pd.Series(points).where(located.to_numpy(), None)
        rows = rows.drop(columns=["lon", "lat"])
    else:
        geometry = shapely.from_wkb(rows.pop("wkb").to_numpy())
    for name in TIME_COLUMNS.get(layer, ()):
        rows[name] = pd.to_datetime(rows[name], utc=True)
    return gpd.GeoDataFrame(rows, geometry=gpd.GeoSeries(geometry, crs=4326))


def city_population(conn: psycopg.Connection, city_code: str) -> int | None:
    """Sum of the kelurahan populations; unknown (None) while any kelurahan has none."""
    row = conn.execute(
        """
        SELECT CASE WHEN count(*) > 0 AND count(population) = count(*) THEN sum(population) END AS people
        FROM admin_areas WHERE city_code = %s AND level = 'kelurahan'
        """,
        (city_code,),
    ).fetchone()
    return None if row["people"] is None else int(row["people"])


def export_city(
    database_url: str, city_code: str, out_dir: Path, progress: Progress | None = None
) -> dict[str, int]:
    """Write the city's four layers and its cities-table row into ``out_dir``; rows written per layer."""
    queries = {"incidents": _incident_query(), **LAYER_QUERIES}
    written: dict[str, int] = {}
    with connect(database_url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            city = load_city(conn, city_code)
            if city is None:
                raise CityError(f"city {city_code} is not in the database: run geo-app add-city FILE first")
            for layer in collection.LAYERS:

                def counted(frames: Iterator[gpd.GeoDataFrame], layer: str = layer):
                    for frame in frames:
                        if progress:
                            progress(layer, len(frame))
                        yield frame

                frames = counted(_frames(conn, layer, queries[layer], city.code))
                written[layer] = collection.write_city_layer(out_dir, layer, city.code, frames)
            population = city_population(conn, city.code)
    collection.write_city_row(
        out_dir,
        {
            "code": city.code,
            "name": city.name,
            "timezone": city.timezone_name,
            "metric_srid": city.metric_srid,
            "population": population,
        },
    )
    return written
