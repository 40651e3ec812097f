"""Population in: a population raster (WorldPop or GHSL GeoTIFF, any CRS) becomes the city's population
grid, and a kelurahan table updates the official totals.

Dasymetric mapping: the raster gives the pattern, the official figures the totals. The raster is
resampled (average of the source pixels, nodata left out) onto square cells of ``cell_size_m`` in the
city's metric CRS, each value turned into people per cell (its source pixels' people × cell area / pixel
area); a cell belongs to the kelurahan holding its centre. Each kelurahan's official population is then
split over its cells in proportion to those people, so the kelurahan sums to its official figure exactly.
A kelurahan the raster shows as empty (or where it has no data) gets its people spread evenly over its
cells, and the report names it; a kelurahan without an official figure keeps the raster's own count.

The kelurahan table is a CSV with ``code, population, year, source``; the new totals are spread over
the existing grid by the same raster pattern. Every import is one transaction: a bad file or a bad row
writes nothing.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg
import shapely

from geo_app.store import population as store

DEFAULT_CELL_SIZE_M = 100.0
TABLE_COLUMNS = ("code", "population", "year", "source")


class PopulationFileError(ValueError):
    """The file cannot be used; the message says what to fix. Nothing was written."""


@dataclass
class PopulationReport:
    """What an import did (or would do, on a dry run)."""

    model: str
    cells: int = 0
    people: float = 0.0
    kelurahan: int = 0
    even_spread: list[str] = field(default_factory=list)
    raster_count_kept: list[str] = field(default_factory=list)
    updated_totals: int = 0
    dry_run: bool = False

    def lines(self) -> list[str]:
        lines = [
            f"population model: {self.model}",
            f"{self.cells} cells over {self.kelurahan} kelurahan, {self.people:,.0f} people",
        ]
        if self.updated_totals:
            lines.append(f"official totals updated for {self.updated_totals} kelurahan")
        if self.even_spread:
            lines.append(
                f"{len(self.even_spread)} kelurahan with nobody in the raster, people spread evenly: "
                + ", ".join(self.even_spread)
            )
        if self.raster_count_kept:
            lines.append(
                f"{len(self.raster_count_kept)} kelurahan without an official population keep the raster's "
                "count: " + ", ".join(self.raster_count_kept)
            )
        if self.dry_run:
            lines.append("dry run: nothing written")
        return lines


@dataclass
class Raster:
    """The raster resampled onto the city's cells: centres (metric) and people per cell (NaN: no data)."""

    x: np.ndarray
    y: np.ndarray
    people: np.ndarray
    crs: str


def read_raster(
    path: Path, bounds: tuple[float, float, float, float], srid: int, cell_size_m: float
) -> Raster:
    """Resample band 1 of the raster onto square cells covering ``bounds`` (metric, EPSG:srid)."""
    import rasterio
    from rasterio.errors import RasterioError
    from rasterio.warp import Resampling, reproject, transform_bounds

    try:
        # GeoTIFF only: formats such as VRT read the files or URLs written inside them
        dataset = rasterio.open(path, driver="GTiff")
    except RasterioError as exc:
        raise PopulationFileError(
            f"{path.name} is not a raster that can be read ({exc}); give a GeoTIFF such as WorldPop's "
            "idn_ppp_2020.tif or a GHSL GHS_POP tile, or a CSV kelurahan table "
            "(code, population, year, source)"
        ) from None
    with dataset:
        if dataset.crs is None:
            raise PopulationFileError(
                f"{path.name} has no coordinate reference system; set it (e.g. gdal_edit.py -a_srs EPSG:4326 "
                f"{path.name}) and import again"
            )
        west, south, east, north = bounds
        columns = max(1, math.ceil((east - west) / cell_size_m))
        rows = max(1, math.ceil((north - south) / cell_size_m))
        target = rasterio.transform.from_origin(west, north, cell_size_m, cell_size_m)
        values = np.full((rows, columns), np.nan, dtype="float64")
        reproject(
            source=rasterio.band(dataset, 1),
            destination=values,
            src_nodata=dataset.nodata,
            dst_transform=target,
            dst_crs=f"EPSG:{srid}",
            dst_nodata=np.nan,
            resampling=Resampling.average,
        )
        values[values < 0] = np.nan  # negative people are nodata a file forgot to declare
        if np.isnan(values).all():
            w, s, e, n = transform_bounds(dataset.crs, "EPSG:4326", *dataset.bounds)
            raise PopulationFileError(
                f"{path.name} does not overlap the city: it covers lon {w:.3f}..{e:.3f}, "
                f"lat {s:.3f}..{n:.3f}; use a raster of this city's area"
            )
        pixel_m2 = _pixel_area_m2(dataset, srid, ((west + east) / 2, (south + north) / 2))
        crs = dataset.crs.to_string()
    centres_x = west + cell_size_m * (np.arange(columns) + 0.5)
    centres_y = north - cell_size_m * (np.arange(rows) + 0.5)
    grid_x, grid_y = np.meshgrid(centres_x, centres_y)
    people = values * (cell_size_m**2 / pixel_m2)
    return Raster(grid_x.ravel(), grid_y.ravel(), people.ravel(), crs)


def _pixel_area_m2(dataset, srid: int, centre_xy: tuple[float, float]) -> float:
    """Area (m²) of the raster's pixel at the city centre, measured in the city's metric CRS."""
    from rasterio.warp import transform

    (lon,), (lat,) = transform(f"EPSG:{srid}", dataset.crs, [centre_xy[0]], [centre_xy[1]])
    row, column = dataset.index(lon, lat)
    corners = [dataset.xy(row, column, offset=corner) for corner in ("ul", "ur", "lr", "ll")]
    xs, ys = transform(dataset.crs, f"EPSG:{srid}", [c[0] for c in corners], [c[1] for c in corners])
    return shapely.Polygon(zip(xs, ys, strict=True)).area


@dataclass
class Grid:
    """Cells per kelurahan with people scaled to the official totals."""

    kelurahan_codes: list[str]
    x: np.ndarray
    y: np.ndarray
    population: np.ndarray
    raster_population: np.ndarray
    even_spread: list[str]
    raster_count_kept: list[str]


def scale_to_official(kelurahan: list[dict], raster: Raster) -> Grid:
    """Cells of each kelurahan (by centre) with its official population split by the raster's people.

    A kelurahan holding no cell centre (smaller than a cell) gets one cell at a point inside it.
    """
    codes, xs, ys, people, raster_people, even, kept = [], [], [], [], [], [], []
    for area in kelurahan:
        geom = shapely.from_wkb(area["wkb"])
        xmin, ymin, xmax, ymax = geom.bounds
        near = np.flatnonzero(
            (raster.x >= xmin) & (raster.x <= xmax) & (raster.y >= ymin) & (raster.y <= ymax)
        )
        inside = near[shapely.contains_xy(geom, raster.x[near], raster.y[near])]
        if len(inside):
            x, y = raster.x[inside], raster.y[inside]
            counted = np.nan_to_num(raster.people[inside], nan=0.0)
        else:
            point = shapely.point_on_surface(geom)
            x, y, counted = np.array([point.x]), np.array([point.y]), np.zeros(1)
        total = area["population"]
        if total is None:
            total = float(counted.sum())
            kept.append(area["code"])
        if counted.sum() > 0:
            share = counted / counted.sum()
        else:
            share = np.full(len(counted), 1.0 / len(counted))
            even.append(area["code"])
        codes += [area["code"]] * len(x)
        xs.append(x)
        ys.append(y)
        people.append(total * share)
        raster_people.append(counted)
    return Grid(codes, *(np.concatenate(a) for a in (xs, ys, people, raster_people)), even, kept)


def year_in_name(name: str) -> int | None:
    """The year a raster's file name carries (idn_ppp_2020.tif, GHS_POP_E2025_...), if any."""
    found = re.search(r"(?<!\d)(19[5-9]\d|20\d\d|21\d\d)(?!\d)", name)
    return int(found.group(1)) if found else None


def city_bounds(conn: psycopg.Connection, city_code: str) -> tuple[tuple[float, float, float, float], int]:
    row = conn.execute(
        """
        SELECT ST_XMin(e) AS west, ST_YMin(e) AS south, ST_XMax(e) AS east, ST_YMax(e) AS north, c.metric_srid
        FROM cities c CROSS JOIN LATERAL (
            SELECT ST_Extent(ST_Transform(a.geom, c.metric_srid))::geometry AS e
            FROM admin_areas a WHERE a.city_code = c.code AND a.level = 'kelurahan') k
        WHERE c.code = %s
        """,
        (city_code,),
    ).fetchone()
    if row is None or row["west"] is None:
        raise PopulationFileError("the city has no kelurahan boundaries: import admin areas first")
    return (row["west"], row["south"], row["east"], row["north"]), row["metric_srid"]


def import_raster(
    conn: psycopg.Connection,
    city_code: str,
    path: Path,
    model: str | None = None,
    year: int | None = None,
    source: str | None = None,
    cell_size_m: float = DEFAULT_CELL_SIZE_M,
    dry_run: bool = False,
) -> PopulationReport:
    """Build and write the city's population grid from a raster (in the caller's transaction)."""
    if not 10 <= cell_size_m <= 1000:
        raise PopulationFileError(f"cell size {cell_size_m} m: use 10 to 1000 m (100 m matches WorldPop)")
    bounds, srid = city_bounds(conn, city_code)
    raster = read_raster(path, bounds, srid, cell_size_m)
    kelurahan = store.kelurahan_for_grid(conn, city_code)
    grid = scale_to_official(kelurahan, raster)
    year = year if year is not None else year_in_name(path.name)
    model = model or path.stem
    names = {area["code"]: area["name"] for area in kelurahan}
    report = PopulationReport(
        model=f"{model} ({year})" if year else model,
        cells=len(grid.x),
        people=float(grid.population.sum()),
        kelurahan=len(kelurahan),
        even_spread=[f"{names[c]} ({c})" for c in grid.even_spread],
        raster_count_kept=[f"{names[c]} ({c})" for c in grid.raster_count_kept],
        dry_run=dry_run,
    )
    if not dry_run:
        store.replace_grid(
            conn,
            city_code,
            {
                "model": model,
                "year": year,
                "source": source or path.name,
                "cell_size_m": cell_size_m,
                "raster_crs": raster.crs,
                "even": grid.even_spread,
            },
            grid.kelurahan_codes,
            grid.x,
            grid.y,
            grid.population,
            grid.raster_population,
        )
    return report


def read_kelurahan_table(path: Path, known_codes: set[str]) -> list[dict]:
    """Rows of a CSV (code, population, year, source); every bad row is reported, nothing returned."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        headers = [h.strip().lower() for h in reader.fieldnames or []]
        missing = [column for column in TABLE_COLUMNS if column not in headers]
        if missing:
            raise PopulationFileError(
                f"{path.name} lacks the column(s) {', '.join(missing)}; a kelurahan table has the columns "
                f"{', '.join(TABLE_COLUMNS)}"
            )
        rows, problems = [], []
        for number, raw in enumerate(reader, start=2):
            row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
            try:
                rows.append(_table_row(row, known_codes))
            except ValueError as exc:
                problems.append(f"line {number}: {exc}")
    if problems:
        raise PopulationFileError(
            f"{path.name}: {len(problems)} bad row(s), nothing written:\n" + "\n".join(problems)
        )
    if not rows:
        raise PopulationFileError(f"{path.name} has no rows")
    return rows


def _table_row(row: dict, known_codes: set[str]) -> dict:
    if row["code"] not in known_codes:
        raise ValueError(f"{row['code']!r} is not a kelurahan code of this city")
    if not re.fullmatch(r"\d+", row["population"]):
        raise ValueError(f"population {row['population']!r} is not a whole number of people")
    if not re.fullmatch(r"\d{4}", row["year"]) or not 1900 <= int(row["year"]) <= 2200:
        raise ValueError(f"year {row['year']!r} is not a year such as 2024")
    if not row["source"]:
        raise ValueError("source is empty: say where the figure comes from (e.g. BPS Kota Cilegon 2024)")
    return {
        "code": row["code"],
        "population": int(row["population"]),
        "year": int(row["year"]),
        "source": row["source"],
    }


def import_kelurahan_table(
    conn: psycopg.Connection, city_code: str, path: Path, dry_run: bool = False
) -> PopulationReport:
    """Update official kelurahan totals and spread them over the grid again (in the caller's transaction)."""
    kelurahan = store.kelurahan_for_grid(conn, city_code)
    rows = read_kelurahan_table(path, {area["code"] for area in kelurahan})
    report = PopulationReport(
        model=store.model_name(conn, city_code), updated_totals=len(rows), dry_run=dry_run
    )
    if dry_run:
        return report
    store.update_kelurahan_totals(conn, city_code, rows)
    names = {area["code"]: area["name"] for area in kelurahan}
    if store.grid(conn, city_code) is not None:
        even = store.rescale_cells(conn, city_code, [row["code"] for row in rows])
        report.even_spread = [f"{names[c]} ({c})" for c in even]
        summary = conn.execute(
            "SELECT count(*) AS cells, coalesce(sum(population), 0) AS people, "
            "count(DISTINCT kelurahan_code) AS kelurahan FROM population_cells WHERE city_code = %s",
            (city_code,),
        ).fetchone()
        report.cells, report.people, report.kelurahan = (
            summary["cells"],
            summary["people"],
            summary["kelurahan"],
        )
    return report


def import_file(conn: psycopg.Connection, city_code: str, path: Path, **options) -> PopulationReport:
    """A .csv is a kelurahan table; anything else is read as a raster."""
    if path.suffix.lower() == ".csv":
        return import_kelurahan_table(conn, city_code, path, dry_run=options.get("dry_run", False))
    return import_raster(conn, city_code, path, **options)
