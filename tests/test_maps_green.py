"""/maps/green on the sample city: local assets only, layers by URL, swipe, chart; opened in Chromium."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from geo_app.maps import vendor
from geo_app.web.green_pages import comparison_dates

WIB = ZoneInfo("Asia/Jakarta")

SHOTS = Path(os.environ.get("GEO_APP_SCREENSHOTS", "/tmp"))


def test_default_comparison_dates():
    today = date(2026, 11, 28)
    assert comparison_dates(None, today, WIB) == (date(2025, 11, 28), today)
    recent = datetime.fromisoformat("2026-06-01T00:00:00+07:00")
    assert comparison_dates(recent, today, WIB) == (date(2026, 6, 1), today)
    assert comparison_dates(datetime.fromisoformat("2026-11-28T08:00:00+07:00"), today, WIB)[0] == date(
        2026, 11, 27
    )


def test_page_html_is_light_and_local(client):
    response = client.get("/maps/green?from=2025-07-01&to=2026-08-01")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Ruang Terbuka Hijau" in html
    assert vendor.external_urls(html) == []
    assert "api/green-areas?as_of=2025-07-01" in html and "api/green-areas?as_of=2026-08-01" in html
    assert (
        "api/green-areas/changes?from=2025-07-01&amp;to=2026-08-01" in html
        or "changes?from=2025-07-01" in html
    )
    assert len(html) < 200_000  # polygons come by URL


@pytest.mark.parametrize("query", ["from=2026-01-01&to=2025-01-01", "from=kemarin", "warna=hijau"])
def test_page_parameters(client, query):
    response = client.get(f"/maps/green?{query}")
    assert response.status_code == 400 and response.get_json()["detail"]


@pytest.mark.browser
def test_green_map_in_chromium(open_page):
    page = open_page("/maps/green?from=2025-07-01&to=2026-08-01")
    assert page.errors == []
    assert page.external_requests() == []
    assert page.count(".leaflet-sbs-range") == 1
    left = page.count(".leaflet-rthKiri-pane path")
    right = page.count(".leaflet-rthKanan-pane path")
    assert left > 50 and right > 50
    assert page.count(".leaflet-rthDasar-pane path") >= 43
    changed = page.evaluate(
        "Array.from(document.querySelectorAll('.leaflet-overlay-pane path'))"
        ".filter(p => ['#2166ac', '#b2182b'].includes(p.getAttribute('fill'))).length"
    )
    assert changed > 0
    assert page.count(".geo-panel svg.geo-chart") == 2
    assert "Ringkasan kota" in page.evaluate("document.querySelector('.geo-panel').innerText")
    page.screenshot(SHOTS / "maps_green.png")
    # The access gaps are off at first; switched on from the layer control they load and draw.
    page.evaluate(
        "Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
        ".find(l => l.innerText.includes('Di luar')).querySelector('input').click()"
    )
    page._drain(1.5)
    assert page.count(".leaflet-rthCelah-pane path") > 0
    page.screenshot(SHOTS / "maps_green_access.png")
