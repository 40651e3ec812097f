"""/maps/areas: only local assets (or the basemap setting), polygons by URL, and the page in Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import TEST_CITY
from shapely.geometry import box

from geo_app import create_app
from geo_app.db import connect
from geo_app.maps import vendor
from geo_app.settings import Settings
from geo_app.store import areas as area_store

KECAMATAN = 3
KELURAHAN_PER_KECAMATAN = 15
BASEMAP = "https://tiles.example.go.id/{z}/{x}/{y}.png"


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
        area_store.upsert_city(conn, TEST_CITY, "Kota Uji", timezone="Asia/Jakarta", metric_srid=32748)
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


def test_areas_page_has_no_outside_url_without_basemap(grid_page: str):
    assert vendor.external_urls(grid_page) == []
    assert "/static/vendor/leaflet/leaflet.js" in grid_page
    assert '"api/areas?level=kelurahan"' in grid_page  # relative: resolved against the city's <base>
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


def test_areas_page_of_a_city_without_areas_says_how_to_load_them(database_url: str):
    app = create_app(Settings.from_env(database_url=database_url, env="test", city_code="99.09"))
    response = app.test_client().get("/maps/areas")
    app.extensions["db_pool"].close()
    assert response.status_code == 404
    assert "load-sample" in response.json["detail"]


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


@pytest.mark.browser
def test_areas_map_draws_kelurahan_in_chromium_without_network(open_page, sample_city, tmp_path: Path):
    page = open_page("/maps/areas")
    assert page.errors == []
    assert page.external_requests() == []
    assert page.count(".leaflet-overlay-pane path") >= 43 + 8  # kelurahan fills and kecamatan outlines
    assert page.count(".geo-legend li") >= 3
    overlays = page.evaluate(
        "[...document.querySelectorAll('.leaflet-control-layers-overlays label')]"
        ".map(label => label.textContent.trim())"
    )
    assert {"Kelurahan: kepadatan penduduk", "Batas kecamatan"} <= set(overlays)
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
