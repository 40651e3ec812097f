"""Importing official kelurahan boundaries: matching by code, name, variant and typo; what moves with them.

A hand-made city (code 99.72, six 1 km squares in two kecamatan, drawn in EPSG:32748 metres) lives inside
the rolled-back ``conn`` transaction of each test, so nothing here outlasts the test. Its "official" file
moves the border between Kedaleman and Karang Asem 500 m east, so the expected populations, assignments and
areas can be worked out by hand.

    y 1000-2000 | Dringo (Deringo)  | Lebakgede (Lebak Gede) | Sukamaju |  kecamatan 99.72.02 Citangkil, 6,001
    y    0-1000 | Kedaleman         | Karang Asem            | Sukamaju |  kecamatan 99.72.01 Cibeber,   3,000
                  x 0-1000            1000-2000                2000-3000  (official: 0-1500 | 1500-2000 | ...)
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Transformer
from shapely import Polygon, box

from geo_app.cli import main
from geo_app.db import connect
from geo_app.ingest.areas import (
    AreaImportRefused,
    Known,
    import_areas,
    match_features,
    normalise_code,
    normalise_name,
    respread_populations,
)
from geo_app.ingest.readers import ReadError
from geo_app.store.areas import AdminArea, upsert_areas, upsert_city

CITY = "99.72"
X0, Y0 = 615_000, 9_336_000  # Cilegon, in UTM 48S
TO_LONLAT = Transformer.from_crs(32748, 4326, always_xy=True)
TO_METRIC = Transformer.from_crs(4326, 32748, always_xy=True)
KECAMATAN = {"99.72.01": ("Cibeber", 3000), "99.72.02": ("Citangkil", 6001)}
# code: name, variants, kecamatan, the current (sample) square, the official polygon's x range
KELURAHAN = {
    "99.72.01.1001": ("Kedaleman", (), "99.72.01", (0, 0), (0, 1500)),
    "99.72.01.1002": ("Karang Asem", ("Karangasem",), "99.72.01", (1000, 0), (1500, 2000)),
    "99.72.01.1003": ("Sukamaju", (), "99.72.01", (2000, 0), (2000, 3000)),
    "99.72.02.1001": ("Dringo", ("Deringo",), "99.72.02", (0, 1000), (0, 1000)),
    "99.72.02.1002": ("Lebakgede", ("Lebak Gede",), "99.72.02", (1000, 1000), (1000, 2000)),
    "99.72.02.1003": ("Sukamaju", (), "99.72.02", (2000, 1000), (2000, 3000)),
}
SERANG_SQUARE = (8000, 8000)


def lonlat(geometry):
    return shapely.transform(geometry, lambda xy: _apply(TO_LONLAT, xy))


def metric(geometry):
    return shapely.transform(geometry, lambda xy: _apply(TO_METRIC, xy))


def _apply(transformer, xy):
    return np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))


def square(x: float, y: float, size: float = 1000):
    """A metric square relative to the city's origin."""
    return box(X0 + x, Y0 + y, X0 + x + size, Y0 + y + size)


def point(x: float, y: float):
    return shapely.Point(X0 + x, Y0 + y)


def estimates(kecamatan_code: str) -> list[int]:
    """The sample estimate: the kecamatan total spread equally over its three equal squares."""
    total = KECAMATAN[kecamatan_code][1]
    return [total // 3 + (1 if i < total % 3 else 0) for i in range(3)]


def create_city(conn) -> None:
    upsert_city(conn, CITY, "Kota Uji Batas", timezone="Asia/Jakarta", metric_srid=32748)
    cells = {code: square(*spec[3]) for code, spec in KELURAHAN.items()}
    areas = [
        AdminArea(
            CITY, "kota", "Kota Uji Batas", None, lonlat(shapely.union_all(list(cells.values()))), "test"
        )
    ]
    for code, (name, total) in KECAMATAN.items():
        members = [cells[k] for k, spec in KELURAHAN.items() if spec[2] == code]
        areas.append(
            AdminArea(
                code,
                "kecamatan",
                name,
                CITY,
                lonlat(shapely.union_all(members)),
                "test",
                population=total,
                population_source="DKB test",
                population_year=2025,
            )
        )
    counts = {code: iter(estimates(code)) for code in KECAMATAN}
    for code, (name, variants, kecamatan, _cell, _official) in KELURAHAN.items():
        areas.append(
            AdminArea(
                code,
                "kelurahan",
                name,
                kecamatan,
                lonlat(cells[code]),
                "sample",
                name_variants=variants,
                population=next(counts[kecamatan]),
                population_source="spread",
                population_year=2025,
                population_is_estimate=True,
            )
        )
    upsert_areas(conn, CITY, areas)
    at = lambda x, y: lonlat(point(x, y)).wkb  # noqa: E731
    conn.execute(
        "INSERT INTO assets (city_code, asset_type, name, owner_opd, dimension, kelurahan_code, geom) VALUES "
        "(%s, 'cctv', 'moves west', 'Diskominfo', 'governance', '99.72.01.1002', ST_GeomFromWKB(%s, 4326)),"
        "(%s, 'cctv', 'stays', 'Diskominfo', 'governance', '99.72.02.1003', ST_GeomFromWKB(%s, 4326))",
        (CITY, at(1200, 500), CITY, at(2500, 1500)),
    )
    conn.execute(
        "INSERT INTO incidents (city_code, external_id, call_type, received_at, geom, geocode_precision, "
        "kelurahan_code, kecamatan_code) VALUES "
        "(%s, 't-exact', 'darurat', now(), ST_GeomFromWKB(%s, 4326), 'exact', '99.72.01.1002', '99.72.01'),"
        "(%s, 't-kel', 'darurat', now(), ST_GeomFromWKB(%s, 4326), 'kelurahan', '99.72.01.1002', '99.72.01')",
        (CITY, at(1200, 600), CITY, at(1100, 500)),
    )
    conn.execute(
        "INSERT INTO gazetteer (city_code, kind, name, kelurahan_code, geom) "
        "VALUES (%s, 'landmark', 'Masjid', '99.72.01.1002', ST_GeomFromWKB(%s, 4326))",
        (CITY, at(1300, 400)),
    )


def official(codes=True, names=None) -> gpd.GeoDataFrame:
    """The 'official' file: the moved border, codes without dots under KODE_KEL and a BPS code column."""
    rows = []
    for index, (code, (name, _variants, kecamatan, cell, (x_from, x_to))) in enumerate(KELURAHAN.items()):
        row = {"nama": (names or {}).get(code, name), "kecamatan": KECAMATAN[kecamatan][0]}
        if codes:
            row["KODE_KEL"] = normalise_code(code)
            row["kode_bps"] = f"99720{index:02d}001"
        row["geometry"] = box(X0 + x_from, Y0 + cell[1], X0 + x_to, Y0 + cell[1] + 1000)
        rows.append(row)
    return gpd.GeoDataFrame(rows, crs=32748)


def write(frame: gpd.GeoDataFrame, path: Path) -> Path:
    if path.suffix == ".zip":
        folder = path.with_suffix("")
        folder.mkdir()
        frame.to_file(folder / "batas_kelurahan.shp")
        with zipfile.ZipFile(path, "w") as archive:
            for file in folder.iterdir():
                archive.write(file, file.name)
    elif path.suffix == ".kml":
        frame.to_crs(4326).to_file(path, driver="LIBKML")
    else:
        frame.to_file(path)
    return path


def snapshot(conn) -> list:
    """Everything an import may touch, to prove that it touched nothing."""
    return [
        conn.execute(
            "SELECT code, md5(ST_AsBinary(geom)) AS g, population, population_source, boundary_source "
            "FROM admin_areas WHERE city_code = %s ORDER BY code",
            (CITY,),
        ).fetchall(),
        conn.execute(
            "SELECT id, kelurahan_code FROM assets WHERE city_code = %s ORDER BY id", (CITY,)
        ).fetchall(),
        conn.execute(
            "SELECT id, kelurahan_code, kecamatan_code, md5(ST_AsBinary(geom)) AS g FROM incidents "
            "WHERE city_code = %s ORDER BY id",
            (CITY,),
        ).fetchall(),
        conn.execute(
            "SELECT id, kelurahan_code FROM gazetteer WHERE city_code = %s ORDER BY id", (CITY,)
        ).fetchall(),
        conn.execute("SELECT count(*) AS n FROM dataset_loads WHERE city_code = %s", (CITY,)).fetchone(),
    ]


def area_km2(conn, code: str) -> float:
    row = conn.execute(
        "SELECT ST_Area(ST_Transform(geom, 32748)) / 1e6 AS a FROM admin_areas WHERE code = %s", (code,)
    ).fetchone()
    return row["a"]


def populations(conn) -> dict[str, int]:
    rows = conn.execute(
        "SELECT code, population FROM admin_areas WHERE city_code = %s AND level = 'kelurahan'", (CITY,)
    )
    return {row["code"]: row["population"] for row in rows}


@pytest.fixture
def city(conn):
    create_city(conn)
    return conn


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".zip", ".kml"])
def test_import_by_code_replaces_boundaries_and_what_depends_on_them(city, tmp_path, suffix):
    conn = city
    path = write(official(), tmp_path / f"batas{suffix}")
    report = import_areas(conn, CITY, path)

    assert report.written and not report.dry_run
    assert report.columns["code"] == "KODE_KEL"  # not kode_bps, whose values look like codes too
    assert [m.method for m in report.matches] == ["code"] * 6
    assert not report.unmatched and not report.missing and not report.repaired
    # Areas in metres, by hand: Kedaleman 1.5 km², Karang Asem 0.5 km², each kecamatan 3 km², the city 6.
    assert area_km2(conn, "99.72.01.1001") == pytest.approx(1.5, rel=1e-4)
    assert area_km2(conn, "99.72.01.1002") == pytest.approx(0.5, rel=1e-4)
    assert area_km2(conn, "99.72.01") == pytest.approx(3.0, rel=1e-4)
    assert area_km2(conn, CITY) == pytest.approx(6.0, rel=1e-4)
    sources = conn.execute(
        "SELECT level, boundary_source FROM admin_areas WHERE city_code = %s", (CITY,)
    ).fetchall()
    assert all(
        path.name in row["boundary_source"] and "imported" in row["boundary_source"] for row in sources
    )
    # Population re-spread by the new areas (3,000 over 1.5 : 0.5 : 1), kecamatan totals kept exact.
    got = populations(conn)
    assert [got[c] for c in ("99.72.01.1001", "99.72.01.1002", "99.72.01.1003")] == [1500, 500, 1000]
    assert sum(got[c] for c in got if c.startswith("99.72.02")) == 6001
    assert report.respread_kecamatan == ["99.72.01", "99.72.02"]
    flags = conn.execute(
        "SELECT bool_and(population_is_estimate) AS e FROM admin_areas "
        "WHERE city_code = %s AND level = 'kelurahan'",
        (CITY,),
    ).fetchone()
    assert flags["e"]
    # The asset, the exact incident and the landmark at x = 1,200-1,300 m are now in Kedaleman.
    assets = {
        r["name"]: r["kelurahan_code"]
        for r in conn.execute("SELECT name, kelurahan_code FROM assets WHERE city_code = %s", (CITY,))
    }
    assert assets == {"moves west": "99.72.01.1001", "stays": "99.72.02.1003"}
    incidents = {
        r["external_id"]: r
        for r in conn.execute(
            "SELECT external_id, kelurahan_code, kecamatan_code, "
            "ST_Covers((SELECT geom FROM admin_areas WHERE code = '99.72.01.1002'), geom) AS in_karang_asem "
            "FROM incidents WHERE city_code = %s",
            (CITY,),
        )
    }
    assert incidents["t-exact"]["kelurahan_code"] == "99.72.01.1001"
    assert incidents["t-exact"]["kecamatan_code"] == "99.72.01"
    # Geocoded to Karang Asem only: it stays there, and its stand-in point moves inside the new boundary.
    assert incidents["t-kel"]["kelurahan_code"] == "99.72.01.1002" and incidents["t-kel"]["in_karang_asem"]
    landmark = conn.execute("SELECT kelurahan_code FROM gazetteer WHERE city_code = %s", (CITY,)).fetchone()
    assert landmark["kelurahan_code"] == "99.72.01.1001"
    assert report.reassigned == {
        "assets": 1,
        "incidents": 1,
        "gazetteer": 1,
        "incident points moved into their kelurahan": 1,
    }
    load = conn.execute(
        "SELECT layer, source, is_sample, row_count FROM dataset_loads WHERE city_code = %s", (CITY,)
    ).fetchone()
    assert load == {"layer": "admin_areas", "source": path.name, "is_sample": False, "row_count": 6}
    text = "\n".join(report.lines())
    assert "matched 6 of 6 kelurahan (100%): 6 by code, 0 by name, 0 by fuzzy name" in text


def test_import_by_names_with_variants_a_typo_and_a_foreign_kelurahan(city, tmp_path):
    conn = city
    names = {
        "99.72.01.1001": "KEDALEMEN",
        "99.72.01.1002": "Kel. Karangasem",
        "99.72.02.1001": "Deringo",
        "99.72.02.1002": "Lebak-Gede",
    }
    frame = official(codes=False, names=names)
    foreign = gpd.GeoDataFrame(
        [{"nama": "Kaligandu", "kecamatan": "Serang", "geometry": square(*SERANG_SQUARE)}], crs=32748
    )
    path = write(gpd.pd.concat([frame, foreign], ignore_index=True), tmp_path / "batas_nama.gpkg")
    report = import_areas(conn, CITY, path)

    matched = {m.code: (m.method, m.label) for m in report.matches}
    assert matched == {
        "99.72.01.1001": ("fuzzy", "KEDALEMEN"),
        "99.72.01.1002": ("name", "Kel. Karangasem"),
        "99.72.01.1003": ("name", "Sukamaju"),  # two Sukamaju, told apart by the kecamatan column
        "99.72.02.1001": ("name", "Deringo"),
        "99.72.02.1002": ("name", "Lebak-Gede"),
        "99.72.02.1003": ("name", "Sukamaju"),
    }
    sukamaju = {m.row: m.code for m in report.matches if m.label == "Sukamaju"}
    assert sukamaju == {2: "99.72.01.1003", 5: "99.72.02.1003"}
    (fuzzy,) = report.by_method("fuzzy")
    assert fuzzy.score == pytest.approx(0.889, abs=0.001)
    assert report.columns == {"code": None, "name": "nama", "kecamatan": "kecamatan"}
    (foreign_row,) = report.unmatched
    assert (
        foreign_row.label == "Kaligandu" and "no known kelurahan name is close enough" in foreign_row.reason
    )
    assert not report.missing
    text = "\n".join(report.lines())
    assert "fuzzy:   'KEDALEMEN' -> 99.72.01.1001 Kedaleman (score 0.89)" in text
    assert "feature #7 'Kaligandu': no known kelurahan name is close enough" in text
    assert area_km2(conn, "99.72.01.1001") == pytest.approx(1.5, rel=1e-4)


def test_a_kelurahan_of_another_city_is_reported_by_its_code(city, tmp_path):
    frame = official()
    extra = {
        "KODE_KEL": "36.04.05.1002",
        "kode_bps": "3604050002",
        "nama": "Cibeber",
        "kecamatan": "Serang",
        "geometry": square(*SERANG_SQUARE),
    }
    frame = gpd.GeoDataFrame(
        gpd.pd.concat([frame, gpd.GeoDataFrame([extra], crs=32748)], ignore_index=True), crs=32748
    )
    report = import_areas(city, CITY, write(frame, tmp_path / "with_foreign.geojson"), dry_run=True)
    assert len(report.matches) == 6
    (foreign,) = report.unmatched
    assert foreign.reason == "code 36.04.05.1002 is not in city 99.72"


def test_too_few_matches_are_refused_and_write_nothing_unless_partial_is_allowed(city, tmp_path):
    conn = city
    path = write(official().iloc[:3], tmp_path / "half.geojson")
    before = snapshot(conn)
    with pytest.raises(
        AreaImportRefused, match=r"only 3 of 6 kelurahan matched .*--allow-partial"
    ) as refused:
        import_areas(conn, CITY, path)
    assert snapshot(conn) == before
    assert [k.code for k in refused.value.report.missing] == [
        "99.72.02.1001",
        "99.72.02.1002",
        "99.72.02.1003",
    ]

    report = import_areas(conn, CITY, path, allow_partial=True)
    assert report.written and len(report.matched_codes) == 3
    assert any("keep their old boundary" in warning for warning in report.warnings)
    assert area_km2(conn, "99.72.01.1001") == pytest.approx(1.5, rel=1e-4)
    assert area_km2(conn, "99.72.02.1001") == pytest.approx(1.0, rel=1e-4)


def test_dry_run_reports_what_would_change_and_writes_nothing(city, tmp_path):
    conn = city
    before = snapshot(conn)
    report = import_areas(conn, CITY, write(official(), tmp_path / "batas.geojson"), dry_run=True)
    assert report.dry_run and not report.written
    assert report.reassigned["assets"] == 1
    assert snapshot(conn) == before
    assert "dry run: nothing was written" in report.lines()


def test_an_import_failing_halfway_writes_nothing(city, tmp_path):
    conn = city
    before = snapshot(conn)

    def fail_late(step: str) -> None:
        if step.startswith("re-assigning"):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        import_areas(conn, CITY, write(official(), tmp_path / "batas.geojson"), progress=fail_late)
    assert snapshot(conn) == before


def test_invalid_polygons_are_repaired_and_reported(city, tmp_path):
    conn = city
    frame = official()
    # A bow-tie over Kedaleman's new square: invalid; make_valid turns it into two triangles (half the box).
    frame.loc[0, "geometry"] = Polygon(
        [(X0, Y0), (X0 + 1500, Y0 + 1000), (X0 + 1500, Y0), (X0, Y0 + 1000), (X0, Y0)]
    )
    report = import_areas(conn, CITY, write(frame, tmp_path / "bowtie.gpkg"))
    (repair,) = report.repaired
    assert repair.code == "99.72.01.1001"
    kind = conn.execute(
        "SELECT GeometryType(geom) AS t, ST_IsValid(geom) AS ok FROM admin_areas WHERE code = '99.72.01.1001'"
    ).fetchone()
    assert kind == {"t": "MULTIPOLYGON", "ok": True}
    assert area_km2(conn, "99.72.01.1001") == pytest.approx(0.75, rel=1e-3)


def test_gaps_between_kelurahan_are_reported(city, tmp_path):
    frame = official()
    # A 100 m hole in Lebakgede that no other kelurahan fills: a 1 ha gap inside the city.
    frame.loc[4, "geometry"] = frame.loc[4, "geometry"].difference(square(1450, 1450, size=100))
    report = import_areas(city, CITY, write(frame, tmp_path / "gap.geojson"))
    assert any("leave 1 gap(s) between them (1.0 ha in all)" in warning for warning in report.warnings)


def test_unreadable_file_and_missing_crs_write_nothing(city, tmp_path):
    conn = city
    before = snapshot(conn)
    frame = official()
    folder = tmp_path / "noprj"
    folder.mkdir()
    frame.to_file(folder / "batas.shp")
    (folder / "batas.prj").unlink()
    with pytest.raises(ReadError, match="--crs"):
        import_areas(conn, CITY, folder / "batas.shp")
    report = import_areas(conn, CITY, folder / "batas.shp", crs="EPSG:32748", dry_run=True)
    assert len(report.matches) == 6
    assert snapshot(conn) == before


def test_city_without_kelurahan_is_refused(conn, tmp_path):
    upsert_city(conn, CITY, "Kota Kosong", timezone="Asia/Jakarta", metric_srid=32748)
    with pytest.raises(AreaImportRefused, match="has no kelurahan yet"):
        import_areas(conn, CITY, write(official(), tmp_path / "batas.geojson"))


# --- matching and population on their own ----------------------------------------------------------------

KNOWN = [
    Known(code, name, variants, kecamatan, KECAMATAN[kecamatan][0])
    for code, (name, variants, kecamatan, _c, _o) in KELURAHAN.items()
]


def test_names_and_codes_are_normalised():
    assert normalise_code("36.72.01.1001") == normalise_code("3672011001") == normalise_code(3672011001.0)
    assert (
        normalise_name("Lebak-Gede") == normalise_name("LEBAKGEDE") == normalise_name("Kelurahan Lebak Gede")
    )
    assert normalise_name("Kelapa Dua") == "kelapadua"  # 'Kel' only stripped as a word


def test_the_same_name_in_two_kecamatan_without_a_kecamatan_column_is_ambiguous():
    frame = gpd.GeoDataFrame({"name": ["Sukamaju"]}, geometry=[square(0, 0)], crs=32748)
    result = match_features(frame, KNOWN, CITY)
    assert not result.matches
    assert (
        "ambiguous name: 99.72.01.1003 Sukamaju (kec. Cibeber) or 99.72.02.1003" in result.unmatched[0].reason
    )


def test_a_code_matched_feature_with_another_name_is_warned_about():
    frame = gpd.GeoDataFrame(
        {"kode": ["99.72.01.1001"], "nama": ["Pabean"]}, geometry=[square(0, 0)], crs=32748
    )
    result = match_features(frame, KNOWN, CITY)
    assert result.matches[0].code == "99.72.01.1001"
    assert result.warnings == ["code 99.72.01.1001 is Kedaleman here but the file names it 'Pabean'"]


def test_respread_keeps_totals_and_leaves_kelurahan_with_own_figures_alone():
    basis = [
        {
            "code": "a",
            "kecamatan_code": "k1",
            "population_is_estimate": True,
            "area_m2": 2.0,
            "kecamatan_population": 10,
            "kecamatan_population_source": "DKB",
            "kecamatan_population_year": 2025,
        },
        {
            "code": "b",
            "kecamatan_code": "k1",
            "population_is_estimate": True,
            "area_m2": 1.0,
            "kecamatan_population": 10,
            "kecamatan_population_source": "DKB",
            "kecamatan_population_year": 2025,
        },
        {
            "code": "c",
            "kecamatan_code": "k2",
            "population_is_estimate": False,
            "area_m2": 1.0,
            "kecamatan_population": 5,
            "kecamatan_population_source": "DKB",
            "kecamatan_population_year": 2025,
        },
    ]
    result = respread_populations(basis)
    assert {code: value[0] for code, value in result.items()} == {"a": 7, "b": 3}  # 6.67 and 3.33 -> 7 + 3
    assert result["a"][1] == "DKB, kecamatan total spread by kelurahan area (estimate)"


# --- the command line, on committed rows of the same hand-made city (removed after) ---------------------


@pytest.fixture
def committed_city(database_url):
    with connect(database_url) as conn:
        create_city(conn)
    yield database_url
    with connect(database_url) as conn:
        conn.execute("DELETE FROM cities WHERE code = %s", (CITY,))


def test_cli_dry_run_then_import(committed_city, tmp_path):
    path = write(official(), tmp_path / "batas.geojson")
    runner = CliRunner()
    env = {"DATABASE_URL": committed_city, "CITY_CODE": CITY}
    dry = runner.invoke(main, ["import-areas", str(path), "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "matched 6 of 6 kelurahan (100%): 6 by code" in dry.output
    assert "dry run: nothing was written" in dry.output
    with connect(committed_city) as conn:
        assert area_km2(conn, "99.72.01.1001") == pytest.approx(1.0, rel=1e-4)

    half = write(official().iloc[:3], tmp_path / "half.geojson")
    refused = runner.invoke(main, ["import-areas", str(half)], env=env)
    assert refused.exit_code == 1 and "only 3 of 6 kelurahan matched" in refused.output

    done = runner.invoke(main, ["import-areas", str(path)], env=env)
    assert done.exit_code == 0, done.output
    assert "written: 6 kelurahan boundaries" in done.output
    with connect(committed_city) as conn:
        assert area_km2(conn, "99.72.01.1001") == pytest.approx(1.5, rel=1e-4)


# --- the real file, on the sample city (inside the rolled-back transaction: the sample stays as it was) --

REAL_FILE = Path("/work/shared/data/cilegon_kelurahan.geojson")


@pytest.mark.skipif(not REAL_FILE.exists(), reason="the public Cilegon boundary file is not on this machine")
def test_the_real_cilegon_file_matches_all_43_kelurahan(sample_city, conn):
    report = import_areas(conn, sample_city, REAL_FILE)
    assert len(report.matched_codes) == 43 and len(report.by_method("code")) == 43
    assert not report.unmatched and not report.missing
    totals = conn.execute(
        """
        SELECT p.code, p.population, sum(k.population) AS spread
        FROM admin_areas p JOIN admin_areas k ON k.parent_code = p.code
        WHERE p.city_code = %s AND p.level = 'kecamatan' GROUP BY p.code, p.population
        """,
        (sample_city,),
    ).fetchall()
    assert len(totals) == 8 and all(row["population"] == row["spread"] for row in totals)
    # Every located incident now carries the kelurahan its point falls in (or the nearest, in a gap).
    misplaced = conn.execute(
        """
        SELECT count(*) AS n FROM incidents i JOIN admin_areas a
            ON a.city_code = i.city_code AND a.level = 'kelurahan' AND ST_Covers(a.geom, i.geom)
        WHERE i.city_code = %s AND i.geocode_precision IN ('exact', 'street')
          AND i.kelurahan_code <> a.code
          AND NOT EXISTS (SELECT 1 FROM admin_areas b
                          WHERE b.code = i.kelurahan_code AND ST_Covers(b.geom, i.geom))
        """,
        (sample_city,),
    ).fetchone()
    assert misplaced["n"] == 0
    assert report.reassigned["incidents"] > 0
    city_area = conn.execute(
        "SELECT ST_Area(ST_Transform(geom, 32748)) / 1e6 AS km2 FROM admin_areas WHERE code = %s",
        (sample_city,),
    ).fetchone()["km2"]
    assert city_area == pytest.approx(162.6, rel=0.03)
