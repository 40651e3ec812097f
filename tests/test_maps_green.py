"""/maps/green on the sample city: local assets only, layers by URL, swipe, chart; opened in Chromium."""

from __future__ import annotations

import csv
import io
import os
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from browser import READY_EXPRESSION

from geo_app.city import CityContext, load_city
from geo_app.maps import vendor
from geo_app.maps.base import format_number
from geo_app.maps.green import indonesian_date
from geo_app.usecases.green import Period, comparison_start, default_period

WIB = ZoneInfo("Asia/Jakarta")

SHOTS = Path(os.environ.get("GEO_APP_SCREENSHOTS", "/tmp"))


def format_date(iso: str) -> str:
    return indonesian_date(date.fromisoformat(iso))


def test_default_period_ends_at_the_last_complete_month(conn, sample_city):
    city = load_city(conn, sample_city)
    period = default_period(conn, city, datetime(2026, 12, 3, 9, 0, tzinfo=WIB))
    assert period == Period(date(2025, 11, 30), date(2026, 11, 30))
    # a month running on its last day is not complete: the default ends a month earlier
    assert default_period(conn, city, datetime(2026, 11, 30, 23, 0, tzinfo=WIB)).until == date(2026, 10, 31)


def test_comparison_start():
    city = CityContext("99.99", "Kota Uji", WIB, 32748)
    assert comparison_start(None, date(2026, 11, 30), city) == date(2025, 11, 30)
    assert comparison_start(None, date(2028, 2, 29), city) == date(2027, 2, 28)
    recent = datetime.fromisoformat("2026-06-01T00:00:00+07:00")
    assert comparison_start(recent, date(2026, 11, 30), city) == date(2026, 6, 1)
    today = datetime.fromisoformat("2026-11-30T08:00:00+07:00")
    assert comparison_start(today, date(2026, 11, 30), city) == date(2026, 11, 29)


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


def test_page_parameters_are_documented(client):
    operation = client.get("/openapi.json").json["paths"]["/maps/green"]["get"]
    described = {param["name"]: param["description"] for param in operation["parameters"]}
    assert set(described) == {"from", "to"} and "not described" not in " ".join(described.values())
    assert "text/html" in operation["responses"]["200"]["content"]


def test_bad_dates_give_an_indonesian_page_in_a_browser(client):
    response = client.get("/maps/green?from=2026-08-01&to=2025-07-01", headers={"Accept": "text/html"})
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "Tanggal «Dari» harus sebelum tanggal «Sampai»." in response.get_data(as_text=True)


@pytest.mark.parametrize("query", ["from=2026-01-01&to=2025-01-01", "from=kemarin", "warna=hijau"])
def test_page_parameters(client, query):
    response = client.get(f"/maps/green?{query}")
    assert response.status_code == 400 and response.get_json()["detail"]


def figures(client, query: str) -> dict:
    answer = client.get(f"/api/analysis/green/figures?{query}").json
    return {(row["level"], row["code"]): row for row in answer["areas"]} | {"period": answer}


def table_rows(page, level: str = "kelurahan") -> list[list[str]]:
    """The ranked table as shown: each row's cell texts (name first, without its kecamatan)."""
    return page.evaluate(
        f"Array.from(document.querySelectorAll('.green-ranking[data-level={level}] tbody tr'))"
        ".map(r => Array.from(r.cells).map((c, i) => i ? c.innerText : c.firstChild.textContent))"
    )


def click_header(page, text: str, level: str = "kelurahan") -> None:
    page.evaluate(
        f"Array.from(document.querySelectorAll('.green-ranking[data-level={level}] th button'))"
        f".find(b => b.innerText.startsWith({text!r})).click()"
    )


def sort_order(page, level: str = "kelurahan") -> list[str]:
    """The aria-sort of the sorted column(s): one at a time."""
    return page.evaluate(
        f"Array.from(document.querySelectorAll('.green-ranking[data-level={level}] th[aria-sort]'),"
        " th => th.getAttribute('aria-sort'))"
    )


MAP_ZOOM = "window[Object.keys(window).find(name => name.startsWith('map_'))].getZoom()"


def switch_layer(page, name: str) -> None:
    page.evaluate(
        "Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
        f".find(l => l.innerText.includes({name!r})).querySelector('input').click()"
    )


def visible_legends(page) -> list[str]:
    return page.evaluate(
        "Array.from(document.querySelectorAll('.geo-legend')).filter(l => !l.hidden)"
        ".map(l => l.querySelector('h3').innerText)"
    )


def submit_period(page, since: str, until: str) -> None:
    """Fill in Dari / Sampai and press Tampilkan, then wait for the new page and its layers."""
    page.evaluate(
        f"document.querySelector('.green-period input[name=from]').value = {since!r};"
        f"document.querySelector('.green-period input[name=to]').value = {until!r};"
        "document.querySelector('.green-period button').click()"
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if page.evaluate(f"location.search.includes('to={until}') && {READY_EXPRESSION}"):
                break
        except RuntimeError:  # the old page is gone, the new one not there yet
            pass
        assert time.monotonic() < deadline, "the period form did not load the new page"
        page._drain(0.2)
    page._drain(0.5)


@pytest.mark.browser
@pytest.mark.parametrize("window", [(1400, 900), (400, 800)], ids=["desktop", "phone"])
def test_the_three_dlh_questions_are_answered_on_screen(open_page, client, window):
    page = open_page("/maps/green", window=window)
    assert page.errors == [] and page.external_requests() == []
    width = window[0]
    default = figures(client, "")
    period = default["period"]
    assert period["to"].endswith(("-30", "-31", "-28", "-29"))  # the end of the last complete month
    assert page.evaluate("document.querySelector('.green-period input[name=to]').value") == period["to"]
    # Three layers on at first, each with its own legend; the rest off.
    checked = page.evaluate(
        "Array.from(document.querySelectorAll('.leaflet-control-layers-overlays input')).map(i => i.checked)"
    )
    assert sum(checked) == 3 and len(checked) == 6
    assert sorted(visible_legends(page)) == sorted(
        ["RTH / luas kelurahan", "Batas", f"Perubahan sejak {format_date(period['from'])}"]
    )
    page.screenshot(SHOTS / f"maps_green_{width}.png")

    # 1. How far is each kelurahan from 30 %? The table, least green first; by deficit on a click.
    kelurahan = [row for key, row in default.items() if key[0] == "kelurahan"]
    least_green = min(kelurahan, key=lambda row: row["green_share"])
    first = table_rows(page)[0]
    assert first[0] == least_green["name"]
    assert first[1:3] == [
        format_number(100 * least_green["green_share"], 1),
        format_number(least_green["green_deficit_ha"], 1),
    ]
    assert sort_order(page) == ["ascending"]
    click_header(page, "Kurang ke 30 %")
    assert table_rows(page)[0][2] == format_number(min(row["green_deficit_ha"] for row in kelurahan), 1)
    click_header(page, "Kurang ke 30 %")  # second click: largest first
    largest = max(kelurahan, key=lambda row: row["green_deficit_ha"])
    assert table_rows(page)[0][0] == largest["name"]
    assert table_rows(page)[0][2] == format_number(largest["green_deficit_ha"], 1)
    assert sort_order(page) == ["descending"]
    # pointing at the row outlines its kelurahan on the map, a click zooms to it
    outlined = ".leaflet-rthDasar-pane path[stroke='#0b5e7a'][stroke-width='4']"
    first_row = "document.querySelector('.green-ranking[data-level=kelurahan] tbody tr')"
    page.evaluate(f"{first_row}.dispatchEvent(new MouseEvent('mouseenter'))")
    assert page.count(outlined) == 1
    zoom = page.evaluate(MAP_ZOOM)
    page.evaluate(f"{first_row}.click()")
    page.wait_until(f"{MAP_ZOOM} > {zoom} && !document.querySelector('.leaflet-zoom-anim')")
    page.evaluate(f"{first_row}.dispatchEvent(new MouseEvent('mouseleave'))")
    assert page.count(outlined) == 0
    # "Unduh CSV" holds the numbers of the table
    text = page.evaluate("fetch(document.querySelector('.green-csv').href).then(r => r.text())")
    lines = {line["name"]: line for line in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))}
    for row in table_rows(page):
        line = lines[row[0]]
        assert row[1] == format_number(100 * float(line["green_share"]), 1)
        assert row[2:6] == [
            format_number(float(line[column]), digits)
            for column, digits in (
                ("green_deficit_ha", 1),
                ("public_deficit_ha", 1),
                ("gained_ha", 2),
                ("lost_ha", 2),
            )
        ]
        assert row[6] == format_number(100 * float(line["park_access_share"]), 1)
    page.evaluate("document.querySelector('.green-ranking').scrollIntoView()")
    page.screenshot(SHOTS / f"maps_green_table_{width}.png")
    # the kelurahan's popup carries the same figures, in Indonesian
    page.evaluate(
        "document.querySelector('.leaflet-rthDasar-pane path')"
        ".dispatchEvent(new MouseEvent('click', {bubbles: true}))"
    )
    popup = page.evaluate("document.querySelector('.leaflet-popup-content').innerText")
    assert "Kurang menuju 30 %" in popup and "Penduduk ≤ 300 m dari taman" in popup and "Kecamatan" in popup
    page.evaluate("document.querySelector('.leaflet-popup-close-button').click()")
    # kecamatan too, with the same numbers as the API
    page.evaluate("document.querySelector('.geo-levels button[data-level=kecamatan]').click()")
    assert page.evaluate(
        "Array.from(document.querySelectorAll('.green-ranking'), box => [box.dataset.level, box.hidden])"
    ) == [["kelurahan", True], ["kecamatan", False]]
    kecamatan = {row[0]: row for row in table_rows(page, "kecamatan")}
    assert len(kecamatan) == 8
    # a kecamatan row outlines the kelurahan within it
    code = page.evaluate(
        "document.querySelector('.green-ranking[data-level=kecamatan] tbody tr').dataset.key"
    )
    page.evaluate(
        "document.querySelector('.green-ranking[data-level=kecamatan] tbody tr')"
        ".dispatchEvent(new MouseEvent('mouseenter'))"
    )
    assert page.count(outlined) == sum(row["parent_code"] == code for row in kelurahan) > 1
    for key, row in default.items():
        if key[0] == "kecamatan":
            assert kecamatan[row["name"]][1] == format_number(100 * row["green_share"], 1)
            assert kecamatan[row["name"]][6] == format_number(100 * row["park_access_share"], 1)

    # 2. What changed since last year? Dates from the form; gained / lost / net as figures and on the map.
    submit_period(page, "2025-07-01", "2026-08-01")
    assert page.errors == []
    changed = figures(client, "from=2025-07-01&to=2026-08-01")
    city = changed[("kota", "36.72")]
    shown = page.evaluate(
        "Object.fromEntries(Array.from(document.querySelectorAll('.green-figure'))"
        ".map(f => [f.querySelector('dt').innerText, f.querySelector('.green-value').innerText]))"
    )
    assert shown["Bertambah"] == "+" + format_number(city["gained_ha"], 1)
    assert shown["Berkurang"] == "−" + format_number(city["lost_ha"], 1)
    assert shown["Bersih"] == ("+" if city["net_ha"] > 0 else "−") + format_number(abs(city["net_ha"]), 1)
    assert city["lost_ha"] > 1 and city["gained_ha"] > 1
    fills = page.evaluate(
        "Array.from(document.querySelectorAll('.leaflet-overlay-pane path')).map(p => p.getAttribute('fill'))"
    )
    assert "#2166ac" in fills and "url(#geo-hatch-lost)" in fills
    page.evaluate(
        "(() => { const p = Array.from(document.querySelectorAll('.leaflet-overlay-pane path'))"
        ".find(p => p.getAttribute('fill') === 'url(#geo-hatch-lost)');"
        "const box = p.getBoundingClientRect();"
        "p.dispatchEvent(new MouseEvent('click', {bubbles: true, clientX: box.x + box.width / 2,"
        " clientY: box.y + box.height / 2})); })()"
    )
    popup = page.evaluate("document.querySelector('.leaflet-popup-content').innerText")
    assert "Berkurang" in popup and "lost" not in popup
    page.screenshot(SHOTS / f"maps_green_changes_{width}.png")

    # 3. Who lacks a park within 300 m? The table's column, and the land beyond reach on the map.
    click_header(page, "≤ 300 m taman")
    kelurahan = [row for key, row in changed.items() if key[0] == "kelurahan"]
    worst = min(kelurahan, key=lambda row: row["park_access_share"])
    assert table_rows(page)[0][0] == worst["name"]
    assert table_rows(page)[0][6] == format_number(100 * worst["park_access_share"], 1)
    switch_layer(page, "Di luar 300 m")
    page.wait_until(READY_EXPRESSION)
    assert page.count(".leaflet-rthCelah-pane path[fill='url(#geo-hatch-gap)']") > 0
    assert "Akses taman" in visible_legends(page)
    page.screenshot(SHOTS / f"maps_green_access_{width}.png")
    assert page.errors == []


@pytest.mark.browser
def test_swipe_shows_only_with_both_dates(open_page):
    page = open_page("/maps/green?from=2025-07-01&to=2026-08-01")
    assert page.count(".leaflet-sbs-range") == 0
    switch_layer(page, "(kiri)")
    switch_layer(page, "(kanan)")
    page.wait_until(READY_EXPRESSION)
    assert page.count(".leaflet-sbs-range") == 1
    assert page.count(".leaflet-rthKiri-pane path") > 50 and page.count(".leaflet-rthKanan-pane path") > 50
    assert "Tipe RTH" in visible_legends(page)
    page.screenshot(SHOTS / "maps_green_swipe.png")
    switch_layer(page, "(kiri)")
    assert page.count(".leaflet-sbs-range") == 0
    assert page.errors == []
