"""Asset imports: read survey files, check every row against the catalog and the city, write or report.

One path serves the API (a single GeoJSON feature, or an uploaded file) and ``geo-app import-assets``:
rows are read into (attributes, geometry) pairs, checked (catalog type and geometry type, enums, required
name, coordinates in range and not a placeholder, inside the city with a swapped-coordinates hint), and
written in the caller's transaction only when every row is good, unless the caller keeps the good rows.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import psycopg
import shapely
from shapely.geometry.base import BaseGeometry
from tqdm import tqdm

from geo_app.auth.privacy import PERSONAL_DATA_FIELDS, keys_named
from geo_app.catalog import Catalog
from geo_app.db import transaction
from geo_app.ingest import readers
from geo_app.store import areas as area_store
from geo_app.store import assets as asset_store
from geo_app.store import bulk
from geo_app.store.assets import AssetRecord

COLUMNS = ("asset_type", "name", "status", "owner_opd", "dimension", "roadmap_phase", "coverage_radius_m")
# Column names seen in OPD survey files, mapped to ours (lower-case, spaces as underscores).
COLUMN_ALIASES = {
    "type": "asset_type",
    "jenis": "asset_type",
    "nama": "name",
    "opd": "owner_opd",
    "pemilik": "owner_opd",
    "dimensi": "dimension",
    "fase": "roadmap_phase",
    "phase": "roadmap_phase",
    "tahap": "roadmap_phase",
    "radius_m": "coverage_radius_m",
    "radius": "coverage_radius_m",
}
VALUE_ALIASES = {
    "status": {
        "aktif": "active",
        "rencana": "planned",
        "direncanakan": "planned",
        "pemeliharaan": "maintenance",
        "perbaikan": "maintenance",
        "nonaktif": "inactive",
        "tidak_aktif": "inactive",
    },
    "roadmap_phase": {
        "quickwin": "quick_win",
        "jangka_pendek": "short",
        "jangka_menengah": "medium",
        "jangka_panjang": "long",
        "short_term": "short",
        "medium_term": "medium",
        "long_term": "long",
    },
}
ENUMS = {
    "status": asset_store.STATUSES,
    "roadmap_phase": asset_store.ROADMAP_PHASES,
    "dimension": asset_store.DIMENSIONS,
}
# Columns our exports add that are worked out again on import.
DERIVED_COLUMNS = {"id", "kelurahan_code", "kel_code", "kelurahan", "created_at", "updated_at"}
PLACEHOLDER_COORDINATES = {(0.0, 0.0), (-180.0, -90.0), (180.0, 90.0), (-180.0, 90.0), (180.0, -90.0)}


@dataclass
class RowInput:
    """One feature or CSV row as read: attributes, geometry in EPSG:4326 (None if unreadable)."""

    number: int
    attributes: dict
    geom: BaseGeometry | None
    problems: list[str] = field(default_factory=list)


@dataclass
class RowResult:
    number: int
    name: str | None
    ok: bool
    reasons: list[str]
    asset_id: int | None = None
    kelurahan_code: str | None = None


@dataclass
class ImportReport:
    rows: list[RowResult]
    dry_run: bool
    keep_good_rows: bool
    written: int = 0

    @property
    def rejected(self) -> int:
        return sum(not row.ok for row in self.rows)

    def to_dict(self) -> dict:
        return {
            "rows_read": len(self.rows),
            "good": len(self.rows) - self.rejected,
            "rejected": self.rejected,
            "written": self.written,
            "dry_run": self.dry_run,
            "keep_good_rows": self.keep_good_rows,
            "rows": [
                {
                    "row": row.number,
                    "name": row.name,
                    "ok": row.ok,
                    "reasons": row.reasons,
                    "id": row.asset_id,
                    "kelurahan_code": row.kelurahan_code,
                }
                for row in self.rows
            ],
        }


# --- attribute checks -------------------------------------------------------------------------------


def _normalise_enum(column: str, value: object) -> str:
    text = re.sub(r"[\s\-]+", "_", str(value).strip().lower())
    return VALUE_ALIASES.get(column, {}).get(text, text)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""


def _single_part(geom: BaseGeometry, expected: str) -> BaseGeometry | None:
    """The geometry as the catalog's single-part type (a one-part Multi* is unwrapped), else None."""
    geom = shapely.force_2d(geom)
    if geom.geom_type == expected:
        return geom
    if geom.geom_type == f"Multi{expected}" and len(geom.geoms) == 1:
        return geom.geoms[0]
    return None


def check_coordinates(geom: BaseGeometry) -> list[str]:
    """Coordinates that cannot be a place in the city, whatever the city: out of range or placeholders."""
    coords = shapely.get_coordinates(geom)
    if len(coords) == 0 or not geom.is_valid:
        return [f"the geometry is empty or invalid ({shapely.is_valid_reason(geom)})"]
    for x, y in coords:
        if (float(x), float(y)) in PLACEHOLDER_COORDINATES:
            return [f"({x:g}, {y:g}) is a placeholder coordinate, not a location: give the real position"]
        # Swapped lon/lat passes here: the location check names the swap.
        if not (-180 <= x <= 180 and -90 <= y <= 90) and not (-180 <= y <= 180 and -90 <= x <= 90):
            return [
                f"({x:g}, {y:g}) is not a longitude/latitude: if the file is in metres or another CRS, "
                "give its CRS (e.g. a UTM zone, EPSG:32750)"
            ]
    return []


def _split_attributes(attributes: dict, strict: bool) -> tuple[dict, dict, object, list[str]]:
    """Our columns (aliases resolved, blanks dropped), free attributes, source, and problems.

    Free attributes come from an ``attributes`` object (a JSON string in our own exports) and, in files,
    from every other column; with ``strict`` (the API) other keys are refused so a typo is not stored.
    """
    problems: list[str] = []
    values = {COLUMN_ALIASES.get(key, key): value for key, value in attributes.items()}
    extra = values.pop("attributes", None) or {}
    if isinstance(extra, str):
        try:
            extra = json.loads(extra) if extra.startswith("{") else {"attributes": extra}
        except json.JSONDecodeError:
            extra = {"attributes": extra}
    if not isinstance(extra, dict):
        problems.append("attributes must be an object of name: value")
        extra = {}
    extra = dict(extra)
    if not strict:
        values = {key: value for key, value in values.items() if key not in DERIVED_COLUMNS}
    source = values.pop("source", None)
    unknown = {key: value for key, value in values.items() if key not in COLUMNS}
    if strict and unknown:
        problems.append(
            f"unknown field(s) {', '.join(sorted(unknown))}: use {', '.join(COLUMNS)}, source, or put "
            "free attributes under 'attributes'"
        )
    extra.update({key: value for key, value in unknown.items() if not _blank(value)})
    reserved = keys_named(extra, frozenset(PERSONAL_DATA_FIELDS))
    if reserved:
        problems.append(
            f"attribute name(s) {', '.join(sorted(reserved))} are kept for 112 callers' personal data, "
            "which no asset may carry: rename them"
        )
    values = {key: value for key, value in values.items() if key in COLUMNS and not _blank(value)}
    return values, extra, source, problems


def check_attributes(
    attributes: dict,
    geom: BaseGeometry | None,
    catalog: Catalog,
    asset_type: str | None = None,
    strict: bool = False,
) -> tuple[AssetRecord | None, list[str]]:
    """Check one asset's attributes and geometry against the catalog.

    ``asset_type`` is the type given for a whole import (a row may repeat it but not contradict it).
    Missing owner OPD and dimension default to the catalog entry of the type.
    """
    values, extra, source, problems = _split_attributes(attributes, strict)
    type_id = str(values.get("asset_type") or asset_type or "").strip()
    if asset_type and values.get("asset_type") and str(values["asset_type"]).strip() != asset_type:
        problems.append(f"asset_type {values['asset_type']!r} contradicts the import's type {asset_type!r}")
    entry = catalog.asset_types.get(type_id)
    if entry is None:
        problems.append(
            f"asset_type {type_id!r} is not in the catalog: use one of {', '.join(catalog.asset_types)}"
            if type_id
            else f"asset_type is required: one of {', '.join(catalog.asset_types)}"
        )
    name = str(values.get("name", "")).strip()
    if not name:
        problems.append("name is required")
    enums = {}
    for column, options in ENUMS.items():
        if column in values:
            enums[column] = _normalise_enum(column, values[column])
            if enums[column] not in options:
                problems.append(f"{column} {values[column]!r} is not one of {', '.join(options)}")
    radius = None
    if "coverage_radius_m" in values:
        try:
            radius = float(str(values["coverage_radius_m"]).replace(",", "."))
        except ValueError:
            radius = math.nan
        if not radius > 0:
            problems.append(f"coverage_radius_m {values['coverage_radius_m']!r} must be a number above 0")

    if geom is None or geom.is_empty:
        problems.append("the geometry is missing")
    elif entry is not None:
        single = _single_part(geom, entry.geometry_type)
        if single is None:
            problems.append(f"a {entry.label} is a {entry.geometry_type}, this row has a {geom.geom_type}")
        else:
            geom = single
            problems.extend(check_coordinates(geom))
    if problems:
        return None, problems
    return (
        AssetRecord(
            asset_type=type_id,
            name=name,
            owner_opd=str(values.get("owner_opd") or entry.owner_opd).strip(),
            dimension=enums.get("dimension", entry.dimension),
            status=enums.get("status", "active"),
            roadmap_phase=enums.get("roadmap_phase"),
            coverage_radius_m=radius,
            properties=extra,
            source=source,
            geom=geom,
        ),
        [],
    )


def location_problem(geom: BaseGeometry, location: asset_store.Location, city_name: str) -> str | None:
    """Why a geometry is not accepted as being in the city (None when it is)."""
    if location.inside_city:
        return None
    x, y = shapely.get_coordinates(geom)[0]
    if location.inside_if_swapped:
        return (
            f"latitude and longitude look swapped: ({x:g}, {y:g}) is outside {city_name}, but "
            f"({y:g}, {x:g}) is inside; give longitude as x and latitude as y"
        )
    return (
        f"({x:g}, {y:g}) is outside {city_name} (more than {area_store.CITY_TOLERANCE_M:g} m from its "
        "boundary)"
    )


# --- reading files ----------------------------------------------------------------------------------

# Columns the CSV reader turned into the geometry; they are not attributes of the asset.
COORDINATE_HEADERS = {
    *readers.LONGITUDE_HEADERS,
    *readers.LATITUDE_HEADERS,
    *readers.X_HEADERS,
    *readers.Y_HEADERS,
    *readers.WKT_HEADERS,
}


def rows_from_frame(frame: gpd.GeoDataFrame) -> list[RowInput]:
    """Rows (numbered from 1) of a frame read by :mod:`geo_app.ingest.readers`, with its row problems."""
    info = readers.source_info(frame)
    is_csv = info.format == "CSV"
    attributes_table = frame.drop(columns=frame.geometry.name).to_dict("records")
    rows = []
    for index, (geom, record) in enumerate(zip(frame.geometry, attributes_table, strict=True)):
        attributes = {}
        for key, value in record.items():
            header = readers._header_key(key)
            if not (is_csv and header in COORDINATE_HEADERS) and not _blank(value):
                attributes[header] = value.item() if hasattr(value, "item") else value
        problem = info.row_problems.get(index)
        usable = geom is not None and not geom.is_empty
        rows.append(
            RowInput(index + 1, _plain(attributes), geom if usable else None, [problem] if problem else [])
        )
    return rows


def _plain(attributes: dict) -> dict:
    """JSON-friendly values: timestamps and other objects become strings."""
    return {
        key: value if isinstance(value, str | int | float | bool) else str(value)
        for key, value in attributes.items()
    }


def read_rows(path: Path, crs: str | None = None) -> list[RowInput]:
    """Rows of a GeoJSON, CSV, GeoPackage, zipped Shapefile or KML file, in EPSG:4326."""
    return rows_from_frame(readers.read_vector(path, crs=crs))


def read_upload(filename: str, data: bytes, crs: str | None = None) -> list[RowInput]:
    return rows_from_frame(readers.read_vector_bytes(filename, data, crs=crs))


# --- importing --------------------------------------------------------------------------------------


def check_rows(
    conn: psycopg.Connection,
    city_code: str,
    catalog: Catalog,
    rows: Sequence[RowInput],
    asset_type: str | None,
    strict: bool = False,
) -> list[tuple[RowResult, AssetRecord | None]]:
    """Check every row: attributes against the catalog, then location against the city in one query."""
    checked = []
    for row in rows:
        record, problems = (None, list(row.problems))
        if not problems:
            record, problems = check_attributes(row.attributes, row.geom, catalog, asset_type, strict)
        name = row.attributes.get("name") or row.attributes.get("nama")
        checked.append((RowResult(row.number, name and str(name), not problems, problems), record))
    located = [(result, record) for result, record in checked if record is not None]
    city = area_store.city(conn, city_code)
    city_name = city["name"] if city else city_code
    locations = asset_store.locate(conn, city_code, [record.geom for _, record in located])
    for (result, record), location in zip(located, locations, strict=True):
        problem = location_problem(record.geom, location, city_name)
        if problem:
            result.ok, result.reasons = False, [problem]
        result.kelurahan_code = location.kelurahan_code
    return checked


def import_rows(
    conn: psycopg.Connection,
    city_code: str,
    catalog: Catalog,
    rows: Sequence[RowInput],
    asset_type: str | None,
    source: str,
    dry_run: bool = False,
    keep_good_rows: bool = False,
    progress: bool = False,
) -> ImportReport:
    """Check all rows, then write the good ones unless it is a dry run or a bad row vetoes the import."""
    checked = check_rows(conn, city_code, catalog, rows, asset_type)
    report = ImportReport([result for result, _ in checked], dry_run, keep_good_rows)
    if dry_run or (report.rejected and not keep_good_rows):
        return report
    good = [(result, record) for result, record in checked if result.ok]
    for _, record in good:
        record.source = record.source or source
    records = tqdm([record for _, record in good], desc="writing assets", unit=" asset", disable=not progress)
    ids = asset_store.insert_assets(conn, city_code, records, [result.kelurahan_code for result, _ in good])
    for (result, _), asset_id in zip(good, ids, strict=True):
        result.asset_id = asset_id
    report.written = len(ids)
    if ids:
        area_store.record_load(conn, city_code, "assets", source, False, len(ids))
        bulk.analyze_loaded(conn, ("assets",), len(ids))
    return report


def import_file(
    database_url: str,
    city_code: str,
    catalog: Catalog,
    path: Path,
    asset_type: str | None,
    crs: str | None = None,
    dry_run: bool = False,
    keep_good_rows: bool = False,
    progress: bool = True,
) -> ImportReport:
    """Read, check and (unless vetoed) write one file in a single transaction (the CLI's entry point)."""
    rows = read_rows(path, crs)
    with transaction(database_url) as conn:
        return import_rows(
            conn, city_code, catalog, rows, asset_type, path.name, dry_run, keep_good_rows, progress
        )


def report_lines(report: ImportReport) -> list[str]:
    """The per-row report as text: one line per rejected row, then the totals."""
    lines = [
        f"row {row.number}{f' ({row.name})' if row.name else ''}: {'; '.join(row.reasons)}"
        for row in report.rows
        if not row.ok
    ]
    if report.dry_run:
        outcome = "dry run, nothing written"
    elif report.rejected and not report.keep_good_rows:
        outcome = "nothing written (use --keep-good-rows to write the good rows)"
    else:
        outcome = f"{report.written} written"
    lines.append(f"{len(report.rows)} rows read, {report.rejected} rejected: {outcome}")
    return lines
