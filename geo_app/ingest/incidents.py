"""Import 112 incidents from CSV or JSON: one transaction, idempotent by external id, a per-row report.

The rows of a big CSV that pass every check go the columnar fast path (incidents_bulk: checked in
arrays, COPied straight into incidents), its other rows the set-based SQL path; any other CSV is
streamed into a staging table with COPY (only the header is read in Python) and checked set-based;
JSON (a list of objects, ``{"incidents": [...]}`` or a GeoJSON FeatureCollection of points) is parsed
here and COPied the same way. Rows without coordinates but with an address are geocoded offline.
Points outside every kelurahan but within CITY_TOLERANCE_M of one get the nearest. A file with any
rejected row writes nothing unless ``keep_good`` is set. A CSV separated by semicolons (a spreadsheet's,
where the comma is the decimal mark) may write its coordinates with a decimal comma.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import psycopg

from geo_app.catalog import Catalog
from geo_app.city import require_city
from geo_app.ingest import incidents_bulk
from geo_app.ingest.geocode import Geocoder
from geo_app.ingest.incidents_bulk import Progress, no_progress
from geo_app.settings import Settings
from geo_app.store import areas as area_store
from geo_app.store import bulk
from geo_app.store import incidents as store
from geo_app.store.areas import CITY_TOLERANCE_M

log = logging.getLogger(__name__)

# From this many new rows on, indexes and foreign keys are rebuilt after the upsert instead of kept up
# row by row (store.indexes_rebuilt_after): the import then locks the incidents table until it commits.
BULK_ROWS = 100_000
# Header spellings accepted besides the field names themselves.
ALIASES = {
    "id": "external_id",
    "latitude": "lat",
    "longitude": "lon",
    "lng": "lon",
    "kategori": "category",
    "alamat": "address",
}


class IncidentFileError(ValueError):
    """The file as a whole cannot be read (wrong format, unknown columns); nothing was written."""


def csv_header(header_line: str) -> tuple[list[str], str]:
    """The staging columns of a CSV header line and the file's field separator: ``;`` where the header
    has semicolons and no commas (a spreadsheet's CSV where the comma is the decimal mark, as in
    Indonesian settings; numbers may then be written with a decimal comma), else ``,``."""
    delimiter = ";" if ";" in header_line and "," not in header_line else ","
    return header_columns(next(csv.reader([header_line], delimiter=delimiter), [])), delimiter


def header_columns(header: list[str]) -> list[str]:
    """Map a CSV header to staging columns; unknown columns are an error naming them."""
    columns = [ALIASES.get(name.strip().lower(), name.strip().lower()) for name in header]
    unknown = [raw for raw, name in zip(header, columns, strict=True) if name not in store.IMPORT_FIELDS]
    if unknown:
        mixed = any(";" in name for name in unknown)  # a header separated by both commas and semicolons
        raise IncidentFileError(
            f"unknown column(s) {', '.join(unknown)}; the columns are {', '.join(store.IMPORT_FIELDS)}"
            + ("; separate the header's names all with commas or all with semicolons" if mixed else "")
        )
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise IncidentFileError(f"column(s) given twice: {', '.join(repeated)}")
    for required in ("external_id", "call_type", "received_at"):
        if required not in columns:
            raise IncidentFileError(f"column {required} is missing from the header")
    return columns


def json_records(document: object) -> list[dict]:
    """Incident records from the accepted JSON shapes (points of a FeatureCollection become lat/lon)."""
    if isinstance(document, dict) and document.get("type") == "FeatureCollection":
        return [point_record(feature, index) for index, feature in enumerate(_features(document), start=1)]
    if isinstance(document, dict) and isinstance(document.get("incidents"), list):
        document = document["incidents"]
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list) or not all(isinstance(item, dict) for item in document):
        raise IncidentFileError(
            'expected a JSON object, a list of objects, {"incidents": [...]} or a GeoJSON FeatureCollection'
        )
    records = []
    for item in document:
        record = {ALIASES.get(key.lower(), key.lower()): value for key, value in item.items()}
        unknown = sorted(set(record) - set(store.IMPORT_FIELDS))
        if unknown:
            raise IncidentFileError(
                f"unknown field(s) {', '.join(unknown)}; the fields are {', '.join(store.IMPORT_FIELDS)}"
            )
        records.append(record)
    return records


def _features(collection: dict) -> list:
    features = collection.get("features") or []
    if not isinstance(features, list):
        raise IncidentFileError("features of the FeatureCollection must be a list of Features")
    return features


def point_record(feature: object, index: int) -> dict:
    """The properties of one GeoJSON Feature with its Point as lon/lat; the message names the feature."""
    properties = feature.get("properties") if isinstance(feature, dict) else None
    if not isinstance(feature, dict) or not isinstance(properties, dict | None):
        raise IncidentFileError(f"feature {index}: expected a Feature with an object of properties")
    record = dict(properties or {})
    geometry = feature.get("geometry")
    if geometry:
        point = geometry if isinstance(geometry, dict) and geometry.get("type") == "Point" else {}
        lon_lat = point.get("coordinates")
        if not (isinstance(lon_lat, list) and len(lon_lat) >= 2 and all(_is_number(n) for n in lon_lat[:2])):
            raise IncidentFileError(f"feature {index}: geometry must be a Point with coordinates [lon, lat]")
        record["lon"], record["lat"] = lon_lat[:2]
    return record


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def stage_csv(conn: psycopg.Connection, stream: BinaryIO) -> None:
    header_line = stream.readline().decode("utf-8-sig")
    if not header_line.strip():
        raise IncidentFileError("the CSV file is empty; the first line must be a header")
    columns, delimiter = csv_header(header_line)
    store.copy_csv_into_staging(conn, columns, store.iter_chunks(stream), delimiter)
    if delimiter == ";":
        store.read_decimal_commas(conn)


def stage_file(conn: psycopg.Connection, stream: BinaryIO, file_format: str) -> None:
    """The file's rows into the staging table, as text; IncidentFileError when it cannot be read."""
    if file_format == "csv":
        stage_csv(conn, stream)
    elif file_format == "json":
        try:
            document = json.load(io.TextIOWrapper(stream, encoding="utf-8-sig"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise IncidentFileError(f"not valid JSON: {exc}") from None
        except RecursionError:
            raise IncidentFileError("the JSON nests arrays or objects too deeply to read") from None
        store.copy_rows_into_staging(conn, json_records(document))
    else:
        raise IncidentFileError(f"unknown format {file_format!r}: use csv or json")


def import_incidents(
    conn: psycopg.Connection,
    settings: Settings,
    catalog: Catalog,
    stream: BinaryIO,
    file_format: str,
    source: str,
    keep_good: bool = False,
    progress: Progress = no_progress,
) -> store.ImportResult:
    """Stage, geocode, check and upsert in the caller's transaction (rolled back when rows are rejected)."""
    progress("reading the file", 0)
    store.create_staging(conn)
    try:
        stage_file(conn, stream, file_format)
    except psycopg.DataError as exc:
        # Only the database's own words: its context would quote the row, which may name a caller.
        reason = exc.diag.message_primary or str(exc).splitlines()[0]
        raise IncidentFileError(
            f"the file cannot be read ({reason}); save it as UTF-8 text without NUL characters"
        ) from None
    result = check_staged_rows(conn, settings, catalog, progress)
    if result.rejected and not keep_good:
        log.info("incident import from %s rejected: %d bad row(s)", source, len(result.rejected))
        return result
    progress("writing rows", 0)
    result.import_id = store.start_import_record(conn, settings.city_code, source)
    write_staged_rows(conn, settings.city_code, result)
    progress("rows written", result.rows_read)
    return finish_import(conn, settings.city_code, source, result)


def check_staged_rows(
    conn: psycopg.Connection, settings: Settings, catalog: Catalog, progress: Progress
) -> store.ImportResult:
    """Geocode and check the staged rows: their counts and the rejected ones with their reasons."""
    city = settings.city_code
    timezone = require_city(conn, city).timezone_name
    progress("geocoding addresses", 0)
    geocode_staged(conn, settings, city)
    progress("checking rows", 0)
    store.check_staged(conn, city, list(catalog.incident_categories), list(catalog.call_types), timezone)
    counts = store.count_staged(conn)
    return store.ImportResult(
        rows_read=counts["rows_read"],
        not_geocoded=counts["not_geocoded"],
        near_city=counts["near_city"],
        rejected=store.rejected_rows(conn),
        sql_rows=counts["rows_read"],
    )


def write_staged_rows(conn: psycopg.Connection, city: str, result: store.ImportResult) -> None:
    """Upsert the checked rows without reasons into ``result``'s import, adding to its counts."""
    if store.count_new(conn, city) >= BULK_ROWS and store.may_rebuild_indexes(conn):
        with store.indexes_rebuilt_after(conn):
            written = store.upsert_checked(conn, city, result.import_id, bulk=True)
    else:
        written = store.upsert_checked(conn, city, result.import_id)
    result.inserted += written["inserted"]
    result.updated += written["updated"]


def finish_import(
    conn: psycopg.Connection, city: str, source: str, result: store.ImportResult
) -> store.ImportResult:
    """Counts into the import record and the dataset load log, once the rows are written."""
    result.written = True
    result.unchanged = result.rows_read - len(result.rejected) - result.inserted - result.updated
    store.finish_import_record(
        conn,
        result.import_id,
        {
            "rows_read": result.rows_read,
            "inserted": result.inserted,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "rejected": len(result.rejected),
        },
    )
    area_store.record_load(conn, city, "incidents", source, False, result.inserted + result.updated)
    bulk.analyze_loaded(conn, ("incidents", "incident_callers"), result.inserted + result.updated)
    log.info(
        "incident import from %s: %d read, %d inserted, %d updated, %d unchanged, %d rejected",
        source,
        result.rows_read,
        result.inserted,
        result.updated,
        result.unchanged,
        len(result.rejected),
    )
    return result


def geocode_staged(conn: psycopg.Connection, settings: Settings, city_code: str) -> None:
    """Rows with an address and no coordinates get the geocoder's answer (or precision none)."""
    pending = store.rows_without_point(conn)
    if not pending:
        return
    geocoder = Geocoder(conn, settings, city_code)
    answers = []
    for row in pending:
        found = geocoder.geocode(row["address"])
        if found.precision == "none":
            answers.append((row["row_no"], None, None, "none", found.source, None))
        else:
            answers.append((row["row_no"], found.lat, found.lon, found.precision, found.source, found.score))
    store.set_staged_geocodes(conn, answers)


def detect_format(path: Path, declared: str | None = None) -> str:
    if declared:
        return declared
    suffix = path.suffix.lower()
    if suffix in {".json", ".geojson"}:
        return "json"
    if suffix in {".csv", ".txt"}:
        return "csv"
    raise IncidentFileError(f"cannot tell the format of {path.name}: use a .csv or .json file, or --format")


def import_file(
    settings: Settings,
    catalog: Catalog,
    path: Path,
    file_format: str | None = None,
    keep_good: bool = False,
    progress: Progress = no_progress,
) -> store.ImportResult:
    """The CLI entry: one transaction over the whole file; nothing is written when rows are rejected
    (unless ``keep_good``)."""
    from geo_app.db import connect

    chosen = detect_format(path, file_format)
    with connect(settings.database_url) as conn, path.open("rb") as stream, conn.transaction():
        result = None
        if chosen == "csv":
            result = bulk_csv_import(conn, settings, catalog, path, keep_good, progress)
        if result is None:
            result = import_incidents(conn, settings, catalog, stream, chosen, path.name, keep_good, progress)
        if not result.written:
            raise psycopg.Rollback()
    return result


def bulk_csv_import(
    conn: psycopg.Connection,
    settings: Settings,
    catalog: Catalog,
    path: Path,
    keep_good: bool,
    progress: Progress,
) -> store.ImportResult | None:
    """A big CSV: the rows the fast path vouches for are COPied straight into incidents
    (incidents_bulk), the others checked and written on the SQL path; None leaves the whole file to
    the SQL path, which also reports unreadable headers and lines."""
    with path.open("rb") as stream:
        header_line = stream.readline().decode("utf-8-sig", errors="replace")
    try:
        columns, delimiter = csv_header(header_line)
    except IncidentFileError:
        return None
    city = settings.city_code
    result = incidents_bulk.import_csv(
        conn, city, catalog, path, columns, path.name, BULK_ROWS, progress, delimiter
    )
    if result is None or not result.sql_rows:
        return None if result is None else finish_import(conn, city, path.name, result)
    staged = check_staged_rows(conn, settings, catalog, progress)
    result.rejected, result.not_geocoded = staged.rejected, staged.not_geocoded
    result.near_city += staged.near_city
    if result.rejected and not keep_good:
        log.info("incident import from %s rejected: %d bad row(s)", path.name, len(result.rejected))
        return store.ImportResult(
            rows_read=result.rows_read,
            rejected=result.rejected,
            not_geocoded=result.not_geocoded,
            near_city=result.near_city,
            columnar_rows=result.columnar_rows,
            sql_rows=result.sql_rows,
        )
    write_staged_rows(conn, city, result)
    return finish_import(conn, city, path.name, result)


def import_records(
    conn: psycopg.Connection, settings: Settings, catalog: Catalog, records: Iterable[dict], source: str
) -> store.ImportResult:
    """Records already parsed (the live API): same checks, same upsert."""
    payload = json.dumps(list(records)).encode()
    return import_incidents(conn, settings, catalog, io.BytesIO(payload), "json", source)


def print_report(result: store.ImportResult, echo, shown: int = 50) -> None:
    """The import summary and the first rejected rows, for the command line."""
    echo(
        f"{result.rows_read} rows read: {result.inserted} inserted, {result.updated} updated, "
        f"{result.unchanged} unchanged, {len(result.rejected)} rejected, {result.not_geocoded} without "
        "location (precision none)"
    )
    echo(
        f"{result.columnar_rows} rows checked in columns (fast path), {result.sql_rows} row by row in SQL; "
        f"{result.near_city} points within {CITY_TOLERANCE_M:g} m outside the kelurahan boundaries "
        "given the nearest kelurahan"
    )
    for row in result.rejected[:shown]:
        echo(f"  row {row['row']} ({row['external_id'] or 'no external_id'}): {'; '.join(row['reasons'])}")
    if len(result.rejected) > shown:
        echo(f"  ... and {len(result.rejected) - shown} more rejected rows")
    if result.rejected and not result.written:
        echo("nothing was written: fix the rows above, or pass --keep-good to write the good rows")
