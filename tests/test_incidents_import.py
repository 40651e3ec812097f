"""Incident import: idempotent upserts, per-row reasons, one transaction, callers kept apart."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner
from incident_city import CITY, create_city, drop_city

from geo_app import create_app
from geo_app.catalog import load_catalog
from geo_app.cli import main
from geo_app.db import connect
from geo_app.ingest.incidents import import_file, import_incidents
from geo_app.settings import Settings

HEADER = (
    "external_id,call_type,category,address,lat,lon,received_at,dispatched_at,arrived_at,status,"
    "caller_name,caller_phone\n"
)
GOOD = [
    "A-1,darurat,KEBAKARAN,,-6.07,106.02,2026-10-01 10:00,2026-10-01 10:02,2026-10-01 10:12,closed,"
    "Budi Santoso,0812000111",
    "A-2,darurat,BANJIR,,-6.02,106.07,2026-10-01T11:00:00+07:00,,,received,,",
    "A-3,prank,,,,,2026-10-01 12:00,,,closed,Anon Caller,0812999888",
]


@pytest.fixture(scope="module")
def city(database_url):
    create_city(database_url)
    yield CITY
    drop_city(database_url)


@pytest.fixture(scope="module")
def city_settings(database_url, city):
    return Settings.from_env(database_url=database_url, env="test", city_code=city)


@pytest.fixture
def clean(database_url, city):
    yield
    with connect(database_url) as conn:
        conn.execute("DELETE FROM incidents WHERE city_code = %s", (city,))
        conn.commit()


def run_import(settings, text: str, file_format="csv", keep_good=False, tmp_path=None):
    path = tmp_path / f"incidents.{file_format}"
    path.write_text(text, encoding="utf-8")
    return import_file(settings, load_catalog(settings.layers_dir), path, keep_good=keep_good)


def stored(database_url, city):
    with connect(database_url) as conn:
        return {
            row["external_id"]: row
            for row in conn.execute(
                "SELECT i.*, c.caller_name FROM incidents i "
                "LEFT JOIN incident_callers c ON c.incident_id = i.id "
                "WHERE i.city_code = %s",
                (city,),
            )
        }


def test_same_file_twice_changes_nothing_and_corrected_row_updates(
    city_settings, database_url, clean, tmp_path
):
    text = HEADER + "\n".join(GOOD) + "\n"
    first = run_import(city_settings, text, tmp_path=tmp_path)
    assert (first.inserted, first.updated, first.unchanged, first.rejected) == (3, 0, 0, [])
    rows = stored(database_url, CITY)
    assert rows["A-1"]["kelurahan_code"] == "99.31.01.1001" and rows["A-1"]["kecamatan_code"] == "99.31.01"
    assert rows["A-2"]["kelurahan_code"] == "99.31.02.1002"
    assert rows["A-1"]["received_at"].isoformat() == "2026-10-01T03:00:00+00:00"  # read as WIB
    assert rows["A-3"]["geom"] is None and rows["A-3"]["geocode_precision"] == "none"
    assert rows["A-1"]["caller_name"] == "Budi Santoso"
    updated_at = rows["A-1"]["updated_at"]

    second = run_import(city_settings, text, tmp_path=tmp_path)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 3)
    assert stored(database_url, CITY)["A-1"]["updated_at"] == updated_at

    corrected = text.replace("2026-10-01 10:12,closed", "2026-10-01 10:14,closed")
    third = run_import(city_settings, corrected, tmp_path=tmp_path)
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 2)
    assert stored(database_url, CITY)["A-1"]["arrived_at"].minute == 14


BAD_ROWS = {
    "B-1": (
        "B-1,darurat,GEMPA_BUMI,,-6.07,106.02,2026-10-01 10:00,,,received,,",
        "unknown category GEMPA_BUMI",
    ),
    "B-2": (
        "B-2,darurat,KEBAKARAN,,-6.07,106.02,2026-10-01 10:00,,2026-10-01 09:50,closed,,",
        "time order broken: arrived_at 2026-10-01 09:50 is before received_at",
    ),
    "B-3": ("B-3,darurat,KEBAKARAN,,-6.5,106.5,2026-10-01 10:00,,,received,,", "point outside the city"),
    "B-4": (
        "B-4,darurat,KEBAKARAN,,106.02,-6.07,2026-10-01 10:00,,,received,Siti,0813",
        "likely lat/lon swap",
    ),
    "B-5": (
        "B-5,darurat,KEBAKARAN,,-6.07,106.02,2026-02-30 10:00,,,received,,",
        "received_at 2026-02-30 10:00",
    ),
    "B-6": ("B-6,telepon,KEBAKARAN,,-6.07,106.02,2026-10-01 10:00,,,received,,", "unknown call_type telepon"),
}


def test_bad_rows_are_reported_with_reasons_and_nothing_is_written(
    city_settings, database_url, clean, tmp_path
):
    text = HEADER + "\n".join(GOOD + [row for row, _ in BAD_ROWS.values()]) + "\n"
    result = run_import(city_settings, text, tmp_path=tmp_path)
    assert not result.written
    by_id = {row["external_id"]: row for row in result.rejected}
    assert set(by_id) == set(BAD_ROWS)
    for external_id, (_, expected) in BAD_ROWS.items():
        assert any(expected in reason for reason in by_id[external_id]["reasons"]), by_id[external_id]
    assert by_id["B-1"]["row"] == 4
    assert stored(database_url, CITY) == {}
    # the report never quotes personal data
    assert "Siti" not in json.dumps(result.as_dict()) and "0813" not in json.dumps(result.as_dict())

    kept = run_import(city_settings, text, keep_good=True, tmp_path=tmp_path)
    assert kept.written and kept.inserted == 3 and len(kept.rejected) == len(BAD_ROWS)
    assert set(stored(database_url, CITY)) == {"A-1", "A-2", "A-3"}


def test_repeated_external_id_in_one_file_is_rejected(city_settings, clean, tmp_path):
    text = HEADER + GOOD[0] + "\n" + GOOD[0] + "\n"
    result = run_import(city_settings, text, tmp_path=tmp_path)
    assert [row["row"] for row in result.rejected] == [2]
    assert "repeats row 1" in result.rejected[0]["reasons"][0]


def test_json_and_geojson_import_with_geocoding_of_addresses(city_settings, database_url, clean, tmp_path):
    records = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [106.02, -6.07]},
                "properties": {
                    "external_id": "J-1",
                    "call_type": "darurat",
                    "category": "KEBAKARAN",
                    "received_at": "2026-10-02T08:00:00+07:00",
                },
            },
            {
                "type": "Feature",
                "geometry": None,
                "properties": {
                    "external_id": "J-2",
                    "call_type": "darurat",
                    "category": "KRIMINAL",
                    "received_at": "2026-10-02T09:00:00+07:00",
                    "address": "Jl. Sudirmn No. 5 RT 02/RW 03, Kel. Lebakgede",
                },
            },
            {
                "type": "Feature",
                "geometry": None,
                "properties": {
                    "external_id": "J-3",
                    "call_type": "darurat",
                    "category": "KRIMINAL",
                    "received_at": "2026-10-02T09:30:00+07:00",
                    "address": "entah di mana",
                },
            },
        ],
    }
    result = run_import(city_settings, json.dumps(records), file_format="json", tmp_path=tmp_path)
    assert result.written and result.inserted == 3 and result.not_geocoded == 1
    rows = stored(database_url, CITY)
    assert rows["J-2"]["geocode_precision"] == "street" and rows["J-2"]["kelurahan_code"] == "99.31.01.1001"
    assert rows["J-3"]["geocode_precision"] == "none" and rows["J-3"]["geom"] is None


def test_cli_import_reports_and_fails_on_rejected_rows(
    city_settings, database_url, clean, tmp_path, monkeypatch
):
    path = tmp_path / "calls.csv"
    path.write_text(HEADER + GOOD[0] + "\n" + BAD_ROWS["B-4"][0] + "\n", encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CITY_CODE", CITY)
    result = CliRunner().invoke(main, ["import-incidents", str(path)])
    assert result.exit_code == 1
    assert "likely lat/lon swap" in result.output and "nothing was written" in result.output
    assert "Siti" not in result.output
    result = CliRunner().invoke(main, ["import-incidents", str(path), "--keep-good"])
    assert result.exit_code == 0, result.output
    assert "1 inserted" in result.output


def test_import_streams_into_the_callers_transaction(city_settings, database_url, clean):
    with connect(database_url) as conn:
        result = import_incidents(
            conn,
            city_settings,
            load_catalog(city_settings.layers_dir),
            io.BytesIO((HEADER + GOOD[0] + "\n").encode()),
            "csv",
            "test",
        )
        assert result.inserted == 1
        conn.rollback()
    assert stored(database_url, CITY) == {}


@pytest.fixture(scope="module")
def city_app(city_settings):
    app = create_app(city_settings)
    yield app
    app.extensions["db_pool"].close()


@pytest.fixture
def city_client(city_app, tokens):
    client = city_app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens.for_app(city_app)['admin']}"
    return client


def test_api_post_one_list_filters_and_pages(city_client, clean):
    incident = {
        "external_id": "P-1",
        "call_type": "darurat",
        "category": "KEBAKARAN",
        "lat": -6.07,
        "lon": 106.02,
        "received_at": "2026-10-03T10:00:00+07:00",
        "caller_name": "Budi",
        "caller_phone": "0812",
    }
    response = city_client.post("/api/incidents", json=incident)
    assert response.status_code == 201, response.json
    assert response.json["properties"]["kelurahan_name"] == "Lebak Gede"
    assert city_client.post("/api/incidents", json=incident).status_code == 200
    bad = city_client.post(
        "/api/incidents", json={**incident, "external_id": "P-2", "lat": 106.02, "lon": -6.07}
    )
    assert bad.status_code == 422 and "likely lat/lon swap" in bad.json["detail"]
    assert "Budi" not in bad.get_data(as_text=True)

    csv_body = HEADER + "\n".join(GOOD) + "\n"
    report = city_client.post("/api/incidents/import", data=csv_body, content_type="text/csv")
    assert report.status_code == 200 and report.json["inserted"] == 3

    page = city_client.get("/api/incidents?limit=2").json
    assert [f["properties"]["external_id"] for f in page["features"]] == ["P-1", "A-3"]
    [next_href] = [link["href"] for link in page["links"] if link["rel"] == "next"]
    rest = city_client.get(next_href).json
    assert [f["properties"]["external_id"] for f in rest["features"]] == ["A-2", "A-1"]
    assert [link["rel"] for link in rest["links"]] == ["self"]
    body = city_client.get("/api/incidents").get_data(as_text=True)
    assert "Budi" not in body and "0812" not in body and "caller" not in body

    fires = city_client.get("/api/incidents?category=KEBAKARAN&start=2026-10-01&end=2026-10-01").json
    assert [f["properties"]["external_id"] for f in fires["features"]] == ["A-1"]
    october = city_client.get("/api/incidents?category=KEBAKARAN&start=2026-10&end=2026-10").json
    assert [f["properties"]["external_id"] for f in october["features"]] == ["P-1", "A-1"]
    beyond = city_client.get("/api/incidents?end=9999-12-31")
    assert beyond.status_code == 400 and "2100-12-31" in beyond.json["detail"]
    inside = city_client.get("/api/incidents?bbox=106.05,-6.05,106.10,-6.00").json
    assert [f["properties"]["external_id"] for f in inside["features"]] == ["A-2"]
    assert city_client.get("/api/incidents?kelurahan=99.31.01.1001").json["numberReturned"] == 2
    assert city_client.get("/api/incidents?colour=red").status_code == 400
    assert city_client.get("/api/incidents?category=NOPE").status_code == 400


@pytest.fixture
def supervisor(city_app, tokens):
    client = city_app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens.for_app(city_app)['supervisor_112']}"
    return client


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ('{"type": "FeatureCollection", "features": [1]}', "feature 1: expected a Feature"),
        ('{"type": "FeatureCollection", "features": {"a": 1}}', "must be a list of Features"),
        ('{"type": "FeatureCollection", "features": [{"properties": [1]}]}', "feature 1: expected a Feature"),
        ('{"type": "FeatureCollection", "features": [{"geometry": {"type": "Point", "coordinates": [1]}}]}',
         "feature 1: geometry must be a Point with coordinates [lon, lat]"),
        ('{"type": "FeatureCollection", "features": [{"geometry": "POINT (106 -6)"}]}',
         "feature 1: geometry must be a Point"),
    ],
)  # fmt: skip
def test_malformed_feature_collections_are_400_naming_the_feature(
    supervisor, database_url, clean, body, detail
):
    for path in ("/api/incidents/import", "/api/incidents"):
        response = supervisor.post(path, data=body, content_type="application/json")
        assert response.status_code == 400 and response.mimetype == "application/problem+json"
        assert detail in response.json["detail"]
    assert stored(database_url, CITY) == {}


def test_unreadable_json_bodies_and_files_are_400(supervisor, database_url, clean):
    deep = b"[" * 100_000 + b"]" * 100_000
    file_upload = {"file": (io.BytesIO(deep), "incidents.json")}
    for response in (
        supervisor.post("/api/incidents/import", data=file_upload, content_type="multipart/form-data"),
        supervisor.post("/api/incidents/import?format=json", data=deep, content_type="text/plain"),
    ):
        assert response.status_code == 400, response.json
        assert "nests arrays or objects too deeply" in response.json["detail"]
    for body, detail in (
        (b'[{"external_id": "T-1", ', "not valid JSON"),
        (b'"incidents"', "expected a JSON"),
    ):
        response = supervisor.post("/api/incidents/import", data=body, content_type="application/json")
        assert response.status_code == 400 and detail in response.json["detail"]
    assert stored(database_url, CITY) == {}


def test_bulk_path_rebuilds_indexes_and_keys_and_stays_idempotent(
    city_settings, database_url, clean, tmp_path, monkeypatch
):
    from geo_app.ingest import incidents as ingest

    def schema():
        with connect(database_url) as conn:
            indexes = conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'incidents'").fetchall()
            keys = conn.execute(
                "SELECT conname, pg_get_constraintdef(oid) AS d FROM pg_constraint "
                "WHERE conrelid = 'incidents'::regclass"
            ).fetchall()
        return sorted(row["indexdef"] for row in indexes), sorted((row["conname"], row["d"]) for row in keys)

    before = schema()
    monkeypatch.setattr(ingest, "BULK_ROWS", 2)
    text = HEADER + "\n".join(GOOD) + "\n"
    first = run_import(city_settings, text, tmp_path=tmp_path)
    assert (first.inserted, first.updated, first.unchanged) == (3, 0, 0)
    assert schema() == before
    again = run_import(city_settings, text, tmp_path=tmp_path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    corrected = run_import(city_settings, text.replace("10:12,closed", "10:14,closed"), tmp_path=tmp_path)
    assert (corrected.inserted, corrected.updated, corrected.unchanged) == (0, 1, 2)
    rows = stored(database_url, CITY)
    assert rows["A-1"]["arrived_at"].minute == 14 and rows["A-1"]["caller_name"] == "Budi Santoso"
    assert rows["A-1"]["kelurahan_code"] == "99.31.01.1001"
