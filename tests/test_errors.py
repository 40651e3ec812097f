"""Every error is application/problem+json with a detail a person can act on, never an HTML page."""

import pytest
from flask import Blueprint

from geo_app import create_app

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def failing_app(settings, sample_city):
    """The real app plus one route that fails, to see what an unexpected error looks like."""
    app = create_app(settings)
    broken = Blueprint("broken_for_test", __name__)

    @broken.get("/api/broken-for-test")
    def fail():
        raise RuntimeError("secret internals: password=hunter2")

    app.register_blueprint(broken)
    yield app
    app.extensions["db_pool"].close()


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response.content_type == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"]
    assert "<html" not in response.get_data(as_text=True).lower()
    return body


def test_unknown_path_is_a_404_problem(client):
    body = assert_problem(client.get("/no/such/page"), 404)
    assert body["instance"] == "/no/such/page"
    assert "/openapi.json" in body["detail"]


def test_wrong_method_is_a_405_problem_with_allow(client):
    response = client.delete("/api/areas")
    assert_problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_invalid_parameter_says_what_to_use(client):
    body = assert_problem(client.get("/api/areas?level=provinsi"), 400)
    assert "kecamatan" in body["detail"] and "kelurahan" in body["detail"]


def test_too_large_body_is_a_413_problem(settings, sample_city, client):
    body = b"x" * (settings.max_content_length + 1)
    response = client.post("/api/assets", data=body, content_type="application/json")
    assert_problem(response, 413)


def test_unexpected_error_is_a_500_problem_without_internals(failing_app, tokens, caplog):
    admin = failing_app.test_client()
    admin.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens['admin']}"
    response = admin.get("/api/broken-for-test")
    body = assert_problem(response, 500)
    text = response.get_data(as_text=True)
    assert "hunter2" not in text and "Traceback" not in text and "RuntimeError" not in text
    assert "logged" in body["detail"]
    assert any("unhandled error" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    "url",
    [
        "/api/green-areas/changes?from=0001-01-01&to=9999-12-31",
        "/api/green-areas?as_of=9999-12-31",
        "/api/green-areas/1?as_of=9999-12-31",
        "/api/analysis/green?as_of=9999-12-31",
        "/api/analysis/green/access?as_of=0001-01-01T00:00:00-23:59",
        "/api/incidents?end=9999-12-31",
        "/api/incidents?start=0001-01-01",
        "/api/incidents/counts?end=9999-12-31",
    ],
)
def test_dates_outside_the_handled_years_are_400(client, url):
    body = assert_problem(client.get(url), 400)
    assert "use a date from 1900-01-01 to 2100-12-31" in body["detail"]


def test_a_green_edit_dated_past_the_handled_years_is_refused(client):
    feature = {"type": "Feature", "geometry": None, "properties": {"valid_from": "9999-12-31"}}
    body = assert_problem(client.post("/api/green-areas", json=feature), 400)
    assert "valid_from: 9999-12-31 is outside the dates" in body["detail"]
    response = client.delete("/api/green-areas/1?valid_to=9999-12-31")
    assert "1900-01-01 to 2100-12-31" in assert_problem(response, 400)["detail"]


@pytest.mark.parametrize("path", ["/api/incidents", "/api/green-areas", "/api/assets"])
@pytest.mark.parametrize(
    ("bbox", "detail"),
    [
        ("200,100,300,120", "longitude from -180 to 180 and latitude from -90 to 90"),
        ("106.1,-6,106,-5.9", "the lower corner comes first"),
        ("nan,-6,106,-5.9", "finite numbers"),
    ],
)
def test_api_bbox_outside_longitude_latitude_is_400(client, path, bbox, detail):
    body = assert_problem(client.get(f"{path}?bbox={bbox}"), 400)
    assert detail in body["detail"] and "min_lon,min_lat,max_lon,max_lat" in body["detail"]
