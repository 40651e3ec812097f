"""/maps/coverage in headless Chromium on the sample city: layers load from the API with no outside
request, fire posts show Indonesian popups, the chart lists every kelurahan, planners see suggested sites."""

from __future__ import annotations

from pathlib import Path

import pytest

CLICK_FIRST_MARKER = """(() => {
    const marker = document.querySelector('.geo-asset-icon');
    marker.dispatchEvent(new MouseEvent('click', {bubbles: true}));
    return document.querySelector('.leaflet-popup-content').innerText;
})()"""


@pytest.mark.browser
def test_coverage_map_in_chromium(open_page, sample_city, tmp_path: Path):
    page = open_page("/maps/coverage?type=pos_damkar&mode=radius&value=2500")
    assert page.errors == []
    assert page.external_requests() == []
    assert page.count(".geo-asset-icon") >= 3  # the sample city's fire posts, each on its own
    assert page.count(".leaflet-overlay-pane path") >= 43  # kelurahan choropleth, covered area, gaps
    labels = ".leaflet-control-layers-overlays label"
    layers = page.evaluate(f"[...document.querySelectorAll('{labels}')].map(label => label.innerText.trim())")
    assert layers == [
        "Kelurahan: penduduk terjangkau (%)",
        "Area terjangkau",
        "Celah cakupan (belum terjangkau)",
        "Aset: Pos pemadam kebakaran",
        "Usulan lokasi baru (Pos pemadam kebakaran)",
    ]
    assert (
        page.count(".leaflet-overlay-pane path.leaflet-interactive[fill='#6a3d9a']") == 5
    )  # suggested sites
    assert page.count(".geo-legend li") >= 5
    assert page.count(".geo-chart rect") == 43  # one bar per kelurahan
    popup = page.evaluate(CLICK_FIRST_MARKER)
    for label in ("Nama", "OPD", "Status", "Fase", "Aktif"):
        assert label in popup
    page.screenshot(tmp_path / "coverage.png")


@pytest.mark.browser
def test_travel_time_view_and_anonymous_visitors(open_page, sample_city):
    page = open_page("/maps/coverage?type=pos_damkar&mode=travel_time&value=10", role=None)
    assert page.errors == []
    assert "waktu tempuh 10 menit" in page.evaluate("document.querySelector('.geo-header').innerText")
    labels = page.evaluate("document.querySelector('.leaflet-control-layers-overlays').innerText")
    assert "Usulan lokasi baru" not in labels  # siting is for planners; visitors get no failing layer
    assert page.count(".geo-load-error") == 0


def test_coverage_map_rejects_bad_parameters(client, sample_city):
    assert client.get("/maps/coverage?type=kamera").status_code == 400
    assert client.get("/maps/coverage?mode=travel_time&value=-3").status_code == 400
    assert client.get("/maps/coverage?colour=red").status_code == 400
