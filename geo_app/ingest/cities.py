"""A new city from its official kelurahan boundaries (``geo-app add-city``), in one transaction.

The file gives each kelurahan's Kemendagri code (``73.71.01.1001``), its name and, where it has one, its
kecamatan's name; the city's code is the codes' common ``73.71`` part. Kecamatan and kota are the unions of
their kelurahan. The time zone is derived from the province (geo_app.city.timezone_for_code) and the metric
CRS from the outline (geo_app.city.utm_srid); both can be overridden. Populations stay unknown (NULL, shown
as such) until they are imported.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import psycopg
import shapely
from pyproj import CRS

from geo_app.city import CityError, checked_timezone, timezone_for_code, utm_srid
from geo_app.ingest.areas import CODE_HEADERS, NAME_HEADERS, normalise_code, polygons_only
from geo_app.ingest.readers import read_vector, source_info
from geo_app.store import areas as area_store

KELURAHAN_CODE = re.compile(r"^\d{10}$")
KECAMATAN_NAME_HEADERS = ("kecamatan", "nama_kec", "nama_kecamatan", "wadmkc", "kec")
CITY_NAME_HEADERS = ("kota", "nama_kota", "kab_kota", "kabupaten_kota", "wadmkk")


class CityImportRefused(Exception):
    """The file cannot make a city; ``str()`` says what to change. Nothing was written."""


@dataclass
class CityReport:
    code: str
    name: str
    timezone: str
    metric_srid: int
    kelurahan: int = 0
    kecamatan: int = 0
    area_km2: float = 0.0
    repaired: list[str] = field(default_factory=list)
    written: bool = False

    def lines(self) -> list[str]:
        lines = [
            f"city {self.code} {self.name}: {self.kecamatan} kecamatan, {self.kelurahan} kelurahan, "
            f"{self.area_km2:.1f} km²",
            f"time zone {self.timezone}, metric CRS EPSG:{self.metric_srid}",
            "population: unknown until imported",
        ]
        lines.extend(f"repaired invalid boundary: {code}" for code in self.repaired)
        lines.append("written" if self.written else "dry run, nothing written")
        return lines


def _dotted(digits: str) -> str:
    return f"{digits[:2]}.{digits[2:4]}.{digits[4:6]}.{digits[6:]}"


def _column(frame: gpd.GeoDataFrame, headers: tuple[str, ...]) -> str | None:
    by_key = {
        str(column).strip().lower(): column for column in frame.columns if column != frame.geometry.name
    }
    return next((by_key[key] for key in headers if key in by_key), None)


def _code_column(frame: gpd.GeoDataFrame) -> str:
    for key in CODE_HEADERS:
        column = _column(frame, (key,))
        if column is not None and all(KELURAHAN_CODE.match(normalise_code(v)) for v in frame[column]):
            return column
    raise CityImportRefused(
        "no column holds a ten-digit Kemendagri kelurahan code (e.g. 73.71.01.1001) in every row; "
        f"name it one of {', '.join(CODE_HEADERS)}"
    )


def read_city(path: Path, *, layer: str | None = None, crs: str | None = None):
    """The file's kelurahan as (code, name, kecamatan name or None, geometry) rows and the city code."""
    frame = read_vector(path, layer=layer, crs=crs)
    info = source_info(frame)
    if info.row_problems:
        first = next(iter(info.row_problems.items()))
        raise CityImportRefused(f"{path.name}: row {first[0] + 1}: {first[1]}")
    code_column = _code_column(frame)
    name_column = _column(frame, NAME_HEADERS)
    if name_column is None:
        raise CityImportRefused(
            f"{path.name}: no kelurahan name column; name it one of {', '.join(NAME_HEADERS)}"
        )
    kecamatan_column = _column(frame, KECAMATAN_NAME_HEADERS)
    codes = [_dotted(normalise_code(value)) for value in frame[code_column]]
    repeated = [code for code, count in Counter(codes).items() if count > 1]
    if repeated:
        raise CityImportRefused(f"{path.name}: kelurahan code(s) given twice: {', '.join(sorted(repeated))}")
    cities = sorted({code[:5] for code in codes})
    if len(cities) != 1:
        raise CityImportRefused(f"{path.name}: the kelurahan belong to several cities ({', '.join(cities)})")
    rows = [
        (code, str(name).strip(), None if kecamatan_column is None else str(kecamatan).strip(), geometry)
        for code, name, kecamatan, geometry in zip(
            codes,
            frame[name_column],
            frame[kecamatan_column] if kecamatan_column else [None] * len(frame),
            frame.geometry,
            strict=True,
        )
    ]
    city_name_column = _column(frame, CITY_NAME_HEADERS)
    file_name = str(frame[city_name_column].iloc[0]).strip() if city_name_column else None
    return cities[0], file_name, rows, info.name


def add_city(
    conn: psycopg.Connection,
    path: Path,
    *,
    name: str | None = None,
    timezone: str | None = None,
    metric_srid: int | None = None,
    layer: str | None = None,
    crs: str | None = None,
    dry_run: bool = False,
) -> CityReport:
    """Create the city of the kelurahan in ``path`` (refused when the city exists: use import-areas)."""
    code, file_name, rows, source = read_city(path, layer=layer, crs=crs)
    city_name = name or file_name
    if not city_name:
        raise CityImportRefused(
            f"{path.name} does not name the city: give it with --name, e.g. 'Kota Makassar'"
        )
    if area_store.city(conn, code) is not None:
        raise CityImportRefused(
            f"city {code} exists already; replace its boundaries with geo-app import-areas instead"
        )
    kelurahan, repaired = [], []
    for row_code, row_name, kecamatan_name, geometry in rows:
        if geometry is None or geometry.is_empty or geometry.geom_type not in ("Polygon", "MultiPolygon"):
            raise CityImportRefused(f"{path.name}: kelurahan {row_code} has no polygon")
        if not geometry.is_valid:
            geometry = polygons_only(shapely.make_valid(geometry))
            repaired.append(row_code)
        kelurahan.append((row_code, row_name, kecamatan_name, polygons_only(geometry)))
    outline = shapely.union_all([geometry for *_, geometry in kelurahan])
    centre = outline.centroid
    try:
        zone = checked_timezone(timezone) if timezone else timezone_for_code(code)
        srid = metric_srid or utm_srid(centre.x, centre.y)
    except CityError as exc:
        raise CityImportRefused(str(exc)) from None
    if not CRS.from_epsg(srid).is_projected:
        raise CityImportRefused(
            f"EPSG:{srid} is not a projected CRS in metres; give a UTM zone, e.g. EPSG:32750"
        )
    report = CityReport(code, city_name, zone, srid, kelurahan=len(kelurahan), repaired=repaired)
    kecamatan: dict[str, tuple[str, list]] = {}
    for row_code, _, kecamatan_name, geometry in kelurahan:
        parent = row_code[:8]
        entry = kecamatan.setdefault(parent, (kecamatan_name or f"Kecamatan {parent}", []))
        entry[1].append(geometry)
    report.kecamatan = len(kecamatan)
    boundary_source = f"{source} (added {code})"
    areas = [
        area_store.AdminArea(code, "kota", city_name, None, polygons_only(outline), boundary_source),
        *(
            area_store.AdminArea(
                kec, "kecamatan", kec_name, code, polygons_only(shapely.union_all(parts)), boundary_source
            )
            for kec, (kec_name, parts) in sorted(kecamatan.items())
        ),
        *(
            area_store.AdminArea(row_code, "kelurahan", row_name, row_code[:8], geometry, boundary_source)
            for row_code, row_name, _, geometry in kelurahan
        ),
    ]
    with conn.transaction():
        area_store.upsert_city(conn, code, city_name, timezone=zone, metric_srid=srid)
        area_store.upsert_areas(conn, code, areas)
        area_store.rebuild_parent_boundaries(conn, code, boundary_source)
        area_store.record_load(conn, code, "admin_areas", source, is_sample=False, rows=len(areas))
        report.area_km2 = conn.execute(
            "SELECT ST_Area(ST_Transform(geom, %s)) / 1e6 AS km2 FROM admin_areas WHERE code = %s",
            (srid, code),
        ).fetchone()["km2"]
        if dry_run:
            raise psycopg.Rollback()
        report.written = True
    return report
