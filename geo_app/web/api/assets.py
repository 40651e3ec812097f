"""/api/assets: list (filters, keyset pages), one, create, PATCH, delete, bulk import and export."""

from __future__ import annotations

import shapely
from flask import Blueprint, Response, request, url_for

from geo_app.ingest import assets as asset_ingest
from geo_app.ingest.assets_export import EXPORT_FORMATS, ExportError, export_assets
from geo_app.ingest.readers import ReadError
from geo_app.store import assets as asset_store
from geo_app.web import deps
from geo_app.web.errors import Problem
from geo_app.web.params import bbox, choice, number, reject_unknown

blueprint = Blueprint("assets_api", __name__, url_prefix="/api")

GEOJSON = "application/geo+json"
FILTER_PARAMS = ("type", "status", "owner_opd", "dimension", "phase", "kelurahan", "bbox")
DEFAULT_LIMIT, MAX_LIMIT = 100, 5000


def _list_param(name: str, options=None) -> list[str]:
    values = [
        value.strip() for raw in request.args.getlist(name) for value in raw.split(",") if value.strip()
    ]
    if options is not None:
        wrong = [value for value in values if value not in options]
        if wrong:
            raise Problem(400, "Invalid parameter", f"{name}={','.join(wrong)}: use {', '.join(options)}.")
    return values


def _bool_param(name: str) -> bool:
    value = choice(name, ("true", "false", "1", "0"), default="false")
    return value in {"true", "1"}


def asset_filter() -> asset_store.AssetFilter:
    """The list/export filters of the query string, checked against the catalog and the enums; without
    ``type``, the asset types the city uses."""
    city_types = list(deps.catalog().asset_types)
    return asset_store.AssetFilter(
        asset_types=_list_param("type", city_types) or city_types,
        statuses=_list_param("status", asset_store.STATUSES),
        owner_opd=request.args.get("owner_opd") or None,
        dimensions=_list_param("dimension", asset_store.DIMENSIONS),
        roadmap_phases=_list_param("phase", asset_store.ROADMAP_PHASES),
        kelurahan_codes=_list_param("kelurahan"),
        bbox=bbox(),
    )


def _rejected(results: list[asset_ingest.RowResult]) -> Problem:
    reasons = [reason for result in results for reason in result.reasons]
    return Problem(422, "Asset rejected", "; ".join(reasons), errors=reasons)


def _feature_body() -> tuple[dict, dict | None]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or body.get("type") != "Feature":
        raise Problem(
            400,
            "Expected a GeoJSON Feature",
            'Send {"type": "Feature", "geometry": {...}, "properties": {"asset_type": ..., "name": ...}} '
            "with Content-Type application/json or application/geo+json.",
        )
    properties = body.get("properties") or {}
    if not isinstance(properties, dict):
        raise Problem(400, "Expected a GeoJSON Feature", "properties must be an object.")
    return properties, body.get("geometry")


def _shape(geometry: dict | None):
    if geometry is None:
        return None
    try:
        return shapely.geometry.shape(geometry)
    except (AttributeError, KeyError, TypeError, ValueError, shapely.errors.GEOSException) as exc:
        raise Problem(400, "Invalid geometry", f"the geometry is not valid GeoJSON: {exc}") from None


def _check_and_locate(conn, properties: dict, geom) -> tuple[asset_store.AssetRecord, str | None]:
    city_code = deps.city_code()
    row = asset_ingest.RowInput(1, properties, geom)
    [(result, record)] = asset_ingest.check_rows(conn, city_code, deps.catalog(), [row], None, strict=True)
    if not result.ok:
        raise _rejected([result])
    return record, result.kelurahan_code


@blueprint.get("/assets")
def list_assets():
    """One page of assets as a FeatureCollection; ``next`` continues after the last id."""
    reject_unknown({*FILTER_PARAMS, "limit", "after"})
    filters = asset_filter()
    limit = number("limit", DEFAULT_LIMIT, 1, MAX_LIMIT, whole=True)
    after = number("after", None, 0, whole=True)
    city_code = deps.city_code()
    with deps.connection() as conn:
        features, next_after = asset_store.page_features(conn, city_code, filters, limit, after)
    links = [{"rel": "self", "href": request.full_path.rstrip("?"), "type": GEOJSON}]
    if next_after is not None:
        args = {key: value for key, value in request.args.items() if key != "after"}
        links.append(
            {"rel": "next", "href": url_for(".list_assets", **args, after=next_after), "type": GEOJSON}
        )
    collection = {
        "type": "FeatureCollection",
        "numberReturned": len(features),
        "features": features,
        "links": links,
    }
    return collection, 200, {"Content-Type": GEOJSON}


@blueprint.get("/assets/<int:asset_id>")
def get_asset(asset_id: int):
    reject_unknown(())
    with deps.connection() as conn:
        feature = asset_store.get_feature(conn, deps.city_code(), asset_id)
    if feature is None:
        raise Problem(404, "Asset not found", f"There is no asset {asset_id} in this city.")
    return feature, 200, {"Content-Type": GEOJSON}


@blueprint.post("/assets")
def create_asset():
    """Create one asset from a GeoJSON Feature; its kelurahan is assigned from its location."""
    reject_unknown(())
    properties, geometry = _feature_body()
    city_code = deps.city_code()
    with deps.connection() as conn, conn.transaction():
        record, kelurahan_code = _check_and_locate(conn, properties, _shape(geometry))
        [asset_id] = asset_store.insert_assets(conn, city_code, [record], [kelurahan_code])
        feature = asset_store.get_feature(conn, city_code, asset_id)
    location = url_for(".get_asset", asset_id=asset_id)
    return feature, 201, {"Content-Type": GEOJSON, "Location": location}


@blueprint.patch("/assets/<int:asset_id>")
def update_asset(asset_id: int):
    """Change some properties and/or the geometry; the merged asset is checked as a whole again."""
    reject_unknown(())
    properties, geometry = _feature_body()
    city_code = deps.city_code()
    with deps.connection() as conn, conn.transaction():
        stored = asset_store.get_record(conn, city_code, asset_id)
        if stored is None:
            raise Problem(404, "Asset not found", f"There is no asset {asset_id} in this city.")
        merged = {key: value for key, value in stored.items() if key not in {"wkb", "properties"}}
        merged["attributes"] = {**stored["properties"], **(properties.pop("attributes", None) or {})}
        merged.update(properties)
        geom = _shape(geometry) if geometry is not None else shapely.from_wkb(stored["wkb"])
        record, kelurahan_code = _check_and_locate(conn, merged, geom)
        asset_store.update_asset(conn, city_code, asset_id, record, kelurahan_code)
        feature = asset_store.get_feature(conn, city_code, asset_id)
    return feature, 200, {"Content-Type": GEOJSON}


@blueprint.delete("/assets/<int:asset_id>")
def delete_asset(asset_id: int):
    reject_unknown(())
    with deps.connection() as conn, conn.transaction():
        if not asset_store.delete_asset(conn, deps.city_code(), asset_id):
            raise Problem(404, "Asset not found", f"There is no asset {asset_id} in this city.")
    return Response(status=204)


@blueprint.post("/assets/import")
def import_assets():
    """Bulk import of an uploaded file (form field ``file``) or a GeoJSON FeatureCollection body.

    Answers the per-row report: 200 when written (or a clean dry run), 422 when rows were rejected and
    nothing was written.
    """
    reject_unknown({"type", "dry_run", "keep_good_rows", "crs"})
    asset_type = choice("type", deps.catalog().asset_types)
    dry_run, keep_good_rows = _bool_param("dry_run"), _bool_param("keep_good_rows")
    upload = request.files.get("file")
    if upload is not None:
        filename, data = upload.filename or "upload", upload.read()
    elif request.is_json:
        filename, data = "upload.geojson", request.get_data()
    else:
        raise Problem(
            400,
            "No file",
            "Upload the file as multipart form field 'file' or send a GeoJSON FeatureCollection.",
        )
    try:
        rows = asset_ingest.read_upload(filename, data, request.args.get("crs"))
    except ReadError as exc:
        raise Problem(422, "File not imported", str(exc)) from None
    city_code = deps.city_code()
    with deps.connection() as conn, conn.transaction():
        report = asset_ingest.import_rows(
            conn, city_code, deps.catalog(), rows, asset_type, filename, dry_run, keep_good_rows
        )
    vetoed = report.rejected and not keep_good_rows
    return report.to_dict(), 422 if vetoed else 200


@blueprint.get("/assets/export")
def export():
    """The filtered assets as a file: ``format`` geojson, csv, gpkg, shp (zipped) or kml."""
    reject_unknown({*FILTER_PARAMS, "format"})
    fmt = choice("format", EXPORT_FORMATS, default="geojson")
    filters = asset_filter()
    with deps.connection() as conn:
        rows = asset_store.export_rows(conn, deps.city_code(), filters)
    try:
        content, media_type, extension = export_assets(rows, fmt)
    except ExportError as exc:
        raise Problem(400, "Cannot export in this format", str(exc)) from None
    return Response(
        content,
        mimetype=media_type,
        headers={"Content-Disposition": f'attachment; filename="assets.{extension}"'},
    )
