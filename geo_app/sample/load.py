"""Load the sample city into PostGIS: one transaction, COPY for the big tables, every layer recorded in
dataset_loads as sample data. Roads, street names, landmarks and places go through the OpenStreetMap
importer (written as an OSM file first), the path a real city's data takes."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg.types.json import Jsonb
from tqdm import tqdm

from geo_app.catalog import Catalog
from geo_app.db import connect
from geo_app.ingest.osm import import_osm
from geo_app.sample.city import SampleCity, default_catalog, generate_sample_city
from geo_app.sample.incidents import COLUMNS as incident_columns
from geo_app.sample.incidents import build_recent_incidents
from geo_app.sample.osm import OSM_FILE, write_sample_osm
from geo_app.sample.population_raster import load_population_grid
from geo_app.sample.reference import GEOGRAPHIC_SRID, METRIC_SRID, SAMPLE_SOURCE, TIMEZONE, to_geographic
from geo_app.store import bulk
from geo_app.store.areas import AdminArea, record_load, upsert_areas, upsert_city

RECENT_SOURCE = f"{SAMPLE_SOURCE}: calls of the 24 hours before loading"
INCIDENT_COLUMNS = tuple(column for column in incident_columns if column != "geometry")


def is_city_loaded(conn: psycopg.Connection, city_code: str) -> bool:
    """True when the city has any administrative areas (sample or imported)."""
    return bulk.has_admin_areas(conn, city_code)


def ewkb(geometries) -> np.ndarray:
    """Metric geometries as hex EWKB in lon/lat (SRID 4326), the text COPY understands; None stays None."""
    geometries = np.asarray(geometries, dtype=object)
    result = np.full(len(geometries), None, dtype=object)
    present = np.flatnonzero(pd.notna(geometries))
    lonlat = shapely.set_srid(to_geographic(geometries[present]), GEOGRAPHIC_SRID)
    result[present] = shapely.to_wkb(lonlat, hex=True, include_srid=True)
    return result


def _rows(frame: pd.DataFrame, columns: Sequence[str], city_code: str, geometry: str | None = "geometry"):
    """Tuples (city_code, *columns, geom) with Python values and None for missing ones."""
    values = frame[list(columns)].astype(object)
    values = values.where(values.notna(), None)
    geoms = ewkb(frame[geometry].to_numpy()) if geometry else None
    for i, row in enumerate(values.itertuples(index=False, name=None)):
        yield (city_code, *row, geoms[i]) if geoms is not None else (city_code, *row)


def _admin_areas(city: SampleCity) -> list[AdminArea]:
    geometries = to_geographic(city.areas.geometry.to_numpy())
    return [
        AdminArea(
            code=row.code,
            level=row.level,
            name=row.name,
            geom=geometries[i],
            parent_code=None if pd.isna(row.parent_code) else row.parent_code,
            boundary_source=row.boundary_source,
            name_variants=tuple(row.name_variants),
            population=int(row.population),
            population_source=row.population_source,
            population_year=int(row.population_year),
            population_is_estimate=bool(row.population_is_estimate),
            official_area_km2=None if pd.isna(row.official_area_km2) else float(row.official_area_km2),
        )
        for i, row in enumerate(city.areas.itertuples())
    ]


GREEN_COLUMNS = (
    "id",
    "green_type",
    "is_public",
    "managing_opd",
    "name",
    "survey_date",
    "source",
    "valid_from",
    "valid_to",
)


def _green_with_ids(conn: psycopg.Connection, city: SampleCity) -> pd.DataFrame:
    """Green-area versions with feature ids reserved from the database sequence."""
    green = city.green_areas
    features = np.sort(green["feature"].unique())
    ids = dict(zip(features, bulk.next_green_feature_ids(conn, len(features)), strict=True))
    return green.assign(id=green["feature"].map(ids), source=SAMPLE_SOURCE)


def _load_incidents(conn, code: str, incidents: pd.DataFrame, callers: pd.DataFrame) -> int:
    count = bulk.copy_rows(
        conn, "incidents", ("city_code", *INCIDENT_COLUMNS, "geom"), _rows(incidents, INCIDENT_COLUMNS, code)
    )
    bulk.copy_incident_callers(
        conn,
        code,
        callers[["external_id", "caller_name", "caller_phone"]]
        .astype(object)
        .where(callers.notna(), None)
        .itertuples(index=False, name=None),
    )
    return count


def load_sample_city(
    database_url: str, progress: bool = True, now: datetime | None = None, catalog: Catalog | None = None
) -> dict[str, int]:
    """Generate the sample city and replace the city's data with it, in one transaction.

    Returns the number of rows per layer. ``now`` places the small batch of recent calls (default: the
    current time); everything else is the same on every run.
    """
    catalog = catalog or default_catalog()
    steps = tqdm(total=9, desc="sample city", unit="step", disable=not progress)
    steps.set_postfix_str("generating")
    city = generate_sample_city(catalog)
    recent, recent_callers = build_recent_incidents(city.places(), catalog, now or datetime.now(UTC))
    steps.update()
    code = city.facts.code
    counts: dict[str, int] = {}
    with connect(database_url) as conn, conn.transaction():

        def step(layer: str, source: str, write) -> None:
            steps.set_postfix_str(layer)
            counts[layer] = write()
            record_load(conn, code, layer, source, True, counts[layer])
            steps.update()

        upsert_city(
            conn,
            code,
            city.facts.name,
            timezone=TIMEZONE,
            metric_srid=METRIC_SRID,
            official_area_km2=city.facts.official_area_km2,
            official_area_source=city.facts.official_area_source,
        )
        bulk.delete_city_layers(conn, code)
        step("admin_areas", SAMPLE_SOURCE, lambda: upsert_areas(conn, code, _admin_areas(city)))
        steps.set_postfix_str("roads and gazetteer (OpenStreetMap)")
        with tempfile.TemporaryDirectory() as folder:
            osm_file = write_sample_osm(city, Path(folder) / OSM_FILE)
            report = import_osm(conn, code, catalog, osm_file, source=SAMPLE_SOURCE, is_sample=True)
        counts.update(road_nodes=report.nodes, roads=report.edges, gazetteer=sum(report.gazetteer.values()))
        steps.update()
        asset_columns = (
            "asset_type",
            "name",
            "status",
            "owner_opd",
            "dimension",
            "roadmap_phase",
            "kelurahan_code",
            "coverage_radius_m",
            "properties",
            "source",
        )
        assets = city.assets.assign(properties=city.assets["properties"].map(Jsonb), source=SAMPLE_SOURCE)
        step(
            "assets",
            SAMPLE_SOURCE,
            lambda: bulk.copy_rows(
                conn, "assets", ("city_code", *asset_columns, "geom"), _rows(assets, asset_columns, code)
            ),
        )
        step("incidents", SAMPLE_SOURCE, lambda: _load_incidents(conn, code, city.incidents, city.callers))
        step("incidents_recent", RECENT_SOURCE, lambda: _load_incidents(conn, code, recent, recent_callers))
        green = _green_with_ids(conn, city)
        step(
            "green_areas",
            SAMPLE_SOURCE,
            lambda: bulk.copy_rows(
                conn, "green_areas", ("city_code", *GREEN_COLUMNS, "geom"), _rows(green, GREEN_COLUMNS, code)
            ),
        )
        # the generated population raster goes through geo-app import-population's importer
        step("population_grid", SAMPLE_SOURCE, lambda: load_population_grid(conn, city, SAMPLE_SOURCE))
        steps.set_postfix_str("analysing")
        bulk.analyze_loaded(
            conn, ("admin_areas", *bulk.CITY_LAYER_TABLES, "incident_callers"), sum(counts.values())
        )
        steps.set_postfix_str("committing")
    steps.update()
    steps.close()
    return counts
