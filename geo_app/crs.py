"""Coordinate reference systems offered by OGC API – Features Part 2, and their axis order.

Data is stored as EPSG:4326 with longitude first, which is what OGC calls CRS84. The EPSG:4326 URI
itself means latitude first, so answers in it swap the axes. Metric answers come in any WGS 84 / UTM zone
over Indonesia (46 to 54, north and south: every city's own metric CRS is one of them), reprojected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import pyproj


@dataclass(frozen=True)
class Crs:
    uri: str
    srid: int
    lat_first: bool
    decimals: int
    axes: tuple[str, str]  # names of x and y, e.g. ("longitude", "latitude")

    @property
    def header(self) -> str:
        """Value of the Content-Crs header."""
        return f"<{self.uri}>"


DEGREES = ("longitude", "latitude")
CRS84 = Crs("http://www.opengis.net/def/crs/OGC/1.3/CRS84", 4326, False, 7, DEGREES)
EPSG_4326 = Crs("http://www.opengis.net/def/crs/EPSG/0/4326", 4326, True, 7, DEGREES)
INDONESIAN_UTM_ZONES = range(46, 55)
"""Indonesia lies in UTM zones 46 (Aceh) to 54 (Papua), on both sides of the equator."""
UTM = tuple(
    Crs(f"http://www.opengis.net/def/crs/EPSG/0/{srid}", srid, False, 2, ("easting", "northing"))
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


class OutsideCrs(ValueError):
    """A box with its corners swapped or reaching past the range its CRS covers; says what to send."""


@cache
def valid_range(crs: Crs) -> tuple[float, float, float, float]:
    """(min x, min y, max x, max y) the CRS covers: the whole globe in degrees, or a projection's area of
    use (beyond it a reprojection fails or is meaningless)."""
    if crs.srid == 4326:
        return (-180.0, -90.0, 180.0, 90.0)
    area = pyproj.CRS.from_epsg(crs.srid).area_of_use.bounds
    return pyproj.Transformer.from_crs(4326, crs.srid, always_xy=True).transform_bounds(*area)


def check_box(box: Sequence[float], crs: Crs) -> None:
    """Refuse a box (x/y order: longitude first for both degree CRSs) that is not finite, has its lower
    corner after the upper one, or leaves the CRS's valid range; the message uses the CRS's axis order."""
    minx, miny, maxx, maxy = box
    x_name, y_name = crs.axes
    if not all(math.isfinite(value) for value in box):
        raise OutsideCrs("the coordinates must be finite numbers")
    if minx > maxx or miny > maxy:
        corners = [f"min {x_name}", f"min {y_name}", f"max {x_name}", f"max {y_name}"]
        if crs.lat_first:
            corners = [corners[1], corners[0], corners[3], corners[2]]
        raise OutsideCrs(f"the lower corner comes first: {', '.join(corners)}")
    low_x, low_y, high_x, high_y = valid_range(crs)
    if minx < low_x or maxx > high_x or miny < low_y or maxy > high_y:
        ranges = [f"{x_name} from {low_x:.0f} to {high_x:.0f}", f"{y_name} from {low_y:.0f} to {high_y:.0f}"]
        if crs.lat_first:
            ranges.reverse()
        raise OutsideCrs(f"outside the range of {crs.uri}: {' and '.join(ranges)}")
