"""Sample gazetteer: the street names of the road network per kelurahan, and landmarks people name when
they call 112 ("depan Pasar Kranggot", "dekat Masjid Jami' Citangkil"). The offline geocoder matches
addresses against these rows.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_app.sample.boundaries import locate
from geo_app.sample.reference import METRIC_SRID, CityFacts, to_metric
from geo_app.sample.roads import points_on_roads

# (name, kind of place, kelurahan): well-known places of the city, placed inside their kelurahan.
CITY_LANDMARKS: tuple[tuple[str, str, str], ...] = (
    ("Pelabuhan Merak", "pelabuhan", "Tamansari"),
    ("Terminal Terpadu Merak", "terminal", "Tamansari"),
    ("Stasiun Merak", "stasiun", "Tamansari"),
    ("Stasiun Cilegon", "stasiun", "Jombang Wetan"),
    ("Stasiun Krenceng", "stasiun", "Kebonsari"),
    ("Alun-alun Kota Cilegon", "alun_alun", "Jombang Wetan"),
    ("Masjid Agung Nurul Ikhlas", "masjid", "Jombang Wetan"),
    ("Masjid Raya Al-Khairiyah", "masjid", "Citangkil"),
    ("Pasar Kranggot", "pasar", "Jombang Wetan"),
    ("Pasar Baru Cilegon", "pasar", "Masigit"),
    ("Pasar Merak", "pasar", "Tamansari"),
    ("Pasar Ciwandan", "pasar", "Randakari"),
    ("Terminal Seruni", "terminal", "Kedaleman"),
    ("Pelabuhan Ciwandan", "pelabuhan", "Banjar Negara"),
    ("Pelabuhan Cigading", "pelabuhan", "Gunung Sugih"),
    ("Kawasan Industri Krakatau", "industri", "Warnasari"),
    ("Kawasan Industri Ciwandan", "industri", "Kubangsari"),
    ("Gerbang Tol Cilegon Barat", "gerbang_tol", "Kotabumi"),
    ("Gerbang Tol Cilegon Timur", "gerbang_tol", "Kedaleman"),
    ("RSUD Kota Cilegon", "rumah_sakit", "Kotasari"),
    ("Rumah Sakit Krakatau Medika", "rumah_sakit", "Kebonsari"),
    ("Kantor Wali Kota Cilegon", "kantor", "Ramanuju"),
    ("Cilegon Center Mall", "pusat_belanja", "Jombang Wetan"),
    ("Stadion Krakatau Steel", "olahraga", "Kebonsari"),
    ("PLTU Suralaya", "industri", "Suralaya"),
    ("Pantai Kelapa Tujuh", "pantai", "Lebakgede"),
    ("TPSA Bagendung", "tpa", "Bagendung"),
    ("Universitas Sultan Ageng Tirtayasa Kampus Cilegon", "sekolah", "Purwakarta"),
)

# Service buildings that are also assets, by asset type: (name, kelurahan). The fire posts are the real three.
_FIRE_POSTS = (
    ("Pos Damkar Citangkil", "Citangkil"),
    ("Pos Damkar Pulomerak", "Tamansari"),
    ("Pos Damkar Purwakarta", "Purwakarta"),
)
_PUSKESMAS = (
    ("Puskesmas Cibeber", "Cibeber"),
    ("Puskesmas Cilegon", "Ciwaduk"),
    ("Puskesmas Pulomerak", "Tamansari"),
    ("Puskesmas Ciwandan", "Randakari"),
    ("Puskesmas Jombang", "Jombang Wetan"),
    ("Puskesmas Grogol", "Grogol"),
    ("Puskesmas Purwakarta", "Purwakarta"),
    ("Puskesmas Citangkil", "Citangkil"),
    ("Puskesmas Kalitimbang", "Kalitimbang"),
    ("Puskesmas Lebakgede", "Lebakgede"),
)
_SERVICE_OFFICES = (
    ("Kantor Kecamatan Cibeber", "Cibeber"),
    ("Kantor Kecamatan Cilegon", "Bendungan"),
    ("Kantor Kecamatan Pulomerak", "Mekarsari"),
    ("Kantor Kecamatan Ciwandan", "Banjar Negara"),
    ("Kantor Kecamatan Jombang", "Masigit"),
    ("Kantor Kecamatan Gerogol", "Grogol"),
    ("Kantor Kecamatan Purwakarta", "Kotabumi"),
    ("Kantor Kecamatan Citangkil", "Taman Baru"),
    ("Mal Pelayanan Publik Kota Cilegon", "Ramanuju"),
    ("Kantor Disdukcapil Kota Cilegon", "Ramanuju"),
)
SERVICE_PLACES = {"pos_damkar": _FIRE_POSTS, "puskesmas": _PUSKESMAS, "kantor_pelayanan": _SERVICE_OFFICES}

# Kelurahan with the steel, chemical, port and power industry (Ciwandan, Citangkil, Suralaya).
INDUSTRIAL_KELURAHAN = (
    "Kubangsari", "Tegal Ratu", "Gunung Sugih", "Kepuh", "Randakari", "Banjar Negara", "Warnasari",
    "Samangraya", "Kebonsari", "Lebak Denok", "Suralaya",
)  # fmt: skip
# Landmarks at fixed places (lon, lat): the centres of the planted 112 clusters, which tests and analyses
# look for (see geo_app.sample.incidents).
PINNED_LANDMARKS = {
    "TPSA Bagendung": (106.0277, -6.0540),
    "Gerbang Tol Cilegon Barat": (106.0447, -5.9904),
    "Kawasan Industri Ciwandan": (105.9839, -6.0136),
}
SMP_COUNT = 12
SMA_COUNT = 6


def street_entries(roads: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One gazetteer row per street name and kelurahan, its geometry the street's edges there."""
    grouped = roads.groupby(["name", "kelurahan_code"], sort=True).geometry
    rows = [
        {
            "kind": "street",
            "name": name,
            "kelurahan_code": code,
            "geometry": shapely.line_merge(shapely.union_all(lines.to_numpy())),
        }
        for (name, code), lines in grouped
    ]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_SRID)


def landmark_list(facts: CityFacts) -> pd.DataFrame:
    """Every landmark: the city's known places, then per kelurahan an office, a mosque and a school, and
    numbered state schools spread over the city."""
    kelurahan = facts.kelurahan
    by_name = kelurahan.set_index("name")["code"]
    rows = [
        {"name": name, "place": place, "kelurahan_code": by_name[kelurahan_name]}
        for name, place, kelurahan_name in CITY_LANDMARKS
    ]
    rows += [
        {"name": name, "place": asset_type, "kelurahan_code": by_name[kelurahan_name]}
        for asset_type, places in SERVICE_PLACES.items()
        for name, kelurahan_name in places
    ]
    for code, name in kelurahan[["code", "name"]].itertuples(index=False):
        rows += [
            {"name": f"Kantor Kelurahan {name}", "place": "kantor_kelurahan", "kelurahan_code": code},
            {"name": f"Masjid Jami' {name}", "place": "masjid", "kelurahan_code": code},
            {"name": f"SD Negeri {name} 1", "place": "sekolah", "kelurahan_code": code},
            {"name": f"Posyandu {name}", "place": "posyandu", "kelurahan_code": code},
        ]
    codes = kelurahan["code"].to_numpy()
    for number in range(1, SMP_COUNT + 1):
        rows.append(
            {
                "name": f"SMP Negeri {number} Cilegon",
                "place": "sekolah",
                "kelurahan_code": codes[(number * 11) % len(codes)],
            }
        )
    for number in range(1, SMA_COUNT + 1):
        rows.append(
            {
                "name": f"SMA Negeri {number} Cilegon",
                "place": "sekolah",
                "kelurahan_code": codes[(number * 17 + 3) % len(codes)],
            }
        )
    return pd.DataFrame(rows)


def place_in_kelurahan(
    codes: np.ndarray,
    facts: CityFacts,
    kelurahan: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame,
    rng: np.random.Generator,
    spread_m: float = 700.0,
) -> np.ndarray:
    """One point per requested kelurahan code, beside a road near the kelurahan centre and inside it."""
    centres = facts.kelurahan.set_index("code")[["x", "y"]]
    points = np.empty(len(codes), dtype=object)
    for code in sorted(set(codes)):
        wanted = np.flatnonzero(codes == code)
        local = roads[roads["kelurahan_code"] == code]
        centre = shapely.Point(centres.loc[code].to_numpy())
        closeness = np.exp(-shapely.distance(local.geometry.to_numpy(), centre) / spread_m)
        found: list = []
        while len(found) < len(wanted):
            candidates, _ = points_on_roads(local, rng, 4 * len(wanted), weights=closeness, offset_m=20)
            found += list(candidates[locate(candidates, kelurahan) == code])
        points[wanted] = found[: len(wanted)]
    return points


def build_gazetteer(
    facts: CityFacts, kelurahan: gpd.GeoDataFrame, roads: gpd.GeoDataFrame, rng: np.random.Generator
) -> gpd.GeoDataFrame:
    """Streets and landmarks (metric); landmarks keep their kind of place in ``place``."""
    landmarks = landmark_list(facts)
    points = place_in_kelurahan(landmarks["kelurahan_code"].to_numpy(), facts, kelurahan, roads, rng)
    for name, (lon, lat) in PINNED_LANDMARKS.items():
        points[(landmarks["name"] == name).to_numpy()] = to_metric(shapely.Point(lon, lat))
    landmarks = gpd.GeoDataFrame(landmarks.assign(kind="landmark"), geometry=points, crs=METRIC_SRID)
    streets = street_entries(roads).assign(place="jalan")
    return pd.concat([streets, landmarks], ignore_index=True)
