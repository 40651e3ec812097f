"""/api/analysis/coverage: coverage of asset types by kelurahan, kecamatan and city (JSON, GeoJSON, CSV);
/api/analysis/coverage/fire, the fire service view (2.5 km and 15 minutes by default); and
/api/analysis/siting, where new assets would cover most people."""

from __future__ import annotations

import dataclasses
import json
from typing import Literal

import geopandas as gpd
import pandas as pd
import shapely
from flask import Blueprint, Response
from pydantic import Field, ValidationInfo, field_validator

from geo_app.analysis import coverage
from geo_app.analysis import siting as siting_analysis
from geo_app.catalog import Catalog
from geo_app.csv_cells import to_csv
from geo_app.settings import Settings
from geo_app.usecases import coverage as coverage_usecases
from geo_app.usecases.coverage import jsonable, result_summary
from geo_app.web import deps
from geo_app.web.errors import Problem
from geo_app.web.params import Query, known, number, parsed, reject_unknown

blueprint = Blueprint("coverage_api", __name__, url_prefix="/api/analysis")

GEOJSON = "application/geo+json"
# Output geometry is simplified by this much (metres) before it leaves as lon/lat: maps stay light.
OUTPUT_SIMPLIFY_M = 2.0


class CoverageParams(Query):
    """What coverage is measured by, shared by the coverage and siting queries (types checked against the
    catalog); the travel time and the walk to the road default to the settings."""

    type: tuple[str, ...] = Field((), description="Asset types of the catalog, comma-separated (required)")
    mode: Literal["radius", "travel_time"] = "radius"
    radius_m: float | None = Field(None, ge=1, le=50_000, description="Radius; default per asset type")
    minutes: float | None = Field(None, ge=0.1, le=180, description="Travel time with mode=travel_time")
    access_m: float | None = Field(None, ge=1, le=2_000, description="Walk to and from the road network")

    @field_validator("type")
    @classmethod
    def _type(cls, values, info: ValidationInfo):
        return known(values, info.context["catalog"].asset_types)

    def to_request(self, settings: Settings, catalog: Catalog) -> coverage.CoverageRequest:
        """The coverage request; a 400 for a parameter that does not go with the others."""
        if not self.type:
            raise Problem(
                400,
                "Missing parameter",
                f"type is required: one or more of {', '.join(catalog.asset_types)}.",
            )
        if self.mode == "radius" and self.minutes is not None:
            raise Problem(
                400, "Invalid parameter", "minutes goes with mode=travel_time; use radius_m with mode=radius."
            )
        if self.mode == "travel_time" and self.radius_m is not None:
            raise Problem(
                400, "Invalid parameter", "radius_m goes with mode=radius; use minutes with mode=travel_time."
            )
        return coverage.CoverageRequest(
            asset_types=self.type,
            mode=self.mode,
            radius_m=self.radius_m,
            minutes=self.minutes or float(settings.fire_response_minutes),
            access_m=self.access_m or float(settings.coverage_access_m),
        )


class CoverageQuery(CoverageParams):
    min_gap_ha: float = Field(1.0, ge=0, le=10_000, description="Smallest uncovered area listed as a gap")
    format: Literal["json", "geojson", "csv"] = Field("json", description="json, geojson (one layer) or csv")
    layer: Literal["kelurahan", "kecamatan", "covered", "gaps"] | None = Field(
        None,
        description="With format=geojson: areas with their figures (default kelurahan), covered land or gaps",
    )

    def to_request(self, settings: Settings, catalog: Catalog) -> coverage.CoverageRequest:
        if self.layer is not None and self.format != "geojson":
            raise Problem(400, "Invalid parameter", "layer chooses the GeoJSON layer; add format=geojson.")
        return dataclasses.replace(super().to_request(settings, catalog), min_gap_ha=self.min_gap_ha)


class SitingQuery(CoverageParams):
    count: int = Field(3, ge=1, le=siting_analysis.MAX_SITES, description="Number of sites to suggest")
    spacing_m: float = Field(500.0, ge=50, le=10_000, description="Spacing of the candidate grid")
    candidates: str | None = Field(
        None, description="Own candidate points instead of the grid: lon,lat pairs separated by ';'"
    )
    format: Literal["json", "geojson"] = Field("json", description="json, or geojson (the sites as points)")


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


@blueprint.get("/coverage")
def coverage_report():
    """Coverage of one or more asset types: straight-line (radius) or over the road network (minutes)."""
    query = parsed(CoverageQuery)
    request_ = query.to_request(deps.settings(), deps.catalog())
    with deps.connection() as conn:
        result = coverage_usecases.coverage_result(conn, deps.city(), deps.catalog(), request_)
    if query.format == "geojson":
        return result_geojson(result, query.layer or "kelurahan"), 200, {"Content-Type": GEOJSON}
    if query.format == "csv":
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
        view = coverage_usecases.fire_view(
            conn, deps.city(), deps.catalog(), radius_m, minutes, float(settings.coverage_access_m)
        )
    return jsonable(view)


def candidate_points(raw: str | None) -> list[tuple[float, float]] | None:
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
    query = parsed(SitingQuery)
    fmt = query.format
    request_ = query.to_request(deps.settings(), deps.catalog())
    count, spacing_m = query.count, query.spacing_m
    with deps.connection() as conn:
        try:
            result = coverage_usecases.siting_result(
                conn,
                deps.city(),
                deps.catalog(),
                request_,
                request_.asset_types[0],
                count,
                candidate_points(query.candidates),
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
