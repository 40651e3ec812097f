"""Public incident counts cannot be differenced down to single incidents.

The attack these tests run, as the anonymous visitor: ask /api/incidents/counts for many overlapping
windows, category lists, call types and both levels, then combine the answers (differences of nested
queries, and every linear combination via least squares) looking for a cell of 1 to k-1 incidents; and
bisect time windows down to the second. Against the exact view (a 112 supervisor) the same attack finds
the lone domestic-violence call; against the public view it must find nothing, and that lone call must not
change a single public answer.

City 99.36 (tests/incident_city.py): kecamatan .01 (kelurahan A, B) and .02 (C, D). Months are counted
back from the current one in Asia/Jakarta, so the data is always in complete months except CURRENT.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from itertools import combinations_with_replacement
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
import pytest
from incident_city import KELURAHAN, create_city, drop_city

from geo_app import create_app
from geo_app.settings import Settings

CITY = "99.36"
ZONE = ZoneInfo("Asia/Jakarta")
A, B, C, D = (code.replace("99.31", CITY) for code in KELURAHAN)
KECAMATAN = {f"{CITY}.01": (A, B), f"{CITY}.02": (C, D)}
MONTHS_BACK = (4, 3, 2, 1)
CURRENT = 0
DOMESTIC_VIOLENCE = "KDRT_KEKERASAN"

# (kelurahan, months back, category, call type, how many): cells of several sizes around k = 5.
SEEDED = [
    (A, 3, "KEBAKARAN", "darurat", 6),
    (A, 3, "KECELAKAAN_LL", "darurat", 3),
    (B, 3, "KEBAKARAN", "darurat", 5),
    (B, 4, "KEBAKARAN", "darurat", 4),
    (C, 2, "MEDIS_AMBULANS", "darurat", 7),
    (C, 2, "KEBAKARAN", "darurat", 2),
    (C, 1, "MEDIS_AMBULANS", "darurat", 5),
    (C, 1, "MEDIS_AMBULANS", "prank", 1),
    (D, 4, "KEBAKARAN", "darurat", 8),
    (D, 4, None, "darurat", 2),
    (D, 1, DOMESTIC_VIOLENCE, "darurat", 5),
    (A, CURRENT, "KEBAKARAN", "darurat", 6),
]
# One domestic-violence call in kelurahan A, one evening two months ago.
LONE = (A, 2, DOMESTIC_VIOLENCE, "darurat")
LONE_TIME = (14, 20, 13, 7)  # day, hour, minute, second

# The attacker's grid: category groups and call types the queries below can tell apart.
NAMED_OTHERS = "other named category"
CATEGORY_GROUPS = ("KEBAKARAN", "KECELAKAAN_LL", "MEDIS_AMBULANS", DOMESTIC_VIOLENCE, NAMED_OTHERS, None)
CALL_TYPES = ("darurat", "prank")


def month_start(back: int) -> datetime:
    now = datetime.now(ZONE)
    year, month = divmod(now.year * 12 + now.month - 1 - back, 12)
    return datetime(year, month + 1, 1, tzinfo=ZONE)


def month_name(back: int) -> str:
    return f"{month_start(back):%Y-%m}"


def insert(conn, external_id: str, kelurahan: str, category: str | None, call_type: str, at: datetime):
    centre = KELURAHAN[kelurahan.replace(CITY, "99.31")][2].centroid
    conn.execute(
        "INSERT INTO incidents (city_code, external_id, call_type, category, geom, geocode_precision,"
        " kelurahan_code, kecamatan_code, received_at)"
        " VALUES (%s, %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), 'exact', %s, %s, %s)",
        (CITY, external_id, call_type, category, centre.x, centre.y, kelurahan, kelurahan[:8], at),
    )


@pytest.fixture(scope="module")
def city(database_url):
    create_city(database_url, CITY)
    with psycopg.connect(database_url) as conn, conn.transaction():
        for row, (kelurahan, back, category, call_type, how_many) in enumerate(SEEDED):
            for number in range(how_many):
                at = month_start(back) + timedelta(days=number * 3 % 27, hours=8 + number, minutes=row)
                insert(conn, f"sel-{row}-{number}", kelurahan, category, call_type, at)
    yield CITY
    drop_city(database_url, CITY)


@pytest.fixture(scope="module")
def app(database_url, city):
    application = create_app(Settings.from_env(database_url=database_url, env="test", city_code=city))
    yield application
    application.extensions["db_pool"].close()


@pytest.fixture
def k(app) -> int:
    return app.config["SETTINGS"].public_min_cell_count


@contextmanager
def lone_call(database_url: str) -> Iterator[datetime]:
    """The lone domestic-violence call, inserted (committed) for the block; yields its time."""
    kelurahan, back, category, call_type = LONE
    day, hour, minute, second = LONE_TIME
    at = month_start(back).replace(day=day, hour=hour, minute=minute, second=second)
    with psycopg.connect(database_url) as conn, conn.transaction():
        insert(conn, "sel-lone", kelurahan, category, call_type, at)
    try:
        yield at
    finally:
        with psycopg.connect(database_url) as conn, conn.transaction():
            conn.execute("DELETE FROM incidents WHERE city_code = %s AND external_id = 'sel-lone'", (CITY,))


@pytest.fixture
def lone_incident(database_url, city):
    with lone_call(database_url) as at:
        yield at


class Query:
    """One request of the attack and the grid cells (kelurahan, month, category group, call type) it sums."""

    def __init__(self, level: str, first: int, last: int, categories: tuple, call_types: tuple):
        self.level, self.first, self.last = level, first, last
        self.categories, self.call_types = categories, call_types

    def url(self) -> str:
        window = f"start={month_name(self.first)}&end={month_name(self.last)}"
        url = f"/api/incidents/counts?level={self.level}&{window}&call_type={','.join(self.call_types)}"
        return url + (f"&category={','.join(self.categories)}" if self.categories else "")

    def covers(self, area: str, cell: tuple) -> bool:
        kelurahan, back, group, call_type = cell
        in_area = kelurahan == area or kelurahan in KECAMATAN.get(area, ())
        if not self.categories:
            in_categories = True
        elif group == NAMED_OTHERS:
            in_categories = any(code not in CATEGORY_GROUPS for code in self.categories)
        else:
            in_categories = group in self.categories
        return in_area and self.last <= back <= self.first and in_categories and call_type in self.call_types


def attack_queries(all_categories: list[str]) -> list[Query]:
    """Every window of whole months, several category lists, call types and both levels."""
    all_but_violence = tuple(code for code in all_categories if code != DOMESTIC_VIOLENCE)
    category_lists = [(), all_but_violence, *[(group,) for group in CATEGORY_GROUPS[:4]]]
    windows = [(first, last) for last, first in combinations_with_replacement(MONTHS_BACK[::-1], 2)]
    return [
        Query(level, first, last, categories, call_types)
        for level in ("kelurahan", "kecamatan")
        for first, last in windows
        for categories in category_lists
        for call_types in (("darurat",), CALL_TYPES)
    ]


GRID = [
    (kelurahan, back, group, call_type)
    for kelurahan in (A, B, C, D)
    for back in MONTHS_BACK
    for group in CATEGORY_GROUPS
    for call_type in CALL_TYPES
]


def ask(client, queries: list[Query]) -> list[dict]:
    answers = []
    for query in queries:
        response = client.get(query.url())
        assert response.status_code == 200, (query.url(), response.json)
        answers.append(response.json)
    return answers


def equations(queries: list[Query], answers: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """One row per (query, area): which grid cells the count sums, and the count answered."""
    rows, values = [], []
    for query, answer in zip(queries, answers, strict=True):
        for area in answer["areas"]:
            rows.append([query.covers(area["code"], cell) for cell in GRID])
            values.append(area["count"])
    return np.array(rows, dtype=float), np.array(values, dtype=float)


def small_cells_found(cells: np.ndarray, counts: np.ndarray, k: int) -> list[str]:
    """What combining the answers reveals below k: nested differences and grid cells solved exactly."""
    found = []
    # differences of two answers where one's cells are a subset of the other's
    subset = (cells @ (1 - cells).T) == 0  # subset[i, j]: answer i's cells all inside answer j's
    differences = counts[None, :] - counts[:, None]
    small = subset & (differences >= 1) & (differences < k)
    found += [f"difference {differences[i, j]:.0f}" for i, j in zip(*np.nonzero(small), strict=True)][:5]
    # any linear combination: a grid cell whose indicator lies in the row space is known exactly
    inverse = np.linalg.pinv(cells)
    solved = (inverse @ cells).diagonal() > 1 - 1e-6
    values = np.rint(inverse @ counts)
    found += [f"{GRID[i]} = {values[i]:.0f}" for i in np.nonzero(solved & (values >= 1) & (values < k))[0]]
    return found


@pytest.fixture
def queries(app) -> list[Query]:
    return attack_queries(list(app.config["CATALOG"].incident_categories))


def bisect_to_the_second(client, start: datetime, end: datetime) -> tuple[str, datetime] | None:
    """Halve the window holding a domestic-violence call until one second is left: (kelurahan, second)."""
    response = client.get(
        "/api/incidents/counts",
        query_string={"start": start.isoformat(), "end": end.isoformat(), "category": DOMESTIC_VIOLENCE},
    )
    if response.status_code != 200:
        return None
    # every signal counts: a count, or a flag saying "a few here"
    holding = [area["code"] for area in response.json["areas"] if area["count"] or area.get("withheld")]
    if not holding:
        return None
    if end - start <= timedelta(seconds=1):
        return holding[0], start
    middle = start + timedelta(seconds=(end - start).total_seconds() // 2)
    return bisect_to_the_second(client, start, middle) or bisect_to_the_second(client, middle, end)


def test_bisecting_time_finds_the_lone_call_only_with_exact_access(
    anonymous_client, client_as, lone_incident
):
    window = (month_start(2), month_start(1))
    assert bisect_to_the_second(client_as("supervisor_112"), *window) == (A, lone_incident)
    assert bisect_to_the_second(anonymous_client, *window) is None


def test_combining_public_answers_never_reveals_a_small_cell(
    anonymous_client, client_as, queries, k, lone_incident
):
    exact = equations(queries, ask(client_as("supervisor_112"), queries))
    assert f"{LONE} = 1" in small_cells_found(*exact, k)  # the attack works on exact counts
    public = equations(queries, ask(anonymous_client, queries))
    assert small_cells_found(*public, k) == []


def test_a_lone_incident_changes_no_public_answer(database_url, anonymous_client, client_as, queries):
    violence = next(q for q in queries if q.categories == (DOMESTIC_VIOLENCE,) and q.first == q.last == 2)
    supervisor = client_as("supervisor_112")
    without = ask(anonymous_client, queries), ask(supervisor, [violence])
    with lone_call(database_url):
        with_lone = ask(anonymous_client, queries), ask(supervisor, [violence])
    assert with_lone[0] == without[0]
    assert with_lone[1] != without[1]  # the exact view does see it


def counts(client, **query) -> dict[str, int]:
    response = client.get("/api/incidents/counts", query_string=query)
    assert response.status_code == 200, response.json
    return {area["code"]: area["count"] for area in response.json["areas"]}


@pytest.mark.parametrize("role", [None, "public", "dlh", "opd_editor"])
@pytest.mark.parametrize(
    ("query", "suggested"),
    [
        ({"start": f"{month_name(2)}-14"}, [f"start={month_name(2)}", f"start={month_name(1)}"]),
        ({"start": f"{month_name(2)}-01T20:13:07"}, [f"start={month_name(2)}"]),
        ({"start": f"{month_name(2)}-01T00:00:00Z"}, [f"start={month_name(2)}"]),  # 07:00 in Jakarta
        ({"end": f"{month_name(1)}-01"}, [f"end={month_name(2)}", f"end={month_name(1)}"]),
        ({"end": (month_start(1) + timedelta(hours=20)).isoformat()}, [f"end={month_name(2)}"]),
    ],
)
def test_roles_without_points_ask_for_whole_months(anonymous_client, client_as, role, query, suggested):
    client = client_as(role) if role else anonymous_client
    response = client.get("/api/incidents/counts", query_string=query)
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert "whole calendar months" in response.json["detail"]
    assert all(text in response.json["detail"] for text in suggested), response.json["detail"]
    assert client_as("perencana").get("/api/incidents/counts", query_string=query).status_code == 200


def test_whole_months_are_given_as_months_or_first_and_last_days(anonymous_client):
    last_day = (month_start(1) - timedelta(days=1)).date().isoformat()
    as_dates = counts(anonymous_client, start=f"{month_name(3)}-01", end=last_day)
    assert as_dates == counts(anonymous_client, start=month_name(3), end=month_name(2))
    assert as_dates[A] == 6 and as_dates[B] == 5 and as_dates[C] == 7


def test_the_unfinished_month_is_not_published(anonymous_client, client_as):
    this_month = month_start(CURRENT).isoformat()
    everything = anonymous_client.get("/api/incidents/counts", query_string={"end": "2100-12"}).json
    assert everything["period"] == {"from": None, "before": this_month}
    assert everything["suppression"]["months_until"] == month_name(1)
    assert {area["code"]: area["count"] for area in everything["areas"]} == {A: 6, B: 5, C: 12, D: 13}
    assert counts(client_as("supervisor_112"))[A] == 6 + 3 + 6  # the current month's six are there
    refused = anonymous_client.get("/api/incidents/counts", query_string={"start": month_name(CURRENT)})
    assert refused.status_code == 400 and f"start={month_name(1)}" in refused.json["detail"]


def test_every_count_is_a_sum_of_published_cells_with_the_rule_stated_once(anonymous_client, client_as, k):
    answer = anonymous_client.get("/api/incidents/counts").json
    assert set(answer) == {"level", "call_types", "period", "suppression", "areas"}
    assert all(set(area) == {"code", "name", "count"} for area in answer["areas"])
    assert answer["suppression"]["min_cell"] == k and "not counted" in answer["suppression"]["note"]
    assert client_as("supervisor_112").get("/api/incidents/counts").json["suppression"] is None
    kelurahan = counts(anonymous_client, call_type="darurat,prank")
    kecamatan = counts(anonymous_client, level="kecamatan", call_type="darurat,prank")
    assert kecamatan == {code: sum(kelurahan[part] for part in parts) for code, parts in KECAMATAN.items()}
    assert kelurahan == {A: 6, B: 5, C: 12, D: 13}  # the prank call, the 4, 3, 2 and 2 are left out


@pytest.mark.parametrize("bound", ["end=9999-12-31", "end=9999-12", "start=9999-12-31T23:00:00-05:00"])
def test_a_bound_past_the_calendar_is_a_clear_400(client, anonymous_client, bound):
    for asking in (client, anonymous_client):
        response = asking.get(f"/api/incidents/counts?{bound}")
        assert response.status_code == 400 and response.mimetype == "application/problem+json"
        assert "outside the dates the service handles" in response.json["detail"], response.json
