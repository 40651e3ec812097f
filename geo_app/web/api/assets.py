"""/api/assets: list (filters, keyset pages), one, create, PATCH, delete, bulk import and export."""

from __future__ import annotations

from typing import ClassVar

import shapely
from flask import Blueprint, Response, request, url_for
from pydantic import Field, ValidationInfo, field_validator

from geo_app.ingest import assets as asset_ingest
from geo_app.ingest.assets_export import EXPORT_FORMATS, ExportError
from geo_app.ingest.readers import ReadError
from geo_app.store import assets as asset_store
from geo_app.usecases import assets as asset_usecases
from geo_app.usecases.assets import AssetChange, AssetImport, AssetList
from geo_app.web import deps
from geo_app.web.errors import Problem
from geo_app.web.paging import Keyset, deprecation_headers, links, page_request
from geo_app.web.params import BBox, Listed, Query, known, parsed

blueprint = Blueprint("assets_api", __name__, url_prefix="/api")

GEOJSON = "application/geo+json"
ASSETS = Keyset("assets", (int,))
"""By id, ascending."""


class AssetQuery(Query):
    """The list and export filters, checked against the catalog and the enums."""

    type: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    owner_opd: str | None = None
    dimension: tuple[str, ...] = ()
    phase: tuple[str, ...] = ()
    kelurahan: tuple[str, ...] = ()
    bbox: BBox = None

    @field_validator("type")
    @classmethod
    def _type(cls, values, info: ValidationInfo):
        return known(values, info.context["catalog"].asset_types)

    @field_validator("status")
    @classmethod
    def _status(cls, values):
        return known(values, asset_store.STATUSES)

    @field_validator("dimension")
    @classmethod
    def _dimension(cls, values):
        return known(values, asset_store.DIMENSIONS)

    @field_validator("phase")
    @classmethod
    def _phase(cls, values):
        return known(values, asset_store.ROADMAP_PHASES)

    def to_filter(self, city_types: tuple[str, ...]) -> asset_store.AssetFilter:
        """The store's filter; without ``type``, the asset types the city uses (``city_types``)."""
        return asset_store.AssetFilter(
            asset_types=self.type or city_types,
            statuses=self.status,
            owner_opd=self.owner_opd,
            dimensions=self.dimension,
            roadmap_phases=self.phase,
            kelurahan_codes=self.kelurahan,
            bbox=self.bbox,
        )


class AssetListQuery(AssetQuery, Listed):
    MAX_LIMIT: ClassVar[int] = 5000
    after: int | None = Field(None, ge=0, description="Deprecated: use cursor from the next link.")


class ExportQuery(AssetQuery):
    format: str = "geojson"

    @field_validator("format")
    @classmethod
    def _format(cls, value):
        return known((value,), EXPORT_FORMATS)[0]


class ImportQuery(Query):
    type: str | None = None
    dry_run: bool = False
    keep_good_rows: bool = False
    crs: str | None = None

    @field_validator("type")
    @classmethod
    def _type(cls, value, info: ValidationInfo):
        return known((value,), info.context["catalog"].asset_types)[0] if value else None


def _change() -> AssetChange:
    """The GeoJSON Feature of the body as properties and a geometry (None when the body has none)."""
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
    return AssetChange(properties, _shape(body.get("geometry")))


def _shape(geometry: dict | None):
    if geometry is None:
        return None
    try:
        return shapely.geometry.shape(geometry)
    except (AttributeError, KeyError, TypeError, ValueError, shapely.errors.GEOSException) as exc:
        raise Problem(400, "Invalid geometry", f"the geometry is not valid GeoJSON: {exc}") from None


@blueprint.get("/assets")
def list_assets():
    """One page of assets as a FeatureCollection; the ``next`` link continues (``cursor``)."""
    query = parsed(AssetListQuery)
    list_request = AssetList(
        query.to_filter(tuple(deps.catalog().asset_types)), page_request(ASSETS, query, alias="after")
    )
    with deps.connection() as conn:
        page = asset_usecases.list_assets(conn, deps.city(), list_request)
    collection = {
        "type": "FeatureCollection",
        "numberReturned": len(page.items),
        "features": page.items,
        "links": links(page, ASSETS, GEOJSON),
    }
    return collection, 200, {"Content-Type": GEOJSON, **deprecation_headers()}


@blueprint.get("/assets/<int:asset_id>")
def get_asset(asset_id: int):
    parsed(Query)
    with deps.connection() as conn:
        feature = asset_usecases.get_asset(conn, deps.city(), asset_id)
    return feature, 200, {"Content-Type": GEOJSON}


@blueprint.post("/assets")
def create_asset():
    """Create one asset from a GeoJSON Feature; its kelurahan is assigned from its location."""
    parsed(Query)
    change = _change()
    with deps.connection() as conn:
        feature = asset_usecases.create_asset(conn, deps.city(), deps.catalog(), change)
    location = url_for(".get_asset", asset_id=feature["id"])
    return feature, 201, {"Content-Type": GEOJSON, "Location": location}


@blueprint.patch("/assets/<int:asset_id>")
def update_asset(asset_id: int):
    """Change some properties and/or the geometry; the merged asset is checked as a whole again."""
    parsed(Query)
    change = _change()
    with deps.connection() as conn:
        feature = asset_usecases.update_asset(conn, deps.city(), deps.catalog(), asset_id, change)
    return feature, 200, {"Content-Type": GEOJSON}


@blueprint.delete("/assets/<int:asset_id>")
def delete_asset(asset_id: int):
    parsed(Query)
    with deps.connection() as conn:
        asset_usecases.delete_asset(conn, deps.city(), asset_id)
    return Response(status=204)


@blueprint.post("/assets/import")
def import_assets():
    """Bulk import of an uploaded file (form field ``file``) or a GeoJSON FeatureCollection body.

    Answers the per-row report: 200 when written (or a clean dry run), 422 when rows were rejected and
    nothing was written.
    """
    query = parsed(ImportQuery)
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
        rows = asset_ingest.read_upload(filename, data, query.crs)
    except ReadError as exc:
        raise Problem(422, "File not imported", str(exc)) from None
    job = AssetImport(rows, query.type, filename, query.dry_run, query.keep_good_rows)
    with deps.connection() as conn:
        report = asset_usecases.import_assets(conn, deps.city(), deps.catalog(), job)
    vetoed = report.rejected and not query.keep_good_rows
    return report.to_dict(), 422 if vetoed else 200


@blueprint.get("/assets/export")
def export():
    """The filtered assets as a file: ``format`` geojson, csv, gpkg, shp (zipped) or kml."""
    query = parsed(ExportQuery)
    with deps.connection() as conn:
        try:
            content, media_type, extension = asset_usecases.export(
                conn, deps.city(), query.to_filter(tuple(deps.catalog().asset_types)), query.format
            )
        except ExportError as exc:
            raise Problem(400, "Cannot export in this format", str(exc)) from None
    return Response(
        content,
        mimetype=media_type,
        headers={"Content-Disposition": f'attachment; filename="assets.{extension}"'},
    )
