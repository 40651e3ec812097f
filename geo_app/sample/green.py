"""Sample green open space (RTH): public and private, about 11 % of the city (6-7 % public), well below
the 30 % (20 % public) of UU 26/2007, so the gaps show.

City forests on the hills of the north and south-west, green belts along arterials, coastal and river
buffers, cemeteries, parks (many neighbourhood parks between 0.3 and 1.5 ha, around the 0.5 ha access
threshold), sports fields, private yards and industrial green. Polygons never overlap. History: most
features are valid from 2025-06-01; four were removed (2025-12-15 and 2026-03-15), five added (2026-02-01
and 2026-07-01) and three changed shape on 2026-05-01, so "what changed since last year" has content.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import affinity
from shapely.geometry import MultiPolygon, Polygon
from shapely.ops import substring

from geo_app.catalog import Catalog
from geo_app.sample.boundaries import locate
from geo_app.sample.gazetteer import INDUSTRIAL_KELURAHAN
from geo_app.sample.reference import METRIC_SRID, TIMEZONE, CityFacts

BASE_VALID_FROM = pd.Timestamp("2025-06-01", tz=TIMEZONE)
REMOVED = (
    ("taman_lingkungan", "2025-12-15"),
    ("pekarangan", "2025-12-15"),
    ("taman_lingkungan", "2026-03-15"),
    ("jalur_hijau", "2026-03-15"),
)
ADDED = (
    ("taman_lingkungan", "2026-02-01"),
    ("taman_lingkungan", "2026-02-01"),
    ("taman_lingkungan", "2026-07-01"),
    ("lapangan_olahraga", "2026-07-01"),
    ("taman_kota", "2026-07-01"),
)
RESHAPED = (("pemakaman", 1.2), ("taman_kota", 0.8), ("hutan_kota", 0.85))
RESHAPED_ON = pd.Timestamp("2026-05-01", tz=TIMEZONE)

HUTAN_KOTA = (
    ("Gerem", 160.0),
    ("Lebakgede", 120.0),
    ("Suralaya", 100.0),
    ("Kepuh", 90.0),
    ("Bulakan", 70.0),
    ("Mekarsari", 70.0),
    ("Kalitimbang", 40.0),
)
RIVERS = {
    "Kali Cibeber": ("Cikerai", "Bulakan", "Bagendung", "Lebak Denok", "Dringo", "Banjar Negara"),
    "Kali Grogol": ("Purwakarta", "Kotabumi", "Grogol", "Rawa Arum"),
    "Kali Kedaleman": ("Kedaleman", "Sukmajaya", "Ketileng", "Bendungan", "Ciwaduk"),
}
TAMAN_KOTA = (
    "Taman Alun-alun Cilegon",
    "Taman Kota Cilegon",
    "Taman Layak Anak Cilegon",
    "Taman Merak",
    "Taman Ciwandan",
    "Taman Cibeber",
    "Taman Purwakarta",
    "Taman Citangkil",
)
PUBLIC_OPD = "Dinas Lingkungan Hidup (DLH)"
MANAGERS = {
    "pemakaman": "Dinas Perumahan dan Permukiman",
    "lapangan_olahraga": "Dispora",
    "jalur_hijau": PUBLIC_OPD,
    "sempadan_sungai": "DPUPR",
    "sempadan_pantai": "DLH / BPBD",
}


class _Placer:
    """Accepts candidate polygons that stay inside the city and touch nothing accepted before."""

    def __init__(self, outline: Polygon):
        self.outline = outline
        self.accepted: list = []
        self.rows: list[dict] = []

    def clear(self, geometry) -> bool:
        return not (self.accepted and shapely.intersects(geometry, np.array(self.accepted)).any())

    def add(self, geometry, **attributes) -> bool:
        geometry = _polygonal(shapely.intersection(geometry, self.outline))
        if geometry is None or not self.clear(geometry):
            return False
        self.accepted.append(geometry)
        self.rows.append({**attributes, "geometry": geometry})
        return True

    def add_trimmed(self, geometry, keep_share: float = 0.5, **attributes) -> bool:
        """For strips: cut away what overlaps earlier features, keep it if most of it is left."""
        geometry = _polygonal(shapely.intersection(geometry, self.outline))
        if geometry is None:
            return False
        if self.accepted:
            hits = np.flatnonzero(shapely.intersects(geometry, np.array(self.accepted)))
            if len(hits):
                trimmed = _polygonal(
                    shapely.difference(geometry, shapely.union_all(np.array(self.accepted)[hits]).buffer(1.0))
                )
                if trimmed is None or trimmed.area < keep_share * geometry.area:
                    return False
                geometry = trimmed
        return self.add(geometry, **attributes)


def _polygonal(geometry):
    parts = [
        p for p in shapely.get_parts(shapely.make_valid(geometry)) if isinstance(p, Polygon) and p.area > 50
    ]
    return MultiPolygon(parts) if parts else None


def _blob(rng, centre: tuple[float, float], area_m2: float) -> Polygon:
    """An irregular rounded shape of about ``area_m2``."""
    angles = np.linspace(0, 2 * np.pi, 20, endpoint=False)
    radius = 1 + 0.2 * np.convolve(rng.normal(size=22), np.ones(3) / 3, mode="valid")
    shape = Polygon(np.column_stack([np.cos(angles) * radius, np.sin(angles) * radius]))
    scale = np.sqrt(area_m2 / shape.area)
    return affinity.translate(affinity.scale(shape, scale, scale, origin=(0, 0)), *centre)


def _field(rng, centre: tuple[float, float], area_m2: float) -> Polygon:
    """A rotated rectangle (sports field, cemetery plot)."""
    aspect = rng.uniform(1.3, 1.8)
    width = np.sqrt(area_m2 / aspect)
    box = shapely.box(-width * aspect / 2, -width / 2, width * aspect / 2, width / 2)
    return affinity.translate(affinity.rotate(box, rng.uniform(0, 180), origin=(0, 0)), *centre)


def _point_in(rng, polygon) -> tuple[float, float]:
    minx, miny, maxx, maxy = polygon.bounds
    while True:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if polygon.contains(shapely.Point(x, y)):
            return x, y


def _strips(line, width: float, piece_m: float, single_sided: bool = False) -> list:
    """Cut ``line`` into pieces of about ``piece_m`` and buffer each into a strip."""
    pieces = []
    for start in np.arange(0, line.length, piece_m):
        piece = substring(line, start, min(start + piece_m, line.length))
        if piece.length > 50:
            pieces.append(piece.buffer(width, cap_style="flat", single_sided=single_sided))
    return pieces


def _lognormal_ha(median: float, sigma: float, low: float, high: float):
    return lambda rng: float(np.clip(np.exp(rng.normal(np.log(median), sigma)), low, high))


def _uniform_ha(low: float, high: float):
    return lambda rng: float(rng.uniform(low, high))


# Features scattered over the populated kelurahan: (type, how many, name, shape, size in ha).
SCATTERED = (
    ("taman_kota", len(TAMAN_KOTA) - 1, lambda n: TAMAN_KOTA[n], _blob, _uniform_ha(1.5, 6)),
    ("pemakaman", 30, lambda n: f"TPU {n:02d}", _field, _uniform_ha(0.5, 4)),
    ("lapangan_olahraga", 22, lambda n: f"Lapangan Olahraga {n:02d}", _field, _uniform_ha(0.7, 2)),
    ("taman_lingkungan", 70, lambda n: f"Taman Lingkungan {n:02d}", _blob, _lognormal_ha(0.5, 0.6, 0.1, 1.5)),
    ("pekarangan", 360, lambda n: f"Pekarangan {n:03d}", _blob, _lognormal_ha(0.8, 0.7, 0.1, 4.0)),
)
ATTEMPTS = 20


def _place(placer: _Placer, rng, shape, hectares: float, where, **attributes) -> int | None:
    """Try a few spots from ``where()`` for one feature; its row number, or None when it never fits."""
    for _ in range(ATTEMPTS):
        if placer.add(shape(rng, where(), hectares * 1e4), **attributes):
            return len(placer.rows) - 1
    return None


def build_green_areas(
    facts: CityFacts,
    catalog: Catalog,
    kelurahan: gpd.GeoDataFrame,
    arterial_routes: gpd.GeoDataFrame,
    rng: np.random.Generator,
) -> gpd.GeoDataFrame:
    """Versioned green areas (metric): feature, green_type, is_public, name, valid_from, valid_to."""
    placer = _Placer(facts.outline)
    cells = kelurahan.set_index("name").geometry
    centres = facts.kelurahan.set_index("name")
    population = kelurahan["population"].to_numpy(float)
    names = kelurahan["name"].to_numpy()

    def in_kelurahan(name):
        return lambda: _point_in(rng, cells[name])

    def populated():
        return _point_in(rng, cells[names[rng.choice(len(names), p=population / population.sum())]])

    for name, hectares in HUTAN_KOTA:
        _place(
            placer,
            rng,
            _blob,
            hectares,
            in_kelurahan(name),
            green_type="hutan_kota",
            name=f"Hutan Kota {name}",
        )
    for i in range(12):
        name = INDUSTRIAL_KELURAHAN[i % len(INDUSTRIAL_KELURAHAN)]
        label = f"RTH Kawasan Industri {name} {i // len(INDUSTRIAL_KELURAHAN) + 1}"
        hectares = rng.uniform(15, 50)
        _place(
            placer, rng, _blob, hectares, in_kelurahan(name), green_type="kawasan_industri_hijau", name=label
        )
    # The coast runs north with the land on its right: a negative single-sided buffer lies inland.
    for i, strip in enumerate(_strips(facts.coast, -100.0, 2_000.0, single_sided=True)):
        if rng.random() < 0.6:
            placer.add_trimmed(strip, green_type="sempadan_pantai", name=f"Sempadan Pantai {i + 1}")
    for river, stops in RIVERS.items():
        line = shapely.LineString(centres.loc[list(stops), ["x", "y"]].to_numpy())
        for i, strip in enumerate(_strips(line, 25.0, 1_500.0)):
            placer.add_trimmed(strip, green_type="sempadan_sungai", name=f"Sempadan {river} {i + 1}")
    for route, line in zip(arterial_routes["name"], arterial_routes.geometry, strict=True):
        for i, strip in enumerate(_strips(line.offset_curve(14.0), 12.0, 1_000.0, single_sided=True)):
            if rng.random() < 0.7:
                placer.add_trimmed(strip, green_type="jalur_hijau", name=f"Jalur Hijau {route} {i + 1}")
    alun_alun = tuple(centres.loc["Jombang Wetan", ["x", "y"]])
    placer.add(_field(rng, alun_alun, 2.5e4), green_type="taman_kota", name=TAMAN_KOTA[0])
    for green_type, count, name_of, shape, hectares in SCATTERED:
        for n in range(1, count + 1):
            _place(placer, rng, shape, hectares(rng), populated, green_type=green_type, name=name_of(n))
    added_from = {}
    for green_type, valid_from in ADDED:
        label = catalog.green_types[green_type].label if green_type in catalog.green_types else green_type
        hectares = 2.0 if green_type == "taman_kota" else rng.uniform(0.4, 1.2)
        row = _place(placer, rng, _blob, hectares, populated, green_type=green_type, name=f"{label} baru")
        if row is not None:
            added_from[row] = valid_from
    return _with_history(placer.rows, added_from, catalog, kelurahan)


def _with_history(rows, added_from, catalog, kelurahan) -> gpd.GeoDataFrame:
    """Versions: base rows valid from 2025-06-01, the additions later, removals closed, reshapes split."""
    areas = gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_SRID)
    areas = areas[areas["green_type"].isin(list(catalog.green_types))].reset_index(drop=True)
    areas["feature"] = np.arange(1, len(areas) + 1)
    areas["valid_from"] = [
        pd.Timestamp(added_from[i], tz=TIMEZONE) if i in added_from else BASE_VALID_FROM
        for i in range(len(areas))
    ]
    areas["valid_to"] = pd.Series(pd.NaT, index=areas.index, dtype=f"datetime64[ns, {TIMEZONE}]")
    base = areas["valid_from"] == BASE_VALID_FROM
    for green_type, valid_to in REMOVED:
        candidates = areas.index[base & (areas["green_type"] == green_type) & areas["valid_to"].isna()]
        areas.loc[candidates[len(candidates) // 2], "valid_to"] = pd.Timestamp(valid_to, tz=TIMEZONE)
    new_versions = []
    for green_type, factor in RESHAPED:
        candidates = areas.index[base & (areas["green_type"] == green_type) & areas["valid_to"].isna()]
        old = candidates[0]
        areas.loc[old, "valid_to"] = RESHAPED_ON
        version = areas.loc[[old]].copy()
        geometry = version.geometry.iloc[0]
        scaled = affinity.scale(geometry, factor, factor, origin=geometry.centroid)
        if factor > 1:  # grown into its surroundings: only where nothing else is
            others = areas.geometry.drop(old)
            scaled = shapely.difference(
                scaled, shapely.union_all(others[others.intersects(scaled)].to_numpy()).buffer(1.0)
            )
        version["geometry"] = [_polygonal(scaled)]
        version["valid_from"] = RESHAPED_ON
        version["valid_to"] = pd.NaT
        new_versions.append(version)
    areas = pd.concat([areas, *new_versions], ignore_index=True)
    public = {key: entry.is_public for key, entry in catalog.green_types.items()}
    areas["is_public"] = areas["green_type"].map(public)
    areas["managing_opd"] = [MANAGERS.get(t, PUBLIC_OPD) if public[t] else None for t in areas["green_type"]]
    areas["survey_date"] = (areas["valid_from"] - pd.Timedelta(days=14)).dt.date
    areas["kelurahan_code"] = locate(areas.geometry.representative_point().to_numpy(), kelurahan)
    return areas.sort_values(["feature", "valid_from"], kind="stable").reset_index(drop=True)
