"""One paging style for every API list (geo_app.web.paging) and typed query parameters (geo_app.web.params).

Walking the ``next`` links gives every item of the list exactly once, in the list's order; the old paging
names still work for one release and say so; a wrong cursor or value is a 400 naming the parameter.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest

WEEK = "start=2026-10-01&end=2026-10-07"
LISTS = {
    # list URL (small pages of a bounded list), the whole list in one answer, and the item id
    "incidents": (f"/api/incidents?{WEEK}&limit=40", f"/api/incidents?{WEEK}&limit=1000"),
    "assets": ("/api/assets?type=cctv&limit=25", "/api/assets?type=cctv&limit=5000"),
    "green areas": ("/api/green-areas?limit=30", "/api/green-areas?limit=5000"),
    "kelurahan": ("/api/areas?level=kelurahan&limit=7", "/api/areas?level=kelurahan"),
    "audit": ("/api/audit?entity=admin_areas&limit=9", "/api/audit?entity=admin_areas&limit=1000"),
}


def items(body: dict) -> list:
    if "entries" in body:
        return [entry["id"] for entry in body["entries"]]
    return [feature["id"] for feature in body["features"]]


def next_href(body: dict) -> str | None:
    return next((link["href"] for link in body.get("links", []) if link["rel"] == "next"), None)


def walk(client, url: str) -> tuple[list, int]:
    """Every item reached by following next links from ``url``, and how many pages that took."""
    seen, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.json
        seen += items(response.json)
        pages += 1
        url = next_href(response.json)
    return seen, pages


@pytest.mark.parametrize("name", sorted(LISTS))
def test_next_links_walk_the_whole_list_once_in_order(client, name):
    paged, whole = LISTS[name]
    everything = items(client.get(whole).json)
    limit = int(parse_qs(urlsplit(paged).query)["limit"][0])
    assert len(everything) > 2 * limit, "the list must span several pages for the walk to show anything"
    seen, pages = walk(client, paged)
    assert seen == everything
    assert pages == -(-len(everything) // limit)  # no empty last page


def test_a_next_link_keeps_the_filters_and_the_limit(client):
    first = client.get(f"/api/incidents?{WEEK}&category=KEBAKARAN&limit=3").json
    query = parse_qs(urlsplit(next_href(first)).query)
    assert query["category"] == ["KEBAKARAN"] and query["limit"] == ["3"] and query["start"] == ["2026-10-01"]
    assert set(query) == {"start", "end", "category", "limit", "cursor"}


def test_the_audit_trail_keeps_its_next_member(client):
    body = client.get("/api/audit?entity=admin_areas&limit=2").json
    assert body["next"] == next_href(body)


@pytest.mark.parametrize(
    ("url", "alias"),
    [
        ("/api/assets?type=cctv&limit=5&after={first}", "after"),
        ("/api/green-areas?limit=5&after={first}", "after"),
        ("/api/audit?entity=admin_areas&limit=5&after_id={first}", "after_id"),
    ],
)
def test_old_paging_names_still_page_and_point_to_the_cursor_form(client, url, alias):
    start = url.split("?")[0] + ("?entity=admin_areas&limit=1" if "audit" in url else "?limit=1")
    start += "&type=cctv" if "assets" in url else ""
    first = items(client.get(start).json)[0]
    old = client.get(url.format(first=first))
    assert old.status_code == 200
    assert old.headers["Deprecation"].startswith("@")
    successor = old.headers["Link"].split(">")[0].lstrip("<")
    assert alias not in parse_qs(urlsplit(successor).query) and "cursor" in parse_qs(
        urlsplit(successor).query
    )
    new = client.get(successor)
    assert "Deprecation" not in new.headers
    assert items(new.json) == items(old.json) and first not in items(new.json)
    assert alias not in parse_qs(urlsplit(next_href(old.json)).query)  # the next link is in the new form


def test_a_bad_cursor_is_a_400_saying_to_follow_the_links(client):
    for cursor in ("nonsense", "eyJsaXN0IjoiYXNzZXRzIn0", "%%%"):
        response = client.get(f"/api/assets?cursor={cursor}")
        assert response.status_code == 400 and response.mimetype == "application/problem+json"
        assert response.json["parameters"] == ["cursor"] and "next link" in response.json["detail"]


def test_a_cursor_of_another_list_is_refused(client):
    assets_cursor = parse_qs(urlsplit(next_href(client.get("/api/assets?limit=1").json)).query)["cursor"][0]
    response = client.get(f"/api/green-areas?cursor={assets_cursor}")
    assert response.status_code == 400 and response.json["parameters"] == ["cursor"]
    both = client.get(f"/api/assets?cursor={assets_cursor}&after=3")
    assert both.status_code == 400 and both.json["parameters"] == ["after"]


def test_a_cursor_holds_the_sort_key_of_the_last_item(client):
    from geo_app.web.paging import Keyset

    page = client.get(f"/api/incidents?{WEEK}&limit=2").json
    cursor = parse_qs(urlsplit(next_href(page)).query)["cursor"][0]
    received, incident_id = Keyset("incidents", (datetime, int)).decode(cursor)
    last = page["features"][-1]
    assert incident_id == last["id"]
    assert received == datetime.fromisoformat(last["properties"]["received_at"])


@pytest.mark.parametrize(
    ("url", "parameter", "hint"),
    [
        ("/api/incidents?limit=0", "limit", "greater than or equal to 1"),
        ("/api/incidents?limit=1001", "limit", "from 1 to 1000"),
        ("/api/incidents?start=kemarin", "start", "2026-10-31"),
        ("/api/incidents?category=banjir-bandang", "category", "use "),
        ("/api/incidents?bbox=1,2,3", "bbox", "four numbers"),
        ("/api/analysis/hotspots?grid=square", "grid", "'hexagon'"),
        ("/api/analysis/hotspots?fdr=maybe", "fdr", "boolean"),
        ("/api/analysis/emerging?previous_steps=20", "previous_steps", "12"),
        ("/api/assets?status=broken", "status", "use "),
        ("/api/assets?limit=5001", "limit", "from 1 to 5000"),
        ("/api/assets/export?format=docx", "format", "geojson"),
        ("/api/audit?since=2026-01-01T00:00", "since", "time zone"),
        ("/api/areas?level=rt", "level", "'kecamatan'"),
        ("/api/green-areas?as_of=later", "as_of", "2024-05-01"),
    ],
)
def test_a_wrong_value_is_a_400_naming_the_parameter_and_the_fix(client, url, parameter, hint):
    response = client.get(url)
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert response.json["parameters"] == [parameter]
    assert response.json["detail"].startswith(f"{parameter}=") and hint in response.json["detail"]


def test_unknown_parameters_are_still_refused_and_empty_ones_ignored(client):
    response = client.get("/api/incidents?colour=red")
    assert response.status_code == 400 and "colour" in response.json["detail"]
    assert client.get("/api/analysis/hotspots/clusters?eps=&start=").status_code == 200


def test_a_repeated_filter_stays_repeated_in_the_next_link(client):
    first = client.get("/api/assets?type=cctv&type=wifi_publik&limit=2").json
    assert parse_qs(urlsplit(next_href(first)).query)["type"] == ["cctv", "wifi_publik"]


def test_coverage_parameters_are_a_typed_model_too(client):
    wrong = client.get("/api/analysis/coverage?type=cctv&mode=walking")
    assert wrong.status_code == 400 and wrong.json["parameters"] == ["mode"]
    assert "'travel_time'" in wrong.json["detail"]
    mixed = client.get("/api/analysis/coverage?type=cctv&format=csv&layer=gaps")
    assert mixed.status_code == 400 and "format=geojson" in mixed.json["detail"]
