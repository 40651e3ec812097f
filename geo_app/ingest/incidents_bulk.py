"""The fast path of a big CSV import: rows checked in columns, placed in their kelurahan and COPied
straight into ``incidents`` (their callers into ``incident_callers``), without the staging and checked
tables of the set-based SQL path.

Each batch of the file is split three ways:

- new rows that pass every check here: binary COPY into incidents, their callers into incident_callers;
- rows that pass every check and whose external id is stored already: binary COPY into a temporary
  table, from which one set-based UPDATE changes the stored rows that differ (so an import of the same
  file again changes nothing);
- every other row (a check it fails, an external id repeating an earlier row, an address without
  coordinates for the geocoder, geocoding columns, a point farther out than the city's tolerance, a
  time without an offset that the city's clocks skip or show twice): with its row number into the SQL
  path's staging table, where it is checked row by row, geocoded, reported with its reasons and
  written as the SQL path writes. So the checks here may be stricter than the SQL path's, never looser.

Only files it can read completely (else ``None``, nothing written, and the SQL path takes the file):
big ones (``min_rows``), known columns with lat and lon among them, lines pyarrow reads as COPY does.

The file is read in batches, in a pipeline of two helper threads: one reads and checks a batch, the other
encodes the batch checked before as COPY data, while PostgreSQL stores the batch before that; so reading
and encoding the file cost no time of their own where the server has work to do.
"""

from __future__ import annotations

import io
import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
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
from geo_app.city import CityContext, require_city
from geo_app.db.copy_binary import BinaryCopy, binary_copy, binary_values, copy_into
from geo_app.store import audit
from geo_app.store import incidents as store
from geo_app.store.areas import CITY_TOLERANCE_M, NEAR_DEGREES
from geo_app.store.features import TILE_KEY_ZOOM

# Geocoding columns: rows that carry them go the SQL path (which checks them); the others are empty.
GEOCODE_FIELDS = ("geocode_precision", "geocode_source", "geocode_score")
CALLER_FIELDS = ("caller_name", "caller_phone")
# Decimal degrees as the SQL path's NUMBER (after trimming), and ISO 8601 times to the microsecond as
# stored: with an offset (an instant), or without one (a time of the city's zone, as the SQL path reads it).
DEGREES = r"^[-+]?[0-9]+(\.[0-9]+)?$"
ISO_TIME = r"^\d{4}-\d{2}-\d{2}[T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?"
WITH_OFFSET = ISO_TIME + r"(Z|[+-]\d{2}(:?\d{2})?)$"
WITHOUT_OFFSET = ISO_TIME + "$"
INSTANT = pa.timestamp("us", tz="UTC")
LOCAL_TIME = pa.timestamp("us")
BATCH_ROWS = 100_000  # rows read, checked and sent at a time (each batch lands in tile order)
# A small first batch, each next one twice as big up to BATCH_ROWS: the server starts storing rows
# sooner and never waits long for a big batch to be checked while the pipeline fills.
FIRST_BATCH_ROWS = 10_000
READ_BLOCK_BYTES = 1 << 20  # pyarrow's reading unit, gathered into batches
# The stored columns the fast path writes (no geocoder score: rows with geocoding columns go the SQL
# path), with the metric point the trigger would compute and the keys for new rows (the rest take
# their defaults), and with the external id and the caller for rows to compare with the stored ones.
WRITTEN_FIELDS = [name for name in store.STORED_FIELDS if name != "geocode_score"]
COPY_COLUMNS = ["id", "city_code", "import_id", "external_id", *WRITTEN_FIELDS, "metric_x", "metric_y"]
CALLER_COLUMNS = ["incident_id", *CALLER_FIELDS]
COPIED_TABLES = ("incidents", "incident_callers")  # the tables new rows are COPied into
UPDATE_COLUMNS = ["external_id", *WRITTEN_FIELDS, *CALLER_FIELDS]

T = TypeVar("T")
# Where an import is, for the command line: the step it is in and how many more rows it has finished.
Progress = Callable[[str, int], None]


def no_progress(step: str, rows: int) -> None:
    """For callers that show no progress (the API)."""


class DoubtfulRow(Exception):
    """A line of the file that pyarrow cannot read as COPY would, or an area the rows would refer to
    that is gone: the SQL path takes the whole file."""


def read_batches(path: Path, columns: list[str], delimiter: str = ",") -> Iterator[pa.Table]:
    """The data lines as text columns (header already mapped by the caller): ``FIRST_BATCH_ROWS``,
    then twice as many each time up to ``BATCH_ROWS``; DoubtfulRow where pyarrow cannot read them
    exactly as COPY would (the SQL path then reports what is wrong). Only empty fields are NULL, as in
    COPY."""
    try:
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(column_names=columns, skip_rows=1, block_size=READ_BLOCK_BYTES),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=False
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(columns, pa.string()), strings_can_be_null=True, null_values=[""]
            ),
        )
        pending, size = pa.Table.from_batches([], reader.schema), FIRST_BATCH_ROWS
        for block in reader:
            pending = pa.concat_tables([pending, pa.Table.from_batches([block])])
            while pending.num_rows >= size:
                yield pending.slice(0, size).combine_chunks()
                pending, size = pending.slice(size), min(2 * size, BATCH_ROWS)
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


def _true(mask: pa.Array) -> np.ndarray:
    """A boolean column as numbers, NULL as false."""
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False)


def _instants(values: pa.Array, zone: str) -> pa.Array:
    """The instants of a column of times; NULL where a value is empty or doubtful: not ISO 8601, a day
    that does not exist, or a time without an offset that the clocks of ``zone`` skip or show twice (a
    change of offset; the SQL path resolves it as PostgreSQL does). Times without an offset are times
    of ``zone``."""
    with_offset = pc.match_substring_regex(values, WITH_OFFSET)
    instants = _cast(pc.if_else(with_offset, values, None), INSTANT)
    if pc.all(with_offset, min_count=0).as_py():  # NULLs skipped; the usual export: no second pass
        return instants
    local = pc.match_substring_regex(values, WITHOUT_OFFSET)
    local_times = _cast(pc.if_else(local, values, None), LOCAL_TIME)
    earliest, latest = (
        pc.assume_timezone(local_times, zone, ambiguous=side, nonexistent=side)
        for side in ("earliest", "latest")
    )
    only_one = pc.if_else(pc.equal(earliest, latest), earliest, None)  # a skipped or repeated time: NULL
    return pc.coalesce(instants, pc.cast(only_one, INSTANT))


def _cast(values: pa.Array, to: pa.DataType) -> pa.Array:
    """Texts cast to times; NULL for those Arrow cannot read (a day that does not exist, ...)."""
    try:
        return pc.cast(values, to)
    except pa.ArrowInvalid:  # one doubtful value fails the batch: value by value then
        return pa.concat_arrays([_cast_or_null(value, to) for value in values.to_pylist()])


def _cast_or_null(value: str | None, to: pa.DataType) -> pa.Array:
    try:
        return pc.cast(pa.array([value], pa.string()), to)
    except pa.ArrowInvalid:
        return pa.nulls(1, to)


def _not_before(later: pa.Array, earlier: pa.Array) -> np.ndarray:
    """Rows where the time order holds (or one of the times is not given)."""
    return pc.fill_null(pc.greater_equal(later, earlier), True).to_numpy(zero_copy_only=False)


def id_keys(external_ids: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Each external id (a string array without NULLs) as two 64-bit hashes, its key: Python's own
    string hash (SipHash, keyed per process: stored and read ids are hashed in the same process) and
    FNV-1a over its bytes, computed in arrays."""
    first = np.fromiter(map(hash, external_ids.to_pylist()), np.int64, len(external_ids))
    return first, fnv1a(external_ids)


def fnv1a(strings: pa.Array) -> np.ndarray:
    """The 64-bit FNV-1a hash of the bytes of each string (no NULLs), with a final avalanche, one byte
    position at a time for every string at once."""
    count = len(strings)
    starts = np.frombuffer(strings.buffers()[1], np.int32, count + 1, strings.offset * 4).astype(np.int64)
    data = np.frombuffer(strings.buffers()[2], np.uint8) if count else np.empty(0, np.uint8)
    lengths = np.diff(starts)
    hashes = np.full(count, 0xCBF29CE484222325, np.uint64) ^ lengths.astype(np.uint64)
    for position in range(int(lengths.max(initial=0))):
        longer = np.flatnonzero(lengths > position)
        hashes[longer] = (hashes[longer] ^ data[starts[longer] + position]) * np.uint64(0x100000001B3)
    hashes ^= hashes >> np.uint64(33)  # murmur3's finaliser: every bit of the hash depends on every byte
    hashes *= np.uint64(0xFF51AFD7ED558CCD)
    hashes ^= hashes >> np.uint64(33)
    return hashes.view(np.int64)


class SortedKeys:
    """Keys of external ids (``id_keys``) kept sorted, each with a number (the row of the file an id
    came first in)."""

    def __init__(self, first: np.ndarray | None = None, second: np.ndarray | None = None):
        first = np.empty(0, np.int64) if first is None else first
        second = np.empty(0, np.int64) if second is None else second
        order = np.lexsort((second, first))
        self.first, self.second = first[order], second[order]
        self.numbers = np.zeros(len(first), np.int64)

    def find(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """The position of each key, -1 where it is not there (searched in sorted order: fast)."""
        order = np.argsort(first)
        left = np.searchsorted(self.first, first[order], "left")
        right = np.searchsorted(self.first, first[order], "right")
        found = np.full(len(first), -1)
        single = np.flatnonzero(right - left == 1)
        match = single[self.second[left[single]] == second[order][single]]
        found[order[match]] = left[match]
        for index in np.flatnonzero(right - left > 1):  # equal first hashes: next to never
            same = np.flatnonzero(self.second[left[index] : right[index]] == second[order][index])
            found[order[index]] = left[index] + same[0] if len(same) else -1
        return found

    def add(self, first: np.ndarray, second: np.ndarray, numbers: np.ndarray) -> None:
        """Keys that are not there yet, with their numbers."""
        place = np.searchsorted(self.first, first)
        self.first = np.insert(self.first, place, first)
        self.second = np.insert(self.second, place, second)
        self.numbers = np.insert(self.numbers, place, numbers)


def stored_ids(batches: Iterable[list[str]]) -> SortedKeys:
    """The external ids stored for the city."""
    keys = [id_keys(pa.array(batch, pa.string())) for batch in batches]
    if not keys:
        return SortedKeys()
    return SortedKeys(*(np.concatenate(halves) for halves in zip(*keys, strict=True)))


class FileIds(SortedKeys):
    """The external ids read so far and the row of the file each came first in: 24 bytes a row."""

    def repeated_rows(self, first: np.ndarray, second: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """For each row of a batch (its key and row number) the earlier row of the file with the same
        external id, 0 for a first one; the batch's first ones are remembered."""
        order = np.lexsort((rows, second, first))  # by key, then by row
        first, second, rows_by_key = first[order], second[order], rows[order]
        starts = np.ones(len(order), bool)
        starts[1:] = (first[1:] != first[:-1]) | (second[1:] != second[:-1])
        group = np.cumsum(starts) - 1
        first_rows = rows_by_key[starts]
        place = self.find(first[starts], second[starts])
        known = place >= 0
        first_rows[known] = self.numbers[place[known]]
        self.add(first[starts][~known], second[starts][~known], first_rows[~known])
        earlier = np.empty(len(order), np.int64)
        earlier[order] = first_rows[group]
        return np.where(earlier < rows, earlier, 0)


class Kelurahan:
    """The city's kelurahan, prepared once for placing the points of every batch of the file, and the
    city's metric CRS (PROJ's transformation, the same ST_Transform applies in the database trigger)."""

    def __init__(self, rows: list[dict], to_metric: Transformer):
        self.codes = pa.array([row["code"] for row in rows])  # ordered by code
        self.parent_codes = pa.array([row["parent_code"] for row in rows])
        self.polygons = shapely.from_wkb([row["wkb"] for row in rows])
        shapely.prepare(self.polygons)
        self.bounds = shapely.bounds(self.polygons)
        self.to_metric = to_metric
        self.metric_polygons = shapely.transform(self.polygons, self._metric)
        west, south = self.bounds[:, :2].min(axis=0) - NEAR_DEGREES
        east, north = self.bounds[:, 2:].max(axis=0) + NEAR_DEGREES
        self.near = (west, south, east, north)

    def _metric(self, coordinates: np.ndarray) -> np.ndarray:
        return np.column_stack(self.to_metric.transform(coordinates[:, 0], coordinates[:, 1]))

    def place(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each point the index of its kelurahan, ``len(codes)`` for none, and whether it was placed
        by the tolerance rule, as the SQL path places them: the lowest-coded kelurahan the point lies in
        or on (ST_Intersects ... ORDER BY code LIMIT 1); for a point in none, the nearest within
        CITY_TOLERANCE_M metres (the lowest code on a tie).

        Each polygon tests only the points in its bounding box, straight from the coordinate arrays
        (no point objects), highest code first so the lowest one is written last."""
        first = np.full(len(lon), len(self.codes))
        for index in range(len(self.codes) - 1, -1, -1):
            west, south, east, north = self.bounds[index]
            near = np.flatnonzero((lon >= west) & (lon <= east) & (lat >= south) & (lat <= north))
            first[near[shapely.intersects_xy(self.polygons[index], lon[near], lat[near])]] = index
        west, south, east, north = self.near
        outside = np.flatnonzero(
            (first == len(self.codes)) & (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
        )
        by_tolerance = np.zeros(len(lon), bool)
        if len(outside):
            points = shapely.points(self._metric(np.column_stack([lon[outside], lat[outside]])))
            distances = shapely.distance(self.metric_polygons[:, np.newaxis], points[np.newaxis, :])
            nearest = distances.argmin(axis=0)  # the first, lowest code, of equal ones
            within = distances[nearest, np.arange(len(outside))] <= CITY_TOLERANCE_M
            first[outside[within]] = nearest[within]
            by_tolerance[outside[within]] = True
        return first, by_tolerance


def ewkb_points(lon: np.ndarray, lat: np.ndarray, srid: int = 4326) -> pa.Array:
    """Points as EWKB (little endian, with SRID), built in arrays: what PostGIS reads in binary COPY."""
    record = np.dtype([("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"), ("y", "<f8")])
    points = np.empty(len(lon), record)
    points["order"], points["type"], points["srid"] = 1, 0x20000001, srid
    points["x"], points["y"] = lon, lat
    return binary_values(points.view(np.uint8).reshape(len(lon), record.itemsize))


def degrees(table: pa.Table, name: str, decimal_comma: bool = False) -> np.ndarray:
    """A coordinate column as numbers, NaN where it is missing or not written as decimal degrees; with
    ``decimal_comma``, one comma stands for the decimal point (as store.read_decimal_commas reads it)."""
    text = _text(table, name)
    if decimal_comma:
        text = pc.replace_substring_regex(text, store.DECIMAL_COMMA, store.DECIMAL_POINT)
    readable = pc.if_else(pc.match_substring_regex(text, DEGREES), text, None)
    return pc.fill_null(pc.cast(readable, pa.float64()), np.nan).to_numpy(zero_copy_only=False)


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


@dataclass
class CheckedBatch:
    """One batch of the file checked and split into its parts (``encoded`` makes them COPY data)."""

    new: pa.Table  # COPY_COLUMNS of the new rows, into incidents
    callers: pa.Table  # CALLER_COLUMNS of the new rows with a caller, into incident_callers
    stored: pa.Table  # UPDATE_COLUMNS of rows whose external id is stored, into the updates table
    to_sql: pa.Table  # row_no, repeats_row and the file's columns, into the staging table
    near_city: int  # rows placed by the tolerance rule


@dataclass
class EncodedBatch:
    """One batch of the file, split and encoded for its COPYs."""

    new: BinaryCopy  # into incidents
    callers: BinaryCopy  # the callers of the new rows, into incident_callers
    caller_ids: np.ndarray  # their incident ids
    stored: BinaryCopy  # rows whose external id is stored, into the updates table
    to_sql: bytes  # CSV of row_no, repeats_row and the file's columns, into the staging table
    to_sql_rows: int
    near_city: int  # rows placed by the tolerance rule


def encoded(batch: CheckedBatch) -> EncodedBatch:
    """The parts of a checked batch as COPY data: a stage of its own, so that one thread encodes a
    batch while another checks the next."""
    to_sql = b""
    if batch.to_sql.num_rows:
        sink = io.BytesIO()
        options = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
        pa_csv.write_csv(batch.to_sql, sink, options)
        to_sql = sink.getvalue()
    return EncodedBatch(
        new=binary_copy(batch.new),
        callers=binary_copy(batch.callers),
        caller_ids=batch.callers["incident_id"].to_numpy(),
        stored=binary_copy(batch.stored),
        to_sql=to_sql,
        to_sql_rows=batch.to_sql.num_rows,
        near_city=batch.near_city,
    )


class BatchChecker:
    """Checks each batch of the file in columns and splits it, numbering new rows on from ``first_id``
    (in tile order); times without an offset are times of the city's zone; in a file separated by
    semicolons, coordinates may have a decimal comma."""

    def __init__(
        self,
        city: CityContext,
        columns: list[str],
        catalog: Catalog,
        places: Kelurahan,
        stored_ids: SortedKeys,
        progress: Progress,
        delimiter: str = ",",
    ):
        self.city_code, self.zone = city.code, city.timezone_name
        self.decimal_comma = delimiter == ";"
        self.columns, self.catalog, self.places = columns, catalog, places
        self.stored_ids, self.file_ids = stored_ids, FileIds()
        self.progress = progress
        self.rows_read = 0
        self.import_id = self.next_id = 0  # set by start() once the import record exists

    def start(self, import_id: int, first_id: int) -> None:
        self.import_id, self.next_id = import_id, first_id

    def known_values(self, values: pa.Table, table: pa.Table, area: np.ndarray) -> np.ndarray:
        """Rows whose codes are known, without geocoding columns, placed in a kelurahan."""
        call_type, category, status = values["call_type"], values["category"], values["status"]
        known = (
            _true(pc.is_in(call_type, pa.array(list(self.catalog.call_types))))
            & _true(
                pc.or_kleene(
                    pc.is_null(category), pc.is_in(category, pa.array(list(self.catalog.incident_categories)))
                )
            )
            & _true(pc.or_kleene(pc.is_valid(category), pc.not_equal(call_type, "darurat")))
            & _true(pc.is_in(status, pa.array(list(store.STATUSES))))
        )
        for name in GEOCODE_FIELDS:
            known &= _true(pc.is_null(_text(table, name)))
        return known & (area < len(self.places.codes))

    def checked(self, table: pa.Table) -> CheckedBatch:
        count = table.num_rows
        rows = np.arange(self.rows_read + 1, self.rows_read + count + 1)
        self.rows_read += count
        external_id = _text(table, "external_id")
        has_id = _true(pc.is_valid(external_id))
        keys = id_keys(external_id.filter(has_id))
        repeats, stored = np.zeros(count, np.int64), np.zeros(count, bool)
        repeats[has_id] = self.file_ids.repeated_rows(*keys, rows[has_id])
        stored[has_id] = self.stored_ids.find(*keys) >= 0

        lon, lat = (degrees(table, name, self.decimal_comma) for name in ("lon", "lat"))
        area, by_tolerance = self.places.place(lon, lat)
        time_texts = {name: _text(table, name) for name in store.TIME_FIELDS}
        times = {name: _instants(text, self.zone) for name, text in time_texts.items()}
        received, dispatched, arrived, closed = times.values()
        readable_times = _true(pc.is_valid(received))
        for name, text in time_texts.items():
            readable_times &= _true(pc.or_kleene(pc.is_null(text), pc.is_valid(times[name])))
        values = self._stored_values(table, external_id, lon, lat, area, times)
        fast = (
            self.known_values(values, table, area)
            & has_id
            & (repeats == 0)
            & readable_times
            & _not_before(dispatched, received)
            & _not_before(arrived, pc.coalesce(dispatched, received))
            & _not_before(closed, received)
        )
        order = tile_order(lon, lat)
        new_in_tile_order = order[(fast & ~stored)[order]]
        checked = CheckedBatch(
            *self._new_rows(values.take(new_in_tile_order)),
            stored=values.select(UPDATE_COLUMNS).filter(fast & stored),
            to_sql=self._to_sql(table.filter(~fast), rows[~fast], repeats[~fast]),
            near_city=int((by_tolerance & fast).sum()),
        )
        self.progress("checking and storing rows", count)
        return checked

    def _stored_values(self, table, external_id, lon, lat, area, times) -> pa.Table:
        """Every column the fast path writes, for every row of the batch (only passing rows are kept)."""
        placed = np.minimum(area, len(self.places.codes) - 1)  # rows in no kelurahan are dropped later
        metric_x, metric_y = self.places.to_metric.transform(lon, lat)
        return pa.table(
            {
                "external_id": external_id,
                "call_type": pc.utf8_lower(_text(table, "call_type")),
                "category": pc.utf8_upper(_text(table, "category")),
                "description": _text(table, "description"),
                "address": _text(table, "address"),
                "geom": ewkb_points(lon, lat),
                "geocode_precision": pa.repeat(pa.scalar("exact"), len(lat)),
                "geocode_source": pa.repeat(pa.scalar("source"), len(lat)),
                "kelurahan_code": self.places.codes.take(placed),
                "kecamatan_code": self.places.parent_codes.take(placed),
                **times,
                "status": pc.fill_null(pc.utf8_lower(_text(table, "status")), "received"),
                "responding_opd": _text(table, "responding_opd"),
                "metric_x": metric_x,
                "metric_y": metric_y,
                **{name: _text(table, name) for name in CALLER_FIELDS},
            }
        )

    def _new_rows(self, values: pa.Table) -> tuple[pa.Table, pa.Table]:
        """The new rows with their ids, and their callers."""
        count = values.num_rows
        ids = np.arange(self.next_id, self.next_id + count)
        self.next_id += count
        values = (
            values.append_column("id", pa.array(ids))
            .append_column("city_code", pa.repeat(pa.scalar(self.city_code), count))
            .append_column("import_id", pa.repeat(pa.scalar(self.import_id), count))
        )
        with_caller = _true(
            pc.or_kleene(pc.is_valid(values["caller_name"]), pc.is_valid(values["caller_phone"]))
        )
        callers = values.select(["id", *CALLER_FIELDS]).rename_columns(CALLER_COLUMNS)
        return values.select(COPY_COLUMNS), callers.filter(with_caller)

    def _to_sql(self, table: pa.Table, rows: np.ndarray, repeats: np.ndarray) -> pa.Table:
        """The rows as the file gave them, for the SQL path's staging table (numbers of the file's rows,
        and of the earlier row a repeated external id came first in)."""
        return pa.table(
            {
                "row_no": rows,
                "repeats_row": pa.array(repeats, mask=repeats == 0),
                **{name: table[name] for name in self.columns},
            }
        )


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


@dataclass
class Tally:
    """What the batches sent where."""

    inserted: int = 0
    callers: int = 0
    lowest_caller: int = 0
    highest_caller: int = 0
    stored: int = 0
    to_sql: int = 0
    near_city: int = 0

    def add(self, batch: EncodedBatch) -> None:
        if len(batch.caller_ids):  # ids grow from batch to batch
            if not self.callers:
                self.lowest_caller = int(batch.caller_ids.min())
            self.highest_caller = int(batch.caller_ids.max())
        self.inserted += batch.new.rows
        self.callers += len(batch.caller_ids)
        self.stored += batch.stored.rows
        self.to_sql += batch.to_sql_rows
        self.near_city += batch.near_city


def write_batches(
    conn: psycopg.Connection, batches: Iterable[EncodedBatch], columns: list[str], updates: str
) -> Tally:
    """Each batch's parts to their tables: new rows and their callers, rows to compare with the stored
    ones (the table ``updates``), rows for the SQL path (the staging table, ``columns`` of the file)."""
    tally = Tally()
    for batch in batches:
        for table, data in (
            ("incidents", batch.new),
            ("incident_callers", batch.callers),
            (updates, batch.stored),
        ):
            if data.rows:
                copy_into(conn, table, data)
        if batch.to_sql:
            store.copy_csv_into_staging(conn, ["row_no", "repeats_row", *columns], [batch.to_sql])
        tally.add(batch)
    return tally


def mostly_new(leading: list[pa.Table], stored_ids: SortedKeys) -> bool:
    """Whether most rows of the file's first batches bring external ids not stored yet: the import then
    rebuilds the indexes after its COPYs rather than keep them up row by row."""
    ids = pa.concat_arrays([_text(table, "external_id") for table in leading]).drop_null()
    new = int((stored_ids.find(*id_keys(ids)) < 0).sum())
    return 2 * new >= sum(table.num_rows for table in leading)


def import_csv(
    conn: psycopg.Connection,
    city_code: str,
    catalog: Catalog,
    path: Path,
    columns: list[str],
    source: str,
    min_rows: int,
    progress: Progress = no_progress,
    delimiter: str = ",",
) -> store.ImportResult | None:
    """Write the rows this path vouches for, in the caller's transaction, and stage every other row
    (``sql_rows`` of them) for the caller to check and write on the SQL path;
    None (nothing written) to leave the whole file to the SQL path. ``delimiter`` separates the file's
    fields (``;``: numbers may have a decimal comma).

    The first batches are read before anything is written, to know that the file is big enough and
    whether it is mostly new (else the indexes stay: the same file again updates nothing). Then each
    batch is checked in one helper thread and encoded in another while the server stores the one
    before. A line pyarrow cannot read, found once the COPYs have begun, rolls them back to the
    savepoint taken before them."""
    if not set(columns) <= set(store.IMPORT_FIELDS) or not {"lat", "lon"} <= set(columns):
        return None
    batches = read_batches(path, columns, delimiter)
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
    city = require_city(conn, city_code)
    places = Kelurahan(store.kelurahan_shapes(conn, city_code), city.to_metric)
    known_ids = stored_ids(store.external_ids(conn, city_code))
    rebuild_indexes = mostly_new(leading, known_ids)
    # where the role may, the foreign keys are checked here (the codes come from the locked rows) and
    # stay in place; elsewhere they are dropped and checked again as a whole afterwards
    keys_checked_here = store.may_skip_foreign_key_checks(conn)
    checker = BatchChecker(city, columns, catalog, places, known_ids, progress, delimiter)
    try:
        with conn.transaction():
            store.use_city_time_zone(conn, city_code)  # as the SQL path: the audit shows local times
            store.create_staging(conn)
            updates = store.create_fast_updates(conn)
            with (
                store.indexes_rebuilt_after(conn, COPIED_TABLES, foreign_keys=not keys_checked_here)
                if rebuild_indexes
                else nullcontext(),
                store.triggers_dropped(conn, COPIED_TABLES),
            ):
                if keys_checked_here and not store.lock_references(
                    conn, city_code, [*places.codes.to_pylist(), *places.parent_codes.to_pylist()]
                ):
                    raise DoubtfulRow
                import_id = store.start_import_record(conn, city_code, source)
                first_id = store.next_incident_id(conn)
                checker.start(import_id, first_id)
                with store.foreign_key_checks_skipped(conn) if keys_checked_here else nullcontext():
                    checked = prefetched(map(checker.checked, itertools.chain(leading, batches)))
                    tally = write_batches(conn, prefetched(map(encoded, checked)), columns, updates)
                if tally.to_sql and checker.decimal_comma:  # staged as the file wrote them
                    store.read_decimal_commas(conn)
                if tally.inserted:
                    store.incident_ids_used_up_to(conn, checker.next_id - 1)
                if rebuild_indexes:
                    progress("rebuilding indexes and keys", 0)
            audit.record_copied_inserts(
                conn, "incidents", "id", tally.inserted, first_id, checker.next_id - 1
            )
            audit.record_copied_inserts(
                conn,
                "incident_callers",
                "incident_id",
                tally.callers,
                tally.lowest_caller,
                tally.highest_caller,
            )
            updated = store.update_changed(conn, city_code, import_id, updates) if tally.stored else 0
    except DoubtfulRow:
        return None
    return store.ImportResult(
        rows_read=checker.rows_read,
        inserted=tally.inserted,
        updated=updated,
        near_city=tally.near_city,
        import_id=import_id,
        columnar_rows=checker.rows_read - tally.to_sql,
        sql_rows=tally.to_sql,
    )
