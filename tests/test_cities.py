"""Cities in other time zones and UTM zones, added from their real boundaries beside the sample city.

Makassar (WITA, UTM 50S) and Jayapura (WIT, UTM 54S) come from the public files in ``shared/data``; each
answer is checked in the city's own local time and, for metres, against a geodesic reference (pyproj Geod)
rather than the service's own projection.
"""

from __future__ import annotations

import dataclasses
import math
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import shapely
from click.testing import CliRunner
from conftest import execute
from pyproj import Geod
from shapely.geometry import shape
from shapely.ops import polylabel
from shared_cities import ensure_city, shared_data

from geo_app import create_app
from geo_app.city import timezone_for_code, utm_srid
from geo_app.cli import main
from geo_app.db import connect
from geo_app.ingest.cities import CityImportRefused, add_city

GEOD = Geod(ellps="WGS84")


CITIES = {
    "73.71": ("makassar_kelurahan.geojson", "Kota Makassar", "Asia/Makassar", 32750),
    "91.71": ("jayapura_kelurahan.geojson", "Kota Jayapura", "Asia/Jayapura", 32754),
}


@pytest.fixture(scope="module")
def cities(database_url):
    """Makassar and Jayapura added with geo-app add-city, each with 60 calls at known times."""
    for code, (file, name, _, _) in CITIES.items():
        ensure_city(database_url, code, file, name)
        execute(database_url, "DELETE FROM incidents WHERE city_code = %s", (code,))
        execute(
            database_url,
            """
            INSERT INTO incidents (city_code, external_id, call_type, category, received_at, geom,
                                   geocode_precision, kelurahan_code, kecamatan_code)
            SELECT %(city)s, %(city)s || '-' || n, 'darurat', 'KECELAKAAN_LALU_LINTAS',
                   timestamptz '2026-05-04 16:30:00+00' + make_interval(days => n * 7),
                   p.geom, 'exact', k.code, k.parent_code
            FROM generate_series(0, 59) n
            JOIN LATERAL (SELECT code, parent_code, geom FROM admin_areas
                          WHERE city_code = %(city)s AND level = 'kelurahan'
                          ORDER BY code OFFSET n %% 20 LIMIT 1) k ON true
            CROSS JOIN LATERAL (SELECT ST_PointOnSurface(k.geom) AS geom) p
            """,
            {"city": code},
        )
    return list(CITIES)


@pytest.fixture(scope="module")
def city_apps(settings, cities, web_database_url, tokens):
    """One app per city (CITY_CODE), signed in as admin."""
    apps = {
        code: create_app(dataclasses.replace(settings, city_code=code, database_url=web_database_url))
        for code in cities
    }
    clients = {}
    for code, application in apps.items():
        client = application.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens.of(code)['admin']}"
        clients[code] = client
    yield clients
    for application in apps.values():
        application.extensions["db_pool"].close()


def test_time_zone_and_utm_zone_are_derived_from_code_and_outline(database_url, cities):
    for code, (_, name, zone, srid) in CITIES.items():
        [(stored_name, stored_zone, stored_srid)] = execute(
            database_url, "SELECT name, timezone, metric_srid FROM cities WHERE code = %s", (code,)
        )
        assert (stored_name, stored_zone, stored_srid) == (name, zone, srid)
    assert timezone_for_code("36.72") == "Asia/Jakarta" and timezone_for_code("61.71") == "Asia/Jakarta"
    # Pontianak straddles the equator: its centroid (south of it by 3 km) picks UTM 49S
    assert utm_srid(109.33, -0.03) == 32749 and utm_srid(109.33, 0.03) == 32649


def test_populations_stay_unknown_until_imported(city_apps):
    areas = city_apps["73.71"].get("/api/areas?level=kelurahan").json["features"]
    assert len(areas) == 153 and all(area["properties"]["population"] is None for area in areas)


def test_hour_and_weekday_are_in_the_citys_own_time(city_apps):
    """16:30 UTC on Monday 4 May 2026 is Tuesday 00:30 WITA and 01:30 WIT (and would be Monday 23:30 WIB)."""
    for code, hour in (("73.71", 0), ("91.71", 1)):
        answer = city_apps[code].get("/api/analysis/hotspots/temporal").json
        assert answer["timezone"] == CITIES[code][2]
        total = answer["total"]
        assert total[1][hour] == 60 and sum(map(sum, total)) == 60  # row 1 = Tuesday (ISO weekday 2)
        local = datetime(2026, 5, 4, 16, 30, tzinfo=UTC).astimezone(ZoneInfo(CITIES[code][2]))
        assert (local.isoweekday(), local.hour) == (2, hour)


def test_daily_windows_are_local_days(city_apps):
    """end=2026-05-04 (a whole local day) leaves out the 16:30 UTC call: it fell on 5 May there."""
    listed = city_apps["73.71"].get("/api/incidents?start=2026-05-04&end=2026-05-04").json
    assert listed["features"] == []
    listed = city_apps["73.71"].get("/api/incidents?start=2026-05-05&end=2026-05-05").json
    assert [f["properties"]["received_at"] for f in listed["features"]] == ["2026-05-05T00:30:00+08:00"]


def _geodesic_area(geometry: dict) -> float:
    return abs(GEOD.geometry_area_perimeter(shape(geometry))[0])


@pytest.mark.parametrize("code", list(CITIES))
def test_hexagons_are_their_size_in_metres_on_the_ground(city_apps, code):
    answer = city_apps[code].get("/api/analysis/hotspots?size=500").json
    edge = answer["cell_size_m"]
    expected = 3 * math.sqrt(3) / 2 * edge**2
    inside = [cell for cell in answer["features"] if cell["properties"]["count"] > 0][:5]
    assert inside
    for cell in inside:
        assert _geodesic_area(cell["geometry"]) == pytest.approx(expected, rel=0.005)


def _geodesic_disc(lon: float, lat: float, radius_m: float) -> shapely.Polygon:
    """A circle of ``radius_m`` on the ellipsoid, as 720 lon/lat points (independent of any projection)."""
    count = 720
    lons, lats, _ = GEOD.fwd(
        [lon] * count, [lat] * count, [i * 360 / count for i in range(count)], [radius_m] * count
    )
    return shapely.Polygon(zip(lons, lats, strict=True))


@pytest.mark.parametrize("code", list(CITIES))
def test_coverage_buffers_and_green_areas_are_measured_in_the_citys_metres(city_apps, code):
    client = city_apps[code]
    kelurahan = [shape(f["geometry"]) for f in client.get("/api/areas?level=kelurahan").json["features"]]
    largest = max((part for area in kelurahan for part in shapely.get_parts(area)), key=lambda p: p.area)
    centre = polylabel(largest, tolerance=1e-5)  # the point farthest from the kelurahan's edges
    radius = 300
    assert _geodesic_disc(centre.x, centre.y, radius).within(largest)  # the whole disc counts
    created = client.post(
        "/api/assets",
        json={
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [centre.x, centre.y]},
            "properties": {"asset_type": "cctv", "name": "CCTV uji kota", "coverage_radius_m": radius},
        },
    )
    assert created.status_code == 201, created.json
    covered_ha = client.get("/api/analysis/coverage?type=cctv").json["city"]["covered_ha"]
    geodesic_ha = abs(GEOD.geometry_area_perimeter(_geodesic_disc(centre.x, centre.y, radius))[0]) / 10_000
    assert covered_ha == pytest.approx(geodesic_ha, rel=0.005)
    square = shapely.box(centre.x - 0.001, centre.y - 0.001, centre.x + 0.001, centre.y + 0.001)
    made = client.post(
        "/api/green-areas",
        json={
            "type": "Feature",
            "geometry": shapely.geometry.mapping(square),
            "properties": {"green_type": "taman_kota", "name": "Taman uji"},
        },
    )
    assert made.status_code == 201, made.json
    assert made.json["properties"]["area_ha"] == pytest.approx(  # in the city's UTM zone: within 0.5 %
        _geodesic_area(shapely.geometry.mapping(square)) / 10_000, rel=0.005
    )


def test_map_pages_open_on_the_city_in_its_time_zone(city_apps):
    page = city_apps["91.71"].get("/maps/areas").get_data(as_text=True)
    assert 'name="geo-app-timezone" content="Asia/Jayapura" data-label="WIT"' in page
    bounds = re.search(r"fitBounds\(\s*\[\[([-0-9.]+), ([-0-9.]+)\], \[([-0-9.]+), ([-0-9.]+)\]\]", page)
    south, west, north, east = map(float, bounds.groups())
    assert 140.5 < west < east < 141.1 and -3.0 < south < north < -2.4  # Jayapura, not Cilegon
    assert "Kota Jayapura" in page


def test_add_city_refuses_what_it_cannot_use(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    runner = CliRunner()
    source = shared_data() / "pontianak_kelurahan.geojson"
    dry = runner.invoke(main, ["add-city", str(source), "--name", "Kota Pontianak", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "time zone Asia/Jakarta, metric CRS EPSG:32749" in dry.output and "nothing written" in dry.output
    assert execute(database_url, "SELECT count(*) FROM cities WHERE code = '61.71'")[0][0] == 0
    no_name = runner.invoke(main, ["add-city", str(source)])
    assert no_name.exit_code != 0 and "--name" in no_name.output
    twice = runner.invoke(
        main, ["add-city", str(shared_data() / CITIES["73.71"][0]), "--name", "Kota Makassar"]
    )
    assert twice.exit_code != 0 and "import-areas" in twice.output
    with connect(database_url) as conn, pytest.raises(CityImportRefused, match="time zone"):
        add_city(conn, source, name="Kota Pontianak", timezone="Asia/Bandung")
