"""/maps/coverage in headless Chromium on the sample city, acting out the planner's three questions at desktop
and phone width and reading the answers from the page (checked against the API): the share of people within
15 minutes of a fire post, the gaps (ranked table, its CSV, the area outlined on hover), and where the next
3 CCTV go (numbered sites and their list, cumulative from today's share). Also: layers load from the API
with no outside request, fire posts show Indonesian popups, visitors get no siting layer."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from browser import PHONE, WINDOW

CLICK_FIRST_MARKER = """(() => {
    const marker = document.querySelector('.geo-asset-icon');
    marker.dispatchEvent(new MouseEvent('click', {bubbles: true}));
    return document.querySelector('.leaflet-popup-content').innerText;
})()"""
FIRE_15 = "/maps/coverage?type=pos_damkar&mode=travel_time&value=15"
CCTV_3 = "/maps/coverage?type=cctv&count=3"
SITES_LISTED = "document.querySelectorAll('#geo-sites li').length === 3 && !window.GeoApp.pending"


def number(text: str) -> float:
    """An Indonesian number (12.345,6) as a float."""
    return float(text.replace(".", "").replace(",", "."))


def api(page, url: str):
    return page.evaluate(f"fetch({json.dumps(url)}).then(response => response.json())")


def table(page, table_id: str) -> list[list[str]]:
    return page.evaluate(
        f"[...document.querySelectorAll('#{table_id} tbody tr')]"
        ".map(row => [...row.cells].map(cell => cell.innerText.trim()))"
    )


@pytest.mark.browser
@pytest.mark.parametrize("window", [WINDOW, PHONE], ids=["desktop", "phone"])
def test_share_of_people_within_15_minutes_of_a_fire_post(open_page, sample_city, tmp_path: Path, window):
    page = open_page(FIRE_15, window=window)
    assert page.errors == []
    assert page.external_requests() == []
    headline = page.evaluate("document.querySelector('.geo-headline').innerText")
    share = re.match(
        r"([\d.,]+) % penduduk \(([\d.]+) dari ([\d.]+) jiwa\) dalam waktu tempuh 15 menit", headline
    )
    assert share, headline
    city = api(page, "/api/analysis/coverage?type=pos_damkar&mode=travel_time&minutes=15")["city"]
    assert number(share[1]) == pytest.approx(city["population_covered_pct"], abs=0.05)
    assert number(share[2]) == pytest.approx(city["population_covered"], abs=1)
    # The choropleth uses the fixed 20 % classes, and the hatched gaps have their own legend entry.
    legends = page.evaluate("[...document.querySelectorAll('.geo-legend')].map(box => box.textContent)")
    assert "0 – 20" in legends[0] or "0 – 20" in legends[1]
    assert any("Celah cakupan" in text for text in legends)
    assert page.count("path.geo-gap") >= 1
    panel_top = page.evaluate("document.querySelector('.geo-panel').getBoundingClientRect().top")
    map_top = page.evaluate("document.querySelector('.folium-map').getBoundingClientRect().top")
    if window == PHONE:  # the map fills the screen; layers, legends and the panel fold behind buttons
        shown = "el => el && getComputedStyle(el).display !== 'none'"
        assert not page.evaluate(f"({shown})(document.querySelector('.geo-panel'))")
        assert not page.evaluate(f"({shown})(document.querySelector('.leaflet-control-layers'))")
        assert page.count("details.geo-legend-fold:not([open])") == page.count("details.geo-legend-fold")
    else:
        assert map_top == pytest.approx(panel_top, abs=1)  # side by side
    page.screenshot(tmp_path / f"coverage-fire-{window[0]}.png")


@pytest.mark.browser
def test_the_gaps_ranked_downloadable_and_outlined(open_page, sample_city, tmp_path: Path):
    page = open_page(FIRE_15)
    rows = table(page, "geo-kelurahan-table")
    kelurahan = api(page, "/api/analysis/coverage?type=pos_damkar&mode=travel_time&minutes=15")["kelurahan"]
    assert len(rows) == len(kelurahan) == 43
    by_name = {row["name"]: row for row in kelurahan}
    gaps = [number(row[3]) for row in rows]
    assert gaps == sorted(gaps, reverse=True) and gaps[0] > 0  # the largest gap first
    worst = max(kelurahan, key=lambda row: row["population_uncovered"])
    assert rows[0][0] == worst["name"]
    for name, people, share, gap in rows:
        assert number(people) == pytest.approx(by_name[name]["population"], abs=0.5)
        assert number(share) == pytest.approx(by_name[name]["population_covered_pct"], abs=0.05)
        assert number(gap) == pytest.approx(by_name[name]["population_uncovered"], abs=0.5)
    # "Unduh CSV" saves the same numbers.
    saved = list(
        csv.reader(
            io.StringIO(page.evaluate("GeoApp.tableCsv(document.getElementById('geo-kelurahan-table'))"))
        )
    )
    assert saved[0] == ["Kelurahan", "Penduduk", "Terjangkau %", "Belum terjangkau"]
    assert [[row[0], *map(float, row[1:])] for row in saved[1:]] == [
        [name, number(people), number(share), number(gap)] for name, people, share, gap in rows
    ]
    name, text = page.download("button.geo-csv[data-table=geo-kelurahan-table]")
    assert (
        name == "cakupan-kelurahan.csv"
        and text.startswith("\ufeff")
        and list(csv.reader(io.StringIO(text[1:]))) == saved
    )
    # Sorting by share puts the least covered kelurahan first after two clicks (descending, then ascending).
    page.click("#geo-kelurahan-table th button", text="Terjangkau %")
    shares = [number(row[2]) for row in table(page, "geo-kelurahan-table")]
    assert shares == sorted(shares, reverse=True)
    page.click("#geo-kelurahan-table th button", text="Terjangkau %")
    shares = [number(row[2]) for row in table(page, "geo-kelurahan-table")]
    assert shares == sorted(shares)
    assert page.evaluate(
        "Array.from(document.querySelectorAll('#geo-kelurahan-table th'), th => th.getAttribute('aria-sort'))"
    ) == [None, None, "ascending", None]
    # Hovering the row of the largest gap outlines that kelurahan on the map.
    row = f"document.querySelector('#geo-kelurahan-table tr[data-key=\"{worst['code']}\"]')"
    page.evaluate(f"{row}.dispatchEvent(new MouseEvent('mouseenter'))")
    outlined = page.count('.leaflet-overlay-pane path[stroke-width="3"]')
    assert outlined == 1
    kecamatan = table(page, "geo-kecamatan-table")
    assert len(kecamatan) == 8 and page.count(".geo-chart rect") == 8  # the chart shows kecamatan shares
    page.screenshot(tmp_path / "coverage-gaps.png")


@pytest.mark.browser
@pytest.mark.parametrize("window", [WINDOW, PHONE], ids=["desktop", "phone"])
def test_where_the_next_3_cctv_go(open_page, sample_city, tmp_path: Path, window):
    page = open_page(CCTV_3, window=window)
    page.wait_until(SITES_LISTED)
    assert page.errors == []
    assert page.evaluate("document.querySelector('input[name=count]').value") == "3"
    lines = page.evaluate("[...document.querySelectorAll('#geo-sites li')].map(item => item.innerText)")
    assert page.count(".geo-site-icon") == 3
    assert page.evaluate("[...document.querySelectorAll('.geo-site-icon')].map(i => i.innerText)") == [
        "1",
        "2",
        "3",
    ]
    body = api(page, "/api/analysis/siting?type=cctv&mode=radius&count=3")
    today = number(
        re.match(r"([\d.,]+) %", page.evaluate("document.querySelector('.geo-headline').innerText"))[1]
    )
    cumulative = []
    for line, site in zip(lines, body["sites"], strict=True):
        parsed = re.fullmatch(r"(\d)\. (.+), \+([\d.]+) jiwa, kumulatif ([\d,]+) %", line)
        assert parsed, line
        assert (int(parsed[1]), parsed[2]) == (site["rank"], site["kelurahan"])
        assert number(parsed[3]) == pytest.approx(site["population_gain"], abs=0.5)
        cumulative.append(number(parsed[4]))
    assert today <= cumulative[0] <= cumulative[1] <= cumulative[2]  # from today's share on, never below
    explanation = page.evaluate("document.querySelector('#geo-sites').previousElementSibling.innerText")
    assert "radius 100 m" in explanation and "MCLP" not in page.evaluate("document.body.innerText")
    page.screenshot(tmp_path / f"coverage-cctv-{window[0]}.png")


@pytest.mark.browser
def test_coverage_map_in_chromium(open_page, sample_city, tmp_path: Path):
    page = open_page("/maps/coverage?type=pos_damkar&mode=radius&value=2500")
    page.wait_until(SITES_LISTED)
    assert page.errors == []
    assert page.external_requests() == []
    assert not any(
        name in url for url in page.requested for name in ("jquery", "bootstrap", "awesome-markers")
    )
    assert page.count(".geo-asset-icon") >= 3  # the sample city's fire posts, each on its own
    assert page.count(".leaflet-overlay-pane path") >= 43  # kelurahan choropleth and gaps
    labels = ".leaflet-control-layers-overlays label"
    layers = page.evaluate(f"[...document.querySelectorAll('{labels}')].map(label => label.innerText.trim())")
    assert layers == [
        "Kelurahan: penduduk terjangkau (%)",
        "Area terjangkau",
        "Celah cakupan (belum terjangkau)",
        "Aset: Pos pemadam kebakaran",
        "Usulan lokasi baru (Pos pemadam kebakaran)",
    ]
    assert "dalam radius 2.500 m" in page.evaluate(
        "document.querySelector('#geo-sites').parentElement.innerText"
    )
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
    assert page.count("#geo-sites") == 0 and page.count("input[name=count]") == 0
    assert page.count(".geo-load-error") == 0


def test_coverage_map_rejects_bad_parameters(client, sample_city):
    assert client.get("/maps/coverage?type=kamera").status_code == 400
    assert client.get("/maps/coverage?mode=travel_time&value=-3").status_code == 400
    assert client.get("/maps/coverage?colour=red").status_code == 400
    too_many = client.get("/maps/coverage?count=101", headers={"Accept": "text/html"})
    assert too_many.status_code == 400 and "Jumlah lokasi usulan" in too_many.get_data(as_text=True)
    assert client.get("/maps/coverage?count=").status_code == 200  # an emptied field: the default
