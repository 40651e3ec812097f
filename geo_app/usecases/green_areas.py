"""Green areas (RTH) as records: the list at a moment, filtered, in keyset pages; one feature and its
history; creating, changing and ending features and importing files, each with its whole check."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

import psycopg
from shapely.geometry.base import BaseGeometry

from geo_app.catalog import Catalog
from geo_app.city import CityContext
from geo_app.ingest import green as green_ingest
from geo_app.ingest.readers import ReadError
from geo_app.store import green as green_store
from geo_app.usecases.errors import NotFound, Rejected
from geo_app.usecases.paging import Page, PageRequest, page_of


@dataclass(frozen=True)
class GreenAreaList:
    filters: green_store.GreenFilter
    page: PageRequest = PageRequest()


def list_green_areas(
    conn: psycopg.Connection, city: CityContext, request: GreenAreaList
) -> tuple[Page[dict], int]:
    """One page ordered by id (the sort key) and how many green areas match in all."""
    after = request.page.after[0] if request.page.after else None
    rows, matched = green_store.list_green_areas(
        conn, city.code, request.filters, after, request.page.limit + 1
    )
    return page_of(rows, request.page.limit, lambda row: (row["id"],)), matched


def get_green_area(
    conn: psycopg.Connection, city: CityContext, feature_id: int, at: datetime | None = None
) -> dict:
    """The feature as it was at ``at`` (default: now); NotFound when it did not exist then."""
    row = green_store.get_green_area(conn, city.code, feature_id, at)
    if row is None:
        when = f" on {at.date().isoformat()}" if at else ""
        raise NotFound("green area", f"{feature_id}{when}", "See /api/green-areas.")
    return row


def green_area_history(conn: psycopg.Connection, city: CityContext, feature_id: int) -> list[dict]:
    """Every version of the feature, oldest first; NotFound when it never existed."""
    rows = green_store.green_area_history(conn, city.code, feature_id)
    if not rows:
        raise NotFound("green area", feature_id, "See /api/green-areas.")
    return rows


@dataclass(frozen=True)
class GreenAreaEdit:
    """A feature as sent: its properties, geometry (None keeps the stored one on a merge), when the new
    version starts (default now) and what to do where it overlaps a current one."""

    properties: dict
    geometry: BaseGeometry | None = None
    valid_from: datetime | None = None
    overlap: str = "reject"


def _saved(result: green_ingest.FeatureResult) -> green_ingest.FeatureResult:
    if result.id is None or result.area_ha is None:
        reasons = [*result.errors, *result.notes] or [result.status]
        raise Rejected("Green area not saved", reasons, asdict(result))
    return result


def create_green_area(
    conn: psycopg.Connection, city: CityContext, catalog: Catalog, edit: GreenAreaEdit
) -> green_ingest.FeatureResult:
    """A new feature, geometry checked as in an import (one transaction: the caller's); Rejected with the
    check's report when it cannot be saved."""
    try:
        result = green_ingest.create_feature(
            conn, city.code, catalog, edit.properties, edit.geometry, edit.overlap, edit.valid_from
        )
    except green_ingest.GreenEditError as exc:
        raise Rejected("Green area not saved", [str(exc)]) from None
    return _saved(result)


def update_green_area(
    conn: psycopg.Connection,
    city: CityContext,
    catalog: Catalog,
    feature_id: int,
    edit: GreenAreaEdit,
    *,
    replace: bool,
) -> green_ingest.FeatureResult:
    """Close the current version and open a new one: ``replace`` takes the edit as the whole feature,
    otherwise it is merged into the current version. NotFound without a current version."""
    try:
        result = green_ingest.update_feature(
            conn,
            city.code,
            catalog,
            feature_id,
            edit.properties,
            edit.geometry,
            replace=replace,
            overlap=edit.overlap,
            at=edit.valid_from,
        )
    except green_ingest.GreenEditError as exc:
        raise Rejected("Green area not saved", [str(exc)]) from None
    if result is None:
        raise NotFound("green area", feature_id, "See /api/green-areas for the current ones.")
    return _saved(result)


def end_green_area(
    conn: psycopg.Connection, city: CityContext, feature_id: int, at: datetime | None = None
) -> None:
    """End the feature's current version at ``at`` (default now); its history stays readable."""
    try:
        ended = green_ingest.delete_feature(conn, city.code, feature_id, at)
    except green_ingest.GreenEditError as exc:
        raise Rejected("Green area not deleted", [str(exc)]) from None
    if not ended:
        raise NotFound("green area", feature_id, "See /api/green-areas for the current ones.")


@dataclass(frozen=True)
class GreenUpload:
    """An uploaded file of green areas and how to read and check it (see ``geo-app import-green``)."""

    filename: str
    data: bytes
    layer: str | None = None
    crs: str | None = None
    overlap: str = "reject"
    dry_run: bool = False
    keep_valid: bool = False
    default_type: str | None = None
    source: str | None = None
    valid_from: datetime | None = None


def import_green_areas(
    conn: psycopg.Connection, city: CityContext, catalog: Catalog, upload: GreenUpload
) -> green_ingest.ImportReport:
    """The report of every feature of the file; Rejected when the file cannot be read or checked."""
    try:
        return green_ingest.import_upload(
            conn,
            city.code,
            catalog,
            upload.filename,
            upload.data,
            layer=upload.layer,
            crs=upload.crs,
            overlap=upload.overlap,
            dry_run=upload.dry_run,
            keep_valid=upload.keep_valid,
            default_type=upload.default_type,
            source=upload.source,
            valid_from=upload.valid_from,
        )
    except (ReadError, green_ingest.GreenEditError) as exc:
        raise Rejected("File not imported", [str(exc)]) from None
