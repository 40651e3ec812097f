"""Who sees which data: incident points, callers' personal data, OPD-scoped asset edits, the audit trail.

A small city of its own (code 99.07): two kelurahan; 6 emergency calls in the first, 2 in the second,
all last month.
"""

from __future__ import annotations

import psycopg
import pytest
from access_city import BUSY, CALLER, CITY, QUIET, create_city
from conftest import execute
from coverage_city import lonlat

from geo_app import create_app
from geo_app.auth import permissions
from geo_app.auth.permissions import READ, Rule
from geo_app.auth.roles import READERS
from geo_app.settings import Settings


@pytest.fixture(scope="module")
def city(database_url):
    return create_city(database_url)


@pytest.fixture(scope="module")
def app(database_url, city):
    application = create_app(Settings.from_env(database_url=database_url, env="test", city_code=city))
    yield application
    application.extensions["db_pool"].close()


def counts(client) -> dict[str, int]:
    response = client.get("/api/incidents/counts")
    assert response.status_code == 200, response.json
    return {area["code"]: area["count"] for area in response.json["areas"]}


def test_the_public_sees_counts_only_where_enough_incidents_fall(anonymous_client, client_as):
    assert counts(anonymous_client) == {BUSY: 6, QUIET: 0}
    assert counts(client_as("public")) == {BUSY: 6, QUIET: 0}
    assert counts(client_as("supervisor_112")) == {BUSY: 6, QUIET: 2}


def test_the_minimum_count_is_a_setting(database_url, city, tokens):
    strict = create_app(
        Settings.from_env(database_url=database_url, env="test", city_code=city, public_min_cell_count=7)
    )
    try:
        assert counts(strict.test_client()) == {BUSY: 0, QUIET: 0}
    finally:
        strict.extensions["db_pool"].close()


@pytest.mark.parametrize(
    ("role", "status"), [(None, 401), ("public", 403), ("dlh", 403), ("opd_editor", 403)]
)
def test_exact_incident_points_are_refused(anonymous_client, client_as, role, status):
    client = client_as(role) if role else anonymous_client
    for path in ("/api/incidents", "/ogc/collections/incidents/items", "/tiles/incidents/14/13050/8468.mvt"):
        assert client.get(path).status_code == status, path


@pytest.mark.parametrize("role", ["perencana", "call_taker_112", "supervisor_112", "admin"])
def test_incident_lists_never_carry_callers(client_as, role):
    response = client_as(role).get("/api/incidents?limit=50")
    assert response.status_code == 200
    assert len(response.json["features"]) == 8
    body = response.get_data(as_text=True)
    assert CALLER[0] not in body and CALLER[1] not in body and "caller_" not in body


@pytest.fixture
def leaky_app(database_url, city, monkeypatch):
    """An app with an endpoint that (wrongly) returns a caller: the last check must stop it."""
    monkeypatch.setattr(permissions, "PERMISSIONS", (Rule("/leak", READ, READERS), *permissions.PERMISSIONS))
    application = create_app(Settings.from_env(database_url=database_url, env="test", city_code=city))
    application.add_url_rule("/leak", "leak", lambda: {"caller_name": CALLER[0], "caller_phone": CALLER[1]})
    yield application
    application.extensions["db_pool"].close()


def test_a_leaking_endpoint_is_stopped_for_roles_without_access(leaky_app, tokens, caplog):
    for role in ("public", "perencana", "dlh"):
        client = leaky_app.test_client()
        response = client.get("/leak", headers={"Authorization": f"Bearer {tokens.for_app(leaky_app)[role]}"})
        assert response.status_code == 500
        assert CALLER[1] not in response.get_data(as_text=True)
    assert CALLER[1] not in caplog.text and CALLER[0] not in caplog.text
    supervisor = leaky_app.test_client().get(
        "/leak", headers={"Authorization": f"Bearer {tokens.for_app(leaky_app)['supervisor_112']}"}
    )
    assert supervisor.json["caller_phone"] == CALLER[1]


def asset(lon_lat, **properties):
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": list(lon_lat)},
        "properties": {"asset_type": "cctv", "name": "CCTV akses", **properties},
    }


def test_an_opd_editor_edits_its_own_opds_assets_only(client_as, client):
    editor = client_as("opd_editor")  # OPD Diskominfo
    own = editor.post("/api/assets", json=asset(lonlat(300, 300), owner_opd="Diskominfo"))
    assert own.status_code == 201, own.json
    other = client.post("/api/assets", json=asset(lonlat(400, 300), owner_opd="Dishub"))
    assert other.status_code == 201, other.json
    refused = editor.post("/api/assets", json=asset(lonlat(500, 300), owner_opd="Dishub"))
    assert refused.status_code == 403 and "Diskominfo" in refused.json["detail"]
    assert (
        editor.patch(f"/api/assets/{other.json['id']}", json=asset(lonlat(400, 300), name="x")).status_code
        == 403
    )
    assert editor.delete(f"/api/assets/{other.json['id']}").status_code == 403
    moved = editor.patch(f"/api/assets/{own.json['id']}", json=asset(lonlat(300, 300), owner_opd="Dishub"))
    assert moved.status_code == 403
    renamed = editor.patch(f"/api/assets/{own.json['id']}", json=asset(lonlat(300, 300), name="CCTV baru"))
    assert renamed.status_code == 200, renamed.json
    assert editor.delete(f"/api/assets/{own.json['id']}").status_code == 204
    assert client.delete(f"/api/assets/{other.json['id']}").status_code == 204


def test_every_write_is_in_the_audit_trail_with_who_before_and_after(client_as, client, city):
    editor = client_as("opd_editor")
    created = editor.post("/api/assets", json=asset(lonlat(700, 300), owner_opd="Diskominfo")).json
    editor.patch(f"/api/assets/{created['id']}", json=asset(lonlat(700, 300), name="CCTV diganti"))
    editor.delete(f"/api/assets/{created['id']}")
    trail = client.get(f"/api/audit?entity=assets&entity_id={created['id']}").json["entries"]
    assert [entry["action"] for entry in trail] == ["delete", "update", "insert"]
    assert {entry["actor"] for entry in trail} == {f"test-{city}-opd-editor"}  # the city's own editor
    assert {entry["actor_role"] for entry in trail} == {"opd_editor"}
    delete, update, insert = trail
    assert insert["before"] is None and insert["after"]["name"] == "CCTV akses"
    assert update["before"]["name"] == "CCTV akses" and update["after"]["name"] == "CCTV diganti"
    assert delete["before"]["name"] == "CCTV diganti" and delete["after"] is None
    assert insert["after"]["geom"]["type"] == "Point"


def test_the_audit_trail_keeps_no_caller_data_and_cannot_be_changed(database_url, city):
    rows = execute(
        database_url,
        "SELECT after::text FROM audit_log WHERE entity = 'incident_callers' ORDER BY id DESC LIMIT 8",
    )
    assert rows and all(CALLER[1] not in row[0] and "[personal data]" in row[0] for row in rows)
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            execute(database_url, statement)


def test_audit_api_filters_and_pages(client):
    first = client.get("/api/audit?entity=incidents&limit=3")
    assert first.status_code == 200 and len(first.json["entries"]) == 3
    following = client.get(first.json["next"])
    assert following.json["entries"][0]["id"] < first.json["entries"][-1]["id"]
    assert client.get("/api/audit?since=2026-01-01").status_code == 400  # no time zone
    assert client.get("/api/audit?limit=0").status_code == 400
    assert client.get("/api/audit?colour=red").status_code == 400


def test_a_bulk_statement_over_the_threshold_is_one_summary_entry(database_url, city):
    with psycopg.connect(database_url) as conn, conn.transaction():
        conn.execute("SET LOCAL geo_app.audit_full_rows = 2")
        conn.execute(
            "INSERT INTO incidents (city_code, external_id, call_type, received_at)"
            " SELECT %s, 'massal-' || g, 'prank', now() FROM generate_series(1, 3) g",
            (CITY,),
        )
        [(entry,)] = conn.execute(
            "SELECT after FROM audit_log WHERE txid = txid_current() AND entity = 'incidents'"
        ).fetchall()
        conn.execute("DELETE FROM incidents WHERE external_id LIKE 'massal-%%'")
    assert entry["rows"] == 3 and int(entry["lowest_id"]) + 2 == int(entry["highest_id"])
