"""Writing green areas: bulk import of survey files and single edits, with geometry hygiene and history.

Every geometry goes through the same checks, in this order:

1. invalid rings are repaired with ST_MakeValid (a warning), unless the repair changes the area by more
   than 1 % (a bow-tie, a ring drawn twice...): then the feature is rejected and must be redrawn. A
   repair is not even tried when its work would be out of proportion (see :func:`repair_refusal`);
2. the part outside the city is cut off (a warning); a polygon wholly outside the city is rejected;
3. overlaps with current green areas (and earlier features of the same file) are reported with their
   size, then, by the ``overlap`` option: ``reject`` the feature, ``clip`` it to the land not yet
   mapped, or ``keep`` it as drawn (statistics union per kelurahan, so nothing is counted twice);
4. parts smaller than 10 m² (slivers) are dropped with a note; a feature left with nothing is dropped.

An import is one transaction. When any feature is rejected nothing is written, unless ``keep_valid``
asks to write the good ones; a dry run does all the work and rolls back, so its report is exact.
Changes never overwrite: an edit closes the current version and opens a new one (see store.green).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import geopandas as gpd
import pandas as pd
import psycopg
import shapely
from shapely.geometry.base import BaseGeometry

from geo_app.catalog import Catalog
from geo_app.crs import CRS84, OutsideCrs, check_box
from geo_app.dates import DateOutOfRange, check_in_range
from geo_app.ingest import geometry_limits
from geo_app.ingest.readers import UPLOAD_LIMITS, read_vector, read_vector_bytes, source_info
from geo_app.store import bulk
from geo_app.store import green as green_store

OVERLAP_MODES = ("reject", "clip", "keep")
MAX_REPAIR_AREA_CHANGE = 0.01
MAX_REPAIR_CROSSINGS = 10
"""Self-crossings an invalid polygon may have to be repaired; a digitising slip has one or two. Seven cost
ST_MakeValid about 5 ms, fourteen about 14 ms, ninety 150 ms (a 1,000-feature upload of those: 150 s)."""
MAX_REPAIR_VERTICES = 20_000
"""Vertices of an invalid polygon that is repaired (counting its crossings is bounded by this)."""
UPLOAD_LIMITS_GREEN = replace(UPLOAD_LIMITS, max_features=1_000)
"""A web upload: each feature takes about 10 ms of SQL (repair, clip, overlaps, slivers), 1,000 about 10 s."""
UPLOAD_MAX_VERTICES = 500_000
"""Vertices of all the polygons of a web upload; the SQL work of each feature grows with its vertices."""
SLIVER_M2 = 10.0

TYPE_HEADERS = ("green_type", "type", "tipe", "jenis", "jenis_rth", "tipe_rth", "kategori")
PUBLIC_HEADERS = ("is_public", "public", "publik", "kepemilikan")
OPD_HEADERS = ("managing_opd", "opd", "pengelola", "instansi")
NAME_HEADERS = ("name", "nama", "nama_rth")
SURVEY_HEADERS = ("survey_date", "tanggal_survei", "tgl_survei", "tanggal")
SOURCE_HEADERS = ("source", "sumber")
TRUE_WORDS = {"true", "1", "ya", "y", "yes", "publik", "public", "umum"}
FALSE_WORDS = {"false", "0", "tidak", "t", "n", "no", "privat", "private", "pribadi"}


class GreenEditError(ValueError):
    """An edit or import that cannot go ahead as asked; ``str()`` says what to change."""


@dataclass
class FeatureResult:
    """What happened to one feature: imported, dropped (nothing left worth keeping) or rejected."""

    feature: int
    name: str | None = None
    status: str = "imported"
    id: int | None = None
    area_ha: float | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    overlaps: list[dict] = field(default_factory=list)

    def reject(self, message: str) -> FeatureResult:
        self.status = "rejected"
        self.errors.append(message)
        return self

    def drop(self, message: str) -> FeatureResult:
        self.status = "dropped"
        self.notes.append(message)
        return self


@dataclass
class ImportReport:
    source: str
    overlap: str
    dry_run: bool
    keep_valid: bool
    committed: bool = False
    message: str = ""
    results: list[FeatureResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for result in self.results if result.status == status)

    def lines(self) -> list[str]:
        """The report as text: one line per feature that was not imported cleanly, then the outcome."""
        lines = []
        for result in self.results:
            remarks = [*result.errors, *result.warnings, *result.notes]
            if result.status != "imported" or remarks:
                label = f"feature {result.feature}" + (f" ({result.name})" if result.name else "")
                lines.append(f"{label}: {result.status}: " + "; ".join(remarks))
        return [*lines, self.message]

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "overlap": self.overlap,
            "dry_run": self.dry_run,
            "keep_valid": self.keep_valid,
            "committed": self.committed,
            "message": self.message,
            "features": len(self.results),
            "imported": self.count("imported"),
            "dropped": self.count("dropped"),
            "rejected": self.count("rejected"),
            "results": [asdict(result) for result in self.results],
        }


# --- dates ---------------------------------------------------------------------------------------------


def parse_instant(text: str, *, zone: ZoneInfo, end_of_day: bool, what: str = "date") -> datetime:
    """A date (``2024-05-01``, taken in the city's time zone ``zone``) or a timestamp, as an aware datetime.

    A date used as "as of" means the end of that day (changes made that day are included); as the start
    of a change it means the start of the day.
    """
    value = str(text).strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = date.fromisoformat(value)
            check_in_range(day, what)
            moment = datetime.combine(day, time.min, zone)
            return moment + timedelta(days=1) - timedelta(microseconds=1) if end_of_day else moment
        moment = datetime.fromisoformat(value)
        check_in_range(moment, what)
    except DateOutOfRange as exc:
        raise GreenEditError(str(exc)) from None
    except ValueError:
        raise GreenEditError(f"{what}={value!r}: use a date like 2024-05-01 or a timestamp") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


# --- attributes ----------------------------------------------------------------------------------------


def _key(text: object) -> str:
    return re.sub(r"[\s\-/().]+", "_", str(text).strip().lower()).strip("_")


def _pick(properties: dict, headers: Iterable[str]) -> object:
    by_key = {_key(name): value for name, value in properties.items()}
    for header in headers:
        value = by_key.get(header)
        missing = value is None or (pd.api.types.is_scalar(value) and pd.isna(value))
        if not missing and str(value).strip():
            return value
    return None


def _green_type(value: object, catalog: Catalog) -> str:
    wanted = _key(value)
    for type_id, entry in catalog.green_types.items():
        if wanted in (type_id, _key(entry.label)):
            return type_id
    raise GreenEditError(f"unknown green type {value!r}; use one of: {', '.join(catalog.green_types)}")


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    word = _key(value)
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise GreenEditError(f"public/private {value!r}: use true/false (or publik/privat)")


def _survey_date(value: object) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime | pd.Timestamp):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise GreenEditError(f"survey date {value!r}: use YYYY-MM-DD") from None


def parse_attributes(
    properties: dict, catalog: Catalog, *, default_type: str | None = None, default_source: str | None = None
) -> dict:
    """Green-area attributes from a feature's properties (English or Indonesian column names).

    Public/private defaults to what the catalog says of the type.
    """
    raw_type = _pick(properties, TYPE_HEADERS) or default_type
    if raw_type is None:
        raise GreenEditError(
            "no green type; add a column green_type (or tipe/jenis) with one of: "
            + ", ".join(catalog.green_types)
        )
    green_type = _green_type(raw_type, catalog)
    raw_public = _pick(properties, PUBLIC_HEADERS)
    raw_opd, raw_name, raw_source = (
        _pick(properties, headers) for headers in (OPD_HEADERS, NAME_HEADERS, SOURCE_HEADERS)
    )
    return {
        "green_type": green_type,
        "is_public": catalog.green_types[green_type].is_public
        if raw_public is None
        else _boolean(raw_public),
        "managing_opd": str(raw_opd).strip() if raw_opd is not None else None,
        "name": str(raw_name).strip() if raw_name is not None else None,
        "survey_date": _survey_date(_pick(properties, SURVEY_HEADERS)),
        "source": str(raw_source).strip() if raw_source is not None else default_source,
    }


# --- geometry hygiene ----------------------------------------------------------------------------------


def _m2(value: float) -> str:
    return f"{value:,.1f} m²"


def repair_refusal(geom: BaseGeometry) -> str | None:
    """Why an invalid polygon is not handed to ST_MakeValid, or None when it may be.

    The repair's work grows much faster than the self-crossings of the outline: a 301-point star (45,000
    crossings) takes PostGIS minutes. Such a shape is never a digitising slip, and the repair would
    change its area by far more than 1 % anyway, so it is refused before any SQL runs.
    """
    if shapely.is_valid(geom):
        return None
    reason = shapely.is_valid_reason(geom)
    vertices = shapely.get_num_coordinates(geom)
    if vertices > MAX_REPAIR_VERTICES:
        return (
            f"invalid geometry ({reason}) with {vertices:,} vertices; invalid polygons of more than "
            f"{MAX_REPAIR_VERTICES:,} vertices are not repaired here: repair it (e.g. QGIS Fix geometries)"
        )
    if geometry_limits.self_crossings(geom, MAX_REPAIR_CROSSINGS + 1) > MAX_REPAIR_CROSSINGS:
        return (
            f"invalid geometry ({reason}): its outline crosses itself at more than {MAX_REPAIR_CROSSINGS} "
            "points, far too many to repair; redraw the polygon"
        )
    return None


def check_geometry(
    conn: psycopg.Connection,
    city_code: str,
    geom: BaseGeometry | None,
    overlap: str,
    result: FeatureResult,
    exclude_id: int | None = None,
) -> bytes | None:
    """Run the hygiene steps; returns the WKB to store, or None (``result`` says why)."""
    if geom is None or geom.is_empty:
        result.reject("no geometry")
        return None
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        result.reject(f"the geometry is a {geom.geom_type}; green areas must be polygons")
        return None
    try:
        check_box(geom.bounds, CRS84)
    except OutsideCrs as exc:
        result.reject(f"the geometry is not in longitude/latitude: {exc}")
        return None
    refusal = repair_refusal(geom)
    if refusal:
        result.reject(refusal)
        return None
    checked = green_store.repair_and_clip(conn, city_code, shapely.to_wkb(geom))
    if not checked["has_boundary"]:
        raise GreenEditError(f"city {city_code} has no boundary loaded; import the kelurahan first")
    if not checked["valid"]:
        before, after = checked["area_before_m2"], checked["area_after_m2"]
        change = abs(after - before) / before if before > 0 else float("inf")
        if change > MAX_REPAIR_AREA_CHANGE:
            result.reject(
                f"invalid geometry ({checked['reason']}); repairing it would change the area from "
                f"{_m2(before)} to {_m2(after)} (more than 1 %): redraw the polygon"
            )
            return None
        result.warnings.append(
            f"invalid geometry ({checked['reason']}) repaired with ST_MakeValid; area changed by {change:.2%}"
        )
    if checked["inside_m2"] <= 1e-6 * checked["area_after_m2"]:
        result.reject("the polygon lies outside the city boundary")
        return None
    outside = checked["area_after_m2"] - checked["inside_m2"]
    if outside >= SLIVER_M2:
        result.warnings.append(f"{_m2(outside)} outside the city boundary cut off")
    wkb = checked["inside_wkb"]
    wkb = _resolve_overlaps(conn, city_code, wkb, overlap, result, exclude_id)
    if wkb is None:
        return None
    kept = green_store.drop_slivers(conn, city_code, wkb, SLIVER_M2)
    if kept["kept_wkb"] is None:
        result.drop(f"sliver of {_m2(kept['dropped_m2'])} (under {SLIVER_M2:g} m²) dropped")
        return None
    if kept["dropped_parts"]:
        result.notes.append(
            f"{kept['dropped_parts']} part(s) under {SLIVER_M2:g} m² ({_m2(kept['dropped_m2'])}) dropped"
        )
    return kept["kept_wkb"]


def _resolve_overlaps(
    conn: psycopg.Connection,
    city_code: str,
    wkb: bytes,
    overlap: str,
    result: FeatureResult,
    exclude_id: int | None,
) -> bytes | None:
    overlaps = green_store.overlapping_green_areas(conn, city_code, wkb, exclude_id)
    if not overlaps:
        return wkb
    result.overlaps = [
        {
            "id": row["id"],
            "name": row["name"],
            "green_type": row["green_type"],
            "overlap_m2": row["overlap_m2"],
        }
        for row in overlaps
    ]
    listed = "; ".join(f"#{row['id']} {row['name'] or ''} ({_m2(row['overlap_m2'])})" for row in overlaps)
    if overlap == "reject":
        result.reject(
            f"overlaps existing green areas: {listed}; use overlap=clip or overlap=keep to accept it"
        )
        return None
    if overlap == "keep":
        result.warnings.append(f"overlaps existing green areas, kept as drawn: {listed}")
        return wkb
    clipped = green_store.subtract_green_areas(conn, wkb, [row["id"] for row in overlaps])
    if clipped is None or shapely.from_wkb(clipped).is_empty:
        result.drop(f"already mapped: lies within existing green areas {listed}")
        return None
    result.warnings.append(f"clipped to land not yet mapped; removed overlaps with {listed}")
    return clipped


# --- single edits --------------------------------------------------------------------------------------


def _not_future(at: datetime | None) -> None:
    """History records what was; a change dated later would make "current" ambiguous."""
    if at is not None and at > datetime.now(UTC):
        raise GreenEditError(f"valid_from {at.isoformat()} is in the future; record changes once they happen")


def _check_order(current: dict, at: datetime | None) -> None:
    _not_future(at)
    if at is not None and at <= current["valid_from"]:
        raise GreenEditError(
            f"valid_from {at.isoformat()} is not after the start of the current version "
            f"({current['valid_from'].isoformat()})"
        )


def create_feature(
    conn: psycopg.Connection,
    city_code: str,
    catalog: Catalog,
    properties: dict,
    geom: BaseGeometry | None,
    overlap: str = "reject",
    at: datetime | None = None,
) -> FeatureResult:
    """Check and insert one new feature (the caller commits); a rejected or dropped one writes nothing."""
    _not_future(at)
    green_store.lock_city_edits(conn, city_code)
    result = FeatureResult(feature=1, name=properties.get("name"))
    return _check_and_insert(
        conn, city_code, parse_attributes(properties, catalog), geom, overlap, result, at
    )


def _check_and_insert(
    conn: psycopg.Connection,
    city_code: str,
    attributes: dict,
    geom: BaseGeometry | None,
    overlap: str,
    result: FeatureResult,
    at: datetime | None,
) -> FeatureResult:
    """A new feature from checked geometry; ``result`` gets its id and area (or says why not)."""
    wkb = check_geometry(conn, city_code, geom, overlap, result)
    if wkb is not None:
        row = green_store.insert_version(conn, city_code, attributes, wkb, at=at)
        result.id, result.area_ha = row["id"], row["area_ha"]
    return result


def update_feature(
    conn: psycopg.Connection,
    city_code: str,
    catalog: Catalog,
    feature_id: int,
    properties: dict,
    geom: BaseGeometry | None,
    *,
    replace: bool,
    overlap: str = "reject",
    at: datetime | None = None,
) -> FeatureResult | None:
    """Close the current version and open a new one; None when the feature does not exist (now).

    ``replace`` (PUT) takes the given properties and geometry as the whole feature; otherwise (PATCH)
    they are merged into the current version, and a changed type brings its catalog public/private.
    """
    green_store.lock_city_edits(conn, city_code)
    current = green_store.lock_current(conn, city_code, feature_id)
    if current is None:
        return None
    _check_order(current, at)
    if replace:
        attributes = parse_attributes(properties, catalog)
    else:
        merged = {
            key: current[key] for key in ("green_type", "managing_opd", "name", "survey_date", "source")
        }
        if "green_type" not in properties:
            merged["is_public"] = current["is_public"]
        attributes = parse_attributes({**merged, **properties}, catalog)
    result = FeatureResult(feature=1, name=attributes["name"], id=feature_id)
    if geom is None and not replace:
        wkb = current["wkb"]
    else:
        wkb = check_geometry(conn, city_code, geom, overlap, result, exclude_id=feature_id)
    if wkb is not None:
        green_store.close_current(conn, city_code, feature_id, at)
        row = green_store.insert_version(conn, city_code, attributes, wkb, at=at, feature_id=feature_id)
        result.area_ha = row["area_ha"]
    return result


def delete_feature(
    conn: psycopg.Connection, city_code: str, feature_id: int, at: datetime | None = None
) -> bool:
    """End the feature's current version (its history stays); False when there is none."""
    green_store.lock_city_edits(conn, city_code)
    current = green_store.lock_current(conn, city_code, feature_id)
    if current is None:
        return False
    _check_order(current, at)
    green_store.close_current(conn, city_code, feature_id, at)
    return True


# --- bulk import ---------------------------------------------------------------------------------------


def import_frame(
    conn: psycopg.Connection,
    city_code: str,
    catalog: Catalog,
    frame: gpd.GeoDataFrame,
    *,
    source: str,
    overlap: str = "reject",
    keep_valid: bool = False,
    dry_run: bool = False,
    default_type: str | None = None,
    valid_from: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import the features of a GeoDataFrame (EPSG:4326) in one transaction on ``conn``.

    ``progress(done, total)`` is called after each feature (the command line shows a bar).
    """
    if overlap not in OVERLAP_MODES:
        raise GreenEditError(f"overlap={overlap!r}: use one of {', '.join(OVERLAP_MODES)}")
    if default_type is not None:
        default_type = _green_type(default_type, catalog)
    _not_future(valid_from)
    report = ImportReport(source=source, overlap=overlap, dry_run=dry_run, keep_valid=keep_valid)
    row_problems = frame.attrs["source"].row_problems if "source" in frame.attrs else {}
    properties_table = frame.drop(columns=frame.geometry.name)
    with conn.transaction() as tx:
        green_store.lock_city_edits(conn, city_code)
        for index, (properties, geom) in enumerate(
            zip(properties_table.to_dict("records"), frame.geometry, strict=True)
        ):
            report.results.append(
                _import_one(
                    conn,
                    city_code,
                    catalog,
                    index,
                    properties,
                    geom,
                    row_problems.get(index),
                    source,
                    overlap,
                    default_type,
                    valid_from,
                )
            )
            if progress:
                progress(index + 1, len(frame))
        rejected = report.count("rejected")
        written = report.count("imported")
        if rejected and not keep_valid:
            report.message = (
                f"nothing written: {rejected} feature(s) rejected; fix them, or import with keep_valid "
                f"to write the {written} good one(s)"
            )
            raise psycopg.Rollback(tx)
        if dry_run:
            report.message = f"dry run: {written} feature(s) would be written, {rejected} rejected"
            raise psycopg.Rollback(tx)
        bulk.analyze_loaded(conn, ("green_areas",), written)
        report.committed = True
        report.message = (
            f"{written} feature(s) written, {report.count('dropped')} dropped, {rejected} rejected"
        )
    return report


def _import_one(
    conn, city_code, catalog, index, properties, geom, read_problem, source, overlap, default_type, valid_from
) -> FeatureResult:
    name = _pick(properties, NAME_HEADERS)
    result = FeatureResult(feature=index + 1, name=str(name).strip() if name is not None else None)
    if read_problem:
        return result.reject(read_problem)
    try:
        attributes = parse_attributes(properties, catalog, default_type=default_type, default_source=source)
    except GreenEditError as exc:
        return result.reject(str(exc))
    return _check_and_insert(conn, city_code, attributes, geom, overlap, result, valid_from)


def import_file(
    conn: psycopg.Connection,
    city_code: str,
    catalog: Catalog,
    path: str | Path,
    *,
    layer: str | None = None,
    crs: str | None = None,
    **options,
) -> ImportReport:
    """Read a GeoJSON, GeoPackage, zipped Shapefile or KML file (any CRS) and import it."""
    return _import_read(conn, city_code, catalog, read_vector(path, layer=layer, crs=crs), options)


def import_upload(
    conn: psycopg.Connection,
    city_code: str,
    catalog: Catalog,
    filename: str,
    data: bytes,
    *,
    layer: str | None = None,
    crs: str | None = None,
    **options,
) -> ImportReport:
    """:func:`import_file` for an uploaded file (its name tells the format), within the web's limits."""
    frame = read_vector_bytes(filename, data, layer=layer, crs=crs, limits=UPLOAD_LIMITS_GREEN)
    vertices = int(shapely.get_num_coordinates(frame.geometry.values).sum())
    if vertices > UPLOAD_MAX_VERTICES:
        raise GreenEditError(
            f"{source_info(frame).name}: its polygons have {vertices:,} vertices in all; an upload may have "
            f"at most {UPLOAD_MAX_VERTICES:,}. Simplify them (e.g. QGIS Simplify), split the file, or "
            "import it with geo-app import-green, which has no such limit"
        )
    return _import_read(conn, city_code, catalog, frame, options)


def _import_read(
    conn, city_code: str, catalog: Catalog, frame: gpd.GeoDataFrame, options: dict
) -> ImportReport:
    source = options.pop("source", None) or source_info(frame).name
    return import_frame(conn, city_code, catalog, frame, source=source, **options)
