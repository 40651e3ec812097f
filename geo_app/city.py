"""A city is data, not code: its time zone and metric CRS come from its ``cities`` row.

Everything that turns times into local hours or days (hour × weekday charts, "bulan ini", date filters,
response windows) uses ``CityContext.timezone``; everything that measures in metres (hexagons, buffers,
hectares, DBSCAN) uses ``CityContext.metric_srid``. Neither is written anywhere else in the code.

For a new city both are derived and can be overridden (``geo-app add-city``):
- the time zone from the province part of the Kemendagri code (Indonesia's three zones follow province
  borders, UU/Keppres 41/1987: WIB for Sumatra, Java and West/Central Kalimantan; WITA for Bali, Nusa
  Tenggara, South/East/North Kalimantan and Sulawesi; WIT for Maluku and Papua);
- the metric CRS as the WGS 84 / UTM zone of the outline's centroid, north or south by the centroid's side
  of the equator. A city that straddles the equator (Pontianak) takes the hemisphere of most of its area:
  a UTM zone's southern and northern variants differ only in the false northing (10,000 km), so lengths
  and areas come out the same either way, and the centroid's side keeps coordinates positive.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import psycopg
from pyproj import Transformer

WIB, WITA, WIT = "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"
ZONE_ABBREVIATIONS = {WIB: "WIB", WITA: "WITA", WIT: "WIT"}

WITA_PROVINCES = {"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"}
"""Bali, NTB, NTT, Kalimantan Selatan/Timur/Utara and the six Sulawesi provinces."""
WIT_PROVINCES = {"81", "82", "91", "92", "93", "94", "95", "96"}
"""Maluku, Maluku Utara and the Papua provinces."""


class CityError(ValueError):
    """A city code, time zone or CRS that cannot be used; the message says what to give instead."""


@dataclass(frozen=True)
class CityContext:
    """What every analysis, import, map and answer needs to know about the city it works for."""

    code: str
    name: str
    timezone: ZoneInfo
    metric_srid: int
    bounds: tuple[tuple[float, float], tuple[float, float]] | None = None
    """((south, west), (north, east)) of its areas; None before any area is loaded."""
    url_root: str = "/"
    """Where the city's pages and API are served: ``/`` for the deployment's default city, else
    ``/kota/<code>/``; pages resolve their links and data URLs against it (``<base href>``)."""

    @property
    def timezone_name(self) -> str:
        return self.timezone.key

    @property
    def timezone_label(self) -> str:
        """WIB, WITA or WIT, as Indonesians write local times."""
        return ZONE_ABBREVIATIONS.get(self.timezone.key, self.timezone.key)

    @property
    def to_metric(self) -> Transformer:
        """lon/lat (EPSG:4326) to the city's metric CRS."""
        return _transformer(4326, self.metric_srid)

    @property
    def to_lonlat(self) -> Transformer:
        """The city's metric CRS to lon/lat (EPSG:4326)."""
        return _transformer(self.metric_srid, 4326)

    @property
    def center(self) -> tuple[float, float] | None:
        """(lat, lon) of the middle of its areas: where a map opens."""
        if self.bounds is None:
            return None
        (south, west), (north, east) = self.bounds
        return ((south + north) / 2, (west + east) / 2)


@functools.cache
def _transformer(source: int, target: int) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def load_city(conn: psycopg.Connection, code: str) -> CityContext | None:
    """The city's context from its row and areas; None when the city is not in the database."""
    row = conn.execute(
        """
        SELECT c.code, c.name, c.timezone, c.metric_srid, ST_YMin(e.box) AS south, ST_XMin(e.box) AS west,
               ST_YMax(e.box) AS north, ST_XMax(e.box) AS east
        FROM cities c
        LEFT JOIN LATERAL (SELECT ST_Extent(geom) AS box FROM admin_areas WHERE city_code = c.code) e ON true
        WHERE c.code = %s
        """,
        (code,),
    ).fetchone()
    if row is None:
        return None
    bounds = None if row["south"] is None else ((row["south"], row["west"]), (row["north"], row["east"]))
    return CityContext(row["code"], row["name"], ZoneInfo(row["timezone"]), row["metric_srid"], bounds)


class CityNotLoaded(LookupError):
    """The city is not in the database; the message says how to load it."""


def require_city(conn: psycopg.Connection, code: str) -> CityContext:
    """:func:`load_city`, for work that cannot go on without the city."""
    city = load_city(conn, code)
    if city is None:
        raise CityNotLoaded(
            f"city {code} is not in the database: run geo-app load-sample, or geo-app add-city FILE"
        )
    return city


def timezone_for_code(city_code: str) -> str:
    """The legal time zone of a kabupaten/kota from its Kemendagri code's province part."""
    province = city_code.split(".")[0]
    if province in WIT_PROVINCES:
        return WIT
    if province in WITA_PROVINCES:
        return WITA
    return WIB


def utm_srid(lon: float, lat: float) -> int:
    """EPSG code of the WGS 84 / UTM zone holding (lon, lat): 326NN north of the equator, 327NN south."""
    if not (-180 <= lon <= 180 and -80 <= lat <= 84):
        raise CityError(f"({lon}, {lat}) is outside the UTM zones; give the metric CRS yourself")
    zone = min(int(math.floor((lon + 180) / 6)) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone


def checked_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (KeyError, ValueError):
        raise CityError(
            f"unknown time zone {name!r}; use {WIB} (WIB), {WITA} (WITA) or {WIT} (WIT)"
        ) from None
    return name
