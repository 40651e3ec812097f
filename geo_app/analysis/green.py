"""Green open space (RTH) against the legal targets, and access to public parks.

UU 26/2007 art. 29 asks every city for RTH of at least 30 % of its area, at least 20 % public and 10 %
private (kept by Permen ATR/BPN 14/2022). Access follows WHO Europe (2016): residents within 300 m
straight-line distance of a public green space of at least 0.5 ha.

Green land is measured per kelurahan as the area of the union of its pieces, so overlapping polygons
count once; kecamatan and city are sums of their kelurahan (kelurahan do not overlap, so sums of unions
are unions of the whole).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import psycopg
import shapely
from pyproj import Transformer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo_app.analysis.population import load_cells
from geo_app.store import green as green_store

LEVELS = ("kelurahan", "kecamatan", "kota")
ACCESS_RADIUS_M = 300.0
ACCESS_MIN_HA = 0.5
BUFFER_QUAD_SEGS = 32
MIN_CHANGE_HA = 1e-4  # 1 m²: smaller differences are rounding along redrawn edges
KEY_COLUMNS = ["level", "code", "name"]


class NoKelurahan(LookupError):
    """The city has no kelurahan to measure against; ``str()`` says how to load them."""


@dataclass(frozen=True)
class Targets:
    """Shares of area the law asks for (fractions, not percent)."""

    total: float = 0.30
    public: float = 0.20
    private: float = 0.10


def _meeting_pairs(geometries: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of polygons of the same group that intersect (overlap or touch)."""
    left, right = shapely.STRtree(geometries).query(geometries, predicate="intersects")
    keep = (left < right) & (group[left] == group[right])
    return left[keep], right[keep]


def _union_areas(
    geometries: np.ndarray,
    group: np.ndarray,
    groups: int,
    pairs: tuple[np.ndarray, np.ndarray],
    mask: np.ndarray,
) -> np.ndarray:
    """Union area per group of the polygons in ``mask``: alone as is, a pair as a + b - (a ∩ b), larger
    connected sets by a union."""
    count = len(geometries)
    left, right = pairs
    inside = mask[left] & mask[right]
    left, right = left[inside], right[inside]
    graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(count, count))
    _, component = connected_components(graph, directed=False)
    sizes = np.bincount(component)
    size = sizes[component]
    areas = shapely.area(geometries)
    totals = np.zeros(groups)
    alone = (size == 1) & mask
    np.add.at(totals, group[alone], areas[alone])
    pair = size[left] == 2
    a, b = left[pair], right[pair]
    np.add.at(
        totals,
        group[a],
        areas[a] + areas[b] - shapely.area(shapely.intersection(geometries[a], geometries[b])),
    )
    order = np.argsort(component, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    for label in np.flatnonzero(sizes > 2):
        members = order[starts[label] : starts[label] + sizes[label]]
        totals[group[members[0]]] += shapely.union_all(geometries[members]).area
    return totals


def union_area_by_group(geometries: np.ndarray, groups: np.ndarray, *masks: np.ndarray) -> list[dict]:
    """Area of the union of each group's polygons (overlaps counted once), in coordinate units²; one
    dict per mask (default: all polygons), all from one spatial index.

    Polygons are unioned only with those they meet in the same group, one connected set at a time.
    Survey polygons rarely overlap, and unioning a whole kelurahan at once costs far more.

    >>> from shapely.geometry import box
    >>> squares = np.array([box(0, 0, 2, 2), box(1, 1, 3, 3), box(1, 1, 3, 3)])
    >>> union_area_by_group(squares, np.array(["a", "a", "b"]))
    [{'a': 7.0, 'b': 4.0}]
    """
    labels, group = np.unique(np.asarray(groups), return_inverse=True)
    masks = masks or (np.ones(len(geometries), dtype=bool),)
    if len(geometries) == 0:
        return [{} for _ in masks]
    pairs = _meeting_pairs(geometries, group)
    return [
        dict(
            zip(
                labels.tolist(),
                _union_areas(geometries, group, len(labels), pairs, mask).tolist(),
                strict=True,
            )
        )
        for mask in masks
    ]


def green_by_kelurahan(kelurahan: pd.DataFrame, pieces: pd.DataFrame) -> pd.DataFrame:
    """``kelurahan`` with green_ha and public_ha: the union of its pieces (all, and public only).

    ``pieces`` has code, is_public and wkb (a polygon in metres, already cut to the kelurahan). Land
    that is both public and private green counts as public.
    """
    green_m2: dict[str, float] = {}
    public_m2: dict[str, float] = {}
    if len(pieces):
        geometries = shapely.from_wkb(pieces["wkb"].to_numpy())
        everything = np.ones(len(pieces), dtype=bool)
        public = pieces["is_public"].to_numpy(dtype=bool)
        green_m2, public_m2 = union_area_by_group(geometries, pieces["code"].to_numpy(), everything, public)
    return kelurahan.assign(
        green_ha=kelurahan["code"].map(green_m2).fillna(0.0) / 1e4,
        public_ha=kelurahan["code"].map(public_m2).fillna(0.0) / 1e4,
    )


def _roll_up(kelurahan: pd.DataFrame, sums: list[str], city_code: str, city_name: str) -> pd.DataFrame:
    """Kelurahan rows plus their kecamatan and the city, with ``sums`` added up at each level."""
    kel = kelurahan.assign(level="kelurahan", parent_code=kelurahan["kecamatan_code"])
    kec = (
        kelurahan.groupby(["kecamatan_code", "kecamatan_name"], dropna=False)[sums]
        .sum(min_count=1)
        .reset_index()
        .rename(columns={"kecamatan_code": "code", "kecamatan_name": "name"})
        .assign(level="kecamatan", parent_code=city_code)
    )
    city = pd.DataFrame(
        [{**kelurahan[sums].sum(min_count=1).to_dict(), "code": city_code, "name": city_name}]
    )
    city = city.assign(level="kota", parent_code=None)
    columns = [*KEY_COLUMNS, "parent_code", *sums]
    return pd.concat([kel[columns], kec[columns], city[columns]], ignore_index=True)


def rth_statistics(
    kelurahan: pd.DataFrame, city_code: str, city_name: str, targets: Targets = Targets()
) -> pd.DataFrame:
    """RTH hectares, shares, targets met and deficits per kelurahan, kecamatan and city.

    ``kelurahan`` has one row per kelurahan with code, name, kecamatan_code, kecamatan_name,
    population, area_ha, green_ha (union of all green) and public_ha (union of public green).
    Private RTH is green land that is not public, so public + private = total.
    """
    frame = kelurahan.assign(private_ha=kelurahan["green_ha"] - kelurahan["public_ha"])
    frame["population"] = pd.to_numeric(frame["population"], errors="coerce")
    out = _roll_up(
        frame, ["area_ha", "population", "green_ha", "public_ha", "private_ha"], city_code, city_name
    )
    for kind, target in (("green", targets.total), ("public", targets.public), ("private", targets.private)):
        out[f"{kind}_share"] = out[f"{kind}_ha"] / out["area_ha"]
        out[f"{kind}_target"] = target
        out[f"{kind}_meets_target"] = out[f"{kind}_share"] >= target - 1e-12
        out[f"{kind}_deficit_ha"] = np.maximum(0.0, target * out["area_ha"] - out[f"{kind}_ha"])
    residents = out["population"].where(out["population"] > 0)
    out["green_m2_per_resident"] = out["green_ha"] * 1e4 / residents
    out["public_m2_per_resident"] = out["public_ha"] * 1e4 / residents
    return out


def _kelurahan(conn: psycopg.Connection, city_code: str, geometry: bool = False) -> pd.DataFrame:
    kelurahan = pd.DataFrame(green_store.kelurahan_areas(conn, city_code, geometry))
    if kelurahan.empty:
        raise NoKelurahan(f"City {city_code} has no kelurahan loaded; run geo-app import-areas.")
    return kelurahan


def load_rth_statistics(
    conn: psycopg.Connection, city_code: str, city_name: str, at: datetime | None = None
) -> pd.DataFrame:
    """:func:`rth_statistics` of the city's green areas at ``at`` (default: now), read through the store."""
    pieces = pd.DataFrame(green_store.green_pieces(conn, city_code, at))
    return rth_statistics(green_by_kelurahan(_kelurahan(conn, city_code), pieces), city_code, city_name)


def reach_by_kelurahan(kelurahan: pd.DataFrame, parks: np.ndarray, radius_m: float) -> pd.DataFrame:
    """``kelurahan`` (with ``wkb``, metric) plus covered_ha, the land within ``radius_m`` straight-line
    distance of any of ``parks`` (metric polygons), and ``gap``, the rest of the kelurahan (metric).

    Buffers use 32 segments per quarter circle: the arcs are inscribed 128-gons, 0.03 % short of a true
    circle's area.
    """
    areas = shapely.from_wkb(kelurahan["wkb"].to_numpy())
    if len(parks):
        reach = shapely.union_all(shapely.buffer(parks, radius_m, quad_segs=BUFFER_QUAD_SEGS))
        covered, gaps = shapely.intersection(areas, reach), shapely.difference(areas, reach)
    else:
        covered, gaps = np.array([shapely.Polygon()] * len(areas), dtype=object), areas
    return kelurahan.drop(columns="wkb").assign(covered_ha=shapely.area(covered) / 1e4, gap=gaps)


def access_statistics(kelurahan: pd.DataFrame, city_code: str, city_name: str) -> pd.DataFrame:
    """Share of residents within reach of a qualifying park, per kelurahan, kecamatan and city.

    ``kelurahan`` has code, name, kecamatan_code, kecamatan_name, population, area_ha and covered_ha, and
    may have people_share_covered: the share of its residents within reach by the population grid. Where
    that is missing (no grid, or a kelurahan whose cells hold nobody) residents are spread evenly over the
    area, so the share covered is the share of the area covered.
    """
    frame = kelurahan.copy()
    frame["population"] = pd.to_numeric(frame["population"], errors="coerce")
    by_area = frame["covered_ha"] / frame["area_ha"]
    share = frame.pop("people_share_covered").fillna(by_area) if "people_share_covered" in frame else by_area
    frame["residents_covered"] = frame["population"] * share
    out = _roll_up(frame, ["area_ha", "covered_ha", "population", "residents_covered"], city_code, city_name)
    out["area_share_covered"] = out["covered_ha"] / out["area_ha"]
    out["residents_beyond"] = out["population"] - out["residents_covered"]
    out["residents_share_covered"] = out["residents_covered"] / out["population"].where(out["population"] > 0)
    return out


def load_access(
    conn: psycopg.Connection,
    city_code: str,
    city_name: str,
    radius_m: float = ACCESS_RADIUS_M,
    min_ha: float = ACCESS_MIN_HA,
    at: datetime | None = None,
    types: tuple[str, ...] = (),
) -> tuple[pd.DataFrame, dict]:
    """:func:`access_statistics` at ``at``, and the land beyond reach per kelurahan code (metric).

    ``types`` limits the public green areas that count (e.g. parks and city forest, not cemeteries).
    """
    parks = shapely.from_wkb(green_store.public_green_areas(conn, city_code, min_ha, at, types))
    reach = reach_by_kelurahan(_kelurahan(conn, city_code, geometry=True), np.asarray(parks), radius_m)
    gaps = dict(zip(reach["code"], reach["gap"], strict=True))
    cells = load_cells(conn, city_code, list(reach["code"]))
    if cells is not None:  # the share of people beyond reach, by the population grid
        outside = cells.shares_in(list(reach["gap"]))
        reach = reach.assign(people_share_covered=np.where(np.isnan(outside), np.nan, 1.0 - outside))
    return access_statistics(reach.drop(columns="gap"), city_code, city_name), gaps


def change_by_kelurahan(kelurahan: pd.DataFrame, before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """``kelurahan`` plus green_before_ha, green_after_ha, gained_ha and lost_ha.

    ``before`` and ``after`` are green pieces (code, wkb) at the two times. With U the union area:
    gained = U(before + after) - U(before), lost = U(before + after) - U(after), so a polygon redrawn in
    place gains and loses nothing and overlaps count once. Less than MIN_CHANGE_HA is no change.
    """
    pieces = pd.concat([before[["code", "wkb"]], after[["code", "wkb"]]], ignore_index=True)
    was = np.arange(len(pieces)) < len(before)
    if len(pieces):
        geometries = shapely.from_wkb(pieces["wkb"].to_numpy())
        before_m2, after_m2, both_m2 = union_area_by_group(
            geometries, pieces["code"].to_numpy(), was, ~was, np.ones(len(pieces), dtype=bool)
        )
    else:
        before_m2 = after_m2 = both_m2 = {}
    codes = kelurahan["code"]
    green_before, green_after, both = (
        codes.map(m2).fillna(0.0) / 1e4 for m2 in (before_m2, after_m2, both_m2)
    )
    gained, lost = both - green_before, both - green_after
    return kelurahan.assign(
        green_before_ha=green_before,
        green_after_ha=green_after,
        gained_ha=gained.where(gained > MIN_CHANGE_HA, 0.0),
        lost_ha=lost.where(lost > MIN_CHANGE_HA, 0.0),
    )


def change_geometries(changes: pd.DataFrame, before: pd.DataFrame, after: pd.DataFrame) -> list[dict]:
    """The land gained and lost in each kelurahan that changed: dicts with code, name, change
    ("gained"/"lost"), area_ha and geometry (metric)."""
    found = []
    for row in changes[
        (changes["gained_ha"] > MIN_CHANGE_HA) | (changes["lost_ha"] > MIN_CHANGE_HA)
    ].itertuples():
        unions = [
            shapely.union_all(shapely.from_wkb(pieces.loc[pieces["code"] == row.code, "wkb"].to_numpy()))
            for pieces in (before, after)
        ]
        for change, geometry in (("gained", unions[1] - unions[0]), ("lost", unions[0] - unions[1])):
            if geometry.area / 1e4 > MIN_CHANGE_HA:
                found.append(
                    {
                        "code": row.code,
                        "name": row.name,
                        "change": change,
                        "area_ha": geometry.area / 1e4,
                        "geometry": geometry,
                    }
                )
    return found


def load_change(
    conn: psycopg.Connection,
    city_code: str,
    city_name: str,
    before: datetime,
    after: datetime,
    geometry: bool = False,
) -> tuple[pd.DataFrame, list[dict]]:
    """:func:`change_statistics` between two times, and (with ``geometry``) the land gained and lost."""
    pieces = [
        pd.DataFrame(
            green_store.green_pieces(conn, city_code, at), columns=["code", "id", "is_public", "wkb"]
        )
        for at in (before, after)
    ]
    changes = change_by_kelurahan(_kelurahan(conn, city_code), *pieces)
    shapes = change_geometries(changes, *pieces) if geometry else []
    return change_statistics(changes, city_code, city_name), shapes


def to_lonlat(geometries, srid: int) -> np.ndarray:
    """Metric geometries (EPSG ``srid``) as longitude/latitude to 6 decimals (~0.1 m), for GeoJSON."""
    transformer = Transformer.from_crs(srid, 4326, always_xy=True)

    def project(xy: np.ndarray) -> np.ndarray:
        return np.round(np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])), 6)

    return shapely.transform(np.asarray(geometries, dtype=object), project)


def change_statistics(kelurahan: pd.DataFrame, city_code: str, city_name: str) -> pd.DataFrame:
    """Hectares gained, lost and net per kelurahan, kecamatan and city between two dates."""
    frame = kelurahan.assign(net_ha=kelurahan["gained_ha"] - kelurahan["lost_ha"])
    sums = ["area_ha", "green_before_ha", "green_after_ha", "gained_ha", "lost_ha", "net_ha"]
    return _roll_up(frame, sums, city_code, city_name)
