"""/api/green-areas (versioned features, bulk import, change report) and /api/analysis/green (RTH).

Writes follow store.green's history rule: an update or delete closes the current version, so every
earlier state stays readable with ``?as_of=DATE``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime
from typing import ClassVar

import pandas as pd
import shapely
from flask import Blueprint, Response, request, url_for
from pydantic import Field, ValidationInfo, field_validator
from shapely.geometry import mapping, shape

from geo_app.analysis import green as green_analysis
from geo_app.csv_cells import to_csv
from geo_app.ingest import green as green_ingest
from geo_app.store import areas as area_store
from geo_app.store import green as green_store
from geo_app.store import population as population_store
from geo_app.usecases import green as green_usecases
from geo_app.usecases import green_areas
from geo_app.usecases.green_areas import GreenAreaList
from geo_app.web import deps
from geo_app.web.apidoc import QueryParam, declare
from geo_app.web.errors import Problem, problem_response
from geo_app.web.paging import Keyset, deprecation_headers, links, page_request
from geo_app.web.params import BBox, Listed, choice, green_period, known, number, parsed, reject_unknown

blueprint = Blueprint("green_api", __name__, url_prefix="/api")

GEOJSON = "application/geo+json"
GREEN_AREAS = Keyset("green_areas", (int,))
"""By id, ascending."""
LEVEL_CHOICES = ("all", *green_analysis.LEVELS)
CHANGE_LABELS = {"gained": "Bertambah", "lost": "Berkurang"}


@blueprint.errorhandler(green_analysis.NoKelurahan)
def _no_kelurahan(exc: green_analysis.NoKelurahan):
    return problem_response(404, "No kelurahan", str(exc))


# --- parameters ----------------------------------------------------------------------------------------


def _parse_instant(value: str, name: str, end_of_day: bool = False) -> datetime:
    """A date in the city's own time zone, or a timestamp (GreenEditError names ``name``)."""
    return green_ingest.parse_instant(value, zone=deps.city().timezone, end_of_day=end_of_day, what=name)


def _instant(name: str, *, end_of_day: bool) -> datetime | None:
    value = request.args.get(name)
    if value is None:
        return None
    try:
        return _parse_instant(value, name, end_of_day)
    except green_ingest.GreenEditError as exc:
        raise Problem(400, "Invalid parameter", str(exc)) from None


def _boolean(name: str) -> bool | None:
    raw = request.values.get(name)
    if raw is None:
        return None
    if raw.lower() in {"true", "1", "yes"}:
        return True
    if raw.lower() in {"false", "0", "no"}:
        return False
    raise Problem(400, "Invalid parameter", f"{name}={raw!r}: use true or false")


def _types() -> tuple[str, ...]:
    raw = request.args.get("type")
    if not raw:
        return ()
    types = tuple(part.strip() for part in raw.split(",") if part.strip())
    known = deps.catalog().green_types
    unknown = [value for value in types if value not in known]
    if unknown:
        raise Problem(400, "Invalid parameter", f"type={','.join(unknown)}: use one of {', '.join(known)}")
    return types


def _overlap() -> str:
    value = request.values.get("overlap", "reject")
    if value not in green_ingest.OVERLAP_MODES:
        raise Problem(400, "Invalid parameter", f"overlap={value!r}: use one of reject, clip, keep")
    return value


# --- shaping -------------------------------------------------------------------------------------------


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(deps.city().timezone).isoformat()
    return value.isoformat() if isinstance(value, date) else str(value)


def _feature(row: dict) -> dict:
    green_type = deps.catalog().green_types.get(row["green_type"])
    return {
        "type": "Feature",
        "id": row["id"],
        "geometry": row["geometry"],
        "properties": {
            "id": row["id"],
            "version_id": row["version_id"],
            "green_type": row["green_type"],
            "type_label": green_type.label if green_type else row["green_type"],
            "is_public": row["is_public"],
            "managing_opd": row["managing_opd"],
            "name": row["name"],
            "survey_date": _iso(row["survey_date"]),
            "source": row["source"],
            "area_ha": round(row["area_ha"], 4),
            "valid_from": _iso(row["valid_from"]),
            "valid_to": _iso(row["valid_to"]),
        },
    }


def _geojson(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=GEOJSON)
    response.headers.update(headers or {})
    return response


def _csv(frame: pd.DataFrame, filename: str) -> Response:
    return Response(
        to_csv(frame, float_format="%.6g"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- features ------------------------------------------------------------------------------------------


class GreenListQuery(Listed):
    """Which green areas, at which moment (``as_of``, default now), one page at a time."""

    MAX_LIMIT: ClassVar[int] = 5000
    type: tuple[str, ...] = ()
    public: bool | None = None
    opd: str | None = None
    kelurahan: str | None = None
    bbox: BBox = None
    as_of: datetime | None = None
    after: int | None = Field(None, ge=0, description="Deprecated: use cursor from the next link.")

    @field_validator("type")
    @classmethod
    def _type(cls, values, info: ValidationInfo):
        return known(values, info.context["catalog"].green_types)

    @field_validator("as_of", mode="before")
    @classmethod
    def _as_of(cls, raw, info: ValidationInfo):
        zone = info.context["city"]().timezone
        try:
            return green_ingest.parse_instant(raw, zone=zone, end_of_day=True, what="as_of")
        except green_ingest.GreenEditError as exc:
            raise ValueError(str(exc).removeprefix(f"as_of={raw!r}: ")) from None


@blueprint.get("/green-areas")
def list_green_areas():
    """Green areas as GeoJSON, filtered, one page at a time (the ``next`` link continues)."""
    query = parsed(GreenListQuery)
    flt = green_store.GreenFilter(
        at=query.as_of,
        types=query.type,
        is_public=query.public,
        managing_opd=query.opd,
        kelurahan=query.kelurahan,
        bbox=query.bbox,
    )
    list_request = GreenAreaList(flt, page_request(GREEN_AREAS, query, alias="after"))
    with deps.connection() as conn:
        page, matched = green_areas.list_green_areas(conn, deps.city(), list_request)
    body = {
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": len(page.items),
        "features": [_feature(row) for row in page.items],
        "links": links(page, GREEN_AREAS, GEOJSON),
    }
    return _geojson(body, headers=deprecation_headers())


@blueprint.get("/green-areas/<int:feature_id>")
def get_green_area(feature_id: int):
    reject_unknown({"as_of"})
    at = _instant("as_of", end_of_day=True)
    with deps.connection() as conn:
        row = green_areas.get_green_area(conn, deps.city(), feature_id, at)
    return _geojson(_feature(row))


@blueprint.get("/green-areas/<int:feature_id>/history")
def green_area_history(feature_id: int):
    """Every version of a feature, oldest first."""
    reject_unknown(())
    with deps.connection() as conn:
        rows = green_areas.green_area_history(conn, deps.city(), feature_id)
    return _geojson({"type": "FeatureCollection", "features": [_feature(row) for row in rows]})


def _edit() -> green_areas.GreenAreaEdit:
    """The GeoJSON Feature of the body as an edit: properties, shapely geometry (or None), valid_from."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or body.get("type") != "Feature":
        raise Problem(
            400,
            "Invalid body",
            'Send a GeoJSON Feature: {"type": "Feature", "geometry": ..., "properties": ...}.',
        )
    properties = body.get("properties") or {}
    if not isinstance(properties, dict):
        raise Problem(400, "Invalid body", "properties must be a JSON object of name: value.")
    properties = dict(properties)
    valid_from = properties.pop("valid_from", None)
    try:
        geom = shape(body["geometry"]) if body.get("geometry") else None
        at = _parse_instant(valid_from, "valid_from") if valid_from else None
    except (ValueError, TypeError, AttributeError, KeyError, shapely.errors.GEOSException) as exc:
        raise Problem(400, "Invalid body", f"The geometry or valid_from cannot be read: {exc}") from None
    return green_areas.GreenAreaEdit(properties, geom, at, _overlap())


def _saved(conn, feature_id: int, result, status: int) -> Response:
    body = _feature(green_areas.get_green_area(conn, deps.city(), feature_id))
    body["report"] = asdict(result)
    location = url_for(".get_green_area", feature_id=feature_id)
    return _geojson(body, status, {"Location": location})


@blueprint.post("/green-areas")
def create_green_area():
    """Create a feature from a GeoJSON Feature (geometry checked as in an import)."""
    reject_unknown({"overlap"})
    edit = _edit()
    with deps.connection() as conn:
        result = green_areas.create_green_area(conn, deps.city(), deps.catalog(), edit)
        return _saved(conn, result.id, result, 201)


@blueprint.route("/green-areas/<int:feature_id>", methods=["PUT", "PATCH"])
def update_green_area(feature_id: int):
    """PUT replaces the feature; PATCH changes the given properties and/or geometry. Both keep history."""
    reject_unknown({"overlap"})
    edit = _edit()
    with deps.connection() as conn:
        result = green_areas.update_green_area(
            conn, deps.city(), deps.catalog(), feature_id, edit, replace=request.method == "PUT"
        )
        return _saved(conn, feature_id, result, 200)


@blueprint.delete("/green-areas/<int:feature_id>")
def delete_green_area(feature_id: int):
    """End the feature (``valid_to``: when, default now); its history stays readable."""
    reject_unknown({"valid_to"})
    at = _instant("valid_to", end_of_day=False)
    with deps.connection() as conn:
        green_areas.end_green_area(conn, deps.city(), feature_id, at)
    return Response(status=204)


@blueprint.post("/green-areas/import")
def import_green_areas():
    """Bulk import (multipart field ``file``): a report per feature; 422 when nothing was written."""
    allowed = {"overlap", "dry_run", "keep_valid", "layer", "crs", "type", "source", "valid_from"}
    reject_unknown(allowed)
    unknown_fields = sorted(set(request.form) - allowed)
    if unknown_fields:
        raise Problem(400, "Unknown form field", f"Unknown field(s): {', '.join(unknown_fields)}.")
    upload = request.files.get("file")
    if upload is None:
        raise Problem(
            400,
            "No file",
            "Send the file as multipart/form-data field 'file' (GeoJSON, GPKG, zipped SHP, KML).",
        )
    valid_from = request.values.get("valid_from")
    green_upload = green_areas.GreenUpload(
        upload.filename or "",
        upload.read(),
        layer=request.values.get("layer"),
        crs=request.values.get("crs"),
        overlap=_overlap(),
        dry_run=bool(_boolean("dry_run")),
        keep_valid=bool(_boolean("keep_valid")),
        default_type=request.values.get("type"),
        source=request.values.get("source"),
        valid_from=_parse_instant(valid_from, "valid_from") if valid_from else None,
    )
    with deps.connection() as conn:
        report = green_areas.import_green_areas(conn, deps.city(), deps.catalog(), green_upload)
    body = report.to_dict()
    refused = report.count("rejected") and not report.keep_valid
    return body, 422 if refused else 200


# --- change report -------------------------------------------------------------------------------------


@blueprint.get("/green-areas/changes")
def green_changes():
    """Hectares gained and lost per kelurahan (and kecamatan, city) between two dates, with the polygons.

    ``format=geojson`` gives the gained and lost land as polygons (for maps); ``csv`` the table.
    """
    reject_unknown({"from", "to", "format"})
    before = _instant("from", end_of_day=True)
    after = _instant("to", end_of_day=True)
    if before is None or after is None or before >= after:
        raise Problem(
            400,
            "Invalid parameter",
            "Give from=DATE and to=DATE with from before to, e.g. from=2024-01-01&to=2025-01-01.",
        )
    fmt = choice("format", ("json", "csv", "geojson"), default="json")
    city = deps.city()
    with deps.connection() as conn:
        changes = green_usecases.green_changes(
            conn, city, before, after, with_shapes=fmt == "geojson", with_polygons=fmt == "json"
        )
    table, shapes, polygons = changes.table, changes.shapes, changes.polygons
    if fmt == "geojson":
        geometries = green_analysis.to_lonlat([shape["geometry"] for shape in shapes], city.metric_srid)
        features = [
            {
                "type": "Feature",
                "geometry": mapping(geometry),
                "properties": {
                    "change": shape["change"],
                    "change_label": CHANGE_LABELS[shape["change"]],
                    "kelurahan_code": shape["code"],
                    "kelurahan": shape["name"],
                    "area_ha": round(shape["area_ha"], 4),
                },
            }
            for shape, geometry in zip(shapes, geometries, strict=True)
        ]
        return _geojson({"type": "FeatureCollection", "features": features})
    if fmt == "csv":
        return _csv(table, f"rth_perubahan_{request.args['from']}_{request.args['to']}.csv")
    records = green_usecases.records(table)
    by_kelurahan: dict[str, list] = {}
    for polygon in polygons:
        by_kelurahan.setdefault(polygon["kelurahan_code"], []).append(
            {key: value for key, value in polygon.items() if key != "kelurahan_code"}
        )
    for record in records:
        if record["level"] == "kelurahan":
            record["polygons"] = by_kelurahan.get(record["code"], [])
    return {"from": _iso(before), "to": _iso(after), "areas": records}


# --- statistics ----------------------------------------------------------------------------------------


def _level_filter(table: pd.DataFrame) -> pd.DataFrame:
    level = choice("level", LEVEL_CHOICES, default="all")
    return table if level == "all" else table[table["level"] == level]


def _with_kelurahan_geometry(conn, records: list[dict]) -> dict:
    """Kelurahan polygons with the given per-kelurahan records as properties (for choropleths)."""
    by_code = {record["code"]: record for record in records if record["level"] == "kelurahan"}
    collection = area_store.areas_geojson(conn, deps.city_code(), "kelurahan")
    features = [
        {
            "type": "Feature",
            "id": feature["id"],
            "geometry": feature["geometry"],
            "properties": by_code[feature["id"]],
        }
        for feature in collection["features"]
        if feature["id"] in by_code
    ]
    return {"type": "FeatureCollection", "features": features}


@blueprint.get("/analysis/green")
def green_statistics():
    """RTH per kelurahan, kecamatan and city against the 30 / 20 / 10 % targets (JSON, CSV or GeoJSON)."""
    reject_unknown({"as_of", "level", "format"})
    at = _instant("as_of", end_of_day=True)
    fmt = choice("format", ("json", "csv", "geojson"), default="json")
    city = deps.city()
    with deps.connection() as conn:
        table = _level_filter(green_usecases.rth_statistics(conn, city, at))
        if fmt == "geojson":
            return _geojson(_with_kelurahan_geometry(conn, green_usecases.records(table)))
    if fmt == "csv":
        return _csv(table, "rth_statistik.csv")
    return {
        "as_of": _iso(at),
        "targets": green_usecases.targets(),
        "areas": green_usecases.records(table),
    }


@blueprint.get("/analysis/green/access")
def green_access():
    """Residents within ``radius_m`` of a public green area of at least ``min_ha`` (of the types in
    ``type``, default every public one); ``format=geojson`` gives the land beyond reach as polygons."""
    reject_unknown({"radius_m", "min_ha", "type", "as_of", "level", "format"})
    radius = number("radius_m", green_analysis.ACCESS_RADIUS_M, 1, 5000)
    min_ha = number("min_ha", green_analysis.ACCESS_MIN_HA, 0, 1000)
    at = _instant("as_of", end_of_day=True)
    fmt = choice("format", ("json", "csv", "geojson"), default="json")
    city = deps.city()
    with deps.connection() as conn:
        access = green_usecases.park_access(
            conn, city, green_usecases.ParkAccessRequest(radius, min_ha, at, _types())
        )
    table, gaps, population_model = access.table, access.gaps, access.population_model
    if fmt == "geojson":
        records = [
            record
            for record in green_usecases.records(table)
            if record["level"] == "kelurahan" and not gaps[record["code"]].is_empty
        ]
        geometries = green_analysis.to_lonlat([gaps[record["code"]] for record in records], city.metric_srid)
        features = [
            {"type": "Feature", "id": record["code"], "geometry": mapping(geometry), "properties": record}
            for record, geometry in zip(records, geometries, strict=True)
        ]
        return _geojson({"type": "FeatureCollection", "features": features})
    table = _level_filter(table)
    if fmt == "csv":
        return _csv(table, "rth_akses.csv")
    return {
        "as_of": _iso(at),
        "radius_m": radius,
        "min_ha": min_ha,
        "population_model": population_model,
        "areas": green_usecases.records(table),
    }


@blueprint.get("/analysis/green/figures")
@declare(
    QueryParam(
        "from",
        "Start of the comparison, YYYY-MM-DD (as of the end of that day, city time). Default: the end of the "
        "same month a year before `to`, or the first day of the green history if later",
    ),
    QueryParam(
        "to",
        "End of the comparison and date of the RTH and park-access figures, YYYY-MM-DD (end of that day). "
        "Default: the last day of the last complete month",
    ),
    QueryParam("level", "Which rows", enum=LEVEL_CHOICES, default="all"),
    QueryParam(
        "format",
        "json; csv (the same columns); geojson (kelurahan polygons with their figures)",
        enum=("json", "csv", "geojson"),
        default="json",
    ),
)
def green_figures():
    """Per kelurahan, kecamatan and city: RTH share and deficit to 30 % (20 % public), hectares gained and
    lost between ``from`` and ``to``, and the share of residents within 300 m of a public park of 0.5 ha.

    The figures of the RTH map's table and of the monthly RTH report. Park access counts residents by the
    population grid (population-weighted), or spread evenly over the area where there is no grid.
    """
    reject_unknown({"from", "to", "level", "format"})
    fmt = choice("format", ("json", "csv", "geojson"), default="json")
    city = deps.city()
    with deps.connection() as conn:
        period = green_period(conn, city)
        table = green_usecases.area_figures(conn, city, period)
        if fmt == "geojson":
            return _geojson(_with_kelurahan_geometry(conn, green_usecases.records(table)))
        population_model = population_store.model_name(conn, city.code)
    table = _level_filter(table)
    if fmt == "csv":
        return _csv(table, f"rth_angka_{period.since}_{period.until}.csv")
    return {
        "from": period.since.isoformat(),
        "to": period.until.isoformat(),
        "radius_m": green_analysis.ACCESS_RADIUS_M,
        "min_ha": green_analysis.ACCESS_MIN_HA,
        "targets": green_usecases.targets(),
        "population_model": population_model,
        "areas": green_usecases.records(table),
    }
