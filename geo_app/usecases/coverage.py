"""Coverage use case: how many people and hectares assets of some types reach, by kelurahan, kecamatan and
city (the figures of /api/analysis/coverage, the coverage map and the monthly cakupan report)."""

from __future__ import annotations

import math

import psycopg

from geo_app.analysis import coverage, siting
from geo_app.catalog import Catalog
from geo_app.city import CityContext

RESULTS = coverage.ResultCache()


def coverage_result(
    conn: psycopg.Connection, city: CityContext, catalog: Catalog, request: coverage.CoverageRequest
) -> coverage.CoverageResult:
    """The coverage result, reused while the data is unchanged (see coverage.ResultCache); raises
    coverage.CoverageError when it cannot be computed."""
    return RESULTS.compute(conn, city.code, catalog, request)


def fire_view(
    conn: psycopg.Connection,
    city: CityContext,
    catalog: Catalog,
    radius_m: float,
    minutes: float,
    access_m: float,
) -> dict:
    """The fire service's figures: people within ``radius_m`` of a fire post and within ``minutes`` over
    the roads (coverage.fire_service_view)."""
    return coverage.fire_service_view(conn, city.code, catalog, radius_m, minutes, access_m)


def jsonable(value):
    """NaN becomes null and floats are rounded to 4 decimals, recursively."""
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if hasattr(value, "item"):
        return jsonable(value.item())
    return value


def result_summary(result: coverage.CoverageResult) -> dict:
    """The figures of a result as plain data (city, kecamatan, kelurahan and gap rows)."""
    request_ = result.request
    return {
        "asset_types": list(request_.asset_types),
        "mode": request_.mode,
        "radius_m": request_.radius_m if request_.mode == "radius" else None,
        "minutes": request_.minutes if request_.mode == "travel_time" else None,
        "access_m": request_.access_m if request_.mode == "travel_time" else None,
        "max_speed_kmh": result.max_speed_kmh,
        "straight_line_radius_m": result.straight_line_radius_m,
        "assets": result.asset_count,
        "population_model": result.areas.population_model,
        "city": result.city,
        "kecamatan": result.kecamatan.to_dict("records"),
        "kelurahan": result.kelurahan.to_dict("records"),
        "gaps": result.gaps.drop(columns="geometry").to_dict("records"),
    }


def coverage_summary(
    conn: psycopg.Connection, city: CityContext, catalog: Catalog, request: coverage.CoverageRequest
) -> dict:
    """The JSON body of /api/analysis/coverage."""
    return jsonable(result_summary(coverage_result(conn, city, catalog, request)))


def siting_result(
    conn: psycopg.Connection,
    city: CityContext,
    catalog: Catalog,
    request: coverage.CoverageRequest,
    asset_type: str,
    count: int,
    candidates: list[tuple[float, float]] | None = None,
    spacing_m: float = 500.0,
) -> dict:
    """The JSON body of /api/analysis/siting: ``count`` new sites of ``asset_type`` on top of the coverage
    ``request`` shows (same mode and value), cumulative figures from today's coverage on."""
    result = coverage_result(conn, city, catalog, request)
    return jsonable(
        siting.suggest_sites(conn, city.code, catalog, result, asset_type, count, candidates, spacing_m)
    )
