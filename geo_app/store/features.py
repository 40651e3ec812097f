"""SQL for OGC API collections and vector tiles, built from the collection registry.

Identifiers come only from :mod:`geo_app.published`; every value (bbox, time, filter literals,
cursor keys) is a bound parameter. Features are rendered to GeoJSON by PostGIS (``json_build_object``),
so a page is one query and Python only joins the strings.

Paging is keyset paging: rows are ordered by the requested sort keys and finally the id, and the next
page starts strictly after the last row's keys, so page 1,000 costs what page 1 costs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from geo_app.crs import CRS84, Crs

if TYPE_CHECKING:  # for hints only: the importers read TILE_KEY_ZOOM without loading the registry
    from geo_app.published import Collection

TILE_EXTENT = 4096
TILE_BUFFER = 64
TILE_KEY_ZOOM = 14  # the zoom of ogc_tile_x/ogc_tile_y in the index of migration 0006
CLUSTER_CELLS = 64  # grid cells per tile side where points are counted instead of drawn one by one


@dataclass(frozen=True)
class Fragment:
    """A piece of SQL and the parameters of its placeholders, in order."""

    sql: sql.Composable
    params: tuple = ()

    @staticmethod
    def join(fragments: Iterable[Fragment], separator: str = " AND ") -> Fragment:
        fragments = list(fragments)
        return Fragment(
            sql.SQL(separator).join(f.sql for f in fragments),
            tuple(p for f in fragments for p in f.params),
        )

    def wrap(self, template: str) -> Fragment:
        """``template`` with ``{}`` standing for this fragment, e.g. ``"NOT ({})"``."""
        return Fragment(sql.SQL(template).format(self.sql), self.params)


TRUE = Fragment(sql.SQL("TRUE"))
FALSE = Fragment(sql.SQL("FALSE"))


@dataclass(frozen=True)
class TimeFilter:
    """``datetime``: an instant (start == end) or an interval with open ends as None."""

    start: datetime | None
    end: datetime | None

    @property
    def is_instant(self) -> bool:
        return self.start is not None and self.start == self.end


@dataclass
class ItemQuery:
    """What an items request selects; bbox is (minx, miny, maxx, maxy) in ``bbox_crs`` axis x/y order."""

    limit: int = 10
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: Crs = CRS84
    time: TimeFilter | None = None
    equals: dict[str, object] = field(default_factory=dict)
    filter: Fragment | None = None
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (property name, descending)
    after: list | None = None  # keys of the row the page starts after (in the page's direction)
    backwards: bool = False  # a prev page: walk the order backwards from ``after``
    crs: Crs = CRS84


@dataclass
class Page:
    features: list[str]  # GeoJSON Feature objects as JSON text
    first_keys: list | None
    last_keys: list | None
    more: bool  # there are rows beyond this page in the direction it was read


class InvalidValue(ValueError):
    """A literal in the request does not fit the column it is compared with."""


def column(name: str) -> sql.Composable:
    return sql.SQL("t.{}").format(sql.Identifier(name))


def envelope(bbox: Sequence[float], crs: Crs) -> Fragment:
    """A bbox (x/y order) as an EPSG:4326 polygon."""
    made = Fragment(sql.SQL("ST_MakeEnvelope(%s, %s, %s, %s, %s)"), (*map(float, bbox), crs.srid))
    return made if crs.srid == 4326 else made.wrap("ST_Transform({}, 4326)")


def _geometry_output(crs: Crs) -> sql.Composable:
    if crs.srid != 4326:
        return sql.SQL("ST_Transform(t.geom, {})").format(sql.Literal(crs.srid))
    return sql.SQL("ST_FlipCoordinates(t.geom)") if crs.lat_first else sql.SQL("t.geom")


def _feature_json(collection: Collection, crs: Crs) -> sql.Composable:
    properties = sql.SQL(", ").join(
        sql.SQL("{}, {}").format(sql.Literal(p.name), column(p.column)) for p in collection.properties
    )
    return sql.SQL(
        "json_build_object('type', 'Feature', 'id', {id}, 'geometry', "
        "ST_AsGeoJSON({geom}, {decimals}, 0)::json, 'properties', json_build_object({properties}))::text"
    ).format(
        id=column(collection.id_column),
        geom=_geometry_output(crs),
        decimals=sql.Literal(crs.decimals),
        properties=properties,
    )


def base_conditions(collection: Collection, city_code: str, time: TimeFilter | None = None) -> list[Fragment]:
    """What every query of the collection applies: the city, the public restrictions, the version."""
    conditions = [Fragment(sql.SQL("t.city_code = %s"), (city_code,))]
    for name, values in collection.restrictions:
        conditions.append(Fragment(sql.SQL("{} = ANY(%s)").format(column(name)), (list(values),)))
    if collection.require_geometry:
        conditions.append(Fragment(sql.SQL("t.geom IS NOT NULL")))
    if collection.validity:
        valid_from, valid_to = (column(name) for name in collection.validity)
        if time is None:
            conditions.append(Fragment(sql.SQL("{} IS NULL").format(valid_to)))
        else:
            conditions.append(
                Fragment(
                    sql.SQL("{} <= %s AND ({} IS NULL OR {} > %s)").format(valid_from, valid_to, valid_to),
                    (time.start, time.start),
                )
            )
    elif time is not None and collection.temporal:
        moment = column(collection.temporal)
        if time.start is not None:
            conditions.append(Fragment(sql.SQL("{} >= %s").format(moment), (time.start,)))
        if time.end is not None:
            conditions.append(Fragment(sql.SQL("{} <= %s").format(moment), (time.end,)))
    return conditions


def _conditions(collection: Collection, city_code: str, query: ItemQuery) -> list[Fragment]:
    conditions = base_conditions(collection, city_code, query.time)
    if query.bbox is not None:
        # ST_Intersects brings its own index test; an extra && would be counted twice by the planner.
        conditions.append(envelope(query.bbox, query.bbox_crs).wrap("ST_Intersects(t.geom, {})"))
    for name, value in query.equals.items():
        prop = collection.property_by_name[name]
        conditions.append(
            Fragment(sql.SQL("{} = %s::{}").format(column(prop.column), sql.SQL(prop.pg_type)), (value,))
        )
    if query.filter is not None:
        conditions.append(query.filter.wrap("({})"))
    return conditions


def _sort_keys(collection: Collection, sort: list[tuple[str, bool]]) -> list[tuple[sql.Composable, bool]]:
    """(expression, descending) for each sort key, ending with the id so the order is total."""
    keys = [(column(collection.property_by_name[name].column), desc) for name, desc in sort]
    return [*keys, (column(collection.id_column), False)]


def _after(keys: list[tuple[sql.Composable, bool, bool]], values: list) -> Fragment:
    """Rows strictly after ``values`` in the order ``keys`` = (expression, descending, nulls_last).

    The last key is the id, never NULL: its test stays a plain comparison an index can range over.
    """
    expression, desc, nulls_last = keys[0]
    nulls_last = nulls_last and len(keys) > 1
    value = values[0]
    if value is None:
        beyond = FALSE if nulls_last else Fragment(sql.SQL("{} IS NOT NULL").format(expression))
        same = Fragment(sql.SQL("{} IS NULL").format(expression))
    else:
        operator = sql.SQL("<" if desc else ">")
        beyond = Fragment(sql.SQL("{} {} %s").format(expression, operator), (value,))
        if nulls_last:
            beyond = Fragment.join([beyond, Fragment(sql.SQL("{} IS NULL").format(expression))], " OR ")
            beyond = beyond.wrap("({})")
        same = Fragment(sql.SQL("{} = %s").format(expression), (value,))
    if len(keys) == 1:
        return beyond
    rest = _after(keys[1:], values[1:])
    return Fragment.join([beyond, Fragment.join([same, rest]).wrap("({})")], " OR ").wrap("({})")


def fetch_page(conn: psycopg.Connection, collection: Collection, city_code: str, query: ItemQuery) -> Page:
    """One page of features in keyset order (or read backwards for a prev page, returned in order)."""
    conditions = _conditions(collection, city_code, query)
    # Normal order: ascending keys with NULLs last; reading backwards flips both.
    keys = [
        (expression, desc != query.backwards, not query.backwards)
        for expression, desc in _sort_keys(collection, query.sort)
    ]
    if query.after is not None:
        if len(query.after) != len(keys):
            raise InvalidValue("the cursor does not match the sort order")
        conditions.append(_after(keys, query.after))
    where = Fragment.join(conditions)
    order = sql.SQL(", ").join(
        sql.SQL("{} {} NULLS {}").format(
            e, sql.SQL("DESC" if d else "ASC"), sql.SQL("LAST" if n else "FIRST")
        )
        for e, d, n in keys
    )
    key_columns = sql.SQL(", ").join(
        sql.SQL("{} AS k{}").format(e, sql.Literal(i)) for i, (e, _, _) in enumerate(keys)
    )
    # The page's ids first, then its rows: the id query needs only id, city and geometry, which an
    # index can cover (migration 0006), so scanning past non-matching rows never touches the table.
    # The conditions apply again outside, because an id can name several versions (green areas).
    statement = sql.SQL(
        "SELECT {feature} AS feature, {keys} FROM {table} t WHERE {id} IN ("
        " SELECT {id} FROM {table} t WHERE {where} ORDER BY {order} LIMIT %s OFFSET %s)"
        " AND {where} ORDER BY {order}"
    ).format(
        feature=_feature_json(collection, query.crs),
        keys=key_columns,
        table=sql.Identifier(collection.table),
        id=column(collection.id_column),
        where=where.sql,
        order=order,
    )
    rows = _execute(conn, statement, (*where.params, query.limit + 1, query.offset, *where.params))
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    if query.backwards:
        rows.reverse()
    key_lists = [[row[f"k{i}"] for i in range(len(keys))] for row in rows]
    return Page(
        features=[row["feature"] for row in rows],
        first_keys=key_lists[0] if key_lists else None,
        last_keys=key_lists[-1] if key_lists else None,
        more=more,
    )


def count_matching(
    conn: psycopg.Connection, collection: Collection, city_code: str, query: ItemQuery, cap: int
) -> int | None:
    """How many features the query matches, or None when more than ``cap`` (counting stops there)."""
    where = Fragment.join(_conditions(collection, city_code, query))
    statement = sql.SQL("SELECT count(*) AS n FROM (SELECT 1 FROM {} t WHERE {} LIMIT %s) s").format(
        sql.Identifier(collection.table), where.sql
    )
    count = _execute(conn, statement, (*where.params, cap + 1))[0]["n"]
    return None if count > cap else count


def estimate_matching(
    conn: psycopg.Connection, collection: Collection, city_code: str, query: ItemQuery
) -> int:
    """The planner's estimate of how many features the query matches (EXPLAIN, nothing is read): for
    matches too many to count on every page. Table statistics make it a few per cent off at best."""
    where = Fragment.join(_conditions(collection, city_code, query))
    statement = sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {} t WHERE {}").format(
        sql.Identifier(collection.table), where.sql
    )
    plan = _execute(conn, statement, where.params)[0]["QUERY PLAN"]
    return int(plan[0]["Plan"]["Plan Rows"])


def fetch_item(
    conn: psycopg.Connection, collection: Collection, city_code: str, feature_id: object, crs: Crs = CRS84
) -> str | None:
    """One feature as GeoJSON text (current version for versioned tables), None when not published."""
    where = Fragment.join(
        [
            *base_conditions(collection, city_code),
            Fragment(sql.SQL("{} = %s").format(column(collection.id_column)), (feature_id,)),
        ]
    )
    statement = sql.SQL("SELECT {} AS feature FROM {} t WHERE {}").format(
        _feature_json(collection, crs), sql.Identifier(collection.table), where.sql
    )
    rows = _execute(conn, statement, where.params)
    return rows[0]["feature"] if rows else None


def extent(conn: psycopg.Connection, collection: Collection, city_code: str) -> dict:
    """Bounding box (CRS84) and time span of the published rows; None parts when there are none."""
    where = Fragment.join(base_conditions(collection, city_code))
    time_column = collection.time_column
    span = (
        sql.SQL("min({c}) AS t0, max({c}) AS t1").format(c=column(time_column))
        if time_column
        else sql.SQL("NULL::timestamptz AS t0, NULL::timestamptz AS t1")
    )
    statement = sql.SQL(
        "SELECT ST_XMin(e) AS x0, ST_YMin(e) AS y0, ST_XMax(e) AS x1, ST_YMax(e) AS y1, t0, t1 "
        "FROM (SELECT ST_Extent(t.geom) AS e, {span} FROM {table} t WHERE {where}) s"
    ).format(span=span, table=sql.Identifier(collection.table), where=where.sql)
    row = conn.execute(statement, where.params).fetchone()
    bbox = None if row["x0"] is None else [row["x0"], row["y0"], row["x1"], row["y1"]]
    return {"bbox": bbox, "interval": [row["t0"], row["t1"]] if time_column else None}


def tile(conn: psycopg.Connection, collection: Collection, city_code: str, z: int, x: int, y: int) -> bytes:
    """The collection's features in tile z/x/y as a Mapbox Vector Tile (layer named after the collection).

    Below the collection's ``cluster_below_zoom`` the tile holds one point per cell of a 64 x 64 grid
    with the number of features in it (``count``), instead of every feature.
    """
    if collection.cluster_below_zoom is not None and z < collection.cluster_below_zoom:
        return _cluster_tile(conn, collection, city_code, z, x, y)
    conditions = base_conditions(collection, city_code)
    if collection.tile_zoom_by is not None:
        name, zooms = collection.tile_zoom_by
        hidden = [value for value, zoom in zooms if z < zoom]
        if hidden:
            conditions.append(Fragment(sql.SQL("NOT ({} = ANY(%s))").format(column(name)), (hidden,)))
    where = Fragment.join(conditions)
    integer_ids = collection.id_type == "integer"
    id_column = column(collection.id_column)
    attributes = [
        sql.SQL("{} AS {}").format(column(p.column), sql.Identifier(p.name))
        for p in collection.tile_properties
    ]
    attributes.append(sql.SQL("{} AS {}").format(id_column, sql.Identifier("fid" if integer_ids else "id")))
    statement = sql.SQL(
        "WITH rows AS ("
        " SELECT ST_AsMVTGeom(ST_Transform(t.geom, 3857), ST_TileEnvelope(%s, %s, %s),"
        " {extent}, {buffer}, true) AS geom, {attributes}"
        " FROM {table} t"
        " WHERE {where} AND t.geom && ST_Transform(ST_TileEnvelope(%s, %s, %s, margin => {margin}), 4326))"
        " SELECT ST_AsMVT(rows, %s, {extent}, 'geom', {fid}) AS tile FROM rows WHERE geom IS NOT NULL"
    ).format(
        extent=sql.Literal(TILE_EXTENT),
        buffer=sql.Literal(TILE_BUFFER),
        margin=sql.Literal(TILE_BUFFER / TILE_EXTENT),
        attributes=sql.SQL(", ").join(attributes),
        table=sql.Identifier(collection.table),
        where=where.sql,
        fid=sql.Literal("fid") if integer_ids else sql.SQL("NULL"),
    )
    params = (z, x, y, *where.params, z, x, y, collection.id)
    return bytes(_execute(conn, statement, params)[0]["tile"] or b"")


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """West, south, east, north (degrees) of Web Mercator tile z/x/y."""
    n = 2**z

    def latitude(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, latitude(y + 1), (x + 1) / n * 360 - 180, latitude(y)


def _tile_key_condition(z: int, x: int, y: int) -> Fragment:
    """Points of tile z/x/y by their zoom-14 tile key (migration 0006 indexes it with the geometry)."""
    key_x = sql.SQL("ogc_tile_x(t.geom, {})").format(sql.Literal(TILE_KEY_ZOOM))
    key_y = sql.SQL("ogc_tile_y(t.geom, {})").format(sql.Literal(TILE_KEY_ZOOM))
    if z >= TILE_KEY_ZOOM:
        shift = z - TILE_KEY_ZOOM
        return Fragment(sql.SQL("{} = %s AND {} = %s").format(key_x, key_y), (x >> shift, y >> shift))
    shift = TILE_KEY_ZOOM - z
    return Fragment(
        sql.SQL("{} BETWEEN %s AND %s AND {} BETWEEN %s AND %s").format(key_x, key_y),
        (x << shift, ((x + 1) << shift) - 1, y << shift, ((y + 1) << shift) - 1),
    )


def _cluster_tile(
    conn: psycopg.Connection, collection: Collection, city_code: str, z: int, x: int, y: int
) -> bytes:
    """Counts of points per grid cell, drawn at the cell centre. Tile pixels come from lon/lat by a linear
    map; within one tile Web Mercator differs from it by far less than a cell. Cells are numbered
    column * CLUSTER_CELLS + row, so the points are grouped on one integer."""
    west, south, east, north = tile_bounds(z, x, y)
    where = Fragment.join([*base_conditions(collection, city_code), _tile_key_condition(z, x, y)])
    statement = sql.SQL(
        "SELECT ST_AsMVT(cells, %s, {extent}, 'geom') AS tile FROM ("
        " SELECT ST_MakePoint((cell / {cells}) * {step} + {half}, mod(cell, {cells}) * {step} + {half})"
        " AS geom, count(*)::integer AS count FROM ("
        "  SELECT floor(px / {step})::integer * {cells} + floor(py / {step})::integer AS cell FROM ("
        "   SELECT (ST_X(t.geom) - %s) * %s AS px, (%s - ST_Y(t.geom)) * %s AS py"
        "   FROM {table} t WHERE {where} OFFSET 0) points"
        "  WHERE px >= 0 AND px < {extent} AND py >= 0 AND py < {extent}) located"
        " GROUP BY cell) cells"
    ).format(
        extent=sql.Literal(TILE_EXTENT),
        cells=sql.Literal(CLUSTER_CELLS),
        step=sql.Literal(TILE_EXTENT // CLUSTER_CELLS),
        half=sql.Literal(TILE_EXTENT // CLUSTER_CELLS // 2),
        table=sql.Identifier(collection.table),
        where=where.sql,
    )
    scale_x, scale_y = TILE_EXTENT / (east - west), TILE_EXTENT / (north - south)
    params = (collection.id, west, scale_x, north, scale_y, *where.params)
    return bytes(_execute(conn, statement, params, CLUSTER_SETTINGS)[0]["tile"] or b"")


# Planner settings for the small, frequent queries of the API, set in the same round trip as each query:
# JIT compilation and parallel workers cost more to start than these queries take; bitmap scans first
# collect every match of a bbox, where a page or a capped count needs only the first ones (the planner
# also likes to AND such a bitmap with a whole-city index); and a generic plan of a prepared statement
# cannot see how small a bbox is, so every execution is planned for its own values.
API_SETTINGS = sql.SQL(
    "SELECT set_config('jit', 'off', true), set_config('max_parallel_workers_per_gather', '0', true),"
    " set_config('enable_bitmapscan', 'off', true), set_config('plan_cache_mode', 'force_custom_plan', true)"
)
# Counting points per cell: the planner cannot foresee how many points a tile holds (the tile-key
# statistics are coarse) and would sort them on disk; hashing the cells in memory is several times faster.
CLUSTER_SETTINGS = sql.SQL(
    "{}, set_config('enable_sort', 'off', true), set_config('work_mem', '32MB', true)"
).format(API_SETTINGS)


# What the database says when a request's value or type does not fit (a text where a number belongs,
# arithmetic on a name, a doctored cursor): the client's mistake, answered 400.
REJECTED_VALUES = (
    psycopg.errors.DataError,
    psycopg.errors.UndefinedFunction,
    psycopg.errors.CannotCoerce,
    psycopg.errors.DatatypeMismatch,
)


def _execute(
    conn: psycopg.Connection,
    statement: sql.Composable,
    params: tuple,
    settings: sql.Composable = API_SETTINGS,
) -> list[dict]:
    """Run a query built from request values; values the database rejects become InvalidValue."""
    try:
        with conn.pipeline():
            conn.execute(settings)
            cursor = conn.execute(statement, params)
        return cursor.fetchall()
    except REJECTED_VALUES as exc:
        raise InvalidValue(exc.diag.message_primary or str(exc)) from None
