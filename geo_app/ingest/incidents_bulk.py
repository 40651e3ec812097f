"""The fast path of a big CSV import: every row checked in columns, placed in its kelurahan and COPied
straight into ``incidents``, without the staging and checked tables of the set-based SQL path.

It only takes files it can vouch for completely: big ones (``min_rows``), every row with coordinates
inside a kelurahan, times with an offset, known codes, times in order, external ids new and unique, no
caller or geocoding columns. Anything else (a single doubtful row is enough) returns ``None`` with
nothing written (a doubtful row found once the COPY has begun rolls it back) and the SQL path runs,
which names every rejected row with its reasons. So the checks here may be stricter than the SQL
path's, never looser.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import shapely
from pyproj import Transformer

from geo_app.catalog import Catalog
from geo_app.db.copy_binary import SIGNATURE, binary_copy_rows
from geo_app.store import audit
from geo_app.store import incidents as store
from geo_app.store.features import TILE_KEY_ZOOM
from geo_app.store.incident_aggregates import METRIC_SRID

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
COPY_BATCH_ROWS = 20_000  # rows per slice checked, encoded and sent while the server stores the last
# The columns the fast path writes, in COPY order: the stored ones (no geocoder score: the fast path
# takes no geocoding columns), the metric point the trigger would compute, and the keys (the rest take
# their defaults).
COPY_COLUMNS = [
    "id",
    "city_code",
    "import_id",
    "external_id",
    *(name for name in store.STORED_FIELDS if name != "geocode_score"),
    "metric_x",
    "metric_y",
]
# PROJ's transformation, the same ST_Transform applies (tests compare the stored values with it)
TO_METRIC = Transformer.from_crs(4326, METRIC_SRID, always_xy=True)


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
    return pc.if_else(pc.equal(pc.binary_length(trimmed), 0), None, trimmed)  # lengths: 7x faster


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


def new_external_ids(table: pa.Table, stored: list[str]) -> pa.Array | None:
    """The external ids, if every row has one of its own that is not ``stored`` yet (checked before the
    COPY: a file imported again stops here)."""
    external_id = _text(table, "external_id")
    if not _all(pc.is_valid(external_id)) or len(pc.unique(external_id)) != len(external_id):
        return None
    if pc.any(pc.is_in(external_id, value_set=pa.array(stored, pa.string()))).as_py():
        return None
    return external_id


def checked_rows(
    table: pa.Table,
    external_id: pa.Array,
    lon: np.ndarray,
    lat: np.ndarray,
    catalog: Catalog,
    places: Kelurahan,
) -> pa.Table | None:
    """The stored columns of every row (coordinates already read as numbers by ``coordinates``), or
    None as soon as one row would not pass every check."""
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
    if not (
        _all(pc.match_substring_regex(_text(table, "lat"), DEGREES))
        and _all(pc.match_substring_regex(_text(table, "lon"), DEGREES))
    ):
        return None
    received, dispatched, arrived, closed = times = [
        _times(_text(table, name), required=name == "received_at") for name in store.TIME_FIELDS
    ]
    if any(values is None for values in times):
        return None
    if not (
        _not_before(dispatched, received)
        and _not_before(arrived, pc.coalesce(dispatched, received))
        and _not_before(closed, received)
    ):
        return None
    area = places.containing(lon, lat)
    if area is None:
        return None
    return pa.table(
        {
            "external_id": external_id,
            "call_type": call_type,
            "category": category,
            "description": _text(table, "description"),
            "address": _text(table, "address"),
            "geom": ewkb_points(lon, lat),
            **dict(zip(("metric_x", "metric_y"), TO_METRIC.transform(lon, lat), strict=True)),
            "geocode_precision": pa.repeat(pa.scalar("exact"), len(lat)),
            "geocode_source": pa.repeat(pa.scalar("source"), len(lat)),
            "kelurahan_code": pa.array(places.codes[area]),
            "kecamatan_code": pa.array(places.parent_codes[area]),
            **dict(zip(store.TIME_FIELDS, times, strict=True)),
            "status": status,
            "responding_opd": _text(table, "responding_opd"),
        }
    )


class Kelurahan:
    """The city's kelurahan, prepared once for placing the points of every slice of the file."""

    def __init__(self, rows: list[dict]):
        self.codes = np.array([row["code"] for row in rows])  # ordered by code
        self.parent_codes = np.array([row["parent_code"] for row in rows])
        self.polygons = shapely.from_wkb([row["wkb"] for row in rows])
        shapely.prepare(self.polygons)
        self.bounds = shapely.bounds(self.polygons)

    def containing(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray | None:
        """Index of the lowest-coded kelurahan each point lies in or on, as the SQL path's
        ST_Intersects ... ORDER BY code LIMIT 1; None if a point is in none.

        Each polygon tests only the points in its bounding box, straight from the coordinate arrays
        (no point objects), highest code first so the lowest one is written last."""
        first = np.full(len(lon), len(self.codes))
        for index in range(len(self.codes) - 1, -1, -1):
            west, south, east, north = self.bounds[index]
            near = np.flatnonzero((lon >= west) & (lon <= east) & (lat >= south) & (lat <= north))
            first[near[shapely.intersects_xy(self.polygons[index], lon[near], lat[near])]] = index
        return None if (first == len(self.codes)).any() else first


def ewkb_points(lon: np.ndarray, lat: np.ndarray, srid: int = 4326) -> pa.Array:
    """Points as EWKB (little endian, with SRID), built in arrays: what PostGIS reads in binary COPY."""
    record = np.dtype([("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")])
    points = np.empty(len(lon), record)
    points["order"], points["type"], points["srid"] = 1, 0x20000001, srid
    points["x"], points["y"] = lon, lat
    return pa.Array.from_buffers(
        pa.binary(record.itemsize), len(lon), [None, pa.py_buffer(points.tobytes())]
    ).cast(pa.binary())


def coordinates(table: pa.Table) -> tuple[np.ndarray, np.ndarray] | None:
    """Longitude and latitude of every row as numbers; None if one is missing or not a number (how
    each is written is checked with the other columns, slice by slice)."""
    try:
        lon = pc.cast(_text(table, "lon"), pa.float64())
        lat = pc.cast(_text(table, "lat"), pa.float64())
    except pa.ArrowInvalid:
        return None
    if lon.null_count or lat.null_count:
        return None
    return lon.to_numpy(), lat.to_numpy()


def tile_order(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The rows in the order of the zoom-14 Web Mercator tile of their point (column, then row), as the
    tile index sorts them. Stored in this order, an import lands area by area on the table's pages: a
    map tile or a bounding box then reads a few pages instead of points scattered over the whole table,
    and the tile index is rebuilt from nearly sorted rows."""
    tiles = 2**TILE_KEY_ZOOM
    with np.errstate(invalid="ignore"):  # NaN for a latitude beyond ±90 (refused later by the checks)
        column = np.floor((lon + 180) / 360 * tiles)
        row = np.floor((1 - np.arcsinh(np.tan(np.radians(lat))) / np.pi) / 2 * tiles)
    return np.lexsort((row, column))


class DoubtfulRow(Exception):
    """A row of the file that the fast path cannot vouch for: the SQL path takes the whole file."""


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
    SQL path.

    The file is checked and encoded slice by slice in a second thread while the server stores the
    slices before: PostgreSQL's work and ours overlap. A doubtful row in a later slice cancels the
    COPY and rolls back to the savepoint taken before it."""
    if not set(columns) <= FAST_FIELDS or not {"lat", "lon"} <= set(columns):
        return None
    table = read_columns(path, columns)
    if table is None or table.num_rows < min_rows:
        return None
    with ThreadPoolExecutor(max_workers=1) as helper:  # coordinates are read beside the id checks
        reading = helper.submit(coordinates, table)
        external_id = new_external_ids(table, store.external_ids(conn, city_code))
        located = reading.result()
    if external_id is None or located is None:
        return None
    lon, lat = located
    order = tile_order(lon, lat)
    places = Kelurahan(store.kelurahan_shapes(conn, city_code))
    try:
        with (
            conn.transaction(),
            store.indexes_rebuilt_after(conn),
            store.triggers_dropped(conn),
            ThreadPoolExecutor(max_workers=1) as encoder,
        ):
            import_id = store.start_import_record(conn, city_code, source)
            first_id = store.reserve_ids(conn, table.num_rows)

            def encoded(start: int) -> bytes:
                taken = order[start : start + COPY_BATCH_ROWS]
                rows = checked_rows(
                    table.take(taken), external_id.take(taken), lon[taken], lat[taken], catalog, places
                )
                if rows is None:
                    raise DoubtfulRow
                ids = np.arange(first_id + start, first_id + start + rows.num_rows)
                rows = (
                    rows.append_column("id", pa.array(ids))
                    .append_column("city_code", pa.repeat(pa.scalar(city_code), rows.num_rows))
                    .append_column("import_id", pa.repeat(pa.scalar(import_id), rows.num_rows))
                )
                return binary_copy_rows(rows.select(COPY_COLUMNS))

            slices = encoder.map(encoded, range(0, table.num_rows, COPY_BATCH_ROWS))
            store.copy_into_incidents(conn, COPY_COLUMNS, itertools.chain([SIGNATURE], slices))
            audit.record_bulk_insert(
                conn, "incidents", table.num_rows, first_id, first_id + table.num_rows - 1
            )
    except DoubtfulRow:
        return None
    return store.ImportResult(rows_read=table.num_rows, inserted=table.num_rows, import_id=import_id)
