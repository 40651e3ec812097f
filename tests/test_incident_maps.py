"""112 on the sample city: the planted emerging cluster, the two map pages in headless Chromium."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest

from geo_app.db import connect

TPSA_BAGENDUNG = (106.0277, -6.0540)  # the sample generator's emerging KAMTIBMAS cluster (Aug-Oct 2026)
SAMPLE_YEARS = "start=2024-11-01&end=2026-10-31"  # the sample's fixed history (the page opens on 3 months)


def distance_m(lon: float, lat: float, other: tuple[float, float]) -> float:
    dx = (lon - other[0]) * 111_320 * math.cos(math.radians(lat))
    dy = (lat - other[1]) * 110_574
    return math.hypot(dx, dy)


def test_planted_emerging_cluster_is_new_consecutive_or_intensifying(client, sample_city):
    response = client.get("/api/analysis/emerging?category=KAMTIBMAS&end=2026-10-31&step=month")
    assert response.status_code == 200, response.json
    near = []
    for feature in response.json["features"]:
        ring = feature["geometry"]["coordinates"][0]
        lon = sum(point[0] for point in ring) / len(ring)
        lat = sum(point[1] for point in ring) / len(ring)
        if distance_m(lon, lat, TPSA_BAGENDUNG) < 400 and feature["properties"]["incidents"] >= 10:
            near.append(feature["properties"]["category"])
    assert near, "no busy cell near TPSA Bagendung"
    assert set(near) <= {"new_hot_spot", "consecutive_hot_spot", "intensifying_hot_spot"}


def test_hotspots_on_the_sample_city_report_their_scale(client, sample_city):
    body = client.get("/api/analysis/hotspots").json
    assert body["grid"] == "hexagon" and body["cell_size_m"] >= 50 and body["band_m"] > 0
    assert body["incidents_in_cells"] == body["incidents"] > 1000
    assert any(feature["properties"]["bin"] == 3 for feature in body["features"])


@pytest.mark.browser
def test_hotspots_page_in_chromium(open_page, sample_city, tmp_path: Path):
    page = open_page(f"/maps/hotspots?{SAMPLE_YEARS}")
    assert page.errors == []
    assert page.external_requests() == []
    assert page.count(".leaflet-overlay-pane path") > 500  # Gi* hexagons and cluster outlines
    assert page.count(".geo-legend") >= 1
    assert "Jarak ambang" in page.evaluate("document.getElementById('geo-hotspot-summary').innerText")
    page.screenshot(tmp_path / "hotspots.png")


@pytest.mark.browser
def test_live_incidents_page_in_chromium_without_personal_data(
    open_page, client, sample_city, database_url, tmp_path
):
    page = open_page("/maps/incidents")
    assert page.errors == []
    assert page.count(".leaflet-marker-icon") >= 1  # clusters or category markers
    assert "insiden berlokasi" in page.evaluate("document.getElementById('geo-live-summary').innerText")
    page.screenshot(tmp_path / "incidents.png")
    with connect(database_url) as conn:
        callers = conn.execute(
            "SELECT c.caller_name, c.caller_phone FROM incident_callers c "
            "JOIN incidents i ON i.id = c.incident_id "
            "WHERE i.received_at > now() - interval '24 hours' AND c.caller_phone IS NOT NULL"
        ).fetchall()
    assert callers
    html = page.evaluate("document.documentElement.outerHTML")
    feed = client.get(
        "/api/incidents?limit=1000&start="
        + page.evaluate("new Date(Date.now() - 24 * 3600 * 1000).toISOString().slice(0, 10)")
    ).get_data(as_text=True)  # what the page's popups are built from
    for caller in callers:
        for value in (caller["caller_name"], caller["caller_phone"]):
            assert value is None or (value not in html and value not in feed)


@pytest.mark.browser
def test_hotspots_page_fetches_a_layer_only_once_it_is_switched_on(open_page, sample_city):
    page = open_page(f"/maps/hotspots?{SAMPLE_YEARS}")
    analyses = [url for url in page.requested if "/api/analysis/" in url]
    assert any("/api/analysis/hotspots?" in url for url in analyses)  # Gi*, on by default
    for hidden in ("/api/analysis/emerging", "/api/analysis/response/kelurahan", "/hotspots/density"):
        assert not any(hidden in url for url in analyses), hidden
    assert page.evaluate("document.querySelector('.geo-loading').hidden") is True
    page.evaluate(
        "Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
        ".find(label => label.textContent.includes('Kepatuhan waktu tanggap')).querySelector('input').click()"
    )
    page.wait_until("window.GeoApp.pending === 0")
    assert any("/api/analysis/response/kelurahan" in url for url in page.requested)
    assert page.errors == []


@pytest.mark.browser
def test_too_few_incidents_give_an_indonesian_note_not_a_red_banner(client, open_page, sample_city, tmp_path):
    narrow = "start=2026-10-01&end=2026-10-01&category=KEBAKARAN"
    assert client.get(f"/api/analysis/hotspots?{narrow}").status_code == 422
    page = open_page(f"/maps/hotspots?{narrow}")
    assert page.count(".geo-load-error") == 0
    summary = page.evaluate("document.getElementById('geo-hotspot-summary').innerText")
    assert "tidak cukup untuk dianalisis" in summary and "periode yang lebih panjang" in summary
    assert not [error for error in page.errors if "GeoApp" in error]
    page.screenshot(tmp_path / "narrow.png")


def ranking_names(page, level: str = "kelurahan") -> list[str]:
    return page.evaluate(
        f"Array.from(document.querySelectorAll('#geo-response-{level} tbody td:first-child'),"
        " cell => cell.innerText)"
    )


@pytest.mark.browser
def test_kelurahan_ranked_by_response_compliance_sort_and_download(client, open_page, sample_city, tmp_path):
    expected = client.get(f"/api/analysis/response?{SAMPLE_YEARS}").json
    by_kelurahan = expected["by_kelurahan"]
    page = open_page(f"/maps/hotspots?{SAMPLE_YEARS}")
    assert page.errors == []
    table = "#geo-response-kelurahan tbody tr"
    assert page.count(table) == len(by_kelurahan) > 10
    worst = min(by_kelurahan.values(), key=lambda summary: summary["gap_points"])
    first = page.evaluate(f"Array.from(document.querySelector('{table}').cells).map(c => c.innerText)")
    assert first[0] == worst["name"]  # numbered by a CSS counter, in the order shown
    assert first[2] == f"{worst['compliance'] * 100:.1f}".replace(".", ",")
    assert first[3] == f"{worst['goal_pct']:.1f}".replace(".", ",")
    gap = worst["gap_points"]
    assert first[4] == f"{'+' if gap > 0 else ''}{gap:.1f}".replace(".", ",")
    shown_gaps = page.evaluate(
        f"Array.from(document.querySelectorAll('{table}'), r => Number(r.cells[4].dataset.value))"
    )
    assert shown_gaps == sorted(shown_gaps)  # furthest below the goal first
    # a header click sorts by its column, lowest first; again: highest first
    page.click("#geo-response-kelurahan th button", text="Sesuai %")
    lowest = min(by_kelurahan.values(), key=lambda summary: summary["compliance"])
    assert ranking_names(page)[0] == lowest["name"]
    sorted_by = "Array.from(document.querySelectorAll('#geo-response-kelurahan th[aria-sort]'),"
    sorted_by += " th => [th.innerText, th.getAttribute('aria-sort')])"
    assert page.evaluate(sorted_by) == [["Sesuai %", "ascending"]]
    page.click("#geo-response-kelurahan th button", text="Sesuai %")
    best = max(by_kelurahan.values(), key=lambda summary: summary["compliance"])
    assert ranking_names(page)[0] == best["name"]
    assert page.evaluate(sorted_by) == [["Sesuai %", "descending"]]
    # "Unduh CSV" saves the rows as shown, the columns named as in the API
    name, text = page.download("button.geo-csv[data-table=geo-response-kelurahan]")
    assert name == "kepatuhan-waktu-tanggap-kelurahan.csv" and text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert lines[0] == ["kelurahan", "incidents", "compliance_pct", "goal_pct", "gap_points"]
    assert [line[0] for line in lines[1:]] == ranking_names(page)
    assert lines[1] == [
        best["name"],
        str(best["incidents"]),
        f"{best['compliance'] * 100:.1f}",
        f"{best['goal_pct']:.1f}",
        f"{best['gap_points']:.1f}",
    ]
    # pointing at a row outlines its kelurahan on the map, leaving the table removes it
    page.evaluate(
        "document.querySelector('#geo-response-kelurahan tbody tr td')"
        ".dispatchEvent(new MouseEvent('mouseover', {bubbles: true}))"
    )
    page.wait_until("window.GeoApp.pending === 0")
    assert page.count("path.geo-row-highlight") == 1
    page.evaluate("document.getElementById('geo-response-ranking').scrollIntoView()")
    page.screenshot(tmp_path / "ranking.png")
    page.evaluate(
        "document.getElementById('geo-response-ranking').dispatchEvent(new MouseEvent('mouseleave'))"
    )
    assert page.count("path.geo-row-highlight") == 0
    # the kecamatan, one click away, sorted and outlined the same way
    page.click("#geo-response-ranking .geo-levels button", text="Kecamatan")
    levels_hidden = (
        "Array.from(document.querySelectorAll('#geo-response-ranking .geo-level'), box => box.hidden)"
    )
    assert page.evaluate(levels_hidden) == [True, False]
    by_kecamatan = expected["by_kecamatan"]
    worst = min(by_kecamatan.values(), key=lambda summary: summary["gap_points"])
    assert ranking_names(page, "kecamatan")[0] == worst["name"] and page.count(
        "#geo-response-kecamatan tbody tr"
    ) == len(by_kecamatan)
    page.click("#geo-response-kecamatan th button", text="Kecamatan")
    assert ranking_names(page, "kecamatan") == sorted(ranking_names(page, "kecamatan"), key=str.lower)
    page.evaluate(
        "document.querySelector('#geo-response-kecamatan tbody td')"
        ".dispatchEvent(new MouseEvent('mouseover', {bubbles: true}))"
    )
    page.wait_until("window.GeoApp.pending === 0")
    assert page.count("path.geo-row-highlight") == 1
    assert page.errors == []
