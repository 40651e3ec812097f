"""The 112 supervisor's three questions acted out in Chromium on the sample city, on a desktop (1400×900)
and a phone (400×800) window, answers read from the page and checked against the API and the database:

1. this month's traffic-accident hotspots (the sample's last month, October 2026, chosen in the form);
2. which kelurahan misses the response target (ranked table, then the map);
3. what emerged recently (the emerging hot-spot layer over the last 12 months).
"""

from __future__ import annotations

import json
from collections import defaultdict
from urllib.parse import urlsplit

import pytest

from geo_app.db import connect
from geo_app.maps.hotspots import MONTHS

WINDOWS = {"desktop": (1400, 900), "phone": (400, 800)}
ACCIDENTS = "Kecelakaan lalu lintas"
COMPLIANCE_LAYER = "Kepatuhan waktu tanggap per kelurahan"
EMERGING_LAYER = "Pola hotspot baru/berkembang"
RECENT = {"new_hot_spot": "Hotspot baru", "consecutive_hot_spot": "Hotspot berturut-turut"}
RECENT["intensifying_hot_spot"] = "Hotspot menguat"
# A point inside the fill of the first path matching a selector, in window pixels, that a click would hit
# on that very path (null when none is visible): how a reader points at an area on the map.
POINT_IN_PATH = """(selector => {
    const map = document.querySelector('.folium-map').getBoundingClientRect();
    for (const path of document.querySelectorAll(selector)) {
        const box = path.getBoundingClientRect(), matrix = path.getScreenCTM().inverse();
        for (let i = 1; i < 12; i++) for (let j = 1; j < 12; j++) {
            const x = box.left + box.width * i / 12, y = box.top + box.height * j / 12;
            if (x < map.left + 60 || x > map.right - 20 || y < map.top + 20 || y > map.bottom - 40) continue;
            const local = new DOMPoint(x, y).matrixTransform(matrix);
            if (path.isPointInFill(local) && document.elementFromPoint(x, y) === path) return {x, y};
        }
    }
    return null;
})"""


def api_url(page, path: str) -> str:
    """The URL (path and query) of the page's latest request to ``path``."""
    url = [url for url in page.requested if urlsplit(url).path == path][-1]
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def legends(page) -> list[str]:
    """Titles of the legends on the map."""
    return page.evaluate(
        "Array.from(document.querySelectorAll('.geo-legend:not([hidden]) summary h3')).map(h => h.innerText)"
    )


def visible(page, selector: str, text: str) -> bool:
    return page.evaluate(
        f"Array.from(document.querySelectorAll({json.dumps(selector)})).some(item => "
        f"item.getClientRects().length && item.innerText.includes({json.dumps(text)}))"
    )


def open_panel(page, phone: bool) -> None:
    """On a phone the side panel is a sheet folded away until "Rincian & filter" is pressed."""
    if phone:
        assert not visible(page, ".geo-panel", "Filter")  # the map comes first
        page.click(".geo-phone-toggles button", text="Rincian & filter")
    assert visible(page, ".geo-panel", "Filter")


def fold_panel(page, phone: bool) -> None:
    if phone and page.evaluate("document.body.classList.contains('geo-show-panel')"):
        page.click(".geo-phone-toggles button", text="Rincian & filter")


def show_controls(page, phone: bool) -> None:
    """On a phone the layer switcher and the legends fold away behind "Lapisan & legenda"."""
    if phone and not page.evaluate("document.body.classList.contains('geo-show-controls')"):
        assert not visible(page, ".leaflet-control-layers", "Hotspot Gi*")
        page.click(".geo-phone-toggles button", text="Lapisan & legenda")
    assert visible(page, ".leaflet-control-layers", "Hotspot Gi*")


def place(properties: dict) -> str:
    return f"Kel. {properties['kelurahan']}, Kec. {properties['kecamatan']}"


def places_by_incidents(features: list[dict], count_key: str) -> dict[str, tuple[int, int]]:
    """Place -> (incidents, cells) of some cells, as the page lists them."""
    places: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for feature in features:
        entry = places[place(feature["properties"])]
        entry[0] += feature["properties"][count_key]
        entry[1] += 1
    return {name: (incidents, cells) for name, (incidents, cells) in places.items()}


def listed_places(page, container: str, title: str) -> list[tuple[str, int, int]]:
    """(place, incidents, cells) of the list under ``title`` in ``container``, in the page's order."""
    items = page.evaluate(
        f"""(() => {{
        const heading = Array.from(document.querySelectorAll({json.dumps(container + " h3")}))
            .find(h => h.innerText === {json.dumps(title)});
        const list = heading && heading.nextElementSibling;
        return list && list.tagName === 'OL' ? Array.from(list.children).map(li => li.innerText) : [];
        }})()"""
    )
    rows = []
    for item in items:
        name, figures = item.split(" — ")
        incidents, cells = figures.removesuffix(" sel)").split(" insiden (")
        rows.append((name, int(incidents.replace(".", "")), int(cells)))
    return rows


def check_place_list(listed: list[tuple[str, int, int]], expected: dict[str, tuple[int, int]]) -> None:
    """The page lists the places with the most incidents, most first, each with the API's figures."""
    assert listed, "no place listed"
    assert len(listed) == min(5, len(expected))
    for name, incidents, cells in listed:
        assert expected[name] == (incidents, cells), name
    shown = [incidents for _, incidents, _ in listed]
    assert shown == sorted(shown, reverse=True)
    assert shown[0] == max(incidents for incidents, _ in expected.values())


def accidents_in_october(database_url: str, city: str) -> int:
    """Emergency calls about road accidents received in October 2026, local time, counted in SQL."""
    with connect(database_url) as conn:
        return conn.execute(
            "SELECT count(*) AS n FROM incidents WHERE city_code = %s AND call_type = 'darurat' "
            "AND category = 'KECELAKAAN_LL' AND received_at >= '2026-10-01T00:00:00+07:00' "
            "AND received_at < '2026-11-01T00:00:00+07:00'",
            (city,),
        ).fetchone()["n"]


@pytest.mark.browser
@pytest.mark.parametrize("window", WINDOWS, ids=list(WINDOWS))
def test_this_months_traffic_accident_hotspots(
    open_page, client, sample_city, database_url, window, tmp_path
):
    phone = window == "phone"
    page = open_page("/maps/hotspots", window=WINDOWS[window])
    assert page.errors == []
    open_panel(page, phone)
    # the sample's history ends in October 2026: that is "this month" here, chosen as dates in the form
    page.evaluate(
        "const form = document.querySelector('.geo-filter-form');"
        "form.start.value = '2026-10-01'; form.end.value = '2026-10-31';"
        "form.start.dispatchEvent(new Event('change'));"
    )
    assert page.evaluate("document.querySelector('.geo-filter-form').period.value") == "custom"
    page.click(".geo-filter-form label.geo-check", text=ACCIDENTS)
    page.click(".geo-filter-form button[type=submit]", navigates=True)
    assert page.errors == []

    header = page.text(".geo-subtitle")
    count = accidents_in_october(database_url, sample_city)
    assert count > 30
    assert f"{ACCIDENTS} · 1 – 31 Oktober 2026 · {count} insiden" in header, header

    answer = client.get(api_url(page, "/api/analysis/hotspots")).json
    hot = [feature for feature in answer["features"] if feature["properties"]["bin"] > 0]
    assert hot
    # a hot cell is hot for the incidents around it (within the band), though it may hold none itself
    assert all(f["properties"]["nearby"] >= f["properties"]["count"] for f in answer["features"])
    assert all(feature["properties"]["nearby"] > 0 for feature in hot)
    open_panel(page, phone)
    listed = listed_places(page, "#geo-hotspot-summary", "Hotspot menurut kelurahan")
    check_place_list(listed, places_by_incidents(hot, "count"))
    page.evaluate("document.getElementById('geo-hotspot-summary').scrollIntoView()")
    page.screenshot(tmp_path / f"q1-{window}-list.png")

    # the reader clicks the hottest cell on the map: the popup names the place and the class in words
    fold_panel(page, phone)
    strongest = max(feature["properties"]["bin"] for feature in hot)
    point = page.evaluate(f"{POINT_IN_PATH}('path.geo-gi-hot{strongest}')")
    assert point, "no hotspot cell to click"
    page.click_at(point["x"], point["y"])
    popup = page.text(".leaflet-popup-content")
    assert popup.startswith("Kel. "), popup
    assert f"Hotspot {({3: 99, 2: 95, 1: 90})[strongest]}%" in popup and "Insiden di sel" in popup
    assert "p (dua sisi)" not in popup and "Gi* z" not in popup  # the statistics stay folded
    nearby = next(line for line in popup.splitlines() if line.startswith("Insiden dalam "))
    assert f"Insiden dalam {round(answer['band_m'])} m" in nearby and int(nearby.split()[-1]) > 0, nearby
    popup_place = popup.splitlines()[0]
    assert popup_place in {
        place(feature["properties"]) for feature in hot if feature["properties"]["bin"] == strongest
    }
    page.screenshot(tmp_path / f"q1-{window}-popup.png")
    assert page.errors == []


@pytest.mark.browser
@pytest.mark.parametrize("window", WINDOWS, ids=list(WINDOWS))
def test_which_kelurahan_misses_the_response_target(open_page, client, sample_city, window, tmp_path):
    phone = window == "phone"
    page = open_page("/maps/hotspots", window=WINDOWS[window])
    assert page.errors == []
    answer = client.get(api_url(page, "/api/analysis/response")).json
    kelurahan = answer["by_kelurahan"]
    below = [summary for summary in kelurahan.values() if summary["gap_points"] < 0]
    worst = min(kelurahan.values(), key=lambda summary: summary["gap_points"])
    assert below and worst["gap_points"] < 0

    open_panel(page, phone)
    ranking = "#geo-response-ranking"
    assert f"{len(below)} dari {len(kelurahan)} kelurahan di bawah sasaran" in page.text(ranking)
    first = page.evaluate(
        f"Array.from(document.querySelector('{ranking} tbody tr').cells).map(c => c.innerText)"
    )
    assert first[0] == worst["name"]  # its rank ("1. ") is a CSS counter beside the name
    rank = f"getComputedStyle(document.querySelector('{ranking} tbody td'), '::before').content"
    assert "counter(rank)" in page.evaluate(rank)
    assert first[3] == f"{worst['goal_pct']:.1f}".replace(".", ",")  # the target it is held to
    assert first[4] == f"{worst['gap_points']:.1f}".replace(".", ",")  # and how far below, in points
    page.evaluate(f"document.querySelector('{ranking}').scrollIntoView()")
    page.screenshot(tmp_path / f"q2-{window}-table.png")

    page.click(f"{ranking} button", text="Kecamatan")
    worst_kecamatan = min(answer["by_kecamatan"].values(), key=lambda summary: summary["gap_points"])
    assert page.text(f"{ranking} .geo-level[data-level=kecamatan] tbody td") == worst_kecamatan["name"]
    page.click(f"{ranking} button", text="Kelurahan")

    # "Tampilkan di peta": the compliance layer comes on, in place of Gi*, with a legend of its own
    page.click(f"{ranking} button", text="Tampilkan di peta")
    assert not page.evaluate("document.body.classList.contains('geo-show-panel')")  # the sheet folds away
    show_controls(page, phone)
    assert sorted(legends(page)) == ["Kepatuhan waktu tanggap", "Klaster DBSCAN"]
    page.click(".leaflet-control-layers-overlays label", text="Hotspot Gi* (FDR)")  # one legend per layer
    assert sorted(legends(page)) == ["Hotspot Gi*", "Kepatuhan waktu tanggap", "Klaster DBSCAN"]
    page.click(".leaflet-control-layers-overlays label", text="Hotspot Gi* (FDR)")
    assert sorted(legends(page)) == ["Kepatuhan waktu tanggap", "Klaster DBSCAN"]
    page.screenshot(tmp_path / f"q2-{window}-layer.png")

    # pointing at the worst row outlines that kelurahan; a click inside it shows target and gap
    open_panel(page, phone)
    page.evaluate(
        f"document.querySelector('{ranking} tbody tr td')"
        ".dispatchEvent(new MouseEvent('mouseover', {bubbles: true}))"
    )
    page.wait_until("window.GeoApp.pending === 0")
    assert page.count("path.geo-row-highlight") == 1
    fold_panel(page, phone)
    if phone:  # the legends and the layer switcher fold away too, so the map can be clicked
        page.click(".geo-phone-toggles button", text="Lapisan & legenda")
    inside = page.evaluate(
        """(() => {
        const outline = document.querySelector('path.geo-row-highlight');
        const box = outline.getBoundingClientRect();
        const matrix = outline.getScreenCTM().inverse();
        for (let i = 1; i < 16; i++) for (let j = 1; j < 16; j++) {
            const x = box.left + box.width * i / 16, y = box.top + box.height * j / 16;
            const top = document.elementFromPoint(x, y);
            if (top && top.classList.contains('leaflet-interactive') && top.getAttribute('fill') !== 'none'
                && !top.closest('.leaflet-control-container')
                && top.isPointInFill(new DOMPoint(x, y).matrixTransform(top.getScreenCTM().inverse()))
                && outline.isPointInFill(new DOMPoint(x, y).matrixTransform(matrix))) return {x, y};
        }
        return null;
        })()"""
    )
    assert inside, "the worst kelurahan is not clickable on the map"
    page.click_at(inside["x"], inside["y"])
    popup = page.text(".leaflet-popup-content")
    assert popup.startswith(f"Kel. {worst['name']}, Kec. "), popup
    assert "Sasaran" in popup and f"{worst['gap_points']:.1f} poin".replace(".", ",") in popup
    page.screenshot(tmp_path / f"q2-{window}-popup.png")
    assert page.errors == []


@pytest.mark.browser
@pytest.mark.parametrize("window", WINDOWS, ids=list(WINDOWS))
def test_what_emerged_recently(open_page, client, sample_city, window, tmp_path):
    phone = window == "phone"
    page = open_page("/maps/hotspots?period=12_bulan", window=WINDOWS[window])
    assert page.errors == []
    assert "12 bulan terakhir" in page.text(".geo-subtitle")
    open_panel(page, phone)
    page.click("#geo-emerging-summary button", text=EMERGING_LAYER)
    answer = client.get(api_url(page, "/api/analysis/emerging")).json
    assert answer["step"] == "month" and len(answer["steps"]) >= 10
    # steps without any incident are left out, never analysed as a drop to zero
    assert all(step not in answer["steps"] for step in answer["empty_steps_left_out"])
    assert answer["summary"]["new_cold_spot"] < answer["cells"] / 20

    open_panel(page, phone)
    summary = "#geo-emerging-summary"
    recent = {category: label for category, label in RECENT.items() if answer["summary"][category]}
    assert recent, "the sample's planted cluster emerges in the last months"
    for category, label in recent.items():
        cells = [feature for feature in answer["features"] if feature["properties"]["category"] == category]
        check_place_list(listed_places(page, summary, label), places_by_incidents(cells, "incidents"))
    counts = page.evaluate(
        f"Object.fromEntries(Array.from(document.querySelectorAll('{summary} tbody tr'))"
        ".map(row => [row.cells[0].innerText, Number(row.cells[1].innerText)]))"
    )
    expected = {
        feature["properties"]["label"]: answer["summary"][feature["properties"]["category"]]
        for feature in answer["features"]
        if feature["properties"]["category"] != "no_pattern"
    }
    assert counts == expected
    steps_note = page.text(f"{summary} .geo-steps")
    assert steps_note.startswith(f"Dianalisis {len(answer['steps'])} bulan")
    assert answer["empty_steps_left_out"], "the sample has no incident in the last month of the 12"
    for empty in answer["empty_steps_left_out"]:  # named in the note
        month = MONTHS[int(empty[5:7]) - 1]
        assert f"{month} {empty[:4]} (tanpa insiden)" in steps_note, steps_note
    page.evaluate(f"document.querySelector('{summary}').scrollIntoView()")
    page.screenshot(tmp_path / f"q3-{window}-summary.png")

    fold_panel(page, phone)
    show_controls(page, phone)
    assert sorted(legends(page)) == ["Klaster DBSCAN", EMERGING_LAYER]  # in place of Gi*
    page.screenshot(tmp_path / f"q3-{window}-map.png")
    assert page.errors == []


@pytest.mark.browser
def test_live_incidents_on_a_phone_map_first_then_the_summary(open_page, sample_city, tmp_path):
    page = open_page("/maps/incidents", window=WINDOWS["phone"])
    assert page.errors == []
    assert page.text(".geo-sample") == "Data contoh"
    map_box = page.evaluate(
        "JSON.parse(JSON.stringify(document.querySelector('.folium-map').getBoundingClientRect()))"
    )
    assert map_box["width"] == 400 and map_box["height"] > 550  # the map fills the screen under the header
    assert page.count(".leaflet-marker-icon") >= 1
    page.screenshot(tmp_path / "incidents-phone-map.png")
    page.click(".geo-phone-toggles button", text="Rincian & filter")
    assert "insiden berlokasi dalam 24 jam terakhir" in page.text("#geo-live-summary")
    page.screenshot(tmp_path / "incidents-phone-summary.png")


@pytest.mark.browser
def test_the_weekly_slider_opens_on_the_last_finished_week_with_incidents(open_page, sample_city, tmp_path):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo("Asia/Jakarta")).date()
    page = open_page(f"/maps/hotspots?start=2026-10-01&end={today.isoformat()}")
    page.click(".leaflet-control-layers-overlays label", text="Kepadatan per minggu (slider)")
    slider = ".geo-week-slider input"
    opened = page.text(".geo-week-label")
    assert opened.startswith("Minggu ") and "belum selesai" not in opened and "tanpa insiden" not in opened
    last = int(page.evaluate(f"document.querySelector('{slider}').max"))
    assert int(page.evaluate(f"document.querySelector('{slider}').value")) < last
    page.screenshot(tmp_path / "weekly-slider.png")
    page.evaluate(
        f"const s = document.querySelector('{slider}'); s.value = s.max; s.dispatchEvent(new Event('input'))"
    )
    page.wait_until("window.GeoApp.pending === 0")
    assert "(belum selesai)" in page.text(".geo-week-label")  # this week, still running
