"""City assets (CCTV, Wi-Fi, fire posts, ...): list in keyset pages, read, create, change, delete, import
and export. Each asset is checked as a whole against the catalog and located in its kelurahan before it
is written; every write is one transaction."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
import shapely
from shapely.geometry.base import BaseGeometry

from geo_app.catalog import Catalog
from geo_app.city import CityContext
from geo_app.ingest import assets as asset_ingest
from geo_app.ingest.assets_export import export_assets
from geo_app.store import assets as asset_store
from geo_app.usecases.errors import NotFound, Rejected
from geo_app.usecases.paging import Page, PageRequest


@dataclass(frozen=True)
class AssetList:
    filters: asset_store.AssetFilter
    page: PageRequest = PageRequest()


def list_assets(conn: psycopg.Connection, city: CityContext, request: AssetList) -> Page[dict]:
    """One page of GeoJSON features ordered by id (the sort key)."""
    after = request.page.after[0] if request.page.after else None
    features, next_id = asset_store.page_features(conn, city.code, request.filters, request.page.limit, after)
    return Page(features, (next_id,) if next_id is not None else None)


def get_asset(conn: psycopg.Connection, city: CityContext, asset_id: int) -> dict:
    feature = asset_store.get_feature(conn, city.code, asset_id)
    if feature is None:
        raise NotFound("asset", asset_id)
    return feature


@dataclass(frozen=True)
class AssetChange:
    """Properties (asset_type, name, status, ..., attributes) and/or a geometry; None keeps the stored."""

    properties: dict
    geometry: BaseGeometry | None = None


def _checked(conn, city: CityContext, catalog: Catalog, properties: dict, geometry):
    row = asset_ingest.RowInput(1, properties, geometry)
    [(result, record)] = asset_ingest.check_rows(conn, city.code, catalog, [row], None, strict=True)
    if not result.ok:
        raise Rejected("Asset rejected", list(result.reasons))
    return record, result.kelurahan_code


def create_asset(conn: psycopg.Connection, city: CityContext, catalog: Catalog, change: AssetChange) -> dict:
    """The new asset as a feature; its kelurahan is assigned from its location."""
    with conn.transaction():
        record, kelurahan_code = _checked(conn, city, catalog, change.properties, change.geometry)
        [asset_id] = asset_store.insert_assets(conn, city.code, [record], [kelurahan_code])
        return asset_store.get_feature(conn, city.code, asset_id)


def update_asset(
    conn: psycopg.Connection, city: CityContext, catalog: Catalog, asset_id: int, change: AssetChange
) -> dict:
    """The changed asset: the stored one merged with the change, checked as a whole again."""
    with conn.transaction():
        stored = asset_store.get_record(conn, city.code, asset_id)
        if stored is None:
            raise NotFound("asset", asset_id)
        properties = dict(change.properties)
        merged = {key: value for key, value in stored.items() if key not in {"wkb", "properties"}}
        merged["attributes"] = {**stored["properties"], **(properties.pop("attributes", None) or {})}
        merged.update(properties)
        geometry = change.geometry if change.geometry is not None else shapely.from_wkb(stored["wkb"])
        record, kelurahan_code = _checked(conn, city, catalog, merged, geometry)
        asset_store.update_asset(conn, city.code, asset_id, record, kelurahan_code)
        return asset_store.get_feature(conn, city.code, asset_id)


def delete_asset(conn: psycopg.Connection, city: CityContext, asset_id: int) -> None:
    with conn.transaction():
        if not asset_store.delete_asset(conn, city.code, asset_id):
            raise NotFound("asset", asset_id)


@dataclass(frozen=True)
class AssetImport:
    rows: list
    asset_type: str | None
    filename: str
    dry_run: bool = False
    keep_good_rows: bool = False


def import_assets(conn: psycopg.Connection, city: CityContext, catalog: Catalog, request: AssetImport):
    """The per-row report (asset_ingest.ImportReport); nothing is written when a row is rejected unless
    ``keep_good_rows``, nor on a dry run."""
    with conn.transaction():
        return asset_ingest.import_rows(
            conn,
            city.code,
            catalog,
            request.rows,
            request.asset_type,
            request.filename,
            request.dry_run,
            request.keep_good_rows,
        )


def export(conn: psycopg.Connection, city: CityContext, filters: asset_store.AssetFilter, fmt: str):
    """(content, media type, file extension) of the filtered assets; ExportError for a format the rows
    cannot be written in."""
    return export_assets(asset_store.export_rows(conn, city.code, filters), fmt)
