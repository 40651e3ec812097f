"""geo-app import-osm: the road network and gazetteer of a small hand-made OSM file (tests/osm_city.py),
checked against lengths, costs and counts worked out by hand, routes from pgRouting, and bad files that
must leave the city's data as it was."""

from __future__ import annotations

import math

import pytest
from click.testing import CliRunner

from geo_app.catalog import load_catalog
from geo_app.cli import main
from geo_app.ingest.osm import OsmImportError, import_osm
from geo_app.ingest.osm_read import OsmReadError
from geo_app.ingest.osm_tags import maxspeed_kmh, name_variants, oneway_direction
from geo_app.settings import Settings
from tests.coverage_city import lonlat
from tests.osm_city import CITY, K1, K2, OsmBuilder, city_osm, ensure_city

# Lengths by hand (metres): Jl. Melati 3,600; the roundabout four sides of 100·√2; the island road 600.
ROUNDABOUT_SIDE = 100 * math.sqrt(2)
KEPT_KM = (
    3600 + 600 + 600 + 500 + 4 * ROUNDABOUT_SIDE + 200 + 600 + 600 + 800 + 600 + 800 + 700 + 600 + 700 + 600
) / 1000


@pytest.fixture(scope="module")
def city(database_url):
    return ensure_city(database_url)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(Settings.from_env().layers_dir)


@pytest.fixture
def osm_file(tmp_path):
    return city_osm().write(tmp_path / "kota.osm")


def edge(conn, x1, y1, x2, y2):
    """The road from node (x1, y1) to node (x2, y2) (metres from the origin), in either direction."""
    return conn.execute(
        """
        SELECT r.*, ST_DWithin(s.geom, a.geom, 1e-7) AS forward FROM roads r
        JOIN road_nodes s ON s.id = r.source JOIN road_nodes t ON t.id = r.target
        CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(%s, %s), 4326) AS geom) a
        CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(%s, %s), 4326) AS geom) b
        WHERE r.city_code = %s
          AND ((ST_DWithin(s.geom, a.geom, 1e-7) AND ST_DWithin(t.geom, b.geom, 1e-7))
            OR (ST_DWithin(s.geom, b.geom, 1e-7) AND ST_DWithin(t.geom, a.geom, 1e-7)))
        """,
        (*lonlat(x1, y1), *lonlat(x2, y2), CITY),
    ).fetchall()


def route_seconds(conn, from_xy, to_xy) -> float | None:
    """Fastest time by pgRouting between two nodes, or None when there is no way."""
    row = conn.execute(
        """
        WITH ends AS (
            SELECT (SELECT id FROM road_nodes WHERE city_code = %(city)s
                    ORDER BY geom <-> ST_SetSRID(ST_MakePoint(%(x1)s, %(y1)s), 4326) LIMIT 1) AS a,
                   (SELECT id FROM road_nodes WHERE city_code = %(city)s
                    ORDER BY geom <-> ST_SetSRID(ST_MakePoint(%(x2)s, %(y2)s), 4326) LIMIT 1) AS b)
        SELECT max(d.agg_cost) AS seconds FROM ends CROSS JOIN LATERAL pgr_dijkstra(
            format('SELECT id, source, target, cost_s AS cost, reverse_cost_s AS reverse_cost FROM roads '
                   'WHERE city_code = %%L', %(city)s), ends.a, ends.b, directed => true) d
        """,
        {
            "city": CITY,
            "x1": lonlat(*from_xy)[0],
            "y1": lonlat(*from_xy)[1],
            "x2": lonlat(*to_xy)[0],
            "y2": lonlat(*to_xy)[1],
        },  # fmt: skip
    ).fetchone()
    return row["seconds"]


def test_network_counts_lengths_and_report(conn, city, catalog, osm_file):
    report = import_osm(conn, city, catalog, osm_file)
    assert report.written and not report.dry_run
    assert (report.nodes, report.edges, report.one_way_edges) == (19, 19, 4)
    totals = conn.execute(
        "SELECT count(*) AS edges, sum(length_m) / 1000 AS km FROM roads WHERE city_code = %s", (CITY,)
    ).fetchone()
    assert totals["edges"] == 19 and totals["km"] == pytest.approx(KEPT_KM, abs=1e-3)
    nodes = conn.execute("SELECT min(id) AS lo, count(*) AS n FROM road_nodes WHERE city_code = %s", (CITY,))
    assert nodes.fetchone() == {"lo": 9916000001, "n": 19}
    assert report.km_by_class == pytest.approx(
        {"arteri": 3.6, "kolektor": (4 * ROUNDABOUT_SIDE + 700) / 1000, "lokal": 1.8, "lingkungan": 4.7,
         "penyeberangan": 0.7}, abs=1e-3)  # fmt: skip
    assert report.largest_part_share == pytest.approx(KEPT_KM / (KEPT_KM + 0.1), abs=1e-4)
    assert (report.fragments_left_out, report.fragment_km) == (1, pytest.approx(0.1, abs=1e-4))
    assert (report.outside_edges, report.outside_km) == (1, pytest.approx(0.6, abs=1e-4))
    assert (report.closed_ways, report.ferries_leaving, report.ways_beyond_margin) == (1, 1, 1)
    text = "\n".join(report.lines())
    assert "19 nodes, 19 edges" in text and "99.2% of the km" in text and "written:" in text


def test_ways_split_only_where_drivable_ways_meet(conn, city, catalog, osm_file):
    import_osm(conn, city, catalog, osm_file)
    # Jl. Melati is cut where other drivable roads join it, not at x=3400 (only the private road meets it).
    (melati,) = edge(conn, 3000, 1000, 3800, 1000)
    # (OSM keeps 7 decimals of a degree: lengths are exact to a centimetre)
    assert melati["name"] == "Jl. Melati" and melati["length_m"] == pytest.approx(800, abs=0.01)
    assert edge(conn, 3000, 1000, 3400, 1000) == []
    # maxspeed 60 km/h: 800 m in 48 s both ways
    assert (melati["speed_kmh"], melati["cost_s"], melati["reverse_cost_s"]) == (
        60,
        pytest.approx(48, abs=0.01),
        pytest.approx(48, abs=0.01),
    )


def test_one_way_streets_and_roundabout(conn, city, catalog, osm_file):
    import_osm(conn, city, catalog, osm_file)
    (searah,) = edge(conn, 1000, 1000, 1000, 1600)
    assert (
        searah["forward"]
        and searah["cost_s"] == pytest.approx(108, abs=0.01)
        and searah["reverse_cost_s"] < 0
    )
    # oneway=-1: stored turned round, from the north end to the south end
    (balik,) = edge(conn, 3000, 1600, 3000, 1000)
    assert (
        balik["forward"] and balik["cost_s"] == pytest.approx(108, abs=0.01) and balik["reverse_cost_s"] < 0
    )
    assert route_seconds(conn, (1000, 1000), (1000, 1600)) == pytest.approx(108, abs=0.01)
    assert route_seconds(conn, (1000, 1600), (1000, 1000)) is None
    assert route_seconds(conn, (3000, 1600), (3000, 1000)) == pytest.approx(108, abs=0.01)
    assert route_seconds(conn, (3000, 1000), (3000, 1600)) is None
    # Roundabout (30 km/h, sides of 141.4 m): anticlockwise only, so north to south takes two sides either
    # way round in one direction; back north again the other half.
    halves = edge(conn, 1000, 500, 1000, 300)
    assert len(halves) == 2 and all(h["reverse_cost_s"] < 0 for h in halves)
    side_s = ROUNDABOUT_SIDE / (30 / 3.6)
    assert {h["forward"] for h in halves} == {True, False}
    assert route_seconds(conn, (1000, 500), (1000, 300)) == pytest.approx(2 * side_s, abs=0.01)
    assert route_seconds(conn, (1000, 300), (1000, 500)) == pytest.approx(2 * side_s, abs=0.01)


def test_ferry_service_and_private_roads(conn, city, catalog, osm_file):
    import_osm(conn, city, catalog, osm_file)
    (ferry,) = edge(conn, 3800, 1000, 3800, 1700)
    # 700 m at 15 km/h plus 30 minutes of waiting and boarding, both ways
    assert ferry["road_class"] == "penyeberangan"
    assert ferry["cost_s"] == pytest.approx(700 / (15 / 3.6) + 1800, abs=0.01) == ferry["reverse_cost_s"]
    # the island road is reached through the ferry (without it, its 600 m would be a part of their own)
    assert edge(conn, 3800, 1700, 3400, 1900)[0]["road_class"] == "lokal"
    assert edge(conn, 3800, 1000, 12000, 1000) == []  # the ferry leaving the city
    (service,) = edge(conn, 2200, 1000, 2200, 400)
    assert (
        service["name"] is None
        and service["speed_kmh"] == 10
        and service["cost_s"] == pytest.approx(216, abs=0.01)
    )
    assert edge(conn, 3400, 1000, 3400, 400) == []  # access=private
    assert edge(conn, 1500, 1500, 1600, 1500) == [] and edge(conn, 10000, 500, 10500, 500) == []


def test_gazetteer_streets_per_kelurahan(conn, city, catalog, osm_file):
    report = import_osm(conn, city, catalog, osm_file)
    streets = conn.execute(
        "SELECT name, kelurahan_code, round(ST_Length(geom::geography)) AS metres FROM gazetteer "
        "WHERE city_code = %s AND kind = 'street' ORDER BY name, kelurahan_code",
        (CITY,),
    ).fetchall()
    assert [(s["name"], s["kelurahan_code"]) for s in streets] == [
        ("Gang Mawar", K1), ("Gang Mawar", K2), ("Jl. Balik", K2),
        ("Jl. Bundaran", K1),  # two ways 200 m apart across the roundabout: one street
        ("Jl. Melati", K1), ("Jl. Melati", K2),
        ("Jl. Pabrik", K2),  # private, not driven on, but people live there
        ("Jl. Perbatasan", K2),  # only its 200 m inside the city
        ("Jl. Searah", K1),
    ]  # fmt: skip
    lengths = {(s["name"], s["kelurahan_code"]): float(s["metres"]) for s in streets}
    assert lengths["Jl. Melati", K1] == pytest.approx(1800, abs=1) and lengths[
        "Jl. Melati", K2
    ] == pytest.approx(1800, abs=1)
    assert lengths["Jl. Perbatasan", K2] == pytest.approx(200, abs=1)
    assert report.gazetteer == {"street": 9, "landmark": 5, "place": 2}


def test_gazetteer_landmarks_places_and_variants(conn, city, catalog, osm_file):
    import_osm(conn, city, catalog, osm_file)
    rows = conn.execute(
        "SELECT kind, name, category, name_variants, kelurahan_code FROM gazetteer "
        "WHERE city_code = %s AND kind <> 'street' ORDER BY kind, name",
        (CITY,),
    ).fetchall()
    found = {row["name"]: row for row in rows}
    assert sorted(found) == ["Indomaret", "Kp. Cikuasa", "Perumahan Indah", "Puskesmas Melati",
                             "RSUD Kota Uji", "SD Negeri 2 Uji", "SMP Negeri 1 Uji"]  # fmt: skip
    assert (
        found["SD Negeri 2 Uji"]["category"] == "sekolah" and found["SD Negeri 2 Uji"]["kelurahan_code"] == K1
    )
    assert "SDN 2 Uji" in found["SD Negeri 2 Uji"]["name_variants"]
    assert "SMPN 1 Uji" in found["SMP Negeri 1 Uji"]["name_variants"]
    assert "Rumah Sakit Umum Daerah Kota Uji" in found["RSUD Kota Uji"]["name_variants"]
    assert (found["Indomaret"]["category"], found["Indomaret"]["kelurahan_code"]) == ("minimarket", K2)
    assert found["Puskesmas Melati"]["category"] == "puskesmas"
    assert found["Kp. Cikuasa"]["kind"] == "place" and found["Kp. Cikuasa"]["category"] == "hamlet"
    assert {"Kampung Cikuasa", "Cikuasa"} <= set(found["Kp. Cikuasa"]["name_variants"])
    assert found["Perumahan Indah"]["kelurahan_code"] == K2


def test_pbf_reads_like_xml(conn, city, catalog, tmp_path):
    xml = import_osm(conn, city, catalog, city_osm().write(tmp_path / "kota.osm"), dry_run=True)
    pbf = import_osm(conn, city, catalog, city_osm().write(tmp_path / "kota.osm.pbf"), dry_run=True)
    assert xml.lines() == [line.replace("kota.osm.pbf", "kota.osm") for line in pbf.lines()]


def test_ways_cut_where_the_extract_lost_their_nodes(conn, city, catalog, tmp_path):
    osm = OsmBuilder()
    # the node in the middle of the way is not in the file (clipped away): two runs of 1.5 km each
    osm.way([(100, 500), (1600, 500), (1800, 800), (1800, 1900)], {"highway": "primary"}, missing_node=999)
    report = import_osm(conn, city, catalog, osm.write(tmp_path / "clipped.osm"))
    assert report.edges == 2 and report.parts_kept == 2


def test_dry_run_writes_nothing(conn, city, catalog, osm_file):
    before = _network_state(conn)
    report = import_osm(conn, city, catalog, osm_file, dry_run=True)
    assert report.dry_run and not report.written and report.edges == 19
    assert _network_state(conn) == before
    assert "dry run: nothing written" in report.lines()


def _network_state(conn) -> tuple:
    return conn.execute(
        "SELECT (SELECT count(*) FROM roads WHERE city_code = %(c)s) AS roads,"
        " (SELECT count(*) FROM road_nodes WHERE city_code = %(c)s) AS nodes,"
        " (SELECT count(*) FROM gazetteer WHERE city_code = %(c)s) AS gazetteer,"
        " (SELECT count(*) FROM dataset_loads WHERE city_code = %(c)s) AS loads",
        {"c": CITY},
    ).fetchone()


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("this is not xml", "kota.osm", "is not a readable OpenStreetMap file"),
        ('{"type": "FeatureCollection", "features": []}', "kota.osm", "is not a readable OpenStreetMap file"),
        ("", "kota.osm", "is not a readable OpenStreetMap file"),
        ('<?xml version="1.0"?><osm version="0.6"></osm>', "kota.osm", "holds no OpenStreetMap objects"),
        ("x", "kota.geojson", "expected an OpenStreetMap extract named .osm"),
        ("garbage bytes", "kota.osm.pbf", "is not a readable OpenStreetMap file"),
    ],
)
def test_bad_files_are_refused_and_nothing_written(
    conn, city, catalog, osm_file, tmp_path, content, name, message
):
    import_osm(conn, city, catalog, osm_file)
    before = _network_state(conn)
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(OsmReadError, match=message):
        import_osm(conn, city, catalog, path)
    assert _network_state(conn) == before


def test_no_drivable_road_in_the_city_is_refused(conn, city, catalog, osm_file, tmp_path):
    import_osm(conn, city, catalog, osm_file)
    before = _network_state(conn)
    elsewhere = OsmBuilder()
    elsewhere.way([(20000, 0), (21000, 0)], {"highway": "primary", "name": "Jl. Kota Lain"})
    elsewhere.node(20500, 100, {"amenity": "school", "name": "SD Negeri 9 Lain"})
    with pytest.raises(OsmImportError, match="no drivable road of elsewhere.osm lies within city 99.16"):
        import_osm(conn, city, catalog, elsewhere.write(tmp_path / "elsewhere.osm"))
    footpaths = OsmBuilder()
    footpaths.way([(100, 100), (900, 100)], {"highway": "footway", "name": "Gang Sempit"})
    with pytest.raises(OsmImportError, match="holds no drivable road"):
        import_osm(conn, city, catalog, footpaths.write(tmp_path / "footpaths.osm"))
    assert _network_state(conn) == before


def test_city_without_areas_is_refused(conn, catalog, osm_file):
    with pytest.raises(OsmImportError, match="has no administrative areas"):
        import_osm(conn, "99.17", catalog, osm_file)


def test_cli_dry_run(database_url, city, osm_file, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CITY_CODE", CITY)
    before = CliRunner().invoke(main, ["import-osm", str(osm_file)])
    assert before.exit_code == 0, before.output
    with pytest.MonkeyPatch.context():
        result = CliRunner().invoke(main, ["import-osm", str(osm_file), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "road network: 19 nodes, 19 edges" in result.output and "dry run: nothing written" in result.output
    bad = osm_file.with_name("bad.osm")
    bad.write_text("not osm")
    refused = CliRunner().invoke(main, ["import-osm", str(bad)])
    assert refused.exit_code == 1 and "is not a readable OpenStreetMap file" in refused.output


def test_tag_rules():
    assert [maxspeed_kmh(v) for v in ("50", "60 km/h", "30 mph", "ID:urban", "none", None, "50;40")] == [
        50, 60, pytest.approx(48.28, abs=0.01), 50, None, None, 40]  # fmt: skip
    assert oneway_direction({"junction": "roundabout"}, implied=False) == 1
    assert oneway_direction({"junction": "roundabout", "oneway": "no"}, implied=False) == 0
    assert oneway_direction({}, implied=True) == 1 and oneway_direction({"oneway": "-1"}, implied=False) == -1
    assert name_variants("Gerbang Tol Cilegon Barat", {}) == ["GT Cilegon Barat", "Pintu Tol Cilegon Barat"]
    assert name_variants("SMAN 2 Cilegon", {"alt_name": "SMA 2"}) == [
        "SMA 2", "Sekolah Menengah Atas Negeri 2 Cilegon", "SMA Negeri 2 Cilegon"]  # fmt: skip
    assert name_variants("Jl. Melati", {}) == []
