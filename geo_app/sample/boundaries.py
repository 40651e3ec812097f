"""Sample boundaries: Voronoi cells of the 43 real kelurahan points, clipped to the real city outline.

The cells are computed in the sample city's metric CRS (reference.METRIC_SRID) so they are fair in
metres; kecamatan are the union of their kelurahan, the kota the union of all. Real boundaries
replace them with ``geo-app import-areas``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import MultiPolygon, Polygon

from geo_app.sample.population import spread_by_area
from geo_app.sample.reference import METRIC_SRID, SAMPLE_SOURCE, CityFacts

BOUNDARY_SOURCE = f"{SAMPLE_SOURCE}: Voronoi cells of the kelurahan points clipped to the city outline"
POPULATION_ESTIMATE_SOURCE = "{source}, kecamatan total spread by area (sample estimate)"


def _multipolygon(geometry) -> MultiPolygon:
    """Keep the polygonal parts of a clip result (slivers of lines or points can appear on edges)."""
    geometry = shapely.make_valid(geometry)
    parts = [part for part in shapely.get_parts(geometry) if isinstance(part, Polygon) and part.area > 1.0]
    return MultiPolygon(parts)


def kelurahan_cells(facts: CityFacts) -> np.ndarray:
    """One metric MultiPolygon per kelurahan (in the order of ``facts.kelurahan``)."""
    points = shapely.points(facts.kelurahan["x"].to_numpy(), facts.kelurahan["y"].to_numpy())
    extent = facts.outline.envelope.buffer(5_000)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.MultiPoint(points), extend_to=extent))
    # voronoi_polygons does not keep the input order: match each cell to the point inside it.
    ordered = np.empty(len(points), dtype=object)
    for cell in cells:
        (index,) = np.flatnonzero(shapely.contains(cell, points))
        ordered[index] = _multipolygon(shapely.intersection(cell, facts.outline))
    return ordered


def locate(geometries: np.ndarray, kelurahan: gpd.GeoDataFrame) -> np.ndarray:
    """The kelurahan code under each metric geometry (a point on the outer edge gets the nearest one)."""
    tree = shapely.STRtree(kelurahan.geometry.to_numpy())
    codes = kelurahan["code"].to_numpy()
    result = np.empty(len(geometries), dtype=object)
    inside_geometry, inside_tree = tree.query(geometries, predicate="intersects")
    # Write the highest kelurahan index first so that on a shared edge the lowest one wins, deterministically.
    order = np.lexsort((-inside_tree, inside_geometry))
    result[inside_geometry[order]] = codes[inside_tree[order]]
    missing = np.flatnonzero(pd.isna(result))
    if len(missing):
        which, nearest = tree.query_nearest(geometries[missing], all_matches=False)
        result[missing[which]] = codes[nearest]
    return result


def pull_inside(points: np.ndarray, outline, margin_m: float = 1.0) -> np.ndarray:
    """Points closer than ``margin_m`` to the city edge (or outside it) moved just inside, so rounding
    coordinates for a file or another CRS never puts them in no kelurahan."""
    inner = outline.buffer(-margin_m)
    points = np.asarray(points, dtype=object)
    present = pd.notna(points)
    outside = present.copy()
    outside[present] = ~shapely.contains(inner, points[present].astype(object))
    moved = points.copy()
    if outside.any():
        moved[outside] = shapely.get_point(shapely.shortest_line(inner, points[outside]), 0)
    return moved


def build_areas(facts: CityFacts) -> gpd.GeoDataFrame:
    """Kota, kecamatan and kelurahan rows (metric geometry) with populations, ready for admin_areas."""
    kelurahan = facts.kelurahan
    cells = kelurahan_cells(facts)
    areas_m2 = shapely.area(cells)
    totals = facts.kecamatan.set_index("code")["population"]
    estimates = spread_by_area(totals, kelurahan["kecamatan_code"].to_numpy(), areas_m2)
    source_of = facts.kecamatan.set_index("code")["population_source"]
    rows = [
        {
            "code": facts.code,
            "level": "kota",
            "name": facts.name,
            "name_variants": (),
            "parent_code": None,
            "population": facts.population,
            "population_source": facts.population_source,
            "population_year": facts.population_year,
            "population_is_estimate": False,
            "official_area_km2": facts.official_area_km2,
            "geometry": _multipolygon(shapely.union_all(cells)),
        }
    ]
    for kecamatan in facts.kecamatan.itertuples():
        members = kelurahan["kecamatan_code"].to_numpy() == kecamatan.code
        rows.append(
            {
                "code": kecamatan.code,
                "level": "kecamatan",
                "name": kecamatan.name,
                "name_variants": kecamatan.name_variants,
                "parent_code": facts.code,
                "population": int(kecamatan.population),
                "population_source": kecamatan.population_source,
                "population_year": int(kecamatan.population_year),
                "population_is_estimate": False,
                "official_area_km2": None,
                "geometry": _multipolygon(shapely.union_all(cells[members])),
            }
        )
    for index, row in enumerate(kelurahan.itertuples()):
        rows.append(
            {
                "code": row.code,
                "level": "kelurahan",
                "name": row.name,
                "name_variants": row.name_variants,
                "parent_code": row.kecamatan_code,
                "population": int(estimates[index]),
                "population_source": POPULATION_ESTIMATE_SOURCE.format(source=source_of[row.kecamatan_code]),
                "population_year": facts.population_year,
                "population_is_estimate": True,
                "official_area_km2": None,
                "geometry": cells[index],
            }
        )
    areas = gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_SRID)
    areas["boundary_source"] = BOUNDARY_SOURCE
    return areas
