"""Grid geometry for aggregating incidents: hexagons of PostGIS ``ST_HexagonGrid`` and H3 cells.

Hexagon cell (i, j) of ``ST_HexagonGrid(s, ...)`` has its centre at (1.5·s·i, √3·s·j + √3·s/2 if i is
odd), flat top, anchored at the CRS origin; a point belongs to the cell with the nearest centre (the
hexagons are exactly the Voronoi cells of their centres). ``geo_app.store.incident_aggregates`` does
that arithmetic in SQL over millions of rows; ``hexagon_index`` is the same rule in numpy, for tests and
small inputs.
"""

from __future__ import annotations

import math

import h3
import numpy as np
import shapely

SQRT3 = math.sqrt(3.0)
# The cell rule (ours; the spec pins the band, not the cell): the edge is 1/100 of the longer side of
# the study area, rounded to 10 m and at least 50 m. Cilegon (~20 km across) gets 200 m edges,
# about 1,500 hexagons of 0.1 km².
CELLS_ACROSS = 100
MIN_EDGE_M = 50.0


def default_hex_size(width_m: float, height_m: float) -> float:
    return max(MIN_EDGE_M, round(max(width_m, height_m) / CELLS_ACROSS / 10.0) * 10.0)


def hexagon_area(size: float) -> float:
    return 1.5 * SQRT3 * size * size


def hexagon_centre(i: np.ndarray, j: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
    i = np.asarray(i)
    j = np.asarray(j)
    x = 1.5 * size * i
    y = SQRT3 * size * j + np.where(i % 2 != 0, SQRT3 * size / 2.0, 0.0)
    return x, y


def hexagon_index(x: np.ndarray, y: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) of the ST_HexagonGrid cell holding each point (ties go to the lower column)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    height = SQRT3 * size
    left = np.floor(x / (1.5 * size)).astype(np.int64)
    best_i, best_j, best_d = None, None, None
    for column in (left, left + 1):
        offset = np.where(column % 2 != 0, height / 2.0, 0.0)
        row = np.round((y - offset) / height).astype(np.int64)
        cx, cy = hexagon_centre(column, row, size)
        distance = (x - cx) ** 2 + (y - cy) ** 2
        if best_d is None:
            best_i, best_j, best_d = column, row, distance
        else:
            closer = distance < best_d
            best_i = np.where(closer, column, best_i)
            best_j = np.where(closer, row, best_j)
            best_d = np.where(closer, distance, best_d)
    return best_i, best_j


def hexagon_polygons(i: np.ndarray, j: np.ndarray, size: float) -> np.ndarray:
    """The hexagons (i, j) as ``ST_HexagonGrid`` draws them: flat top, first vertex on the left."""
    cx, cy = hexagon_centre(i, j, size)
    dx = np.array([-1.0, -0.5, 0.5, 1.0, 0.5, -0.5, -1.0]) * size
    dy = np.array([0.0, -0.5, -0.5, 0.0, 0.5, 0.5, 0.0]) * SQRT3 * size
    rings = np.stack([cx[:, None] + dx, cy[:, None] + dy], axis=-1)
    return shapely.polygons(rings)


def hexagons_over(area: shapely.Geometry, size: float) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) of every hexagon that intersects ``area`` (metric), ordered by i then j: the cells
    ``ST_HexagonGrid(size, area)`` filtered by ``ST_Intersects``, as the city node's hot-spot grid has."""
    west, south, east, north = area.bounds
    columns = np.arange(math.floor(west / (1.5 * size)) - 1, math.ceil(east / (1.5 * size)) + 2)
    rows = np.arange(math.floor(south / (SQRT3 * size)) - 1, math.ceil(north / (SQRT3 * size)) + 2)
    i, j = (grid.ravel() for grid in np.meshgrid(columns, rows, indexing="ij"))
    shapely.prepare(area)
    inside = shapely.intersects(area, hexagon_polygons(i, j, size))
    return i[inside], j[inside]


def h3_cell_area(resolution: int) -> float:
    """Average area (m²) of an H3 cell at ``resolution``."""
    return h3.average_hexagon_area(resolution, "m^2")


def h3_cells_of_points(lat: np.ndarray, lon: np.ndarray, resolution: int) -> list[str]:
    return [h3.latlng_to_cell(a, b, resolution) for a, b in zip(lat, lon, strict=True)]


def h3_cells_of_polygon(geojson_geometry: dict, resolution: int) -> set[str]:
    """Cells whose centre lies in the (Multi)Polygon (h3-py 4 ``geo_to_cells``)."""
    return set(h3.geo_to_cells(geojson_geometry, resolution))


def h3_boundary(cell: str) -> list[list[float]]:
    """The cell's ring in GIS order (lon, lat), closed: h3 returns (lat, lng) pairs."""
    ring = [[round(lng, 6), round(lat, 6)] for lat, lng in h3.cell_to_boundary(cell)]
    return ring + [ring[0]]


def h3_centre(cell: str) -> tuple[float, float]:
    lat, lng = h3.cell_to_latlng(cell)
    return lng, lat
