"""One source of every figure: answers that show the same figure in two places agree (sample city)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from shapely.geometry import box

from geo_app.auth.privacy import incident_fields
from geo_app.auth.roles import ADMIN
from geo_app.city import load_city
from geo_app.store.assets import AssetFilter
from geo_app.store.incidents import IncidentFilter
from geo_app.usecases import areas, assets, green_areas, hotspots, incident_records
from geo_app.usecases.assets import AssetList
from geo_app.usecases.audit import AuditList, audit_entries
from geo_app.usecases.errors import NotFound, Rejected, WholeMonthsOnly
from geo_app.usecases.incident_records import IncidentList
from geo_app.usecases.incidents import AreaCountRequest, area_counts
from geo_app.usecases.paging import PageRequest

MONTH = "start=2026-10&end=2026-10"


def test_response_map_and_response_summary_give_each_kelurahan_the_same_figures(client):
    summary = client.get(f"/api/analysis/response?{MONTH}").json["by_kelurahan"]
    collection = client.get(f"/api/analysis/response/kelurahan?{MONTH}").json
    shown = {feature["properties"]["code"]: feature["properties"] for feature in collection["features"]}
    assert len(summary) > 10
    for code, figures in summary.items():
        assert {key: shown[code][key] for key in figures} == figures
    assert all(shown[code]["incidents"] == 0 for code in set(shown) - set(summary))


# --- use cases called without Flask give the API's answer ---------------------------------------------


@pytest.fixture
def city(conn, sample_city):
    return load_city(conn, sample_city)


def test_the_incident_list_use_case_gives_the_api_page(client, conn, city):
    api = client.get(f"/api/incidents?{MONTH}&category=KEBAKARAN&limit=7").json
    filters = IncidentFilter(city.code, *month_bounds(city), categories=("KEBAKARAN",))
    page = incident_records.list_incidents(
        conn, city, IncidentList(filters, incident_fields(ADMIN), PageRequest(limit=7))
    )
    assert [row["id"] for row in page.items] == [feature["id"] for feature in api["features"]]
    assert page.next_key[1] == api["features"][-1]["id"]
    following = incident_records.list_incidents(
        conn, city, IncidentList(filters, incident_fields(ADMIN), PageRequest(7, page.next_key))
    )
    api_next = client.get(next(link["href"] for link in api["links"] if link["rel"] == "next")).json
    assert [row["id"] for row in following.items] == [feature["id"] for feature in api_next["features"]]


def test_the_asset_list_use_case_gives_the_api_features(client, conn, city):
    api = client.get("/api/assets?type=cctv&limit=10").json
    page = assets.list_assets(conn, city, AssetList(AssetFilter(asset_types=("cctv",)), PageRequest(10)))
    assert page.items == api["features"] and page.next_key == (api["features"][-1]["id"],)


def test_the_hot_spot_use_case_gives_the_api_answer(client, conn, city, app):
    api = client.get(f"/api/analysis/hotspots?{MONTH}&grid=kelurahan").json
    catalog = app.config["CATALOG"]
    filters = IncidentFilter(city.code, *month_bounds(city), call_types=tuple(catalog.incident_call_types))
    direct = hotspots.hot_spots(conn, city, hotspots.HotSpotRequest(filters, hotspots.Grid("kelurahan")))
    assert json.loads(json.dumps(direct)) == api


def test_the_area_and_audit_use_cases_give_the_api_answers(client, conn, city):
    api = client.get("/api/areas?level=kecamatan").json
    direct = areas.list_areas(conn, city, areas.AreaList("kecamatan"))
    assert json.loads(json.dumps(direct.items)) == api["features"] and direct.next_key is None
    api_audit = client.get("/api/audit?entity=admin_areas&limit=4").json["entries"]
    entries = audit_entries(conn, AuditList(entity="admin_areas", page=PageRequest(4))).items
    assert [entry["id"] for entry in entries] == [entry["id"] for entry in api_audit]


def test_a_missing_record_is_a_domain_error_and_a_404_problem(client, conn, city):
    with pytest.raises(NotFound, match="no asset 987654321"):
        assets.get_asset(conn, city, 987654321)
    response = client.get("/api/assets/987654321")
    assert (
        response.status_code == 404 and response.json["detail"] == "There is no asset 987654321 in this city."
    )


def test_green_area_edits_are_use_cases_that_check_everything_or_write_nothing(client, conn, city):
    catalog = client.application.config["CATALOG"]
    count = "SELECT count(*) AS n FROM green_areas WHERE city_code = %s"
    before = conn.execute(count, (city.code,)).fetchone()["n"]
    lon, lat = (
        conn.execute(  # a small square inside a kelurahan
            "SELECT ST_X(p) AS lon, ST_Y(p) AS lat FROM (SELECT ST_PointOnSurface(geom) AS p FROM admin_areas"
            " WHERE city_code = %s AND level = 'kelurahan' ORDER BY code LIMIT 1) AS inside",
            (city.code,),
        )
        .fetchone()
        .values()
    )
    square = box(lon - 0.0005, lat - 0.0005, lon + 0.0005, lat + 0.0005)
    unknown_type = green_areas.GreenAreaEdit({"green_type": "no_such_type", "name": "X"}, square)
    with pytest.raises(Rejected) as refused:
        green_areas.create_green_area(conn, city, catalog, unknown_type)
    assert "no_such_type" in str(refused.value)
    outside = green_areas.GreenAreaEdit({"green_type": "taman_kota", "name": "X"}, box(100, 0, 100.01, 0.01))
    with pytest.raises(Rejected) as refused:
        green_areas.create_green_area(conn, city, catalog, outside)
    assert refused.value.report is not None  # the whole check travels with the refusal
    assert conn.execute(count, (city.code,)).fetchone()["n"] == before
    with pytest.raises(NotFound, match="no green area 987654321"):
        green_areas.end_green_area(conn, city, 987654321)
    with pytest.raises(NotFound):
        green_areas.green_area_history(conn, city, 987654321)


def month_bounds(city) -> tuple[datetime, datetime]:
    return datetime(2026, 10, 1, tzinfo=city.timezone), datetime(2026, 11, 1, tzinfo=city.timezone)


def test_the_area_count_use_case_gives_the_public_answer_and_refuses_part_months(
    anonymous_client, conn, city
):
    api = anonymous_client.get("/api/incidents/counts?start=2026-09&end=2026-10").json
    september, november = datetime(2026, 9, 1, tzinfo=city.timezone), month_bounds(city)[1]
    filters = IncidentFilter(city.code, september, november, call_types=("darurat",))
    minimum = api["suppression"]["min_cell"]
    now = datetime.now(UTC)
    direct = area_counts(conn, city, AreaCountRequest(filters, "kelurahan", False, minimum), now)
    assert json.loads(json.dumps(direct)) == api and sum(row["count"] for row in api["areas"]) > 0
    part = IncidentFilter(city.code, september.replace(day=14), november, call_types=("darurat",))
    with pytest.raises(WholeMonthsOnly, match="use start=2026-09 or start=2026-10") as refused:
        area_counts(conn, city, AreaCountRequest(part, "kelurahan", False, minimum), now)
    assert refused.value.parameter == "start"
