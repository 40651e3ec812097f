"""Access control in one place: identity, the permission table's answer, CSRF, headers, personal data."""

from __future__ import annotations

import pytest

from geo_app import create_app


@pytest.fixture(scope="module")
def app(settings):
    """The application without the sample city: these tests are about who may call what, not data."""
    application = create_app(settings)
    yield application
    application.extensions["db_pool"].close()


def test_anonymous_visitor_gets_the_public_view(anonymous_client):
    response = anonymous_client.get("/api/me")
    assert response.json["role"] == "public" and not response.json["signed_in"]
    areas = anonymous_client.get("/api/areas")  # let through (not 401); this database holds no city yet
    assert areas.status_code == 404 and areas.json["title"] == "No such city"
    assert "geo-app add-city" in areas.json["detail"]


def test_anonymous_without_public_view_is_sent_to_sign_in(settings):
    closed = create_app(settings.__class__(**{**settings.__dict__, "anonymous_access": False}))
    try:
        visitor = closed.test_client()
        assert visitor.get("/api/areas").status_code == 401
        page = visitor.get("/", headers={"Accept": "text/html"})
        assert page.status_code == 302 and page.headers["Location"].startswith("/login?next=")
        assert visitor.get("/login").status_code == 200
        assert visitor.get("/healthz").status_code == 200
    finally:
        closed.extensions["db_pool"].close()


@pytest.mark.parametrize(
    "path",
    [
        "/ogc",
        "/ogc/collections",
        "/ogc/collections/incidents/items",
        "/api/incidents",
        "/tiles/incidents/14/13044/8468.mvt",
        "/openapi.json",
    ],
)
@pytest.mark.parametrize("accept", ["text/html", "application/json", "*/*"])
def test_gis_tools_without_credentials_get_401_never_the_sign_in_page(settings, path, accept):
    """GDAL and QGIS cannot read an HTML sign-in page: a machine path answers a 401 problem they can show,
    whatever the Accept header, with the public view off (and for restricted layers with it on)."""
    closed = create_app(settings.__class__(**{**settings.__dict__, "anonymous_access": False}))
    try:
        response = closed.test_client().get(path, headers={"Accept": accept})
        assert response.status_code == 401 and response.mimetype == "application/problem+json"
        assert "Location" not in response.headers and "WWW-Authenticate" in response.headers
    finally:
        closed.extensions["db_pool"].close()


@pytest.mark.parametrize("path", ["/ogc/collections/incidents/items", "/api/incidents"])
def test_restricted_layers_answer_401_to_anonymous_browsers_too(anonymous_client, path):
    response = anonymous_client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 401 and response.mimetype == "application/problem+json"


def test_client_fixture_is_admin(client):
    assert client.get("/api/me").json["role"] == "admin"
    assert client.get("/api/audit").status_code == 200


@pytest.mark.parametrize("role", ["perencana", "supervisor_112", "dlh", "opd_editor", "public"])
def test_audit_is_for_admins_only(client_as, role):
    response = client_as(role).get("/api/audit")
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert role in response.json["detail"]


def test_no_credentials_on_a_closed_endpoint_is_401_with_a_hint(anonymous_client):
    response = anonymous_client.get("/api/audit")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "/login" in response.json["detail"]


@pytest.mark.parametrize("header", ["Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer "])
def test_a_bad_token_is_refused_not_ignored(anonymous_client, header):
    response = anonymous_client.get("/api/areas", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_security_headers_on_every_answer(anonymous_client):
    for path in ("/", "/api/areas", "/no-such-page", "/login"):
        headers = anonymous_client.get(path).headers
        assert "script-src 'self' 'unsafe-inline'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "SAMEORIGIN"
        assert headers["Referrer-Policy"] == "same-origin"


def test_restricted_or_signed_in_answers_are_not_cached_publicly(client, anonymous_client):
    for response in (client.get("/api/audit"), client.get("/api/areas")):
        assert response.headers["Cache-Control"].startswith("private")
        assert "Authorization" in response.headers["Vary"]
    public = anonymous_client.get("/api/areas")
    assert "private" not in public.headers.get("Cache-Control", "")
    assert "Cookie" in public.headers["Vary"]


def test_the_openapi_document_says_who_may_call_what(anonymous_client):
    document = anonymous_client.get("/openapi.json").json
    audit = document["paths"]["/api/audit"]["get"]
    assert audit["x-roles"] == ["admin"] and {} not in audit["security"]
    areas = document["paths"]["/api/areas"]["get"]
    assert "public" in areas["x-roles"] and {} in areas["security"]
    assert set(document["components"]["securitySchemes"]) == {"apiToken", "session", "apiTokenBasic"}
    assert {"apiTokenBasic": []} in audit["security"]  # reading with HTTP Basic and an API token
    writes = document["paths"]["/api/assets"]["post"]["security"]
    assert {"apiTokenBasic": []} not in writes  # Basic is never accepted for writes


def test_the_home_page_tells_visitors_no_file_names_and_nothing_of_112_loads(
    database_url, anonymous_client, client, sample_city
):
    from conftest import execute

    rows = execute(
        database_url,
        "INSERT INTO dataset_loads (city_code, layer, source, is_sample, row_count) VALUES"
        " (%(city)s, 'incidents', 'ekspor_112_budi_santoso.csv', false, 17),"
        " (%(city)s, 'assets', 'cctv_pak_joko_0812.gpkg', false, 3) RETURNING id",
        {"city": sample_city},
    )
    try:
        public = anonymous_client.get("/").get_data(as_text=True)
        assert "budi_santoso" not in public and "pak_joko" not in public
        assert "Insiden 112" not in public.split("Sumber data")[1]
        assert "data resmi (impor berkas)" in public and " WIB</td>" not in public
        staff = client.get("/").get_data(as_text=True)
        assert "ekspor_112_budi_santoso.csv" in staff and "cctv_pak_joko_0812.gpkg" in staff
    finally:
        execute(database_url, "DELETE FROM dataset_loads WHERE id = ANY(%s)", ([row[0] for row in rows],))
