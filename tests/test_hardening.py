"""Bad input: body size, JSON nesting, geometry limits, unknown parameters; production secret."""

from __future__ import annotations

import csv
import dataclasses
import io

import pandas as pd
import pytest
from conftest import execute

from geo_app import create_app
from geo_app.csv_cells import restore_formulas, to_csv
from geo_app.ingest import geometry_limits
from geo_app.settings import TEST_SECRET_KEY, SettingsError


@pytest.fixture(scope="module")
def app(settings):
    application = create_app(dataclasses.replace(settings, max_content_length=200_000))
    yield application
    application.extensions["db_pool"].close()


def polygon(vertices: int) -> dict:
    ring = [[106.0 + i * 1e-6, -6.0 + (i % 2) * 1e-6] for i in range(vertices - 1)]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def test_a_body_over_the_size_limit_is_413_problem_json(client):
    response = client.post("/api/assets", data=b"x" * 200_001, content_type="application/json")
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json" and "MAX_CONTENT_LENGTH" in response.json["detail"]


def test_json_nested_too_deeply_is_400_not_500(client):
    body = "[" * 100_000 + "]" * 100_000
    response = client.post("/api/assets", data=body, content_type="application/json")
    assert response.status_code == 400 and response.json["title"] == "JSON nested too deeply"


def test_a_geometry_with_too_many_vertices_is_refused_before_any_view(client, monkeypatch):
    monkeypatch.setattr(geometry_limits, "MAX_VERTICES", 1000)
    feature = {"type": "Feature", "geometry": polygon(1001), "properties": {"asset_type": "cctv"}}
    response = client.post("/api/assets", json=feature)
    assert response.status_code == 422
    assert "body.geometry: more than 1,000 vertices" in response.json["detail"]
    collection = {"type": "FeatureCollection", "features": [feature]}
    response = client.post("/api/green-areas/import", json=collection)
    assert response.status_code == 422 and "body.features[0].geometry" in response.json["detail"]


@pytest.mark.parametrize(
    ("geometry", "message"),
    [
        ({"type": "Point", "coordinates": [[1, 2]]}, "nested deeper"),
        ({"type": "Polygon", "coordinates": [1, 2]}, "not nested"),
        ({"type": "Point", "coordinates": [1]}, "has 1 numbers"),
        ({"type": "MultiPoint", "coordinates": [[1, 2]] * 10_001}, "10001 parts"),
        (
            {
                "type": "GeometryCollection",
                "geometries": [
                    {
                        "type": "GeometryCollection",
                        "geometries": [{"type": "GeometryCollection", "geometries": []}],
                    }
                ],
            },
            "nested deeper than 2",
        ),
    ],
)
def test_geojson_limits_name_what_is_wrong(geometry, message):
    with pytest.raises(geometry_limits.GeometryLimitError, match=message):
        geometry_limits.check_geojson(geometry)


def test_ordinary_geometries_pass():
    geometry_limits.check_geojson(polygon(5000))
    geometry_limits.check_geojson({"type": "MultiPolygon", "coordinates": [polygon(10)["coordinates"]] * 3})
    geometry_limits.check_shape(None)


def test_file_geometries_have_the_same_limits(monkeypatch):
    import shapely

    monkeypatch.setattr(geometry_limits, "MAX_VERTICES", 100)
    with pytest.raises(geometry_limits.GeometryLimitError, match="101 vertices"):
        geometry_limits.check_shape(shapely.LineString([(i, i) for i in range(101)]))


def test_unknown_parameters_are_refused_with_the_allowed_list(anonymous_client):
    response = anonymous_client.get("/api/areas?levl=kecamatan")
    assert (
        response.status_code == 400
        and "levl" in response.json["detail"]
        and "level" in response.json["detail"]
    )


@pytest.mark.parametrize("env", ["production", "development"])
@pytest.mark.parametrize(
    ("secret_key", "problem"),
    [("", "not set"), (TEST_SECRET_KEY, "the test suite.s public value"), ("hunter2-hunter2", "too short")],
)
def test_the_app_refuses_to_start_with_a_missing_known_or_short_secret(settings, env, secret_key, problem):
    """A forgeable session cookie is an administrator's session for anyone: no environment but the test
    suite starts without a secret of its own."""
    with pytest.raises(SettingsError, match=f"SECRET_KEY is {problem}"):
        create_app(dataclasses.replace(settings, env=env, secret_key=secret_key))


def test_a_session_signed_with_the_test_secret_is_refused_by_a_deployment(settings, database_url):
    """The attack: sign an admin session with the known secret and send it to an app with its own."""
    from flask.sessions import SecureCookieSessionInterface

    deployed = create_app(dataclasses.replace(settings, env="development", secret_key="k" * 48))
    try:
        forger = create_app(settings)  # the test suite's app, signing with TEST_SECRET_KEY
        try:
            serializer = SecureCookieSessionInterface().get_signing_serializer(forger)
            admin_id = execute(database_url, "SELECT min(id) FROM users")[0][0] or 1
            forged = serializer.dumps({"uid": admin_id, "sid": "forged"})  # both cookie shapes
        finally:
            forger.extensions["db_pool"].close()
        client = deployed.test_client()
        client.set_cookie("geo_app_session", forged)
        assert client.get("/api/me").json["signed_in"] is False
    finally:
        deployed.extensions["db_pool"].close()


def test_production_sessions_use_secure_cookies(settings):
    production = create_app(dataclasses.replace(settings, env="production", secret_key="x" * 40))
    try:
        assert production.config["SESSION_COOKIE_SECURE"] is True
        assert production.config["SECRET_KEY"] == "x" * 40
    finally:
        production.extensions["db_pool"].close()


def test_file_rows_over_the_limits_are_reported_not_read(monkeypatch, tmp_path):
    import json

    from geo_app.ingest import readers

    monkeypatch.setattr(geometry_limits, "MAX_VERTICES", 100)
    path = tmp_path / "taman.geojson"
    features = [
        {"type": "Feature", "geometry": polygon(n), "properties": {"nama": str(n)}} for n in (50, 150)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    frame = readers.read_vector(path)
    problems = readers.source_info(frame).row_problems
    assert list(problems) == [1] and "150 vertices" in problems[1]
    assert frame.geometry[0] is not None and frame.geometry[1] is None


def test_logs_never_carry_callers_data():
    import logging

    from geo_app.auth.log_redaction import PersonalDataFilter

    try:
        raise ValueError(
            "duplicate key value violates unique constraint\n"
            "DETAIL:  Key (caller_phone)=(081234567890) exists.\n"
            "DETAIL:  Failing row contains (12, Siti Rahayu, +6281234567890)."
        )
    except ValueError:
        import sys

        record = logging.LogRecord(
            "geo_app", logging.ERROR, __file__, 1, "call from %s", ("081298765432",), sys.exc_info()
        )
    assert PersonalDataFilter().filter(record)
    text = logging.Formatter().format(record)
    assert "0812" not in text and "Siti" not in text and "62812" not in text
    assert "Key (caller_phone)=([redacted])" in text and "[phone redacted]" in text
    access = logging.LogRecord(
        "werkzeug", logging.INFO, __file__, 1, '"GET /login/link/gat_s3cr3t?next=/ HTTP/1.1"', (), None
    )
    PersonalDataFilter().filter(access)
    assert "s3cr3t" not in access.getMessage() and "/login/link/[redacted]?next=/" in access.getMessage()


@pytest.mark.parametrize(
    ("basemap", "origin"),
    [
        ("https://peta.kota.go.id/tiles/{z}/{x}/{y}.png", "https://peta.kota.go.id"),
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
        ("", None),
    ],
)
def test_the_policy_lets_map_tiles_come_from_the_basemap_only(basemap, origin):
    from geo_app.web.access import content_security_policy

    expected = "img-src 'self' data: blob:" + (f" {origin}" if origin else "")
    assert expected in content_security_policy(basemap).split("; ")


def test_csv_cells_that_would_start_a_formula_are_quoted_and_numbers_are_not():
    frame = pd.DataFrame(
        {
            "name": ["=1+2", "+62 812", "-minus", "@SUM(A1)", "\tTab", "\rCR", "Taman\r=cmd()", None],
            "lat": [-6.01, -6.02, 1.5, -0.5, 0.0, -90.0, 6.0, -1.0],
            "count": [-1, 2, 3, 4, 5, 6, 7, 8],
        }
    )
    written = list(csv.DictReader(io.StringIO(to_csv(frame), newline="")))
    assert [row["name"] for row in written] == [
        "'=1+2", "'+62 812", "'-minus", "'@SUM(A1)", "'\tTab", "'\rCR", "Taman\r=cmd()", ""
    ]  # fmt: skip
    assert [row["lat"] for row in written][:2] == ["-6.01", "-6.02"] and written[0]["count"] == "-1"
    read_back = restore_formulas(pd.read_csv(io.StringIO(to_csv(frame)), dtype=str, keep_default_na=False))
    assert list(read_back["name"]) == [
        "=1+2",
        "+62 812",
        "-minus",
        "@SUM(A1)",
        "\tTab",
        "\rCR",
        "Taman\r=cmd()",
        "",
    ]
    assert restore_formulas(pd.DataFrame({"name": ["'quoted", "'=kept once"]}))["name"].tolist() == [
        "'quoted",
        "=kept once",
    ]


@pytest.mark.parametrize(
    "url",
    [
        "/api/geocode?address=Jl.%00Ahmad%20Yani",
        "/api/assets?owner_opd=Diskominfo%00",
        "/api/incidents?kecamatan=Cibeber%00",
        "/api/green-areas?kelurahan=x%00",
        "/api/audit?actor=admin%00",
        "/ogc/collections/kelurahan/items/36.72.01.1001%00",
    ],
)
def test_nul_characters_in_the_path_or_query_are_400(client, url):
    response = client.get(url)
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert "NUL character (%00)" in response.json["detail"]


def test_nul_characters_in_bodies_and_files_are_refused_and_write_nothing(sample_city, client, database_url):
    from conftest import execute

    def count() -> int:
        return execute(database_url, "SELECT count(*) FROM assets")[0][0]

    before = count()
    asset = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [106.05, -6.0]},
             "properties": {"asset_type": "cctv", "name": "CCTV\u0000"}}  # fmt: skip
    response = client.post("/api/assets", json=asset)
    assert response.status_code == 400 and "\\u0000" in response.json["detail"]
    upload = {"file": (io.BytesIO(b"name,lon,lat\nCCTV\x00,106.05,-6.0\n"), "cctv.csv")}
    response = client.post("/api/assets/import?type=cctv", data=upload, content_type="multipart/form-data")
    assert response.status_code == 422 and "NUL characters" in response.json["detail"]  # a refused file
    assert count() == before
    calls = b"external_id,call_type,received_at\nNUL-1\x00,darurat,2026-01-01T10:00:00+07:00\n"
    response = client.post("/api/incidents/import", data=calls, content_type="text/csv")
    assert response.status_code == 400 and "without NUL characters" in response.json["detail"]
    assert "NUL-1" not in response.get_data(as_text=True)
    latin1 = b"external_id,call_type,received_at\nNUL-2 Caf\xe9,darurat,2026-01-01T10:00:00+07:00\n"
    response = client.post("/api/incidents/import", data=latin1, content_type="text/csv")
    assert response.status_code == 400 and "save it as UTF-8" in response.json["detail"]
    assert execute(database_url, "SELECT count(*) FROM incidents WHERE external_id LIKE 'NUL-%%'")[0][0] == 0
