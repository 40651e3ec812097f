"""Coordinate reference systems offered by OGC API – Features Part 2, and their axis order.

Data is stored as EPSG:4326 with longitude first, which is what OGC calls CRS84. The EPSG:4326 URI
itself means latitude first, so answers in it swap the axes. Metric answers come in any WGS 84 / UTM zone
over Indonesia (46 to 54, north and south: every city's own metric CRS is one of them), reprojected.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Crs:
    uri: str
    srid: int
    lat_first: bool
    decimals: int

    @property
    def header(self) -> str:
        """Value of the Content-Crs header."""
        return f"<{self.uri}>"


CRS84 = Crs("http://www.opengis.net/def/crs/OGC/1.3/CRS84", 4326, lat_first=False, decimals=7)
EPSG_4326 = Crs("http://www.opengis.net/def/crs/EPSG/0/4326", 4326, lat_first=True, decimals=7)
INDONESIAN_UTM_ZONES = range(46, 55)
"""Indonesia lies in UTM zones 46 (Aceh) to 54 (Papua), on both sides of the equator."""
UTM = tuple(
    Crs(f"http://www.opengis.net/def/crs/EPSG/0/{srid}", srid, lat_first=False, decimals=2)
    for srid in (base + zone for base in (32700, 32600) for zone in INDONESIAN_UTM_ZONES)
)
SUPPORTED = (CRS84, EPSG_4326, *UTM)

_ALIASES = {
    "[OGC:CRS84]": CRS84,
    "[EPSG:4326]": EPSG_4326,
    "http://www.opengis.net/def/crs/OGC/0/CRS84": CRS84,
    **{f"[EPSG:{crs.srid}]": crs for crs in UTM},
}


def parse_crs(value: str) -> Crs | None:
    """The CRS named by a URI or safe CURIE (``[EPSG:4326]``); None when it is not offered."""
    value = value.strip()
    for crs in SUPPORTED:
        if value == crs.uri:
            return crs
    return _ALIASES.get(value)
