"""geo-app import-population: population rasters in other CRS with nodata, bad files, kelurahan tables,
and coverage with the population grid against a hand computation."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from conftest import execute
from coverage_city import CITY as SQUARE_CITY
from coverage_city import ORIGIN, ensure_city, lonlat
from green_city import BEFORE, GREEN_CITY, build_green_city
from green_city import X0 as GREEN_X0
from green_city import Y0 as GREEN_Y0
from green_city import code as green_code
from incident_city import create_city, drop_city
from pyproj import Transformer
from rasterio.transform import from_origin

from geo_app.analysis import coverage, siting
from geo_app.analysis import green as green_analysis
from geo_app.catalog import load_catalog
from geo_app.cli import main
from geo_app.db import connect, transaction
from geo_app.ingest import population
from geo_app.ingest.population import PopulationFileError

CODE = "99.36"
OFFICIAL = {"01.1001": 1000, "01.1002": 2000, "02.1001": 3000, "02.1002": 4000}
LEBAK_GEDE, DERINGO, CITANGKIL, KARANG_ASEM = (f"{CODE}.{k}" for k in OFFICIAL)
NODATA = -99999.0


def write_raster(path, values: np.ndarray, transform, crs: str | None, nodata: float | None = NODATA) -> None:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=values.shape[1],
        height=values.shape[0],
        count=1,
        dtype="float32",
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dataset:
        dataset.write(values.astype("float32"), 1)


def mercator_raster(path, people_at, west=105.99, south=-6.11, east=106.11, north=-5.99, pixel_m=250.0):
    """A raster in EPSG:3857 whose value at each pixel centre is ``people_at(lon, lat)`` (NaN: nodata)."""
    to_mercator = Transformer.from_crs(4326, 3857, always_xy=True)
    to_lonlat = Transformer.from_crs(3857, 4326, always_xy=True)
    (x0, x1), (y0, y1) = to_mercator.transform([west, east], [south, north])
    columns, rows = int((x1 - x0) // pixel_m), int((y1 - y0) // pixel_m)
    xs = x0 + pixel_m * (np.arange(columns) + 0.5)
    ys = y1 - pixel_m * (np.arange(rows) + 0.5)
    lon, lat = to_lonlat.transform(*np.meshgrid(xs, ys))
    values = np.vectorize(people_at)(lon, lat)
    write_raster(
        path, np.where(np.isnan(values), NODATA, values), from_origin(x0, y1, pixel_m, pixel_m), "EPSG:3857"
    )


def pattern(lon: float, lat: float) -> float:
    """Lebak Gede: people in one block only; Deringo: nodata in its west half, 2 in the east
    (away from its border); Citangkil:
    1 south of lat -6.06; Karang Asem: nobody. Outside the city: nodata."""
    if not (106.0 <= lon <= 106.1 and -6.1 <= lat <= -6.0):
        return np.nan
    if lon < 106.05 and lat < -6.05:
        return 5.0 if 106.005 <= lon <= 106.015 and -6.095 <= lat <= -6.085 else 0.0
    if lon < 106.05:
        return np.nan if lon < 106.025 else 2.0 if lon < 106.045 else 0.0
    return 1.0 if lat < -6.06 else 0.0


@pytest.fixture(scope="module")
def city(database_url):
    create_city(database_url, CODE)
    with transaction(database_url) as conn:
        for suffix, people in OFFICIAL.items():
            conn.execute(
                "UPDATE admin_areas SET population = %s WHERE code = %s", (people, f"{CODE}.{suffix}")
            )
    yield CODE
    drop_city(database_url, CODE)


def query(database_url: str, sql: str, params=()) -> list[dict]:
    with connect(database_url) as conn:
        return conn.execute(sql, params).fetchall()


def cells_by_kelurahan(database_url, city_code):
    rows = query(
        database_url,
        "SELECT kelurahan_code, population, ST_X(ST_Centroid(geom)) AS lon, ST_Y(ST_Centroid(geom)) AS lat "
        "FROM population_cells WHERE city_code = %s",
        (city_code,),
    )
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(row["kelurahan_code"], []).append(row)
    return grouped


def test_a_mercator_raster_with_nodata_is_scaled_to_the_official_totals(database_url, city, tmp_path):
    path = tmp_path / "ppp_2020_mercator.tif"
    mercator_raster(path, pattern)
    with transaction(database_url) as conn:
        report = population.import_raster(conn, city, path, cell_size_m=200)
    assert report.model == "ppp_2020_mercator (2020)"
    assert report.even_spread == [f"Karang Asem ({KARANG_ASEM})"]
    assert "1 kelurahan with nobody in the raster, people spread evenly: Karang Asem" in "\n".join(
        report.lines()
    )
    cells = cells_by_kelurahan(database_url, city)
    for suffix, people in OFFICIAL.items():
        assert sum(c["population"] for c in cells[f"{CODE}.{suffix}"]) == pytest.approx(people, abs=1e-6)
    # Lebak Gede's people live in the block only (a cell of margin for resampling)
    for cell in cells[LEBAK_GEDE]:
        in_block = 106.003 <= cell["lon"] <= 106.017 and -6.097 <= cell["lat"] <= -6.083
        well_inside = 106.007 <= cell["lon"] <= 106.013 and -6.093 <= cell["lat"] <= -6.087
        assert cell["population"] > 0 if well_inside else in_block or cell["population"] == 0
    # Deringo's nodata half holds nobody; Citangkil's people are even south of -6.06; Karang Asem is even
    assert all(c["population"] == 0 for c in cells[DERINGO] if c["lon"] < 106.022)
    east = [
        c["population"] for c in cells[DERINGO] if 106.028 < c["lon"] < 106.042 and -6.047 < c["lat"] < -6.003
    ]
    assert max(east) == pytest.approx(min(east), rel=1e-6) and min(east) > 0
    assert all(c["population"] == 0 for c in cells[CITANGKIL] if c["lat"] > -6.057)
    south = [c["population"] for c in cells[CITANGKIL] if c["lat"] < -6.063 and 106.053 < c["lon"] < 106.097]
    assert max(south) == pytest.approx(min(south), rel=1e-6)
    spread = [c["population"] for c in cells[KARANG_ASEM]]
    assert max(spread) == pytest.approx(min(spread)) == pytest.approx(4000 / len(spread))
    with connect(database_url) as conn:
        grid = conn.execute("SELECT * FROM population_grids WHERE city_code = %s", (city,)).fetchone()
    assert (grid["model"], grid["year"], grid["raster_crs"]) == ("ppp_2020_mercator", 2020, "EPSG:3857")


def grid_rows(database_url, city_code):
    return query(
        database_url,
        "SELECT (SELECT count(*) FROM population_cells WHERE city_code = %s) AS cells, "
        "(SELECT string_agg(model, ',') FROM population_grids WHERE city_code = %s) AS model",
        (city_code, city_code),
    )[0]


def test_bad_files_get_clear_errors_and_write_nothing(database_url, city, tmp_path):
    mercator_raster(tmp_path / "good_2021.tif", pattern)
    with transaction(database_url) as conn:
        population.import_raster(conn, city, tmp_path / "good_2021.tif", cell_size_m=250)
    before = grid_rows(database_url, city)
    not_raster = tmp_path / "notes.tif"
    not_raster.write_text("this is a spreadsheet export, not a GeoTIFF")
    elsewhere = tmp_path / "papua.tif"  # lon 140: another island
    write_raster(elsewhere, np.ones((10, 10)), from_origin(140.0, -2.0, 0.01, 0.01), "EPSG:4326")
    no_crs = tmp_path / "no_crs.tif"
    write_raster(no_crs, np.ones((10, 10)), from_origin(106.0, -6.0, 0.01, 0.01), None)
    all_nodata = tmp_path / "empty.tif"
    write_raster(all_nodata, np.full((20, 20), NODATA), from_origin(106.0, -6.0, 0.005, 0.005), "EPSG:4326")
    follows_a_path = tmp_path / "worldpop.tif"  # GDAL VRT text: a driver that reads the file it names
    follows_a_path.write_text(
        f'<VRTDataset rasterXSize="10" rasterYSize="10"><SRS>EPSG:4326</SRS>'
        f"<GeoTransform>106.0, 0.01, 0, -6.0, 0, -0.01</GeoTransform>"
        f'<VRTRasterBand dataType="Float64" band="1"><SimpleSource><SourceFilename relativeToVRT="0">'
        f"{tmp_path / 'good_2021.tif'}</SourceFilename><SourceBand>1</SourceBand></SimpleSource>"
        f"</VRTRasterBand></VRTDataset>"
    )
    for path, message in (
        (not_raster, "is not a raster that can be read"),
        (follows_a_path, "is not a raster that can be read"),
        (elsewhere, "does not overlap the city: it covers lon 140.000..140.100"),
        (no_crs, "has no coordinate reference system; set it (e.g. gdal_edit.py -a_srs EPSG:4326"),
        (all_nodata, "does not overlap the city"),
    ):
        pattern_ = message.replace("(", r"\(").replace(".", r"\.")
        with pytest.raises(PopulationFileError, match=pattern_), transaction(database_url) as conn:
            population.import_file(conn, city, path)
        assert grid_rows(database_url, city) == before


def test_the_command_reports_and_a_kelurahan_table_updates_the_totals(
    database_url, city, tmp_path, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CITY_CODE", city)
    raster = tmp_path / "worldpop.tif"
    mercator_raster(raster, pattern)
    result = CliRunner().invoke(
        main, ["import-population", str(raster), "--year", "2023", "--cell-size", "250"]
    )
    assert result.exit_code == 0, result.output
    assert "population model: worldpop (2023)" in result.output and "10,000 people" in result.output
    table = tmp_path / "kelurahan.csv"
    table.write_text(
        f"code,population,year,source\n{CITANGKIL},3600,2024,BPS Kota Uji 2024\n{KARANG_ASEM},100,2024,BPS\n"
    )
    result = CliRunner().invoke(main, ["import-population", str(table)])
    assert result.exit_code == 0, result.output
    assert "official totals updated for 2 kelurahan" in result.output
    cells = cells_by_kelurahan(database_url, city)
    assert sum(c["population"] for c in cells[CITANGKIL]) == pytest.approx(3600, abs=1e-6)
    assert sum(c["population"] for c in cells[KARANG_ASEM]) == pytest.approx(100, abs=1e-6)
    assert sum(c["population"] for c in cells[LEBAK_GEDE]) == pytest.approx(1000, abs=1e-6)
    area = query(
        database_url,
        "SELECT population, population_year, population_source FROM admin_areas WHERE code = %s",
        (CITANGKIL,),
    )[0]
    assert (area["population"], area["population_year"], area["population_source"]) == (
        3600,
        2024,
        "BPS Kota Uji 2024",
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"code,population,year,source\n{CITANGKIL},-5,2024,BPS\n99.99.99.9999,10,2024,BPS\n{DERINGO},10,24,BPS\n"
    )
    result = CliRunner().invoke(main, ["import-population", str(bad)])
    assert result.exit_code != 0
    for line in (
        "line 2: population '-5' is not a whole number",
        "line 3: '99.99.99.9999' is not a kelurahan code",
        "line 4: year '24' is not a year",
    ):
        assert line in result.output
    assert sum(c["population"] for c in cells_by_kelurahan(database_url, city)[CITANGKIL]) == pytest.approx(
        3600
    )


# --- coverage with the grid, by hand, on the square city of tests/coverage_city.py --------------------------


@pytest.fixture
def square_city(database_url):
    ensure_city(database_url)
    execute(database_url, "DELETE FROM assets WHERE city_code = %s", (SQUARE_CITY,))
    yield SQUARE_CITY
    execute(database_url, "DELETE FROM assets WHERE city_code = %s", (SQUARE_CITY,))
    execute(database_url, "DELETE FROM population_grids WHERE city_code = %s", (SQUARE_CITY,))


def test_coverage_with_the_grid_matches_a_hand_computation(database_url, square_city, settings, tmp_path):
    """A1 (4,000 people) lives in four 100 m pixels around (600, 600); A2 (2,000) evenly in its 400 cells
    of 100 m (5 each); B1's raster is empty. A CCTV of 300 m at (600, 600) covers all of A1's people; one
    at (3000, 1000) covers the cells whose centre (offsets 50, 150, 250 m) is within 300 m: 8 per quadrant,
    32 cells = 160 people."""
    values = np.zeros((40, 40))
    values[33:35, 5:7] = 10.0  # rows from the north: y 500..700, x 500..700
    values[20:, 20:] = 1.0
    path = tmp_path / "square_2024.tif"
    write_raster(path, values, from_origin(ORIGIN[0], ORIGIN[1] + 4000, 100, 100), "EPSG:32748")
    with transaction(database_url) as conn:
        report = population.import_raster(conn, square_city, path)
    assert report.even_spread == ["B1 (99.04.02.1001)"]
    for x, y in ((600, 600), (3000, 1000)):
        execute(
            database_url,
            "INSERT INTO assets (city_code, asset_type, name, owner_opd, dimension, status, geom) "
            "VALUES (%s, 'cctv', 'uji', 'OPD', 'living', 'active', ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            (square_city, *lonlat(x, y)),
        )
    with connect(database_url) as conn:
        result = coverage.compute_coverage(
            conn,
            square_city,
            load_catalog(settings.layers_dir),
            coverage.CoverageRequest(("cctv",), radius_m=300),
        )
    rows = {row["code"]: row for row in result.kelurahan.to_dict("records")}
    assert rows["99.04.01.1001"]["population_covered"] == pytest.approx(4000)
    assert rows["99.04.01.1002"]["population_covered"] == pytest.approx(160)
    assert rows["99.04.02.1001"]["population_covered"] == 0
    assert result.areas.population_model == "square_2024 (2024)"
    # siting: a site in the empty middle of A1 reaches nobody on the grid (by area it would reach 283
    # people), a site at (3000, 1000) reaches A2's 160, so that one is chosen
    with connect(database_url) as conn:
        execute(database_url, "DELETE FROM assets WHERE city_code = %s", (square_city,))
        catalog = load_catalog(settings.layers_dir)
        nothing_yet = coverage.compute_coverage(
            conn, square_city, catalog, coverage.CoverageRequest(("cctv",), radius_m=300)
        )
        sites = siting.suggest_sites(
            conn,
            square_city,
            catalog,
            nothing_yet,
            "cctv",
            1,
            candidate_lonlat=np.array([lonlat(1500, 1500), lonlat(3000, 1000)]),
        )
    assert sites["population_model"] == "square_2024 (2024)"
    assert sites["sites"][0]["population_gain"] == pytest.approx(160)
    assert sites["sites"][0]["kelurahan_code"] == "99.04.01.1002"


def test_the_sample_city_loads_its_raster_through_the_importer(database_url, sample_city):
    """load-sample writes a WorldPop-like raster and imports it: kelurahan sums are the official totals,
    and people per cell are few in city forest and in the industrial kelurahan."""
    with connect(database_url) as conn:
        grid = conn.execute("SELECT * FROM population_grids WHERE city_code = %s", (sample_city,)).fetchone()
        sums = conn.execute(
            """
            SELECT k.code, k.population, sum(c.population) AS cells FROM admin_areas k
            JOIN population_cells c ON c.kelurahan_code = k.code
            WHERE k.city_code = %s AND k.level = 'kelurahan' GROUP BY k.code, k.population
            """,
            (sample_city,),
        ).fetchall()
        forest, city_mean = (
            conn.execute(
                """
            SELECT avg(c.population) FILTER (WHERE EXISTS (
                       SELECT 1 FROM green_areas g WHERE g.city_code = c.city_code
                       AND g.green_type = 'hutan_kota'
                       AND ST_Contains(g.geom, ST_Centroid(c.geom)))) AS forest,
                   avg(c.population) AS city_mean
            FROM population_cells c WHERE c.city_code = %s
            """,
                (sample_city,),
            )
            .fetchone()
            .values()
        )
    assert (grid["model"], grid["cell_size_m"], grid["raster_crs"]) == (
        "sample_worldpop_like",
        100,
        "EPSG:4326",
    )
    assert grid["year"] is not None and grid["even_spread_kelurahan"] == []
    assert len(sums) == 43
    for row in sums:
        assert row["cells"] == pytest.approx(row["population"], abs=1e-6)
    assert forest < city_mean / 5


def test_park_access_with_the_grid_matches_a_hand_computation(database_url, tmp_path):
    """On the green city (tests/green_city.py) park S fills (450..550)² of A1 and U the corner (0..100,
    1900..2000) of B1; 300 m reach. A1's 10,000 people live half in the cell (0..100)² (566 m from S:
    beyond reach), half in (600..700, 400..500) (100 m from S): 5,000 within reach. B1's raster is empty,
    so its 2,000 people are spread evenly over its 100 cells; 15 cell centres lie within 300 m of U
    (offsets 0, 50, 150, 250 m each way, but not 250 and 250): 300 people."""
    values = np.zeros((20, 20))
    values[19, 0] = values[15, 6] = 7.0  # rows from the north (y 2000): row 19 is y 0..100, row 15 y 400..500
    path = tmp_path / "green_city_2022.tif"
    write_raster(path, values, from_origin(GREEN_X0, GREEN_Y0 + 2000, 100, 100), "EPSG:32748")
    build_green_city(database_url)
    try:
        with transaction(database_url) as conn:
            population.import_raster(conn, GREEN_CITY, path)
        with connect(database_url) as conn:
            stats, _ = green_analysis.load_access(
                conn, GREEN_CITY, "Kota Uji Hijau", 300, 0.5, BEFORE + timedelta(days=1)
            )
    finally:
        execute(database_url, "DELETE FROM population_grids WHERE city_code = %s", (GREEN_CITY,))
    stats = stats.set_index("code")
    assert stats.loc[green_code("A1"), "residents_covered"] == pytest.approx(5000)
    assert stats.loc[green_code("B1"), "residents_covered"] == pytest.approx(300)
    assert stats.loc[green_code("A2"), "residents_covered"] == 0
