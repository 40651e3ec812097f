"""The 112 morning briefing (/briefing) on the sample city, read in Chromium: each window's counts per
kecamatan are the API's counts for the same local days, the change marks follow them, and the response
stages are the median and observed p90 PostgreSQL computes from the rows."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from conftest import execute

from geo_app.maps.base import format_number

DAY = date(2026, 11, 1)
"""The morning after the sample city's last day of calls (2026-10-31)."""

ROWS = """
    Array.from(document.querySelectorAll(%s)).map(row => ({
        code: row.dataset.code, cells: Array.from(row.cells).map(cell => cell.textContent.trim())}))
"""


def number(text: str) -> int:
    return int(text.replace(".", ""))


@pytest.fixture
def page(open_page):
    briefing = open_page(f"/briefing?day={DAY}", role="supervisor_112")
    assert briefing.errors == []
    return briefing


@pytest.mark.parametrize("days", [1, 7, 28])
def test_window_counts_per_kecamatan_are_the_api_counts(page, client_as, days):
    rows = page.evaluate(ROWS % f"'#window-{days} table:first-of-type tbody tr'")
    assert rows
    supervisor = client_as("supervisor_112")

    def api_counts(first: date, last: date) -> dict[str, int]:
        answer = supervisor.get(f"/api/incidents/counts?level=kecamatan&start={first}&end={last}").json
        return {area["code"]: area["count"] for area in answer["areas"]}

    last = DAY - timedelta(days=1)
    current = api_counts(DAY - timedelta(days=days), last)
    previous = api_counts(DAY - timedelta(days=2 * days), DAY - timedelta(days=days + 1))
    shown = {row["code"]: row["cells"] for row in rows if row["code"]}
    assert set(shown) == set(current)
    assert sum(current.values()) > 0
    for code, (_, now, before, mark) in shown.items():
        assert (number(now), number(before)) == (current[code], previous[code])
        arrow = "▲" if current[code] > previous[code] else "▼" if current[code] < previous[code] else "="
        assert mark.startswith(arrow)
        if previous[code]:
            pct = round(100 * (current[code] - previous[code]) / previous[code], 1)
            assert mark == f"{arrow} {format_number(pct, 1)} %"


@pytest.mark.parametrize("days", [1, 28])
def test_window_counts_per_category_are_the_api_counts(page, client_as, days):
    rows = page.evaluate(ROWS % f"'#window-{days} table:nth-of-type(2) tbody tr'")
    start, end = DAY - timedelta(days=days), DAY - timedelta(days=1)
    temporal = client_as("supervisor_112").get(f"/api/analysis/hotspots/temporal?start={start}&end={end}")
    per_category = {
        code: sum(map(sum, entry["counts"])) for code, entry in temporal.json["categories"].items()
    }
    assert sum(per_category.values()) > 0 and {row["code"] for row in rows} >= set(per_category)
    for row in rows:
        assert number(row["cells"][1]) == per_category.get(row["code"], 0), row


def test_response_stages_are_median_and_observed_p90(page, database_url, sample_city):
    rows = {row["code"]: row["cells"] for row in page.evaluate(ROWS % "'#stages tbody tr'")}
    expected = execute(
        database_url,
        """
        SELECT category, count(*) AS dispatched,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY to_dispatch) AS dispatch_median,
               percentile_disc(0.9) WITHIN GROUP (ORDER BY to_dispatch) AS dispatch_p90,
               percentile_disc(0.9) WITHIN GROUP (ORDER BY to_arrival) AS arrival_p90
        FROM incidents,
             LATERAL (SELECT extract(epoch FROM dispatched_at - received_at) / 60 AS to_dispatch,
                             extract(epoch FROM arrived_at - dispatched_at) / 60 AS to_arrival) minutes
        WHERE city_code = %s AND call_type = 'darurat' AND dispatched_at IS NOT NULL
          AND received_at >= %s::timestamp AT TIME ZONE 'Asia/Jakarta'
          AND received_at < %s::timestamp AT TIME ZONE 'Asia/Jakarta'
        GROUP BY category
        """,
        (sample_city, DAY - timedelta(days=28), DAY),
    )
    assert len(expected) >= 3 and set(rows) == {row[0] for row in expected}
    for category, dispatched, dispatch_median, dispatch_p90, arrival_p90 in expected:
        cells = rows[category]
        assert number(cells[1]) == dispatched
        assert cells[2] == format_number(round(float(dispatch_median), 2), 2)
        assert cells[3] == format_number(round(float(dispatch_p90), 2), 2)
        assert cells[6] == format_number(round(float(arrival_p90), 2), 2)


@pytest.mark.parametrize(
    ("role", "status"), [("supervisor_112", 200), ("call_taker_112", 200), ("admin", 200)]
)
def test_112_roles_open_the_briefing(client_as, role, status):
    assert client_as(role).get("/briefing").status_code == status


@pytest.mark.parametrize("role", ["perencana", "dlh", "public"])
def test_other_roles_do_not(client_as, anonymous_client, role):
    assert client_as(role).get("/briefing").status_code == 403
    assert anonymous_client.get("/briefing").status_code in {401, 403}


@pytest.mark.parametrize(
    ("day", "says"), [("1-11-2026", "YYYY-MM-DD"), ("0001-01-01", "outside the dates the service handles")]
)
def test_a_bad_day_says_what_to_give(client, day, says):
    response = client.get(f"/briefing?day={day}")
    assert response.status_code == 400 and says in response.json["detail"]


@pytest.mark.parametrize(
    ("role", "linked"), [("supervisor_112", True), ("perencana", False), ("public", False)]
)
def test_home_page_links_the_briefing_for_those_who_may_open_it(client_as, role, linked):
    assert ('href="/briefing"' in client_as(role).get("/").get_data(as_text=True)) is linked
