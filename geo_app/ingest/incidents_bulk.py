"""The fast path of a big CSV import: every row checked in columns, placed in its kelurahan and COPied
straight into ``incidents``, without the staging and checked tables of the set-based SQL path.

It only takes files it can vouch for completely: big ones (``min_rows``), every row with coordinates
inside a kelurahan, times with an offset, known codes, times in order, external ids new and unique, no
caller or geocoding columns. Anything else (a single doubtful row is enough) returns ``None`` before a
byte is written and the SQL path runs, which names every rejected row with its reasons. So the checks
here may be stricter than the SQL path's, never looser.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import shapely

from geo_app.catalog import Catalog
from geo_app.store import incidents as store

# Columns the fast path understands: every import column except the caller's and the geocoder's, which
# only the SQL path handles; a file with any other column goes the SQL path.
FAST_FIELDS = set(store.IMPORT_FIELDS) - {
    "caller_name",
    "caller_phone",
    "geocode_precision",
    "geocode_source",
    "geocode_score",
}
# Decimal degrees as the SQL path's NUMBER (after trimming), and ISO 8601 times that carry an offset
# (times without one are read in the city's zone by the SQL path), to the microsecond as stored.
DEGREES = r"^[-+]?[0-9]+(\.[0-9]+)?$"
ISO_TIME = r"^\d{4}-\d{2}-\d{2}[T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)$"
COPY_BATCH_ROWS = 100_000


def read_columns(path: Path, columns: list[str]) -> pa.Table | None:
    """The data lines as text columns (header already mapped by the caller); None if pyarrow cannot
    read the file exactly as COPY would (the SQL path then reports what is wrong)."""
    try:
        return pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(column_names=columns, skip_rows=1),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(columns, pa.string()), strings_can_be_null=True
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None


def _text(table: pa.Table, name: str) -> pa.Array:
    """A column trimmed of spaces (as btrim), empty as NULL; all NULL when the file lacks it."""
    if name not in table.column_names:
        return pa.nulls(table.num_rows, pa.string())
    trimmed = pc.utf8_trim(table[name].combine_chunks(), " ")
    return pc.if_else(pc.equal(trimmed, ""), None, trimmed)


def _all(mask: pa.Array) -> bool:
    """True when every value is true (a NULL counts as false)."""
    return pc.all(pc.fill_null(mask, False)).as_py()


def _times(values: pa.Array, required: bool) -> pa.Array | None:
    """The instants of a time column, or None if one value is missing (when required) or doubtful."""
    present = pc.is_valid(values)
    if required and not _all(present):
        return None
    if not _all(pc.or_kleene(pc.invert(present), pc.match_substring_regex(values, ISO_TIME))):
        return None
    try:
        return pc.cast(values, pa.timestamp("us", tz="UTC"))
    except pa.ArrowInvalid:  # a day that does not exist, an hour 24, ...
        return None


def _not_before(later: pa.Array, earlier: pa.Array) -> bool:
    """The time order holds in every row where both times are given."""
    return pc.all(pc.fill_null(pc.greater_equal(later, earlier), True)).as_py()


def new_external_ids(conn: psycopg.Connection, city_code: str, table: pa.Table) -> pa.Array | None:
    """The external ids, if every row has one of its own that is not stored yet (checked first: a file
    imported again stops here, before the other checks)."""
    external_id = _text(table, "external_id")
    if not _all(pc.is_valid(external_id)) or pc.count_distinct(external_id).as_py() != len(external_id):
        return None
    if store.any_stored(conn, city_code, csv_batches(pa.table({"external_id": external_id}))):
        return None
    return external_id


def checked_rows(
    table: pa.Table, external_id: pa.Array, catalog: Catalog, kelurahan: list[dict]
) -> pa.Table | None:
    """The stored columns of every row, or None as soon as one row would not pass every check."""
    call_type = pc.utf8_lower(_text(table, "call_type"))
    category = pc.utf8_upper(_text(table, "category"))
    status = pc.fill_null(pc.utf8_lower(_text(table, "status")), "received")
    if not (
        _all(pc.is_in(call_type, pa.array(list(catalog.call_types))))
        and _all(
            pc.or_kleene(
                pc.is_null(category), pc.is_in(category, pa.array(list(catalog.incident_categories)))
            )
        )
        and _all(pc.or_kleene(pc.is_valid(category), pc.not_equal(call_type, "darurat")))
        and _all(pc.is_in(status, pa.array(list(store.STATUSES))))
    ):
        return None
    lat_text, lon_text = _text(table, "lat"), _text(table, "lon")
    if not (
        _all(pc.match_substring_regex(lat_text, DEGREES))
        and _all(pc.match_substring_regex(lon_text, DEGREES))
    ):
        return None
    lat = pc.cast(lat_text, pa.float64()).to_numpy()
    lon = pc.cast(lon_text, pa.float64()).to_numpy()
    texts = {name: _text(table, name) for name in store.TIME_FIELDS}
    received, dispatched, arrived, closed = times = [
        _times(texts[name], required=name == "received_at") for name in store.TIME_FIELDS
    ]
    if any(values is None for values in times):
        return None
    if not (
        _not_before(dispatched, received)
        and _not_before(arrived, pc.coalesce(dispatched, received))
        and _not_before(closed, received)
    ):
        return None
    area = kelurahan_of(lon, lat, kelurahan)
    if area is None:
        return None
    return pa.table(
        {
            "external_id": external_id,
            "call_type": call_type,
            "category": category,
            "description": _text(table, "description"),
            "address": _text(table, "address"),
            "geom": hex_ewkb_points(lon, lat),
            "geocode_precision": pa.repeat(pa.scalar("exact"), len(lat)),
            "geocode_source": pa.repeat(pa.scalar("source"), len(lat)),
            "kelurahan_code": pa.array(np.array([row["code"] for row in kelurahan])[area]),
            "kecamatan_code": pa.array(np.array([row["parent_code"] for row in kelurahan])[area]),
            **texts,  # checked above; sent as written, PostgreSQL reads them to the same instants
            "status": status,
            "responding_opd": _text(table, "responding_opd"),
        }
    )


def kelurahan_of(lon: np.ndarray, lat: np.ndarray, kelurahan: list[dict]) -> np.ndarray | None:
    """Index (into ``kelurahan``, ordered by code) of the lowest-coded kelurahan each point lies in or
    on, as the SQL path's ST_Intersects ... ORDER BY code LIMIT 1; None if a point is in none.

    Each polygon tests only the points in its bounding box, straight from the coordinate arrays (no
    point objects), highest code first so the lowest one is written last."""
    polygons = shapely.from_wkb([row["wkb"] for row in kelurahan])
    shapely.prepare(polygons)
    first = np.full(len(lon), len(kelurahan))
    for index in range(len(polygons) - 1, -1, -1):
        west, south, east, north = shapely.bounds(polygons[index])
        near = np.flatnonzero((lon >= west) & (lon <= east) & (lat >= south) & (lat <= north))
        first[near[shapely.intersects_xy(polygons[index], lon[near], lat[near])]] = index
    return None if (first == len(kelurahan)).any() else first


def hex_ewkb_points(lon: np.ndarray, lat: np.ndarray, srid: int = 4326) -> pa.Array:
    """Points as hex EWKB (little endian, with SRID), built in arrays: what PostGIS reads in COPY."""
    record = np.dtype([("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")])
    points = np.empty(len(lon), record)
    points["order"], points["type"], points["srid"] = 1, 0x20000001, srid
    points["x"], points["y"] = lon, lat
    raw = points.view(np.uint8).reshape(len(lon), record.itemsize)
    digits = np.frombuffer(b"0123456789ABCDEF", np.uint8)
    text = np.stack([digits[raw >> 4], digits[raw & 15]], axis=2).reshape(len(lon), 2 * record.itemsize)
    return pa.array(text.view(f"S{2 * record.itemsize}").ravel()).cast(pa.string())


def csv_batches(rows: pa.Table):
    """The rows as COPY csv data, in batches (the server stores one while the next is written)."""
    for batch in rows.to_batches(COPY_BATCH_ROWS):
        buffer = io.BytesIO()
        pa_csv.write_csv(batch, buffer, pa_csv.WriteOptions(include_header=False))
        yield buffer.getvalue()


def import_csv(
    conn: psycopg.Connection,
    city_code: str,
    catalog: Catalog,
    path: Path,
    columns: list[str],
    source: str,
    min_rows: int,
) -> store.ImportResult | None:
    """Import a big clean CSV in the caller's transaction; None (nothing written) to leave it to the
    SQL path."""
    if not set(columns) <= FAST_FIELDS or not {"lat", "lon"} <= set(columns):
        return None
    table = read_columns(path, columns)
    if table is None or table.num_rows < min_rows:
        return None
    external_id = new_external_ids(conn, city_code, table)
    if external_id is None:
        return None
    rows = checked_rows(table, external_id, catalog, store.kelurahan_shapes(conn, city_code))
    if rows is None:
        return None
    with store.indexes_rebuilt_after(conn):
        import_id = store.start_import_record(conn, city_code, source)
        rows = rows.add_column(0, "city_code", pa.repeat(pa.scalar(city_code), rows.num_rows))
        rows = rows.add_column(1, "import_id", pa.repeat(pa.scalar(import_id, pa.int64()), rows.num_rows))
        store.copy_into_incidents(conn, rows.column_names, csv_batches(rows))
    return store.ImportResult(rows_read=rows.num_rows, inserted=rows.num_rows, import_id=import_id)
