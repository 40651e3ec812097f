"""Faults: the database goes away and comes back; connections are killed; an import loses its connection."""

from __future__ import annotations

import time

import pytest
from access_city import CITY, create_city
from conftest import execute
from coverage_city import lonlat
from db_proxy import DatabaseProxy

from geo_app import create_app
from geo_app.catalog import load_catalog
from geo_app.ingest.incidents import import_file
from geo_app.settings import Settings


@pytest.fixture(scope="module")
def city(database_url):
    return create_city(database_url)


@pytest.fixture
def proxy(database_url):
    running = DatabaseProxy(database_url).start()
    yield running
    running.stop()


def wait_for(predicate, seconds: float = 30.0) -> float:
    """Seconds until predicate() held (fails the test after ``seconds``)."""
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < seconds, f"not recovered within {seconds} s"
        time.sleep(0.25)
    return time.monotonic() - started


def test_database_down_is_503_with_retry_after_then_recovers_by_itself(proxy, city, tokens):
    app = create_app(Settings.from_env(database_url=proxy.url, env="test", city_code=city, db_pool_size=2))
    try:
        visitor, staff = app.test_client(), app.test_client()
        staff.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens.of(city)['supervisor_112']}"
        assert visitor.get("/api/areas").status_code == 200
        assert staff.get("/api/incidents").status_code == 200
        proxy.stop()
        for client, path in ((visitor, "/api/areas"), (staff, "/api/incidents"), (visitor, "/readyz")):
            response = client.get(path)
            assert response.status_code == 503, path
            assert response.headers["Retry-After"] == "5"
            body = response.get_data(as_text=True)
            assert "Traceback" not in body and "psycopg" not in body and "127.0.0.1" not in body
        assert visitor.get("/api/areas").mimetype == "application/problem+json"
        proxy.start()
        wait_for(lambda: visitor.get("/api/areas").status_code == 200)
        assert staff.get("/api/incidents").status_code == 200
    finally:
        app.extensions["db_pool"].close()


def test_killed_database_connections_are_replaced(database_url, city):
    tagged_url = f"{database_url}?application_name=geo_app_fault_test"
    app = create_app(Settings.from_env(database_url=tagged_url, env="test", city_code=city, db_pool_size=6))
    try:
        pool = app.extensions["db_pool"]
        held = [pool.getconn() for _ in range(6)]  # six idle connections, all about to be killed
        for conn in held:
            pool.putconn(conn)
        client = app.test_client()
        assert client.get("/api/areas").status_code == 200
        killed = execute(
            database_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'geo_app_fault_test'",
        )
        assert len(killed) == 6
        started = time.monotonic()
        assert [client.get("/api/areas").status_code for _ in range(5)] == [200] * 5
        assert time.monotonic() - started < 5  # no request waited out the pool timeout
    finally:
        app.extensions["db_pool"].close()


def incident_csv(path, rows: int) -> None:
    lines = ["external_id,call_type,category,lat,lon,received_at,caller_name,caller_phone"]
    for number in range(rows):
        lon, lat = lonlat(100 + (number % 3800), 100 + (number // 3800) % 1800)
        lines.append(
            f"putus-{number},darurat,KEBAKARAN,{lat:.6f},{lon:.6f},2026-10-01 10:00,Budi,0812{number:07d}"
        )
    path.write_text("\n".join(lines) + "\n")


def test_an_import_cut_by_a_lost_connection_writes_nothing_and_a_rerun_completes(
    proxy, database_url, city, tmp_path
):
    source = tmp_path / "panggilan.csv"
    incident_csv(source, 20_000)
    settings = Settings.from_env(database_url=proxy.url, env="test", city_code=city)
    catalog = load_catalog(settings.layers_dir)
    proxy.cut_after_bytes = source.stat().st_size // 2  # mid-COPY
    with pytest.raises(Exception) as lost:  # noqa: B017 - psycopg reports a lost connection in several ways
        import_file(settings, catalog, source)
    assert "connection" in str(lost.value).lower() or "server" in str(lost.value).lower()
    count = "SELECT count(*) FROM incidents WHERE city_code = %s AND external_id LIKE 'putus-%%'"
    callers = (
        "SELECT count(*) FROM incident_callers c JOIN incidents i ON i.id = c.incident_id"
        " WHERE i.city_code = %s AND i.external_id LIKE 'putus-%%'"
    )
    wait_for(lambda: execute(database_url, count, (CITY,))[0][0] == 0, seconds=5)  # the backend rolled back
    assert execute(database_url, callers, (CITY,))[0][0] == 0
    result = import_file(settings, catalog, source)
    assert result.inserted == 20_000 and not result.rejected
    assert execute(database_url, count, (CITY,))[0][0] == 20_000
    assert execute(database_url, callers, (CITY,))[0][0] == 20_000
    again = import_file(settings, catalog, source)
    assert again.inserted == 0 and again.unchanged == 20_000
    execute(
        database_url, "DELETE FROM incidents WHERE city_code = %s AND external_id LIKE 'putus-%%'", (CITY,)
    )
