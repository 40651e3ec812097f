"""/maps/areas and the shared map helpers: local assets only, classes and legend, and the page in Chromium."""

from __future__ import annotations

from pathlib import Path

import folium
import folium.plugins as plugins
import mapclassify
import pytest
from branca.element import Figure
from conftest import TEST_CITY
from shapely.geometry import box

from geo_app import create_app
from geo_app.db import connect
from geo_app.maps import base, charts, vendor
from geo_app.settings import Settings
from geo_app.store import areas as area_store

KECAMATAN = 3
KELURAHAN_PER_KECAMATAN = 15
BASEMAP = "https://tiles.example.go.id/{z}/{x}/{y}.png"

# Folium elements our map pages use or are expected to use (issues 3, 4, 5).
PLUGIN_ELEMENTS = [
    folium.Map,
    folium.Icon,
    plugins.MarkerCluster,
    plugins.FastMarkerCluster,
    plugins.HeatMap,
    plugins.HeatMapWithTime,
    plugins.TimestampedGeoJson,
    plugins.SideBySideLayers,
    plugins.VectorGridProtobuf,
    plugins.Fullscreen,
    plugins.Realtime,
    plugins.Timeline,
    plugins.TimelineSlider,
    plugins.FeatureGroupSubGroup,
    plugins.GroupedLayerControl,
]


@pytest.fixture(scope="module")
def grid_city(database_url: str) -> str:
    """A hand-made city under TEST_CITY: 3 kecamatan of 15 square kelurahan with known populations."""
    areas = []
    for k in range(KECAMATAN):
        kecamatan_code = f"{TEST_CITY}.{k + 1:02d}"
        cells = []
        for i in range(KELURAHAN_PER_KECAMATAN):
            x, y = 106.0 + 0.01 * (i % 5), -6.0 + 0.01 * (i // 5) + 0.03 * k
            cells.append(box(x, y, x + 0.01, y + 0.01))
            areas.append(
                area_store.AdminArea(
                    code=f"{kecamatan_code}.{1001 + i}",
                    level="kelurahan",
                    name=f"Kel {k}-{i} <b>",
                    parent_code=kecamatan_code,
                    geom=cells[-1],
                    boundary_source="test grid",
                    population=1000 * (1 + i + 15 * k),
                    population_source="Uji",
                    population_year=2024,
                    population_is_estimate=True,
                )
            )
        outline = box(106.0, -6.0 + 0.03 * k, 106.05, -6.0 + 0.03 * (k + 1))
        population = sum(1000 * (1 + i + 15 * k) for i in range(KELURAHAN_PER_KECAMATAN))
        areas.append(
            area_store.AdminArea(
                code=kecamatan_code,
                level="kecamatan",
                name=f"Kec {k}",
                parent_code=TEST_CITY,
                geom=outline,
                boundary_source="test grid",
                population=population,
                population_source="Uji",
                population_year=2024,
            )
        )
    areas.append(
        area_store.AdminArea(
            code=TEST_CITY, level="kota", name="Kota Uji", parent_code=None,
            geom=box(106.0, -6.0, 106.05, -5.91), boundary_source="test grid",
        )
    )  # fmt: skip
    with connect(database_url) as conn:
        area_store.upsert_city(conn, TEST_CITY, "Kota Uji")
        area_store.upsert_areas(conn, TEST_CITY, areas)
        area_store.record_load(conn, TEST_CITY, "admin_areas", "test grid", is_sample=True, rows=len(areas))
        conn.commit()
    return TEST_CITY


def grid_app(database_url: str, **overrides):
    return create_app(
        Settings.from_env(database_url=database_url, env="test", city_code=TEST_CITY, **overrides)
    )


@pytest.fixture(scope="module")
def grid_page(database_url: str, grid_city: str) -> str:
    app = grid_app(database_url)
    response = app.test_client().get("/maps/areas")
    app.extensions["db_pool"].close()
    assert response.status_code == 200, response.text
    return response.text


def test_every_vendor_file_is_installed():
    missing = [
        path for path in vendor.VENDOR_FILES.values() if path and not (vendor.VENDOR_DIR / path).is_file()
    ]
    assert not missing, f"run scripts/install_web_assets; missing in geo_app/static/vendor: {missing}"


@pytest.mark.parametrize("element", PLUGIN_ELEMENTS, ids=lambda element: element.__name__)
def test_folium_cdn_links_of_used_plugins_are_mapped_to_local_files(element):
    links = [url for _, url in [*getattr(element, "default_js", []), *getattr(element, "default_css", [])]]
    local = [vendor.local_url(url) for url in links]
    assert all(url is None or url.startswith(vendor.VENDOR_URL) for url in local)


def test_an_unmapped_cdn_file_fails_loudly():
    m = base.make_map(Settings(), "Uji", bounds=((-6.1, 106.0), (-5.9, 106.1)))
    m.get_root().header.add_child(folium.JavascriptLink("https://cdn.example.com/unknown-plugin.js"))
    with pytest.raises(vendor.UnmappedAssetError, match="unknown-plugin.js"):
        base.render(m)


def test_offline_figure_keeps_folium_plugins_working_from_local_files():
    m = base.make_map(Settings(), "Uji", bounds=((-6.1, 106.0), (-5.9, 106.1)))
    cluster = plugins.MarkerCluster(name="Titik").add_to(m)
    folium.Marker([-6.0, 106.05], icon=folium.Icon(icon="fire", prefix="fa")).add_to(cluster)
    plugins.HeatMap([[-6.0, 106.05, 1.0]]).add_to(m)
    html = base.render(m)
    assert vendor.external_urls(html) == []
    assert "/static/vendor/markercluster/leaflet.markercluster.js" in html
    assert "/static/vendor/folium/leaflet_heat.min.js" in html
    assert isinstance(m.get_root(), Figure)


def test_areas_page_has_no_outside_url_without_basemap(grid_page: str):
    assert vendor.external_urls(grid_page) == []
    assert "/static/vendor/leaflet/leaflet.js" in grid_page
    assert "/api/areas?level=kelurahan" in grid_page
    assert "Kepadatan penduduk (jiwa/km" in grid_page
    assert "Data contoh" in grid_page
    assert "L.tileLayer" not in grid_page


def test_areas_page_only_outside_url_is_the_basemap_setting(database_url: str, grid_city: str):
    app = grid_app(database_url, basemap_url=BASEMAP, basemap_attribution="Pemkot Uji")
    html = app.test_client().get("/maps/areas").text
    app.extensions["db_pool"].close()
    assert BASEMAP in html
    assert vendor.external_urls(html, allowed=(BASEMAP,)) == []
    assert "Pemkot Uji" in html


def test_areas_page_keeps_polygons_out_of_the_html(grid_page: str):
    assert len(grid_page) < 60_000
    assert '"coordinates"' not in grid_page


def test_areas_page_escapes_names_from_data(grid_page: str):
    assert "Kel 0-0 <b>" not in grid_page  # names reach the page only through the API and the panel


def test_areas_page_rejects_unknown_parameters(database_url: str, grid_city: str):
    app = grid_app(database_url)
    response = app.test_client().get("/maps/areas?levle=kelurahan")
    app.extensions["db_pool"].close()
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_classes_follow_mapclassify_and_colour_by_upper_bound():
    values = [10, 12, 15, 40, 42, 45, 100, 120, 400, 410]
    classes = base.classify(values, k=4, scheme="FisherJenks")
    assert classes.breaks == list(mapclassify.FisherJenks(values, k=4).bins)
    assert classes.minimum == 10
    assert len(classes.colours) == 4
    assert classes.colour(10) == classes.colours[0]
    assert classes.colour(classes.breaks[0]) == classes.colours[0]  # upper bounds are inclusive
    assert classes.colour(classes.breaks[0] + 0.1) == classes.colours[1]
    assert classes.colour(None) == base.NO_DATA_COLOUR
    assert classes.legend_items()[0][1] == f"10 – {base.format_number(classes.breaks[0])}"


def test_classes_with_fewer_distinct_values_than_classes():
    classes = base.classify([5.0, 5.0, None], k=5)
    assert classes.breaks == [5.0]
    assert len(classes.colours) == 1


def test_numbers_are_written_the_indonesian_way():
    assert base.format_number(1234567) == "1.234.567"
    assert base.format_number(1234.56, 1) == "1.234,6"
    assert base.format_number(None) == "–"


def test_charts_are_inline_svg_with_escaped_labels():
    svg = charts.bar_chart(["<Cibeber>", "Jombang"], [3500.0, 1200.0], title="Kepadatan", target=2000)
    assert svg.startswith("<svg") and "&lt;Cibeber&gt;" in svg and "3.500" in svg
    grid = charts.heat_grid([[1] * 24] * 7, title="Jam x hari")
    assert grid.count("<rect") == 7 * 24
    hist = charts.histogram([3, 5, 7, 30], [0, 10, 20, 30], title="Waktu tanggap", unit="menit", target=15)
    assert hist.count("<rect") == 3


@pytest.mark.browser
def test_areas_map_draws_kelurahan_in_chromium_without_network(open_page, sample_city, tmp_path: Path):
    page = open_page("/maps/areas")
    assert page.errors == []
    assert page.external_requests() == []
    assert page.count(".leaflet-overlay-pane path") >= 43 + 8  # kelurahan fills and kecamatan outlines
    assert page.count(".geo-legend li") >= 3
    assert page.count(".leaflet-control-layers-overlays label") == 2
    page.screenshot(tmp_path / "areas.png")


@pytest.mark.browser
def test_areas_popup_reads_in_bahasa_indonesia(open_page, sample_city):
    page = open_page("/maps/areas")
    text = page.evaluate(
        """(() => {
            const fills = '.leaflet-overlay-pane path.leaflet-interactive:not([fill="none"])';
            const path = document.querySelector(fills);
            const box = path.getBoundingClientRect();
            path.dispatchEvent(new MouseEvent('click', {bubbles: true, clientX: box.x + box.width / 2,
                                                       clientY: box.y + box.height / 2}));
            return document.querySelector('.leaflet-popup-content').innerText;
        })()"""
    )
    for label in ("Kelurahan", "Kecamatan", "Kode", "Penduduk", "Luas", "Kepadatan", "jiwa/km²"):
        assert label in text
    assert page.errors == []
