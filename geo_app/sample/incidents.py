"""Sample 112 calls: two years ending 2026-10-31 23:59 WIB (fixed, so the data is deterministic), plus a
small batch of calls in the 24 hours before load time for the live incident map.

What is in the data, so analyses and tests know what to find:
- Call types: darurat ~30 %, ghost ~25 %, prank ~20 %, dropped ~15 %, informasi ~10 % (public 112 statistics
  of Indonesian cities, see data/reference/README.md). Only darurat calls have a category, place and lifecycle
  (informasi is filed as LAINNYA without a place).
- Categories weighted like public statistics: medical largest, then traffic accidents, fire, crime, ...
  Floods and fallen trees in the rainy season (November-March).
- Rhythm: quiet at night, peak 16:00-18:00; more traffic accidents and public-order calls at weekends, fewer
  workplace accidents on Sundays; a slight upward trend over the two years.
- Places: population-weighted along the streets; ``precision`` exact ~55 %, street ~30 %, kelurahan ~11 %,
  none ~4 %.
- Persistent clusters (the whole two years):
  * KECELAKAAN_LL around Gerbang Tol Cilegon Barat (106.0447, -5.9904) on Jl. Raya Merak (Kel. Kotabumi,
    Kec. Purwakarta), 18 % of all traffic accidents, sigma 180 m;
  * KECELAKAAN_KERJA in Kawasan Industri Ciwandan (105.9839, -6.0136; Kel. Kubangsari, Kec. Ciwandan), 35 % of
    all workplace accidents, sigma 350 m;
  * KEBAKARAN: Kec. Cibeber has 2.5 times the fires its population would give.
- EMERGING cluster: KAMTIBMAS (tawuran, evenings and weekends) in Kel. Bagendung (36.72.02.1001, Kec. Cilegon)
  around TPSA Bagendung (106.0277, -6.0540; normal scatter, sigma 150 m), absent before August 2026 and
  growing: 12 calls in August, 22 in September, 38 in October 2026, on top of a background of 0-2 a month
  (the kelurahan was quiet before).
- Lifecycle: dispatched 1-5 min after the call; fire and medical arrivals follow the distance from the nearest
  fire post or puskesmas (fire: median ~12 min from the call, a tail beyond the 15-minute target in the far
  south-west and east); closed after the work on scene; ~2 % of darurat calls cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_app.catalog import Catalog
from geo_app.sample.boundaries import locate, pull_inside
from geo_app.sample.gazetteer import INDUSTRIAL_KELURAHAN
from geo_app.sample.reference import METRIC_SRID, TIMEZONE, CityFacts
from geo_app.sample.roads import points_on_roads
from geo_app.store.incidents import STORED_FIELDS

PERIOD_START = pd.Timestamp("2024-11-01 00:00:00", tz=TIMEZONE)
PERIOD_END = pd.Timestamp("2026-10-31 23:59:59", tz=TIMEZONE)
TOTAL_CALLS = 50_000
RECENT_CALLS = 30
OPEN_SHARE = 0.25

CALL_TYPE_SHARES = {"darurat": 0.30, "ghost": 0.25, "prank": 0.20, "dropped": 0.15, "informasi": 0.10}
CATEGORY_WEIGHTS = {
    "MEDIS_AMBULANS": 30.0,
    "KECELAKAAN_LL": 14.0,
    "KEBAKARAN": 7.0,
    "KRIMINAL": 6.0,
    "HEWAN_LIAR": 6.0,
    "UTILITAS_LISTRIK": 6.0,
    "POHON_TUMBANG": 5.0,
    "KAMTIBMAS": 5.0,
    "PJU_RAMBU": 5.0,
    "BANJIR": 3.0,
    "ODGJ_PMKS": 3.0,
    "KDRT_KEKERASAN": 2.0,
    "KECELAKAAN_KERJA": 2.5,
    "UTILITAS_AIR": 2.0,
    "ORANG_HILANG": 1.5,
    "LAINNYA": 1.0,
    "BANGUNAN_ROBOH": 0.8,
    "BENCANA": 0.7,
    "KECELAKAAN_LAUT": 0.5,
    "TEMUAN_JENAZAH": 0.5,
    "TERORISME": 0.1,
}
PRECISION_SHARES = {"exact": 0.55, "street": 0.30, "kelurahan": 0.11, "none": 0.04}

# Calls per hour of day (relative), WIB, from 00:00 to 23:00.
# fmt: off
HOURS_DAY = np.array([1.2, 0.8, 0.6, 0.5, 0.6, 1.0, 2.0, 3.0, 3.6, 3.8, 3.8, 3.9,
                      3.8, 3.8, 4.0, 4.5, 5.2, 5.4, 5.0, 4.4, 3.8, 3.2, 2.4, 1.7])
HOURS_WORK = np.array([0.2, 0.2, 0.2, 0.2, 0.3, 0.6, 1.5, 3.0, 4.5, 5.0, 5.0, 4.0,
                       3.5, 4.5, 5.0, 4.5, 3.5, 2.0, 1.0, 0.8, 0.6, 0.5, 0.4, 0.3])
HOURS_NIGHT = np.array([3.5, 3.0, 2.0, 1.0, 0.5, 0.3, 0.3, 0.4, 0.6, 0.8, 1.0, 1.2,
                        1.3, 1.4, 1.6, 1.9, 2.2, 2.5, 3.0, 3.6, 4.2, 4.8, 5.0, 4.5])
HOURS_PRANK = np.array([0.8, 0.4, 0.2, 0.2, 0.3, 0.6, 1.2, 1.8, 2.0, 2.2, 2.5, 3.0,
                        3.8, 4.8, 5.5, 5.8, 5.6, 5.0, 4.6, 4.4, 4.0, 3.2, 2.2, 1.4])
HOURS_FLAT = np.array([2.0, 1.6, 1.4, 1.3, 1.5, 2.0, 2.6, 3.0, 3.2, 3.3, 3.3, 3.3,
                       3.3, 3.3, 3.4, 3.5, 3.6, 3.6, 3.5, 3.4, 3.2, 3.0, 2.7, 2.3])
# fmt: on
HOUR_PROFILE = {
    "KECELAKAAN_KERJA": HOURS_WORK,
    "KAMTIBMAS": HOURS_NIGHT,
    "KRIMINAL": HOURS_NIGHT,
    "prank": HOURS_PRANK,
    "ghost": HOURS_FLAT,
    "dropped": HOURS_FLAT,
}
# Monday .. Sunday
WEEKDAY_DEFAULT = np.array([1.0, 0.98, 0.98, 1.0, 1.04, 1.08, 1.02])
WEEKDAY_FACTORS = {
    "KECELAKAAN_LL": np.array([0.95, 0.9, 0.9, 0.95, 1.05, 1.3, 1.3]),
    "KAMTIBMAS": np.array([0.8, 0.8, 0.8, 0.9, 1.1, 1.6, 1.4]),
    "KECELAKAAN_KERJA": np.array([1.1, 1.1, 1.1, 1.1, 1.05, 0.7, 0.35]),
    "prank": np.array([1.1, 1.1, 1.1, 1.1, 1.0, 0.9, 0.8]),
}
RAINY_MONTHS = {11, 12, 1, 2, 3}
SEASONAL = {"BANJIR", "POHON_TUMBANG", "BENCANA"}
TREND_PER_YEAR = 0.06

# Persistent clusters: share of the category's calls placed around a landmark (sigma in metres).
PERSISTENT_CLUSTERS = {
    "KECELAKAAN_LL": ("Gerbang Tol Cilegon Barat", 0.18, 180.0),
    "KECELAKAAN_KERJA": ("Kawasan Industri Ciwandan", 0.35, 350.0),
}
FIRE_PRONE_KECAMATAN = ("36.72.01", 2.5)
EMERGING = {
    "category": "KAMTIBMAS",
    "landmark": "TPSA Bagendung",
    "sigma_m": 150.0,
    "monthly": {"2026-08": 12, "2026-09": 22, "2026-10": 38},
    "kelurahan": "Bagendung",
    "background_factor": 0.3,  # the kelurahan was quiet before
}

DESCRIPTIONS = {
    "KEBAKARAN": (
        "Kebakaran rumah warga",
        "Kebakaran sampah / lahan kosong",
        "Korsleting listrik, api di dapur",
        "Tabung gas LPG bocor dan terbakar",
    ),
    "KECELAKAAN_LL": (
        "Tabrakan motor dengan mobil",
        "Motor terjatuh, pengendara luka",
        "Truk menabrak pembatas jalan",
    ),
    "KECELAKAAN_KERJA": (
        "Pekerja terjatuh dari ketinggian",
        "Pekerja terluka di area pabrik",
        "Kebocoran bahan kimia di pabrik",
    ),
    "KECELAKAAN_LAUT": ("Perahu nelayan terbalik", "Penumpang terjatuh di dermaga"),
    "MEDIS_AMBULANS": (
        "Warga pingsan, butuh ambulans",
        "Ibu hamil akan melahirkan",
        "Sesak napas",
        "Lansia jatuh di rumah",
    ),
    "BENCANA": ("Angin kencang merusak atap rumah", "Tanah longsor di lereng"),
    "BANJIR": ("Banjir setinggi lutut di permukiman", "Saluran meluap, jalan tergenang"),
    "POHON_TUMBANG": ("Pohon tumbang menutup jalan", "Pohon tumbang menimpa kabel"),
    "KRIMINAL": ("Pencurian sepeda motor", "Penjambretan", "Pencurian di rumah kosong"),
    "KAMTIBMAS": ("Tawuran pelajar", "Keributan antarwarga", "Kelompok pemuda membawa senjata tajam"),
    "KDRT_KEKERASAN": ("Kekerasan dalam rumah tangga", "Anak menjadi korban kekerasan"),
    "HEWAN_LIAR": ("Ular masuk rumah", "Sarang tawon di atap", "Monyet masuk permukiman"),
    "ODGJ_PMKS": ("ODGJ mengamuk di jalan", "Gelandangan sakit di emperan toko"),
    "UTILITAS_LISTRIK": ("Tiang listrik roboh", "Listrik padam satu RT", "Kabel listrik terbakar"),
    "UTILITAS_AIR": ("Pipa PDAM bocor", "Air PDAM mati tiga hari"),
    "PJU_RAMBU": ("Lampu lalu lintas mati", "Lampu PJU mati", "Jalan berlubang membahayakan"),
    "TEMUAN_JENAZAH": ("Temuan mayat tanpa identitas",),
    "ORANG_HILANG": ("Anak belum pulang sejak kemarin", "Lansia pikun tersesat"),
    "BANGUNAN_ROBOH": ("Rumah roboh", "Tembok pembatas roboh"),
    "TERORISME": ("Benda mencurigakan di tempat umum",),
    "LAINNYA": ("Laporan lain-lain",),
}
OTHER_DESCRIPTIONS = {
    "informasi": (
        "Menanyakan cara isi token listrik",
        "Menanyakan jadwal layanan Disdukcapil",
        "Menanyakan nomor ambulans",
        "Menanyakan jadwal kapal di Pelabuhan Merak",
    ),
    "prank": ("Laporan iseng / palsu", "Penelepon bercanda dengan operator"),
    "ghost": ("Panggilan tanpa suara",),
    "dropped": ("Panggilan terputus sebelum dijawab",),
}
# Minutes from dispatch to arrival (median) when no distance model applies, and minutes on scene.
TRAVEL_MEDIAN_MIN = {
    "KECELAKAAN_LAUT": 18.0,
    "BENCANA": 16.0,
    "BANJIR": 16.0,
    "UTILITAS_LISTRIK": 30.0,
    "UTILITAS_AIR": 60.0,
    "PJU_RAMBU": 60.0,
    "ODGJ_PMKS": 25.0,
}
SCENE_MEDIAN_MIN = {
    "KEBAKARAN": 70.0,
    "BANJIR": 120.0,
    "BENCANA": 120.0,
    "UTILITAS_AIR": 90.0,
    "MEDIS_AMBULANS": 40.0,
}
DISTANCE_MODEL = {"KEBAKARAN": ("pos_damkar", 36.0, 1.5), "MEDIS_AMBULANS": ("puskesmas", 32.0, 2.5)}
DETOUR = 1.35
CANCELLED_SHARE = 0.02

FIRST_NAMES = (
    "Ahmad", "Siti", "Budi", "Dewi", "Agus", "Nur", "Rina", "Dedi", "Yanti", "Hendra", "Sri", "Eko",
    "Fitri", "Rudi", "Wati", "Asep", "Iis", "Ujang", "Euis", "Jajang", "Tini", "Fajar", "Lina", "Rizky",
    "Maya", "Hasan", "Aisyah", "Imam", "Nia", "Ade",
)  # fmt: skip
LAST_NAMES = (
    "Hidayat", "Suryadi", "Rahmawati", "Saputra", "Kurniawan", "Nurhayati", "Setiawan", "Wahyudi",
    "Lestari", "Santoso", "Maulana", "Permana", "Fauzi", "Hermawan", "Susanti", "Jaelani", "Sukmana",
    "Ramdani", "Firmansyah", "Sulaeman",
)  # fmt: skip
PHONE_PREFIXES = (
    "0812", "0813", "0821", "0822", "0852", "0853", "0857", "0858", "0877", "0878", "0895", "0896", "0831",
    "0838",
)  # fmt: skip
CALLER_SHARE = {
    "darurat": (0.75, 0.7),
    "informasi": (0.5, 0.5),
    "prank": (0.35, 0.0),
    "ghost": (0.4, 0.0),
    "dropped": (0.4, 0.0),
}  # (share with a phone number, share of those with a name)
# The stored columns of incidents, with the geometry last under GeoPandas' name.
COLUMNS = ("external_id", *(name for name in STORED_FIELDS if name != "geom"), "geometry")


@dataclass(frozen=True)
class Places:
    """What incident placement needs from the rest of the sample city (all metric)."""

    facts: CityFacts
    kelurahan: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    landmarks: gpd.GeoDataFrame  # name, kelurahan_code, geometry
    assets: gpd.GeoDataFrame  # asset_type, geometry


def _timestamps(rng, count, start, end, hours, weekday, category=None) -> pd.Series:
    """Call times with a daily profile, weekday factors, a trend and (some categories) the rainy season."""
    days = pd.date_range(start.normalize(), end.normalize(), freq="D")
    weight = weekday[days.day_of_week] * (1 + TREND_PER_YEAR * (days - days[0]).days.to_numpy() / 365.0)
    if category in SEASONAL:
        weight = weight * np.where(days.month.isin(list(RAINY_MONTHS)), 3.0, 0.35)
    day = days[rng.choice(len(days), size=count, p=weight / weight.sum())]
    hour = rng.choice(24, size=count, p=hours / hours.sum())
    seconds = hour * 3600 + rng.integers(0, 3600, size=count)
    times = pd.Series(day + pd.to_timedelta(seconds, unit="s"))
    # Days at the edges of a window that does not start or end at midnight: redraw outside times evenly.
    outside = ((times < start) | (times > end)).to_numpy()
    window_s = (end - start).total_seconds()
    times[outside] = start + pd.to_timedelta(np.floor(window_s * rng.random(outside.sum())), unit="s")
    return times


def _road_weights(places: Places, category: str) -> np.ndarray:
    """Relative chance of a call on each road edge: population density, shaped by category."""
    kelurahan = places.kelurahan.set_index("code")
    density = kelurahan["population"] / kelurahan.geometry.area
    roads = places.roads
    weights = density.loc[roads["kelurahan_code"]].to_numpy()
    if category == "KECELAKAAN_LL":
        weights = weights * roads["road_class"].map({"arteri": 6.0, "kolektor": 3.0, "lokal": 1.0}).to_numpy()
    if category == "KECELAKAAN_KERJA":
        codes = places.facts.kelurahan.set_index("name").loc[list(INDUSTRIAL_KELURAHAN), "code"]
        weights = np.where(roads["kelurahan_code"].isin(codes), weights.max(), weights * 0.05)
    if category == "KEBAKARAN":
        prone, factor = FIRE_PRONE_KECAMATAN
        weights = weights * np.where(roads["kelurahan_code"].str.startswith(prone), factor, 1.0)
    if category == EMERGING["category"]:
        quiet = places.facts.kelurahan.set_index("name").loc[EMERGING["kelurahan"], "code"]
        weights = weights * np.where(roads["kelurahan_code"] == quiet, EMERGING["background_factor"], 1.0)
    return weights


def _around(rng, centre, sigma, count, outline) -> np.ndarray:
    """Points scattered normally around ``centre``, all inside the city."""
    found: list = []
    while len(found) < count:
        xy = rng.normal(0, sigma, size=(2 * count + 4, 2)) + np.array([centre.x, centre.y])
        points = shapely.points(xy)
        found += list(points[shapely.contains(outline, points)])
    return np.array(found[:count], dtype=object)


def _coastal(rng, facts: CityFacts, count: int) -> np.ndarray:
    on_coast = shapely.line_interpolate_point(facts.coast, rng.random(count), normalized=True)
    return shapely.get_point(shapely.shortest_line(facts.outline.buffer(-80), on_coast), 0)


def _darurat_places(rng, places: Places, category: str, count: int) -> np.ndarray:
    if category == "KECELAKAAN_LAUT":
        return _coastal(rng, places.facts, count)
    points, _ = points_on_roads(
        places.roads,
        rng,
        count,
        weights=_road_weights(places, category),
        offset_m=25,
        within=places.facts.outline,
    )
    if category in PERSISTENT_CLUSTERS:
        landmark, share, sigma = PERSISTENT_CLUSTERS[category]
        clustered = rng.random(count) < share
        centre = places.landmarks.set_index("name").geometry[landmark]
        points[clustered] = _around(rng, centre, sigma, int(clustered.sum()), places.facts.outline)
    return points


def _darurat(rng, places: Places, catalog: Catalog, count: int, start, end) -> pd.DataFrame:
    """Genuine emergencies: category, time and place (metric point), before geocoding precision."""
    codes = [code for code in CATEGORY_WEIGHTS if code in catalog.incident_categories]
    weights = np.array([CATEGORY_WEIGHTS[code] for code in codes])
    category = rng.choice(codes, size=count, p=weights / weights.sum())
    frames = []
    for code in codes:
        n = int((category == code).sum())
        if not n:
            continue
        times = _timestamps(
            rng,
            n,
            start,
            end,
            HOUR_PROFILE.get(code, HOURS_DAY),
            WEEKDAY_FACTORS.get(code, WEEKDAY_DEFAULT),
            code,
        )
        frames.append(
            pd.DataFrame(
                {"category": code, "received_at": times, "point": _darurat_places(rng, places, code, n)}
            )
        )
    return pd.concat(frames, ignore_index=True)


def _emerging(rng, places: Places) -> pd.DataFrame:
    """The cluster that appears in the last three months (see the module docstring)."""
    centre = places.landmarks.set_index("name").geometry[EMERGING["landmark"]]
    frames = []
    for month, n in EMERGING["monthly"].items():
        start = pd.Timestamp(f"{month}-01", tz=TIMEZONE)
        end = start + pd.offsets.MonthEnd(1) + pd.Timedelta(hours=23, minutes=59)
        times = _timestamps(rng, n, start, end, HOURS_NIGHT, WEEKDAY_FACTORS["KAMTIBMAS"])
        frames.append(
            pd.DataFrame(
                {
                    "category": EMERGING["category"],
                    "received_at": times,
                    "point": _around(rng, centre, EMERGING["sigma_m"], n, places.facts.outline),
                    "precision": "exact",
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _others(rng, count: int, start, end) -> pd.DataFrame:
    """Calls that are not emergencies: no place, no dispatch."""
    shares = {k: v for k, v in CALL_TYPE_SHARES.items() if k != "darurat"}
    kinds = rng.choice(list(shares), size=count, p=np.array(list(shares.values())) / sum(shares.values()))
    frames = []
    for kind in shares:
        n = int((kinds == kind).sum())
        times = _timestamps(
            rng, n, start, end, HOUR_PROFILE.get(kind, HOURS_DAY), WEEKDAY_FACTORS.get(kind, WEEKDAY_DEFAULT)
        )
        frames.append(pd.DataFrame({"call_type": kind, "received_at": times}))
    return pd.concat(frames, ignore_index=True)


def _geocode(rng, places: Places, calls: pd.DataFrame) -> pd.DataFrame:
    """Precision, final point, kelurahan/kecamatan and an Indonesian address for darurat calls."""
    count = len(calls)
    precision = calls.get("precision")
    drawn = rng.choice(list(PRECISION_SHARES), size=count, p=list(PRECISION_SHARES.values()))
    precision = np.where(precision.isna(), drawn, precision) if precision is not None else drawn
    points = calls["point"].to_numpy()
    roads = places.roads
    _, nearest = shapely.STRtree(roads.geometry.to_numpy()).query_nearest(points, all_matches=False)
    street = roads["name"].to_numpy()[nearest]
    on_street = shapely.get_point(shapely.shortest_line(roads.geometry.to_numpy()[nearest], points), 0)
    points, on_street = (pull_inside(p, places.facts.outline) for p in (points, on_street))
    kelurahan_of_point = locate(np.where(precision == "street", on_street, points), places.kelurahan)
    facts = places.facts.kelurahan.set_index("code")
    centres = shapely.points(facts.loc[kelurahan_of_point, ["x", "y"]].to_numpy())
    geometry = np.where(
        precision == "exact",
        points,
        np.where(precision == "street", on_street, np.where(precision == "kelurahan", centres, None)),
    )
    number = rng.integers(1, 120, size=count)
    rt, rw = rng.integers(1, 12, size=count), rng.integers(1, 8, size=count)
    addresses = []
    for i in range(count):
        kel = facts.loc[kelurahan_of_point[i]]
        where = f"Kel. {kel['name']}, Kec. {kel['kecamatan_name']}"
        if precision[i] == "exact":
            addresses.append(f"{street[i]} No. {number[i]}, RT {rt[i]:02d}/RW {rw[i]:02d}, {where}")
        elif precision[i] == "street":
            addresses.append(f"{street[i]}, {where}")
        elif precision[i] == "kelurahan":
            addresses.append(where)
        else:
            addresses.append("lokasi tidak jelas, penelepon tidak menyebut alamat")
    located = precision != "none"
    calls = calls.assign(
        geocode_precision=precision,
        geometry=geometry,
        address=addresses,
        kelurahan_code=np.where(located, kelurahan_of_point, None),
        kecamatan_code=np.where(located, [code.rsplit(".", 1)[0] for code in kelurahan_of_point], None),
        geocode_source=np.where(
            precision == "exact", "lokasi penelepon (AML)", np.where(located, "gazetteer", None)
        ),
        geocode_score=np.select(
            [precision == "exact", precision == "street", precision == "kelurahan"], [1.0, 0.85, 0.5], np.nan
        ),
    )
    return calls.drop(columns=["point"])


def _lifecycle(rng, places: Places, catalog: Catalog, calls: pd.DataFrame) -> pd.DataFrame:
    """Dispatch, arrival and closing times for darurat calls; closing only for the others."""
    count = len(calls)
    minute = pd.Timedelta(minutes=1)
    darurat = (calls["call_type"] == "darurat").to_numpy()
    cancelled = darurat & (rng.random(count) < CANCELLED_SHARE)
    travel = np.exp(rng.normal(np.log(12.0), 0.45, size=count))
    for category, median in TRAVEL_MEDIAN_MIN.items():
        rows = (calls["category"] == category).to_numpy()
        travel[rows] = np.exp(rng.normal(np.log(median), 0.5, size=rows.sum()))
    for category, (asset_type, speed_kmh, turnout_min) in DISTANCE_MODEL.items():
        rows = ((calls["category"] == category) & calls["geometry"].notna()).to_numpy()
        bases = places.assets.geometry[places.assets["asset_type"] == asset_type].to_numpy()
        if not rows.any() or not len(bases):
            continue
        points = calls["geometry"].to_numpy()[rows]
        distance = shapely.distance(points[:, None], bases[None, :]).min(axis=1) * DETOUR
        noise = np.exp(rng.normal(0, 0.25, size=rows.sum()))
        travel[rows] = (turnout_min + distance / (speed_kmh / 3.6) / 60.0) * noise
    dispatch = rng.uniform(1.0, 5.0, size=count)
    scene = np.exp(rng.normal(np.log(25.0), 0.5, size=count))
    for category, median in SCENE_MEDIAN_MIN.items():
        rows = (calls["category"] == category).to_numpy()
        scene[rows] = np.exp(rng.normal(np.log(median), 0.5, size=rows.sum()))
    talk = np.select(
        [calls["call_type"] == "informasi", calls["call_type"] == "prank", calls["call_type"] == "ghost"],
        [rng.uniform(2, 6, count), rng.uniform(0.5, 2, count), rng.uniform(0.2, 1, count)],
        rng.uniform(0.0, 0.2, count),
    )
    received = calls["received_at"]
    dispatched = received + dispatch * minute
    arrived = dispatched + travel * minute
    served = darurat & ~cancelled
    calls["dispatched_at"] = dispatched.where(served)
    calls["arrived_at"] = arrived.where(served)
    calls["closed_at"] = np.where(
        served,
        arrived + scene * minute,
        np.where(cancelled, received + (dispatch + 3) * minute, received + talk * minute),
    )
    calls["status"] = np.where(cancelled | (calls["call_type"] == "dropped"), "cancelled", "closed")
    opd = {code: entry.opd for code, entry in catalog.incident_categories.items()}
    calls["responding_opd"] = np.where(
        darurat,
        calls["category"].map(opd),
        np.where(calls["call_type"] == "informasi", opd.get("LAINNYA"), None),
    )
    return calls


def _describe(rng, calls: pd.DataFrame) -> np.ndarray:
    texts = []
    for call_type, category in zip(calls["call_type"], calls["category"], strict=True):
        options = DESCRIPTIONS[category] if call_type == "darurat" else OTHER_DESCRIPTIONS[call_type]
        texts.append(options[int(rng.integers(len(options)))])
    return np.array(texts, dtype=object)


def _callers(rng, calls: pd.DataFrame) -> pd.DataFrame:
    """Names and phone numbers of some callers (personal data, kept in a separate table)."""
    count = len(calls)
    phone_share = calls["call_type"].map({k: v[0] for k, v in CALLER_SHARE.items()}).to_numpy()
    name_share = calls["call_type"].map({k: v[1] for k, v in CALLER_SHARE.items()}).to_numpy()
    has_phone = rng.random(count) < phone_share
    has_name = has_phone & (rng.random(count) < name_share)
    prefix = np.array(PHONE_PREFIXES)[rng.integers(len(PHONE_PREFIXES), size=count)]
    digits = rng.integers(10_000_000, 99_999_999, size=count)
    first = np.array(FIRST_NAMES)[rng.integers(len(FIRST_NAMES), size=count)]
    last = np.array(LAST_NAMES)[rng.integers(len(LAST_NAMES), size=count)]
    callers = pd.DataFrame(
        {
            "external_id": calls["external_id"].to_numpy(),
            "caller_name": np.where(has_name, np.char.add(np.char.add(first, " "), last), None),
            "caller_phone": np.char.add(prefix, digits.astype(str)),
        }
    )
    return callers[has_phone].reset_index(drop=True)


def _finish(rng, places, catalog, calls: pd.DataFrame, first_serial: int = 1):
    """Geocode, lifecycle, description, ids and callers for a frame of darurat and other calls."""
    calls = calls.sort_values(["received_at", "call_type"], kind="stable").reset_index(drop=True)
    darurat = calls["call_type"] == "darurat"
    geocoded = _geocode(rng, places, calls[darurat])
    calls = pd.concat([geocoded, calls[~darurat].drop(columns=["point"], errors="ignore")])
    calls = calls.sort_values(["received_at", "call_type"], kind="stable").reset_index(drop=True)
    calls["geocode_precision"] = calls["geocode_precision"].fillna("none")
    calls = _lifecycle(rng, places, catalog, calls)
    calls["description"] = _describe(rng, calls)
    calls["address"] = calls["address"].where(calls["address"].notna(), None)
    year = calls["received_at"].dt.year
    serial = calls.groupby(year).cumcount().to_numpy() + first_serial
    calls["external_id"] = [f"112-{y}-{s:06d}" for y, s in zip(year, serial, strict=True)]
    for column in ("dispatched_at", "arrived_at", "closed_at"):
        calls[column] = calls[column].dt.round("s")
    incidents = gpd.GeoDataFrame(calls[list(COLUMNS)], geometry="geometry", crs=METRIC_SRID)
    return incidents, _callers(rng, incidents)


def build_incidents(places: Places, catalog: Catalog, rng: np.random.Generator):
    """Two years of calls (metric points) and their callers; see the module docstring for what is in them."""
    emerging = _emerging(rng, places)
    darurat_count = round(TOTAL_CALLS * CALL_TYPE_SHARES["darurat"]) - len(emerging)
    darurat = pd.concat(
        [_darurat(rng, places, catalog, darurat_count, PERIOD_START, PERIOD_END), emerging], ignore_index=True
    ).assign(call_type="darurat")
    others = _others(rng, TOTAL_CALLS - darurat_count - len(emerging), PERIOD_START, PERIOD_END)
    return _finish(rng, places, catalog, pd.concat([darurat, others], ignore_index=True))


def build_recent_incidents(places: Places, catalog: Catalog, now: datetime, count: int = RECENT_CALLS):
    """Calls of the last 24 hours before ``now`` (time-zone aware) for the live map: darurat only, seeded
    by the hour (a reload within the same hour gives the same calls), serial numbers from 900001 to stay
    apart from the two-year history; calls of the last hours are still open."""
    now = pd.Timestamp(now).tz_convert(TIMEZONE).floor("s")
    rng = np.random.default_rng(int(now.floor("h").timestamp()))
    start = now - pd.Timedelta(hours=24)
    darurat = _darurat(rng, places, catalog, count, start, now).assign(call_type="darurat")
    # A quarter came in during the last hour, so the live map shows calls still being handled.
    latest = rng.random(count) < OPEN_SHARE
    minutes_ago = pd.to_timedelta(np.floor(rng.uniform(2, 60, latest.sum()) * 60), unit="s")
    darurat.loc[latest, "received_at"] = (now - minutes_ago).floor("s")
    incidents, callers = _finish(rng, places, catalog, darurat, first_serial=900_001)
    served = incidents["status"] == "closed"
    for column, status in (
        ("closed_at", "on_scene"),
        ("arrived_at", "dispatched"),
        ("dispatched_at", "received"),
    ):
        still_open = served & (incidents[column] > now)
        incidents.loc[still_open, "status"] = status
        incidents.loc[still_open, column] = pd.NaT
    incidents.loc[incidents["status"] == "received", "responding_opd"] = None  # not dispatched yet
    return incidents, callers
