"""The hotspot page analyses a period the reader chooses from presets, and says which one in its header."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from geo_app.db import connect
from geo_app.maps.hotspots import MONTHS
from geo_app.web.incident_pages import PERIODS, preset_days


@pytest.mark.parametrize(
    ("period", "today", "expected"),
    [
        ("hari_ini", date(2026, 3, 15), (date(2026, 3, 15), date(2026, 3, 15))),
        ("7_hari", date(2026, 3, 15), (date(2026, 3, 8), date(2026, 3, 14))),
        ("bulan_ini", date(2026, 3, 15), (date(2026, 3, 1), date(2026, 3, 15))),
        ("bulan_lalu", date(2026, 3, 15), (date(2026, 2, 1), date(2026, 2, 28))),
        ("bulan_lalu", date(2026, 1, 5), (date(2025, 12, 1), date(2025, 12, 31))),
        ("3_bulan", date(2026, 3, 1), (date(2025, 12, 1), date(2026, 2, 28))),
        ("12_bulan", date(2026, 3, 31), (date(2025, 3, 1), date(2026, 2, 28))),
        ("custom", date(2026, 3, 15), None),
    ],
)
def test_presets_end_at_the_last_complete_day_or_month(period, today, expected):
    assert preset_days(period, today) == expected


def city_today(client) -> date:
    """Today in the city's time zone, as the page computes it."""
    from geo_app.city import load_city

    app = client.application
    with connect(app.config["SETTINGS"].database_url) as conn:
        zone = load_city(conn, app.config["SETTINGS"].city_code).timezone
    return datetime.now(zone).date()


def subtitle(html: str) -> str:
    return re.search(r'<span class="geo-subtitle">(.*?)</span>', html).group(1)


def counted_incidents(database_url: str, city: str, catalog, first: date, last: date) -> int:
    with connect(database_url) as conn:
        return conn.execute(
            "SELECT count(*) AS n FROM incidents i JOIN cities c ON c.code = i.city_code "
            "WHERE i.city_code = %s AND i.received_at >= (%s::date)::timestamp AT TIME ZONE c.timezone "
            "AND i.received_at < (%s::date)::timestamp AT TIME ZONE c.timezone "
            "AND i.call_type = ANY(%s)",
            (city, first, last + timedelta(days=1), list(catalog.incident_call_types)),
        ).fetchone()["n"]


def test_the_page_opens_on_the_last_three_whole_months_and_says_so(client, sample_city, database_url):
    html = client.get("/maps/hotspots").get_data(as_text=True)
    first, last = preset_days("3_bulan", city_today(client))
    header = subtitle(html)
    assert "3 bulan terakhir: " in header
    assert header.split(" · ")[1].endswith(f" – {last.day} {MONTHS[last.month - 1]} {last.year}")
    count = counted_incidents(database_url, sample_city, client.application.config["CATALOG"], first, last)
    assert f"{count:,}".replace(",", ".") + " insiden" in header
    # every layer analyses that period, not all two years of data
    layer_urls = re.findall(r'"(api/analysis/[^"]+)"', html.replace("\\u0026", "&").replace("&amp;", "&"))
    assert len(layer_urls) >= 4
    for url in layer_urls:
        if "/density?" in url and "start" not in url:
            continue  # the weekly slider asks one week at a time
        assert f"start={first.isoformat()}&end={last.isoformat()}" in url, url
    assert '<option value="3_bulan" selected>' in html
    assert html.count('type="checkbox" name="category"') == len(
        client.application.config["CATALOG"].incident_categories
    )


def test_a_preset_wins_over_the_dates_still_in_the_form_and_dates_alone_are_custom(client, sample_city):
    first, last = preset_days("bulan_lalu", city_today(client))
    html = client.get("/maps/hotspots?period=bulan_lalu&start=2025-01-01&end=2025-01-31").get_data(
        as_text=True
    )
    assert f'name="start" value="{first.isoformat()}"' in html
    assert subtitle(html).split(" · ")[1].startswith("Bulan lalu: ")
    custom = client.get("/maps/hotspots?start=2025-01-01&end=2025-01-31").get_data(as_text=True)
    assert subtitle(custom).split(" · ")[1] == "1 – 31 Januari 2025"
    assert '<option value="custom" selected>' in custom


def test_an_unknown_period_is_refused(client, sample_city):
    response = client.get("/maps/hotspots?period=minggu_depan")
    assert response.status_code == 400
    assert set(PERIODS) <= set(response.json["detail"].replace(",", " ").replace(".", " ").split())


def test_the_112_pages_carry_the_sample_badge_after_an_import_onto_sample_boundaries(
    client, sample_city, database_url
):
    with connect(database_url) as conn:
        conn.execute(
            "INSERT INTO dataset_loads (city_code, layer, source, is_sample, row_count, loaded_at) "
            "VALUES (%s, 'incidents', 'ekspor-112.csv', false, 10, now() + interval '1 minute')",
            (sample_city,),
        )
        conn.commit()
    try:
        for path in ("/maps/hotspots", "/maps/incidents"):
            assert '<span class="geo-sample"' in client.get(path).get_data(as_text=True), path
    finally:
        with connect(database_url) as conn:
            conn.execute("DELETE FROM dataset_loads WHERE source = 'ekspor-112.csv'")
            conn.commit()


@pytest.mark.browser
def test_hotspot_header_and_form_in_chromium(open_page, sample_city, tmp_path: Path):
    page = open_page("/maps/hotspots?start=2026-08-01&end=2026-10-31")  # the sample's last three months
    assert page.errors == []
    header = page.evaluate("document.querySelector('.geo-header').innerText")
    assert "1 Agustus – 31 Oktober 2026 · " in header and "Data contoh" in header
    figure = re.search(r"· ([\d.]+) insiden", header).group(1)
    analysed = page.evaluate("document.getElementById('geo-hotspot-summary').innerText")
    assert int(figure.replace(".", "")) > 1000 and "Insiden dianalisis" in analysed
    assert page.evaluate("document.querySelector('select[name=period]').value") == "custom"
    labels = page.evaluate(
        "Array.from(document.querySelectorAll('select[name=period] option')).map(o => o.text)"
    )
    assert labels == list(PERIODS.values())
    page.evaluate("document.querySelector('select[name=period]').value = '12_bulan'")
    page.evaluate(
        "const start = document.querySelector('input[name=start]');"
        "start.value = '2026-01-01'; start.dispatchEvent(new Event('change'));"
    )
    assert page.evaluate("document.querySelector('select[name=period]').value") == "custom"
    page.screenshot(tmp_path / "hotspots.png")


def test_the_period_in_the_header_names_month_and_year_once():
    from datetime import date

    from geo_app.maps.hotspots import period_text

    assert period_text(date(2026, 10, 1), date(2026, 10, 31)) == "1 – 31 Oktober 2026"
    assert period_text(date(2026, 9, 1), date(2026, 11, 30)) == "1 September – 30 November 2026"
    assert period_text(date(2025, 12, 1), date(2026, 11, 30)) == "1 Desember 2025 – 30 November 2026"
    assert period_text(date(2026, 10, 3), date(2026, 10, 3)) == "3 Oktober 2026"
