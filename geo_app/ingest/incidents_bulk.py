"""The fast path of a big CSV import: every row checked in columns, placed in its kelurahan and COPied
straight into ``incidents``, without the staging and checked tables of the set-based SQL path.

It only takes files it can vouch for completely: big ones (``min_rows``), every row with coordinates
inside a kelurahan, times with an offset, known codes, times in order, external ids new and unique, no
caller or geocoding columns. Anything else (a single doubtful row is enough) returns ``None`` with
nothing written (a doubtful row found once the COPY has begun rolls it back) and the SQL path runs,
which names every rejected row with its reasons. So the checks here may be stricter than the SQL
path's, never looser.

The file is read in batches: a helper thread reads, checks and encodes the next batch while
PostgreSQL stores the one before, so reading the file costs no time of its own.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import TypeVar

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import shapely
from pyproj import Transformer

from geo_app.catalog import Catalog
from geo_app.city import load_city
from geo_app.db.copy_binary import SIGNATURE, binary_copy_rows, binary_values
from geo_app.store import audit
from geo_app.store import incidents as store
from geo_app.store.features import TILE_KEY_ZOOM

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
BATCH_ROWS = 100_000  # rows read, checked and sent at a time (each batch lands in tile order)
FIRST_BATCH_ROWS = 10_000  # a small first batch: the server starts storing rows sooner
READ_BLOCK_BYTES = 1 << 20  # pyarrow's reading unit, gathered into batches
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

T = TypeVar("T")
# Where an import is, for the command line: the step it is in and how many more rows it has finished.
Progress = Callable[[str, int], None]


def no_progress(step: str, rows: int) -> None:
    """For callers that show no progress (the API)."""


class DoubtfulRow(Exception):
    """A row of the file (or an area it would refer to) that the fast path cannot vouch for: the SQL
    path takes the whole file."""


def read_batches(path: Path, columns: list[str]) -> Iterator[pa.Table]:
    """The data lines as text columns (header already mapped by the caller): ``FIRST_BATCH_ROWS``,
    then ``BATCH_ROWS`` at a time; DoubtfulRow where pyarrow cannot read them exactly as COPY would
    (the SQL path then reports what is wrong)."""
    try:
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(column_names=columns, skip_rows=1, block_size=READ_BLOCK_BYTES),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(columns, pa.string()), strings_can_be_null=True
            ),
        )
        pending, size = pa.Table.from_batches([], reader.schema), FIRST_BATCH_ROWS
        for block in reader:
            pending = pa.concat_tables([pending, pa.Table.from_batches([block])])
            while pending.num_rows >= size:
                yield pending.slice(0, size).combine_chunks()
                pending, size = pending.slice(size), BATCH_ROWS
    except (pa.ArrowInvalid, UnicodeDecodeError):
        raise DoubtfulRow from None
    if pending.num_rows:
        yield pending.combine_chunks()


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


class ExternalIds:
    """The external ids of the city, stored and read so far, to tell that each batch brings new ones
    only (not stored, not twice in the file). A file imported again stops at its first batch."""

    def __init__(self, stored: list[str]):
        self.taken = set(stored)

    def new_ones(self, table: pa.Table) -> pa.Array | None:
        """The batch's external ids, if every row has one and none is taken yet (they are then)."""
        external_id = _text(table, "external_id")
        if external_id.null_count:
            return None
        count = len(self.taken)
        self.taken.update(external_id.to_pylist())
        return external_id if len(self.taken) == count + len(external_id) else None


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
            **dict(zip(("metric_x", "metric_y"), places.to_metric.transform(lon, lat), strict=True)),
            "geocode_precision": pa.repeat(pa.scalar("exact"), len(lat)),
            "geocode_source": pa.repeat(pa.scalar("source"), len(lat)),
            "kelurahan_code": places.codes.take(area),
            "kecamatan_code": places.parent_codes.take(area),
            **dict(zip(store.TIME_FIELDS, times, strict=True)),
            "status": status,
            "responding_opd": _text(table, "responding_opd"),
        }
    )


class Kelurahan:
    """The city's kelurahan, prepared once for placing the points of every batch of the file, and the
    city's metric CRS (PROJ's transformation, the same ST_Transform applies in the database trigger)."""

    def __init__(self, rows: list[dict], to_metric: Transformer):
        self.to_metric = to_metric
        self.codes = pa.array([row["code"] for row in rows])  # ordered by code
        self.parent_codes = pa.array([row["parent_code"] for row in rows])
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
    return binary_values(points.view(np.uint8).reshape(len(lon), record.itemsize))


def coordinates(table: pa.Table) -> tuple[np.ndarray, np.ndarray] | None:
    """Longitude and latitude of every row as numbers; None if one is missing or not a number (how
    each is written is checked with the other columns)."""
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
    tile index sorts them. Stored in this order, each batch of an import lands area by area on the
    table's pages: a map tile or a bounding box then reads a few runs of pages instead of points
    scattered over the whole table."""
    tiles = 2**TILE_KEY_ZOOM
    with np.errstate(invalid="ignore"):  # NaN for a latitude beyond ±90 (refused later by the checks)
        column = np.floor((lon + 180) / 360 * tiles)
        row = np.floor((1 - np.arcsinh(np.tan(np.radians(lat))) / np.pi) / 2 * tiles)
    return np.lexsort((row, column))


class BatchEncoder:
    """Checks one batch of the file and encodes it as binary COPY rows in tile order, numbering the rows
    on from ``first_id``; DoubtfulRow as soon as one row would not pass every check."""

    def __init__(
        self,
        city_code: str,
        import_id: int,
        first_id: int,
        external_ids: ExternalIds,
        catalog: Catalog,
        places: Kelurahan,
        progress: Progress,
    ):
        self.city_code, self.import_id, self.next_id = city_code, import_id, first_id
        self.external_ids, self.catalog, self.places = external_ids, catalog, places
        self.progress = progress

    def encoded(self, table: pa.Table) -> bytes:
        external_id = self.external_ids.new_ones(table)
        located = coordinates(table)
        if external_id is None or located is None:
            raise DoubtfulRow
        lon, lat = located
        order = tile_order(lon, lat)
        rows = checked_rows(
            table.take(order), external_id.take(order), lon[order], lat[order], self.catalog, self.places
        )
        if rows is None:
            raise DoubtfulRow
        count = rows.num_rows
        rows = (
            rows.append_column("id", pa.array(np.arange(self.next_id, self.next_id + count)))
            .append_column("city_code", pa.repeat(pa.scalar(self.city_code), count))
            .append_column("import_id", pa.repeat(pa.scalar(self.import_id), count))
        )
        self.next_id += count
        encoded = binary_copy_rows(rows.select(COPY_COLUMNS))
        self.progress("checking and storing rows", count)
        return encoded


def prefetched(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """The items of ``items``, each made in a helper thread while the caller uses the ones before (up
    to ``depth`` ahead). The helper's exceptions reach the caller; when the caller stops early, what is
    still queued is cancelled."""
    end = object()
    with ThreadPoolExecutor(max_workers=1) as helper:
        ahead = deque(helper.submit(next, items, end) for _ in range(depth))
        try:
            while (item := ahead.popleft().result()) is not end:
                ahead.append(helper.submit(next, items, end))
                yield item
        finally:
            for future in ahead:
                future.cancel()


def import_csv(
    conn: psycopg.Connection,
    city_code: str,
    catalog: Catalog,
    path: Path,
    columns: list[str],
    source: str,
    min_rows: int,
    progress: Progress = no_progress,
) -> store.ImportResult | None:
    """Import a big clean CSV in the caller's transaction; None (nothing written) to leave it to the
    SQL path.

    The first batches are read before anything is written, to know the file is big enough; then each
    batch is checked and encoded in a helper thread while the server stores the one before. A doubtful
    row in a later batch cancels the COPY and rolls back to the savepoint taken before it."""
    if not set(columns) <= FAST_FIELDS or not {"lat", "lon"} <= set(columns):
        return None
    batches = read_batches(path, columns)
    try:
        leading = []
        for batch in batches:
            leading.append(batch)
            if sum(table.num_rows for table in leading) >= min_rows:
                break
        else:  # the whole file is shorter than min_rows
            return None
    except DoubtfulRow:
        return None
    places = Kelurahan(store.kelurahan_shapes(conn, city_code), load_city(conn, city_code).to_metric)
    external_ids = ExternalIds(store.external_ids(conn, city_code))
    # where the role may, the foreign keys are checked here (the codes come from the locked rows) and
    # stay in place; elsewhere they are dropped and checked again as a whole afterwards
    keys_checked_here = store.may_skip_foreign_key_checks(conn)
    try:
        with (
            conn.transaction(),
            store.indexes_rebuilt_after(conn, foreign_keys=not keys_checked_here),
            store.triggers_dropped(conn),
        ):
            if keys_checked_here and not store.lock_references(
                conn, city_code, [*places.codes.to_pylist(), *places.parent_codes.to_pylist()]
            ):
                raise DoubtfulRow
            import_id = store.start_import_record(conn, city_code, source)
            first_id = store.next_incident_id(conn)
            encoder = BatchEncoder(city_code, import_id, first_id, external_ids, catalog, places, progress)
            chunks = prefetched(map(encoder.encoded, itertools.chain(leading, batches)))
            with store.foreign_key_checks_skipped(conn) if keys_checked_here else nullcontext():
                store.copy_into_incidents(conn, COPY_COLUMNS, itertools.chain([SIGNATURE], chunks))
            progress("rebuilding indexes and keys", 0)
            rows = encoder.next_id - first_id
            store.incident_ids_used_up_to(conn, encoder.next_id - 1)
            audit.record_bulk_insert(conn, "incidents", rows, first_id, encoder.next_id - 1)
    except DoubtfulRow:
        return None
    return store.ImportResult(rows_read=rows, inserted=rows, import_id=import_id)
