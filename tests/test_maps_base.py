"""Shared map helpers: CDN links mapped to local files, classes and legend, charts, and Folium plugins
working from the local files in headless Chromium with no network."""

from __future__ import annotations

import base64
import re
import time
from zoneinfo import ZoneInfo

import folium
import folium.plugins as plugins
import mapclassify
import numpy as np
import pytest
from branca.element import Figure
from browser import LiveServer
from flask import Flask

from geo_app.city import CityContext
from geo_app.maps import base, charts, vendor
from geo_app.settings import PACKAGE_DIR, Settings

BOUNDS = ((-6.1, 106.0), (-5.9, 106.1))
CITY = CityContext("99.01", "Kota Uji", ZoneInfo("Asia/Jakarta"), 32748, BOUNDS)
ONE_PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)

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
    m = base.make_map(Settings(), "Uji", city=CITY)
    m.get_root().header.add_child(folium.JavascriptLink("https://cdn.example.com/unknown-plugin.js"))
    with pytest.raises(vendor.UnmappedAssetError, match="unknown-plugin.js"):
        base.render(m)


def test_offline_figure_keeps_folium_plugins_working_from_local_files():
    m = base.make_map(Settings(), "Uji", city=CITY)
    cluster = plugins.MarkerCluster(name="Titik").add_to(m)
    folium.Marker([-6.0, 106.05], icon=folium.Icon(icon="fire", prefix="fa")).add_to(cluster)
    plugins.HeatMap([[-6.0, 106.05, 1.0]]).add_to(m)
    html = base.render(m)
    assert vendor.external_urls(html) == []
    assert "/static/vendor/markercluster/leaflet.markercluster.js" in html
    assert "/static/vendor/folium/leaflet_heat.min.js" in html
    assert isinstance(m.get_root(), Figure)


def test_pages_link_only_the_folium_files_they_use():
    plain = base.render(base.make_map(Settings(), "Uji", city=CITY))
    assert "leaflet/leaflet.js" in plain
    assert not any(name in plain for name in ("jquery", "bootstrap", "awesome-markers", "fontawesome"))
    m = base.make_map(Settings(), "Uji", city=CITY)
    folium.Marker([-6.0, 106.05], icon=folium.Icon(icon="fire", prefix="fa")).add_to(m)
    with_icon = base.render(m)
    assert "awesome-markers/leaflet.awesome-markers.js" in with_icon and "jquery" not in with_icon


def test_classes_follow_mapclassify_and_colour_by_upper_bound():
    values = [10, 12, 15, 40, 42, 45, 100, 120, 400, 410]
    classes = base.classify(values, k=4, scheme="Quantiles")
    assert classes.breaks == list(mapclassify.Quantiles(values, k=4).bins)
    assert classes.minimum == 10
    assert len(classes.colours) == 4
    assert classes.colour(10) == classes.colours[0]
    assert classes.colour(classes.breaks[0]) == classes.colours[0]  # upper bounds are inclusive
    assert classes.colour(classes.breaks[0] + 0.1) == classes.colours[1]
    assert classes.colour(None) == base.NO_DATA_COLOUR
    assert classes.legend_items()[0][1] == f"10 – {base.format_number(classes.breaks[0])}"


def test_shares_are_coloured_in_fixed_steps_whatever_the_data():
    low = base.classify([1.0, 2.0, 3.0], fixed_breaks=base.SHARE_BREAKS, palette="YlGnBu")
    high = base.classify([70.0, 99.0], fixed_breaks=base.SHARE_BREAKS, palette="YlGnBu")
    assert low.breaks == high.breaks == [20.0, 40.0, 60.0, 80.0, 100.0] and low.colours == high.colours
    assert low.colour(19.9) == low.colours[0] and low.colour(85) == low.colours[4]
    assert low.legend_items()[0][1] == "0 – 20"


def test_page_classes_do_not_ask_for_numba(recwarn):
    base.classify([float(v) for v in range(43)], k=5)
    base.classify([float(v) for v in range(43)], fixed_breaks=base.SHARE_BREAKS)
    assert not [w for w in recwarn if "Numba" in str(w.message)]


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


def test_a_histogram_leaves_room_for_a_peak_of_a_million():
    """The peak count is right-aligned before the y axis: it must start inside the picture."""
    hist = charts.histogram(np.full(1_234_567, 5.0), [0, 10, 20], title="Waktu tanggap", unit="menit")
    anchor = re.search(r'<text x="(\d+)"[^>]*>1\.234\.567</text>', hist)
    assert anchor and int(anchor[1]) - 6.5 * len("1.234.567") >= 0


def plugin_page() -> str:
    """A page with the plugins other map pages use, tiles and data all from the test server."""
    m = base.make_map(Settings(), "Uji plugin", city=CITY, sample=True)
    cluster = plugins.MarkerCluster(name="Titik").add_to(m)
    for i in range(5):
        icon = folium.Icon(icon="fire", prefix="fa", color="red")
        folium.Marker([-6.0 + i * 0.01, 106.05], icon=icon, popup=f"titik {i}").add_to(cluster)
    plugins.HeatMap([[-6.0, 106.05, 1.0], [-6.01, 106.06, 0.5]], name="Panas").add_to(m)
    plugins.TimestampedGeoJson(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [106.05, -6.0]},
                    "properties": {"times": ["2026-01-05", "2026-01-12"]},
                }
            ],
        },
        period="P1W",
        auto_play=False,
    ).add_to(m)
    left = folium.TileLayer("/tiles/{z}/{x}/{y}.png", attr="kiri", name="Kiri").add_to(m)
    right = folium.TileLayer("/tiles/{z}/{x}/{y}.png", attr="kanan", name="Kanan").add_to(m)
    plugins.SideBySideLayers(left, right).add_to(m)
    plugins.Fullscreen().add_to(m)
    plugins.Realtime("/empty.geojson", interval=60_000).add_to(m)
    base.add_geojson_url(m, "/empty.geojson", "Kosong")
    base.add_legend(m, "Legenda", [("#bd0026", "tinggi"), ("#ffffb2", "rendah")])
    base.add_layer_control(m)
    base.add_panel(m, "Grafik", charts.heat_grid([[i + h for h in range(24)] for i in range(7)], title="Jam"))
    return base.render(m)


def square(code: str, west: float, south: float) -> dict:
    ring = [
        [west, south],
        [west + 0.01, south],
        [west + 0.01, south + 0.01],
        [west, south + 0.01],
        [west, south],
    ]
    return {
        "type": "Feature",
        "properties": {"code": code},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


RANKED_AREAS = {
    "type": "FeatureCollection",
    "features": [square("A", 106.01, -6.09), square("B", 106.05, -6.0), square("C", 106.08, -5.95)],
}
RANKED_RECORDS = [
    {"code": "A", "name": "Banjar", "people": 1200, "share": 40.26},
    {"code": "B", "name": "alun-alun", "people": None, "share": 75.0},
    {"code": "C", "name": '<i>Cibeber</i> "Baru", Timur', "people": 3400, "share": float("nan")},
]


def ranked_page() -> str:
    """A ranked table beside a map, its rows linked to the areas of a layer."""
    m = base.make_map(Settings(), "Uji tabel", city=CITY)
    areas = base.add_geojson_url(m, "/ranked-areas.geojson", "Wilayah")
    columns = [
        base.TableColumn("Wilayah", "name"),
        base.TableColumn("Penduduk", "people", 0),
        base.TableColumn("Terjangkau %", "share", 1, title="Bagian penduduk terjangkau"),
    ]
    table = base.ranked_table_html(
        "uji-table", columns, RANKED_RECORDS, key="code", sort_by="people", csv_name="uji.csv"
    )
    base.add_panel(m, "Peringkat", table)
    base.LinkedTable("uji-table", areas, "code").add_to(m)
    return base.render(m)


def thin_data():
    """What the analyses answer when the filters leave too few incidents (slow, like a real analysis)."""
    time.sleep(0.4)
    problem = {"title": "Not enough data", "status": 422, "detail": "only 2 incidents match"}
    return problem, 422, {"Content-Type": "application/problem+json"}


@pytest.fixture(scope="module")
def plugin_server():
    app = Flask(__name__, static_folder=str(PACKAGE_DIR / "static"))
    html = plugin_page()
    broken = base.make_map(Settings(), "Uji", city=CITY)
    base.add_geojson_url(broken, "/missing.geojson", "Lapisan hilang")
    broken_layer_page = base.render(broken)
    app.add_url_rule("/", "page", lambda: html)
    app.add_url_rule("/broken", "broken", lambda: broken_layer_page)
    lazy = base.make_map(Settings(), "Uji", city=CITY)
    base.add_geojson_url(lazy, "/empty.geojson", "Kosong")
    base.add_geojson_url(lazy, "/thin.geojson", "Data tipis", show=False)
    base.add_layer_control(lazy)
    lazy_page = base.render(lazy)
    app.add_url_rule("/lazy", "lazy", lambda: lazy_page)
    app.add_url_rule("/thin.geojson", "thin", thin_data)
    ranked = ranked_page()
    app.add_url_rule("/ranked", "ranked", lambda: ranked)
    app.add_url_rule("/ranked-areas.geojson", "ranked_areas", lambda: RANKED_AREAS)
    app.add_url_rule(
        "/tiles/<int:z>/<int:x>/<int:y>.png",
        "tile",
        lambda **_: (ONE_PIXEL_PNG, 200, {"Content-Type": "image/png"}),
    )
    empty = {"type": "FeatureCollection", "features": []}
    app.add_url_rule("/empty.geojson", "empty", lambda: empty)
    # the streets basemap of every page without BASEMAP_URL: no roads, no places
    app.add_url_rule("/tiles/roads/<int:z>/<int:x>/<int:y>.mvt", "roads", lambda **_: b"")
    app.add_url_rule("/ogc/collections/places/items", "places", lambda: empty)
    server = LiveServer(app)
    yield server
    server.close()


@pytest.mark.browser
def test_folium_plugins_run_offline_from_local_files(browser, plugin_server, tmp_path):
    page = browser.open(plugin_server.url + "/")
    assert page.errors == []
    assert page.external_requests() == []
    assert page.count(".marker-cluster, .awesome-marker") >= 1
    assert page.count(".leaflet-sbs-range") == 1
    assert page.count(".timecontrol-play, .leaflet-bar-timecontrol") >= 1
    assert page.count(".geo-panel svg rect") == 7 * 24
    page.screenshot(tmp_path / "plugins.png")
    page.close()


@pytest.mark.browser
def test_a_layer_that_fails_to_load_is_reported_on_the_map(browser, plugin_server):
    page = browser.open(plugin_server.url + "/broken")  # returns only once GeoApp.pending is back to 0
    assert any("/missing.geojson: 404" in error for error in page.errors)
    assert "Lapisan hilang gagal dimuat" in page.evaluate(
        "document.querySelector('.geo-load-error').textContent"
    )
    page.close()


LAYER_SWITCH = (
    "Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
    ".find(label => label.textContent.includes('Data tipis')).querySelector('input')"
)


@pytest.mark.browser
def test_a_layer_switched_off_is_fetched_when_switched_on_and_its_note_is_indonesian(
    browser, plugin_server, tmp_path
):
    page = browser.open(plugin_server.url + "/lazy")
    assert not any(url.endswith("/thin.geojson") for url in page.requested)  # off: not fetched
    assert page.evaluate("document.querySelector('.geo-loading').hidden") is True
    assert page.count(".geo-map-note, .geo-load-error") == 0
    # switching it on fetches it, with the loading state shown until the answer is in
    shown_while_loading = page.evaluate(
        f"(() => {{ {LAYER_SWITCH}.click(); return !document.querySelector('.geo-loading').hidden "
        "&& document.querySelector('.geo-loading').innerText; })()"
    )
    assert shown_while_loading == "Memuat data…"
    page.wait_until("window.GeoApp.pending === 0")
    assert any(url.endswith("/thin.geojson") for url in page.requested)
    assert page.evaluate("document.querySelector('.geo-loading').hidden") is True
    assert page.count(".geo-load-error") == 0  # not enough data is no failure: a note, no red banner
    note = page.evaluate("document.querySelector('.geo-map-note').textContent")
    assert note.startswith("Lapisan Data tipis: data pada periode dan filter ini tidak cukup")
    assert "periode yang lebih panjang" in note and "only 2" not in note
    assert not [error for error in page.errors if "GeoApp" in error]
    page.screenshot(tmp_path / "note.png")
    page.evaluate(f"{LAYER_SWITCH}.click()")  # switched off: its note goes with it
    assert page.count(".geo-map-note") == 0
    page.close()


@pytest.mark.browser
def test_an_answer_for_a_layer_switched_off_meanwhile_shows_nothing(browser, plugin_server):
    page = browser.open(plugin_server.url + "/lazy")
    page.evaluate(f"{LAYER_SWITCH}.click(); {LAYER_SWITCH}.click()")  # on, and off before the answer
    page.wait_until("window.GeoApp.pending === 0")
    assert page.count(".geo-map-note, .geo-load-error") == 0
    page.close()


def ranked_rows(page) -> list[list[str]]:
    return page.evaluate(
        "Array.from(document.querySelectorAll('#uji-table tbody tr'),"
        " row => Array.from(row.cells, cell => cell.innerText))"
    )


def sort_order(page) -> list[str | None]:
    return page.evaluate(
        "Array.from(document.querySelectorAll('#uji-table th'), th => th.getAttribute('aria-sort'))"
    )


@pytest.mark.browser
def test_a_ranked_table_sorts_saves_and_points_at_its_areas(browser, plugin_server, tmp_path):
    page = browser.open(plugin_server.url + "/ranked")
    assert page.errors == []
    strange = RANKED_RECORDS[2]["name"]
    # escaped: the name is text, no element; a missing value is a dash and stays last
    assert ranked_rows(page) == [
        [strange, "3.400", "–"],
        ["Banjar", "1.200", "40,3"],
        ["alun-alun", "–", "75,0"],
    ]
    assert page.count("#uji-table tbody i") == 0
    assert sort_order(page) == [None, "descending", None]
    # a number column first sorts the way the table started (largest first), again the other way
    page.click("#uji-table th button", text="Terjangkau")
    assert [row[0] for row in ranked_rows(page)] == ["alun-alun", "Banjar", strange]
    assert sort_order(page) == [None, None, "descending"]
    page.click("#uji-table th button", text="Terjangkau")
    assert [row[0] for row in ranked_rows(page)] == ["Banjar", "alun-alun", strange]
    assert sort_order(page) == [None, None, "ascending"]
    # text A to Z in Indonesian order (not by character code, which puts capitals first)
    page.click("#uji-table th button", text="Wilayah")
    assert [row[0] for row in ranked_rows(page)] == [strange, "alun-alun", "Banjar"]
    assert sort_order(page) == ["ascending", None, None]
    # "Unduh CSV": the rows as shown, numbers as shown (unformatted), a byte order mark first
    name, text = page.download("button.geo-csv[data-table=uji-table]")
    assert name == "uji.csv"
    assert text == (
        "\ufeffWilayah,Penduduk,Terjangkau %\r\n"
        '"<i>Cibeber</i> ""Baru"", Timur",3400,\r\nalun-alun,,75.0\r\nBanjar,1200,40.3\r\n'
    )
    assert text.lstrip("\ufeff") == page.evaluate("GeoApp.tableCsv(document.getElementById('uji-table'))")
    page.click("#uji-table th button", text="Wilayah")
    assert [row[0] for row in ranked_rows(page)] == ["Banjar", "alun-alun", strange]
    # pointing at a row outlines its area, leaving it takes the outline away; a click zooms to the area
    outlined = ".leaflet-overlay-pane path[stroke-width='3']"
    row = "document.querySelector('#uji-table tr[data-key=A]')"
    page.evaluate(f"{row}.dispatchEvent(new MouseEvent('mouseenter'))")
    assert page.count(outlined) == 1
    assert page.evaluate(f"{row}.classList.contains('geo-row-active')")
    page.evaluate(f"{row}.dispatchEvent(new MouseEvent('mouseleave'))")
    assert page.count(outlined) == 0
    area_width = "document.querySelectorAll('.leaflet-overlay-pane path')[0].getBoundingClientRect().width"
    before = page.evaluate(area_width)
    page.evaluate(f"{row}.click()")
    page.wait_until(f"{area_width} > {before} * 4")
    page.screenshot(tmp_path / "ranked.png")
    assert page.errors == []
    page.close()
