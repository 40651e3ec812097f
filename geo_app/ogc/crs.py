"""Coordinate reference systems offered by OGC API – Features Part 2, and their axis order.

Data is stored as EPSG:4326 with longitude first, which is what OGC calls CRS84. The EPSG:4326 URI
itself means latitude first, so answers in it swap the axes; EPSG:32748 (UTM 48S, metres) is
reprojected.
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
EPSG_32748 = Crs("http://www.opengis.net/def/crs/EPSG/0/32748", 32748, lat_first=False, decimals=2)
SUPPORTED = (CRS84, EPSG_4326, EPSG_32748)

_ALIASES = {
    "[OGC:CRS84]": CRS84,
    "[EPSG:4326]": EPSG_4326,
    "[EPSG:32748]": EPSG_32748,
    "http://www.opengis.net/def/crs/OGC/0/CRS84": CRS84,
}


def parse_crs(value: str) -> Crs | None:
    """The CRS named by a URI or safe CURIE (``[EPSG:4326]``); None when it is not offered."""
    value = value.strip()
    for crs in SUPPORTED:
        if value == crs.uri:
            return crs
    return _ALIASES.get(value)
