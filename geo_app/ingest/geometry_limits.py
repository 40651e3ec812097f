"""Limits on geometries people send, checked before any parsing library or PostGIS sees them.

A polygon with millions of vertices or a GeometryCollection nested a thousand deep costs memory and time
without being a real city feature; such input gets a 400/422 with the limit named. The web layer checks
every JSON request body (geo_app.web.access); readers of uploaded files call :func:`check_shape`.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import shapely

MAX_VERTICES = 200_000
"""Vertices in one geometry (a detailed kelurahan boundary has a few thousand)."""
MAX_PARTS = 10_000
"""Polygons, lines or points in one Multi* geometry or collection."""
MAX_COLLECTION_DEPTH = 2
"""GeometryCollections inside GeometryCollections."""
CROSSING_BATCH = 32
"""Segments looked up at a time by :func:`self_crossings` (each may meet every other segment)."""
COORDINATE_DEPTH = {
    "Point": 1,
    "MultiPoint": 2,
    "LineString": 2,
    "MultiLineString": 3,
    "Polygon": 3,
    "MultiPolygon": 4,
}


class GeometryLimitError(ValueError):
    """A geometry over a limit; the message names the limit and the size found."""


def check_geojson(geometry: object, where: str = "geometry", depth: int = 0) -> None:
    """Check a GeoJSON geometry object (as parsed from JSON) against the limits, without building it."""
    if not isinstance(geometry, dict):
        return
    kind = geometry.get("type")
    if kind == "GeometryCollection":
        if depth >= MAX_COLLECTION_DEPTH:
            raise GeometryLimitError(
                f"{where}: collections nested deeper than {MAX_COLLECTION_DEPTH} levels; flatten them."
            )
        members = geometry.get("geometries")
        if isinstance(members, list):
            if len(members) > MAX_PARTS:
                raise GeometryLimitError(
                    f"{where}: {len(members)} geometries; at most {MAX_PARTS} per collection."
                )
            for index, member in enumerate(members):
                check_geojson(member, f"{where}.geometries[{index}]", depth + 1)
        return
    expected = COORDINATE_DEPTH.get(kind)
    coordinates = geometry.get("coordinates")
    if expected is None or not isinstance(coordinates, list):
        return  # not a geometry this check knows; the parser that reads it reports what is wrong
    if kind.startswith("Multi") and len(coordinates) > MAX_PARTS:
        raise GeometryLimitError(f"{where}: {len(coordinates)} parts; at most {MAX_PARTS} per {kind}.")
    for vertices, position in enumerate(_positions(coordinates, expected, where), start=1):
        if vertices > MAX_VERTICES:
            raise GeometryLimitError(
                f"{where}: more than {MAX_VERTICES:,} vertices; simplify it (e.g. ST_Simplify or QGIS "
                "Simplify) or split it."
            )
        if not 2 <= len(position) <= 4:
            raise GeometryLimitError(f"{where}: a position has {len(position)} numbers; use [lon, lat].")


def _positions(coordinates: list, depth: int, where: str) -> Iterator[list]:
    """The positions of a coordinates array, refusing nesting that does not match the geometry type."""
    stack = [(coordinates, depth)]
    while stack:
        node, level = stack.pop()
        if level == 1:
            if not isinstance(node, list) or any(isinstance(value, list) for value in node):
                raise GeometryLimitError(f"{where}: coordinates nested deeper than the geometry type allows.")
            yield node
            continue
        if not isinstance(node, list):
            raise GeometryLimitError(f"{where}: coordinates are not nested as the geometry type says.")
        stack.extend((child, level - 1) for child in node)


def check_shape(geometry: shapely.Geometry | None, where: str = "geometry") -> None:
    """The same limits for a geometry read from a file (shapely)."""
    if geometry is None:
        return
    vertices = shapely.get_num_coordinates(geometry)
    if vertices > MAX_VERTICES:
        raise GeometryLimitError(
            f"{where}: {vertices:,} vertices; at most {MAX_VERTICES:,}. Simplify or split it."
        )
    parts = shapely.get_num_geometries(geometry)
    if parts > MAX_PARTS:
        raise GeometryLimitError(f"{where}: {parts} parts; at most {MAX_PARTS} per geometry.")


def iter_geometries(document: object, where: str = "body") -> Iterator[tuple[str, dict]]:
    """Each GeoJSON geometry in a parsed document (Feature, FeatureCollection or bare) with its path."""
    if not isinstance(document, dict):
        return
    kind = document.get("type")
    if kind == "FeatureCollection" and isinstance(document.get("features"), list):
        for index, feature in enumerate(document["features"]):
            yield from iter_geometries(feature, f"{where}.features[{index}]")
    elif kind == "Feature":
        if isinstance(document.get("geometry"), dict):
            yield f"{where}.geometry", document["geometry"]
    elif kind in COORDINATE_DEPTH or kind == "GeometryCollection":
        yield where, document


def rows_over_limits(geometries) -> dict[int, str]:
    """Row number -> reason for each geometry (array from a file reader) over the limits."""
    vertices = shapely.get_num_coordinates(geometries)
    parts = shapely.get_num_geometries(geometries)
    problems = {}
    for row in np.flatnonzero((vertices > MAX_VERTICES) | (parts > MAX_PARTS)):
        try:
            check_shape(geometries[row])
        except GeometryLimitError as exc:
            problems[int(row)] = str(exc)
    return problems


def self_crossings(geometry: shapely.Geometry, stop_at: int) -> int:
    """Points where the rings of a polygon cross or touch (themselves or each other), counted up to
    ``stop_at``.

    Repairing a polygon (ST_MakeValid) costs far more than linearly in these: a 301-point star, with
    about 45,000 of them, keeps PostGIS busy for minutes, while a digitising slip has one or two. Pairs
    of segments are looked up in small batches so the count stops early, whatever the polygon.
    """
    rings = shapely.get_rings(shapely.get_parts(shapely.remove_repeated_points(geometry)))
    starts, ends, ring_ids, positions, ring_sizes = [], [], [], [], []
    for ring_id, ring in enumerate(rings):
        points = shapely.get_coordinates(ring)
        size = len(points) - 1
        starts.append(points[:-1])
        ends.append(points[1:])
        ring_ids.append(np.full(size, ring_id))
        positions.append(np.arange(size))
        ring_sizes.append(np.full(size, size))
    if not starts:
        return 0
    segments = shapely.linestrings(np.stack([np.concatenate(starts), np.concatenate(ends)], axis=1))
    ring_of, position = np.concatenate(ring_ids), np.concatenate(positions)
    ring_size = np.concatenate(ring_sizes)
    tree = shapely.STRtree(segments)
    found = 0
    for first in range(0, len(segments), CROSSING_BATCH):
        batch = np.arange(first, min(first + CROSSING_BATCH, len(segments)))
        left, right = tree.query(segments[batch], predicate="intersects")
        left = batch[left]
        left, right = left[left < right], right[left < right]
        gap = np.abs(position[left] - position[right])
        neighbours = (ring_of[left] == ring_of[right]) & ((gap == 1) | (gap == ring_size[left] - 1))
        found += int(np.count_nonzero(~neighbours))
        if found >= stop_at:
            return found
    return found
