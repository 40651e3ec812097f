"""Bulk import of green areas: geometry hygiene, overlap options, one transaction, file formats, CLI."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import pytest
from click.testing import CliRunner
from green_city import GREEN_CITY, X0, Y0, build_green_city, lonlat
from shapely import Point, Polygon
from shapely.geometry import box

from geo_app.catalog import load_catalog
from geo_app.cli import main
from geo_app.ingest import green as green_ingest

# Free land in A2 is x 1000..2000, y 0..1000 except P3 (x >= 1500, y >= 750); A1 is all green up to y 750.
FEATURES = [
    ("baru", "taman_kota", box(1100, 100, 1200, 200)),  # 1 ha, fine
    ("dasi kupu-kupu", "taman_kota", Polygon([(1300, 300), (1400, 400), (1400, 300), (1300, 400)])),
    (
        "sudut terpilin",
        "hutan_kota",
        Polygon([(1300, 100), (1400, 100), (1400, 200), (1300, 200), (1301, 99)]),
    ),
    ("di luar kota", "taman_kota", box(3000, 0, 3100, 100)),
    ("di tepi kota", "jalur_hijau", box(1900, 100, 2100, 200)),  # half outside the city
    ("serpihan", "taman_kota", box(1600, 100, 1602, 103)),  # 6 m²
    ("tumpang tindih", "taman_kota", box(900, 400, 1100, 600)),  # 1 ha over P1, 2 ha over P2
    ("titik", "taman_kota", Point(1500, 500)),
    ("tipe aneh", "kebun_binatang", box(1700, 100, 1800, 200)),
]


def frame(features=FEATURES, crs=32748) -> gpd.GeoDataFrame:
    """Features drawn in local metres, in EPSG:32748 (or lon/lat with crs=4326)."""
    from shapely.affinity import translate

    geoms = [translate(geom, X0, Y0) for _, _, geom in features]
    if crs == 4326:
        geoms = [lonlat(geom) for _, _, geom in features]
    return gpd.GeoDataFrame(
        {"nama": [name for name, _, _ in features], "tipe": [kind for _, kind, _ in features], "opd": "DLH"},
        geometry=geoms,
        crs=crs,
    )


@pytest.fixture(scope="module")
def catalog(settings):
    return load_catalog(settings.layers_dir)


@pytest.fixture(scope="module", autouse=True)
def green_city(database_url):
    return build_green_city(database_url)


def current_count(conn) -> int:
    return conn.execute(
        "SELECT count(*) AS n FROM green_areas WHERE city_code = %s AND valid_to IS NULL", (GREEN_CITY,)
    ).fetchone()["n"]


def run(conn, catalog, features=FEATURES, **options):
    data = frame(features).to_crs(4326)
    return green_ingest.import_frame(conn, GREEN_CITY, catalog, data, source="uji", **options)


def by_name(report):
    return {result.name or f"#{result.feature}": result for result in report.results}


def test_report_per_feature_and_nothing_written_when_one_is_rejected(conn, catalog):
    before = current_count(conn)
    report = run(conn, catalog)
    results = by_name(report)
    assert not report.committed and current_count(conn) == before
    assert "nothing written" in report.message
    assert results["baru"].status == "imported" and results["baru"].area_ha == pytest.approx(1.0, rel=1e-6)
    bow_tie = results["dasi kupu-kupu"]
    assert bow_tie.status == "rejected" and "Self-intersection" in bow_tie.errors[0]
    assert "redraw" in bow_tie.errors[0]
    twisted = results["sudut terpilin"]
    assert twisted.status == "imported" and "repaired with ST_MakeValid" in twisted.warnings[0]
    assert results["di luar kota"].status == "rejected"
    assert "outside the city" in results["di luar kota"].errors[0]
    edge = results["di tepi kota"]
    assert edge.status == "imported" and edge.area_ha == pytest.approx(1.0, rel=1e-5)
    assert "outside the city boundary cut off" in edge.warnings[0]
    sliver = results["serpihan"]
    assert sliver.status == "dropped" and "under 10 m²" in sliver.notes[0]
    overlapping = results["tumpang tindih"]
    assert overlapping.status == "rejected"
    assert [round(o["overlap_m2"]) for o in overlapping.overlaps] == [10_000, 20_000]
    assert "the geometry is a Point" in results["titik"].errors[0]
    assert "unknown green type 'kebun_binatang'" in results["tipe aneh"].errors[0]


def test_keep_valid_writes_the_good_features(conn, catalog):
    before = current_count(conn)
    report = run(conn, catalog, keep_valid=True)
    assert report.committed
    assert (report.count("imported"), report.count("dropped"), report.count("rejected")) == (3, 1, 5)
    assert current_count(conn) == before + 3
    stored = conn.execute(
        "SELECT green_type, is_public, managing_opd, source FROM green_areas WHERE id = %s",
        (by_name(report)["baru"].id,),
    ).fetchone()
    assert stored == {"green_type": "taman_kota", "is_public": True, "managing_opd": "DLH", "source": "uji"}


def test_dry_run_reports_and_writes_nothing(conn, catalog):
    before = current_count(conn)
    report = run(conn, catalog, features=FEATURES[:1], dry_run=True)
    assert report.count("imported") == 1 and not report.committed and "dry run" in report.message
    assert current_count(conn) == before


@pytest.mark.parametrize(("overlap", "area_ha"), [("clip", 2.0), ("keep", 4.0)])
def test_overlap_options(conn, catalog, overlap, area_ha):
    result = run(conn, catalog, features=[FEATURES[6]], overlap=overlap).results[0]
    assert result.status == "imported"
    assert result.area_ha == pytest.approx(area_ha, rel=1e-6)
    assert len(result.overlaps) == 2 and result.warnings


def test_clip_drops_a_feature_that_is_already_mapped(conn, catalog):
    result = run(
        conn, catalog, features=[("lagi", "taman_kota", box(10, 10, 50, 50))], overlap="clip"
    ).results[0]
    assert result.status == "dropped" and "already mapped" in result.notes[0]


def test_overlaps_between_features_of_the_same_file(conn, catalog):
    features = [
        ("satu", "taman_kota", box(1100, 300, 1200, 400)),
        ("dua", "taman_kota", box(1150, 300, 1250, 400)),
    ]
    results = by_name(run(conn, catalog, features=features))
    assert results["satu"].status == "imported"
    assert results["dua"].status == "rejected"
    assert results["dua"].overlaps[0]["overlap_m2"] == pytest.approx(5_000, rel=1e-6)


def write(tmp_path, kind) -> str:
    good = FEATURES[:1] + FEATURES[4:5]
    if kind == "gpkg":
        path = tmp_path / "rth.gpkg"
        frame(good).to_file(path, layer="rth", driver="GPKG")
    elif kind == "shp":
        folder = tmp_path / "shp"
        folder.mkdir()
        frame(good).to_file(folder / "rth.shp")
        path = tmp_path / "rth.zip"
        with zipfile.ZipFile(path, "w") as archive:
            for member in folder.iterdir():
                archive.write(member, member.name)
    elif kind == "kml":
        path = tmp_path / "rth.kml"
        frame(good, crs=4326).rename(columns={"nama": "Name"}).to_file(path, driver="KML")
    else:
        path = tmp_path / "rth.geojson"
        frame(good).to_file(path, driver="GeoJSON")
    return str(path)


@pytest.mark.parametrize("kind", ["gpkg", "shp", "kml", "geojson"])
def test_file_formats_in_any_crs(conn, catalog, tmp_path, kind):
    report = green_ingest.import_file(conn, GREEN_CITY, catalog, write(tmp_path, kind), dry_run=True)
    results = by_name(report)
    assert [result.status for result in report.results] == ["imported", "imported"]
    assert results["baru"].area_ha == pytest.approx(1.0, rel=1e-5)
    assert results["di tepi kota"].area_ha == pytest.approx(1.0, rel=1e-5)


def test_command_line_import(database_url, tmp_path, conn):
    runner = CliRunner()
    env = {"DATABASE_URL": database_url, "CITY_CODE": GREEN_CITY}
    path = write(tmp_path, "gpkg")
    dry = runner.invoke(main, ["import-green", path, "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "dry run: 2 feature(s) would be written" in dry.output
    before = current_count(conn)
    done = runner.invoke(main, ["import-green", path, "--overlap", "clip"], env=env)
    assert done.exit_code == 0, done.output
    conn.rollback()
    assert current_count(conn) == before + 2
    again = runner.invoke(main, ["import-green", path], env=env)
    assert again.exit_code == 1
    assert "overlaps existing green areas" in again.output
    build_green_city(database_url)


def test_attributes_from_indonesian_columns(catalog):
    import pandas as pd

    attributes = green_ingest.parse_attributes(
        {
            "Jenis RTH": "Hutan kota",
            "Kepemilikan": "privat",
            "Pengelola": " DLH ",
            "Nama": "Hutan A",
            "Tanggal Survei": pd.Timestamp("2024-03-05"),
            "Sumber": pd.NaT,
        },
        catalog,
        default_source="berkas.gpkg",
    )
    assert attributes == {
        "green_type": "hutan_kota",
        "is_public": False,
        "managing_opd": "DLH",
        "name": "Hutan A",
        "survey_date": pd.Timestamp("2024-03-05").date(),
        "source": "berkas.gpkg",
    }
    assert green_ingest.parse_attributes({"tipe": "pekarangan"}, catalog)["is_public"] is False
    with pytest.raises(green_ingest.GreenEditError, match="public/private 'mungkin'"):
        green_ingest.parse_attributes({"tipe": "taman_kota", "publik": "mungkin"}, catalog)
