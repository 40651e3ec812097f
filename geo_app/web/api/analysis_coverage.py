"""/api/analysis/coverage: coverage of asset types by kelurahan, kecamatan and city (JSON, GeoJSON, CSV);
/api/analysis/coverage/fire, the fire service view (2.5 km and 15 minutes by default); and
/api/analysis/siting, where new assets would cover most people."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import shapely
from flask import Blueprint, Response, request

from geo_app.analysis import coverage
from geo_app.analysis import siting as siting_analysis
from geo_app.csv_cells import to_csv
from geo_app.usecases import coverage as coverage_usecases
from geo_app.usecases.coverage import jsonable, result_summary
from geo_app.web import deps
from geo_app.web.errors import Problem
from geo_app.web.params import choice, number, reject_unknown

blueprint = Blueprint("coverage_api", __name__, url_prefix="/api/analysis")

GEOJSON = "application/geo+json"
FORMATS = ("json", "geojson", "csv")
GEOJSON_LAYERS = ("kelurahan", "kecamatan", "covered", "gaps")
# Output geometry is simplified by this much (metres) before it leaves as lon/lat: maps stay light.
OUTPUT_SIMPLIFY_M = 2.0


def coverage_request() -> coverage.CoverageRequest:
    """The analysis the query string asks for (types checked against the catalog)."""
    settings, catalog = deps.settings(), deps.catalog()
    types = tuple(value for raw in request.args.getlist("type") for value in raw.split(",") if value)
    if not types:
        raise Problem(
            400, "Missing parameter", f"type is required: one or more of {', '.join(catalog.asset_types)}."
        )
    unknown = [value for value in types if value not in catalog.asset_types]
    if unknown:
        raise Problem(
            400, "Invalid parameter", f"type={','.join(unknown)}: use {', '.join(catalog.asset_types)}."
        )
    mode = choice("mode", coverage.MODES, default="radius")
    if mode == "radius" and "minutes" in request.args:
        raise Problem(
            400, "Invalid parameter", "minutes goes with mode=travel_time; use radius_m with mode=radius."
        )
    if mode == "travel_time" and "radius_m" in request.args:
        raise Problem(
            400, "Invalid parameter", "radius_m goes with mode=radius; use minutes with mode=travel_time."
        )
    return coverage.CoverageRequest(
        asset_types=types,
        mode=mode,
        radius_m=number("radius_m", None, 1, 50_000),
        minutes=number("minutes", float(settings.fire_response_minutes), 0.1, 180),
        access_m=number("access_m", float(settings.coverage_access_m), 1, 2_000),
        min_gap_ha=number("min_gap_ha", 1.0, 0, 10_000),
    )


def to_lonlat(geoms, srid: int) -> gpd.GeoSeries:
    simplified = shapely.simplify(shapely.make_valid(list(geoms)), OUTPUT_SIMPLIFY_M)
    return gpd.GeoSeries(simplified, crs=srid).to_crs(4326)


def result_geojson(result: coverage.CoverageResult, layer: str) -> dict:
    """One layer of the result as a FeatureCollection: areas with their figures, covered parts or gaps."""
    if layer == "kelurahan":
        table, geoms = result.kelurahan, result.areas.geoms
    elif layer == "covered":
        table = result.kelurahan[["code", "name", "covered_ha", "population_covered"]]
        geoms = result.covered
    elif layer == "gaps":
        table, geoms = result.gaps.drop(columns="geometry"), result.gaps["geometry"]
    else:
        table = result.kecamatan
        frame = gpd.GeoDataFrame(
            {"kecamatan_code": result.kelurahan["kecamatan_code"]}, geometry=list(result.areas.geoms)
        )
        dissolved = frame.dissolve("kecamatan_code").reindex(table["code"])
        geoms = dissolved.geometry.values
    frame = gpd.GeoDataFrame(
        pd.DataFrame(jsonable(table.to_dict("records")), columns=table.columns),
        geometry=to_lonlat(geoms, result.metric_srid).values,
        crs=4326,
    )
    collection = json.loads(frame.to_json(drop_id=True, na="null"))
    collection.update(
        {k: v for k, v in result_summary(result).items() if k not in {"kecamatan", "kelurahan", "gaps"}}
    )
    return jsonable(collection)


def result_csv(result: coverage.CoverageResult) -> str:
    """One table: the city row, the kecamatan rows and the kelurahan rows, with a ``level`` column."""
    city = pd.DataFrame([{"level": "kota", "code": deps.city_code(), "name": "", **result.city}])
    kecamatan = result.kecamatan.assign(level="kecamatan")
    kelurahan = result.kelurahan.assign(level="kelurahan")
    table = pd.concat([city, kecamatan, kelurahan], ignore_index=True)
    columns = ["level", "code", "name", "kecamatan_code", "area_ha", "covered_ha", "covered_pct"]
    columns += ["population", "population_covered", "population_covered_pct", "population_uncovered"]
    return to_csv(table[columns].round(4))


def run(conn, request_: coverage.CoverageRequest) -> coverage.CoverageResult:
    """The coverage result (geo_app.usecases.coverage); 409 when it cannot be computed."""
    try:
        return coverage_usecases.coverage_result(conn, deps.city(), deps.catalog(), request_)
    except coverage.CoverageError as exc:
        raise Problem(409, "Coverage cannot be computed", str(exc)) from None


@blueprint.get("/coverage")
def coverage_report():
    """Coverage of one or more asset types: straight-line (radius) or over the road network (minutes)."""
    reject_unknown({"type", "mode", "radius_m", "minutes", "access_m", "min_gap_ha", "format", "layer"})
    fmt = choice("format", FORMATS, default="json")
    layer = choice("layer", GEOJSON_LAYERS, default="kelurahan")
    if "layer" in request.args and fmt != "geojson":
        raise Problem(400, "Invalid parameter", "layer chooses the GeoJSON layer; add format=geojson.")
    request_ = coverage_request()
    with deps.connection() as conn:
        result = run(conn, request_)
    if fmt == "geojson":
        return result_geojson(result, layer), 200, {"Content-Type": GEOJSON}
    if fmt == "csv":
        return Response(
            result_csv(result),
            mimetype="text/csv",
            headers={"Content-Disposition": 'attachment; filename="coverage.csv"'},
        )
    return jsonable(result_summary(result))


@blueprint.get("/coverage/fire")
def fire_view():
    """Share of the population within the fire-post radius and within the response time (settings)."""
    settings = deps.settings()
    reject_unknown({"radius_m", "minutes"})
    radius_m = number("radius_m", float(settings.fire_coverage_radius_m), 1, 50_000)
    minutes = number("minutes", float(settings.fire_response_minutes), 0.1, 180)
    with deps.connection() as conn:
        try:
            view = coverage.fire_service_view(
                conn, deps.city_code(), deps.catalog(), radius_m, minutes, float(settings.coverage_access_m)
            )
        except coverage.CoverageError as exc:
            raise Problem(409, "Coverage cannot be computed", str(exc)) from None
    return jsonable(view)


def candidate_points() -> list[tuple[float, float]] | None:
    raw = request.args.get("candidates")
    if raw is None:
        return None
    try:
        points = [tuple(float(part) for part in pair.split(",")) for pair in raw.split(";") if pair.strip()]
    except ValueError:
        points = []
    if not points or any(len(point) != 2 for point in points):
        raise Problem(400, "Invalid parameter", f"candidates={raw!r}: give lon,lat pairs separated by ';'.")
    return points


@blueprint.get("/siting")
def siting():
    """Suggest ``count`` new sites (greedy maximal covering) on top of the coverage the same parameters
    show: same types, mode and radius or minutes; new sites are of the first type. Each site carries its
    gain and the cumulative share from today's coverage on."""
    reject_unknown(
        {"type", "mode", "radius_m", "minutes", "access_m", "count", "spacing_m", "candidates", "format"}
    )
    fmt = choice("format", ("json", "geojson"), default="json")
    request_ = coverage_request()
    count = number("count", 3, 1, siting_analysis.MAX_SITES, whole=True)
    spacing_m = number("spacing_m", 500.0, 50, 10_000)
    with deps.connection() as conn:
        try:
            result = coverage_usecases.siting_result(
                conn,
                deps.city(),
                deps.catalog(),
                request_,
                request_.asset_types[0],
                count,
                candidate_points(),
                spacing_m,
            )
        except coverage.CoverageError as exc:
            raise Problem(409, "Siting cannot be computed", str(exc)) from None
    if fmt == "geojson":
        features = [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [site["lon"], site["lat"]]},
                "properties": {k: v for k, v in site.items() if k not in {"lon", "lat"}},
            }
            for site in result["sites"]
        ]
        summary = {k: v for k, v in result.items() if k != "sites"}
        return {"type": "FeatureCollection", "features": features, **summary}, 200, {"Content-Type": GEOJSON}
    return result
