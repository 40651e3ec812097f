"""CQL2 filters (a pygeofilter AST) as parameterised PostGIS SQL over one collection.

Property names resolve only to the collection's published properties (its queryables) and ``geometry``;
every literal becomes a bound parameter cast to the type of the property it is compared with, so a value
can never change the statement. Supported: comparisons, LIKE, BETWEEN, IN, IS NULL, AND/OR/NOT, CASEI,
arithmetic, and the spatial functions S_INTERSECTS, S_DISJOINT, S_CONTAINS, S_WITHIN, S_TOUCHES,
S_CROSSES, S_OVERLAPS, S_EQUALS and S_DWITHIN (metres, on the spheroid, up to MAX_DISTANCE_METRES).
Boxes and geometry literals follow the filter CRS's axis order and must lie within its valid range.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import date, datetime

from psycopg import sql
from pygeofilter import ast, values

from geo_app.crs import CRS84, Crs, OutsideCrs, check_box
from geo_app.published import Collection
from geo_app.store.features import Fragment, column, envelope

GEOMETRY_NAMES = ("geometry", "geom")
# S_DWITHIN reaches at most this far: enough for any question within a city and its surroundings, and
# the buffer that lets the index help stays inside the planar projection PostGIS picks for it.
MAX_DISTANCE_METRES = 100_000

SPATIAL_FUNCTIONS = {
    ast.GeometryIntersects: "ST_Intersects",
    ast.GeometryDisjoint: "ST_Disjoint",
    ast.GeometryContains: "ST_Contains",
    ast.GeometryWithin: "ST_Within",
    ast.GeometryTouches: "ST_Touches",
    ast.GeometryCrosses: "ST_Crosses",
    ast.GeometryOverlaps: "ST_Overlaps",
    ast.GeometryEquals: "ST_Equals",
}
COMPARISONS = {
    ast.Equal: "=",
    ast.NotEqual: "<>",
    ast.LessThan: "<",
    ast.LessEqual: "<=",
    ast.GreaterThan: ">",
    ast.GreaterEqual: ">=",
}
ARITHMETIC = {ast.Add: "+", ast.Sub: "-", ast.Mul: "*", ast.Div: "/"}


class UnsupportedFilter(ValueError):
    """The filter uses a property or operator this collection does not offer; says which."""


class _Translator:
    def __init__(self, collection: Collection, filter_crs: Crs):
        self.collection = collection
        self.filter_crs = filter_crs

    # -- conditions -------------------------------------------------------------------------------
    def condition(self, node) -> Fragment:
        if isinstance(node, ast.And | ast.Or):
            operands = [self.condition(operand) for operand in chained_operands(node)]
            return Fragment.join(operands, f" {node.op.value} ").wrap("({})")
        if isinstance(node, ast.Not):
            return self.condition(node.sub_node).wrap("(NOT {})")
        if isinstance(node, ast.Include):
            return Fragment(sql.SQL("FALSE" if node.not_ else "TRUE"))
        if type(node) in COMPARISONS:
            lhs, rhs = self.typed_pair(node.lhs, node.rhs)
            return Fragment.join([lhs, rhs], f" {COMPARISONS[type(node)]} ").wrap("({})")
        if isinstance(node, ast.Between):
            pg_type = self.pg_type_of(node.lhs)
            parts = [self.scalar(node.lhs), self.scalar(node.low, pg_type), self.scalar(node.high, pg_type)]
            template = "({} NOT BETWEEN {} AND {})" if node.not_ else "({} BETWEEN {} AND {})"
            return Fragment(
                sql.SQL(template).format(*(p.sql for p in parts)), sum((p.params for p in parts), ())
            )
        if isinstance(node, ast.Like):
            lhs = self.scalar(node.lhs).wrap("({})::text")
            pattern = self.scalar(node.pattern, "text")
            return Fragment.join([lhs, pattern], " NOT LIKE " if node.not_ else " LIKE ").wrap("({})")
        if isinstance(node, ast.In):
            pg_type = self.pg_type_of(node.lhs)
            options = Fragment.join([self.scalar(option, pg_type) for option in node.sub_nodes], ", ")
            return Fragment.join(
                [self.scalar(node.lhs), options.wrap("({})")], " NOT IN " if node.not_ else " IN "
            )
        if isinstance(node, ast.IsNull):
            return self.scalar(node.lhs).wrap("({} IS NOT NULL)" if node.not_ else "({} IS NULL)")
        if type(node) in SPATIAL_FUNCTIONS:
            lhs, rhs = self.spatial(node.lhs), self.spatial(node.rhs)
            return Fragment.join([lhs, rhs], ", ").wrap(SPATIAL_FUNCTIONS[type(node)] + "({})")
        if isinstance(node, ast.DistanceWithin):
            return self.distance_within(node)
        if isinstance(node, ast.BBox):
            box = self.box([node.minx, node.miny, node.maxx, node.maxy])
            return Fragment.join([self.spatial(node.lhs), box], ", ").wrap("ST_Intersects({})")
        raise UnsupportedFilter(f"{type(node).__name__} is not supported in filters here")

    def distance_within(self, node: ast.DistanceWithin) -> Fragment:
        """Within a distance in metres: a bounding-box test the index can use, then the exact test."""
        self.check_spans_less_than_half_the_globe(node.lhs)
        self.check_spans_less_than_half_the_globe(node.rhs)
        lhs, rhs = self.spatial(node.lhs), self.spatial(node.rhs)
        distance = float(node.distance)
        if not (math.isfinite(distance) and 0 <= distance <= MAX_DISTANCE_METRES):
            raise UnsupportedFilter(
                f"S_DWITHIN: the distance must be from 0 to {MAX_DISTANCE_METRES:,} metres "
                f"({MAX_DISTANCE_METRES // 1000} km); it was {node.distance:g} metres"
            )
        near = Fragment.join([rhs.wrap("({})::geography"), Fragment(sql.SQL("%s"), (distance * 1.01,))], ", ")
        box = near.wrap("ST_Envelope(ST_Buffer({})::geometry)")
        exact = Fragment.join(
            [lhs.wrap("({})::geography"), rhs.wrap("({})::geography"), Fragment(sql.SQL("%s"), (distance,))],
            ", ",
        ).wrap("ST_DWithin({})")
        return Fragment.join([Fragment.join([lhs, box], " && "), exact], " AND ").wrap("({})")

    def check_spans_less_than_half_the_globe(self, node) -> None:
        """On the spheroid an edge of 180 degrees of longitude has no one shortest path and PostGIS
        refuses it, so distances are measured from geometries narrower than that."""
        bounds = coordinate_bounds(node.geometry) if isinstance(node, values.Geometry) else None
        if bounds is None or self.filter_crs.srid != 4326:
            return
        min_lon, _, max_lon, _ = self.as_xy(bounds)
        if max_lon - min_lon >= 180:
            raise UnsupportedFilter("S_DWITHIN: the geometry must span less than 180 degrees of longitude")

    # -- expressions ------------------------------------------------------------------------------
    def pg_type_of(self, node) -> str | None:
        if isinstance(node, ast.Attribute):
            return self.property(node.name).pg_type
        if isinstance(node, ast.Function) and node.name == "lower":
            return "text"
        return None

    def typed_pair(self, lhs, rhs) -> tuple[Fragment, Fragment]:
        """Both sides of a comparison, literals cast to the type of the property on the other side."""
        return self.scalar(lhs, self.pg_type_of(rhs)), self.scalar(rhs, self.pg_type_of(lhs))

    def property(self, name: str):
        prop = self.collection.property_by_name.get(name)
        if prop is None:
            # The name is not echoed: it may be a personal-data field, which the service never sends.
            raise UnsupportedFilter(
                f"the filter names a property that is not queryable; queryables of {self.collection.id}: "
                f"{', '.join(self.collection.property_by_name)} (see /queryables)"
            )
        return prop

    def scalar(self, node, pg_type: str | None = None) -> Fragment:
        if isinstance(node, ast.Attribute):
            if node.name in GEOMETRY_NAMES:
                raise UnsupportedFilter(f"{node.name} can only be used in spatial functions")
            return Fragment(column(self.property(node.name).column))
        if isinstance(node, ast.Function):
            if node.name != "lower" or len(node.arguments) != 1:
                raise UnsupportedFilter(f"function {node.name}() is not supported; CASEI(x) is")
            return self.scalar(node.arguments[0], "text").wrap("lower(({})::text)")
        if type(node) in ARITHMETIC:
            parts = [self.scalar(node.lhs, "double precision"), self.scalar(node.rhs, "double precision")]
            return Fragment.join(parts, f" {ARITHMETIC[type(node)]} ").wrap("({})")
        if isinstance(node, bool | int | float | str | datetime | date):
            placeholder = "%s" if pg_type is None else f"%s::{pg_type}"
            value = str(node) if pg_type == "text" and not isinstance(node, str) else node
            return Fragment(sql.SQL(placeholder), (value,))
        raise UnsupportedFilter(f"{type(node).__name__} cannot be compared here")

    def spatial(self, node) -> Fragment:
        if isinstance(node, ast.Attribute):
            if node.name not in GEOMETRY_NAMES:
                raise UnsupportedFilter(f"spatial functions take the geometry, not {node.name!r}")
            return Fragment(sql.SQL("t.geom"))
        if isinstance(node, values.Geometry):
            bounds = coordinate_bounds(node.geometry)
            if bounds is not None:
                self.check_range(self.as_xy(bounds), f"the {node.geometry['type']}")
            geometry = Fragment(sql.SQL("ST_GeomFromGeoJSON(%s)"), (json.dumps(node.geometry),))
            return self.to_storage(geometry)
        if isinstance(node, values.Envelope):
            return self.box([node.x1, node.y1, node.x2, node.y2])
        if isinstance(node, ast.Function) and node.name == "bbox":
            numbers = node.arguments
            if len(numbers) not in (4, 6) or not all(type(n) in (int, float) for n in numbers):
                raise UnsupportedFilter("BBOX takes 4 (or 6) numbers: minx, miny, maxx, maxy")
            return self.box(numbers[:2] + numbers[3:5] if len(numbers) == 6 else numbers)
        raise UnsupportedFilter(f"{node!r} is not a geometry")

    def box(self, corners: Sequence[float]) -> Fragment:
        """A box given in the filter CRS's axis order, checked and as an EPSG:4326 polygon."""
        corners = self.as_xy([float(n) for n in corners])
        self.check_range(corners, "the box")
        return envelope(corners, self.filter_crs)

    def as_xy(self, box: Sequence[float]) -> list[float]:
        """A box written in the filter CRS's axis order, with x (longitude, easting) first."""
        if self.filter_crs.lat_first:
            return [box[1], box[0], box[3], box[2]]
        return list(box)

    def check_range(self, box: Sequence[float], what: str) -> None:
        """Coordinates past the filter CRS's range would fail its reprojection (or mean nothing)."""
        try:
            check_box(box, self.filter_crs)
        except OutsideCrs as exc:
            raise UnsupportedFilter(f"{what}: {exc}") from None

    def to_storage(self, geometry: Fragment) -> Fragment:
        """A geometry literal in the filter CRS as EPSG:4326 lon/lat, like the stored data."""
        if self.filter_crs.srid != 4326:
            return Fragment.join([geometry, Fragment(sql.SQL("%s"), (self.filter_crs.srid,))], ", ").wrap(
                "ST_Transform(ST_SetSRID({}), 4326)"
            )
        flipped = geometry.wrap("ST_FlipCoordinates({})") if self.filter_crs.lat_first else geometry
        return flipped.wrap("ST_SetSRID({}, 4326)")


def chained_operands(node: ast.And | ast.Or) -> list:
    """The operands of a chain of one operator (``a AND b AND c``), gathered without recursion, so a
    long chain is one level of nesting rather than one per term."""
    operands, pending = [], [node]
    while pending:
        current = pending.pop()
        if type(current) is type(node):
            pending.extend([current.rhs, current.lhs])
        else:
            operands.append(current)
    return operands


def coordinate_bounds(geometry: dict) -> tuple[float, float, float, float] | None:
    """(min x, min y, max x, max y) of a GeoJSON geometry's positions, in the order they were written."""
    xs, ys, pending = [], [], [geometry]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend([*item.get("geometries", ()), item.get("coordinates", ())])
        elif item and isinstance(item[0], int | float):
            xs.append(item[0])
            ys.append(item[1])
        else:
            pending.extend(item)
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None


def to_sql(node: ast.Node, collection: Collection, filter_crs: Crs = CRS84) -> Fragment:
    """The WHERE condition of a CQL2 filter on ``collection`` (table alias ``t``)."""
    return _Translator(collection, filter_crs).condition(node)
