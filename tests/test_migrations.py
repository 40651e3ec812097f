"""Migrations run from an empty database, are re-runnable, and go down and up again cleanly."""

import uuid

import psycopg
import pytest
from alembic import command
from pyproj import Transformer

from geo_app.db import bootstrap, connect, migrate
from geo_app.settings import DEFAULT_DATABASE_URL


@pytest.fixture
def empty_database(database_url):
    url = bootstrap.with_database(database_url or DEFAULT_DATABASE_URL, f"geo_app_mig_{uuid.uuid4().hex[:8]}")
    assert bootstrap.ensure_database(url) is True
    bootstrap.ensure_extensions(url)
    yield url
    bootstrap.drop_database(url)


def tables(url: str) -> set[str]:
    with connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {row["tablename"] for row in rows}


def test_upgrade_from_empty_then_again_is_a_no_op(empty_database):
    with connect(empty_database) as conn:
        assert migrate.current_heads(conn) == set()
        assert not migrate.is_current(conn, empty_database)
    migrate.upgrade(empty_database)
    created = tables(empty_database)
    assert {"cities", "admin_areas", "assets", "incidents", "incident_callers", "green_areas"} <= created
    migrate.upgrade(empty_database)
    assert tables(empty_database) == created
    with connect(empty_database) as conn:
        assert migrate.is_current(conn, empty_database)


def test_downgrade_to_base_and_up_again(empty_database):
    migrate.upgrade(empty_database)
    command.downgrade(migrate.alembic_config(empty_database), "base")
    assert tables(empty_database) <= {"alembic_version", "spatial_ref_sys"}
    migrate.upgrade(empty_database)
    assert "admin_areas" in tables(empty_database)


def test_ensure_database_is_idempotent(empty_database):
    assert bootstrap.ensure_database(empty_database) is False


def test_geometry_constraints_reject_bad_rows(empty_database):
    migrate.upgrade(empty_database)
    with psycopg.connect(empty_database) as conn:
        conn.execute(
            "INSERT INTO cities (code, name, timezone, metric_srid)"
            " VALUES ('99.01', 'Kota Uji', 'Asia/Jakarta', 32748)"
        )
        bowtie = "MULTIPOLYGON(((0 0, 1 1, 1 0, 0 1, 0 0)))"
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(
                "INSERT INTO admin_areas (code, city_code, level, name, boundary_source, geom) "
                "VALUES ('99.01', '99.01', 'kota', 'Uji', 'test', ST_GeomFromText(%s, 4326))",
                (bowtie,),
            )
        conn.rollback()
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            conn.execute(
                "INSERT INTO admin_areas (code, city_code, level, name, boundary_source, geom) "
                "VALUES ('99.01', '99.01', 'kota', 'Uji', 'test', "
                "ST_GeomFromText('MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)))', 32748))"
            )


def test_incident_points_are_checked_and_their_metric_coordinates_kept_by_the_database(empty_database):
    migrate.upgrade(empty_database)
    with psycopg.connect(empty_database) as conn:
        conn.execute(
            "INSERT INTO cities (code, name, timezone, metric_srid)"
            " VALUES ('99.01', 'Kota Uji', 'Asia/Jakarta', 32748)"
        )
        insert = (
            "INSERT INTO incidents (city_code, external_id, call_type, received_at, geom, geocode_precision)"
            " VALUES ('99.01', %s, 'prank', now(), ST_GeomFromText(%s, 4326), 'exact') RETURNING id"
        )
        for wkt in ("POINT(NaN -6)", "POINT(106 -91)", "POINT(181 -6)", "POINT EMPTY"):
            with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
                conn.execute(insert, ("bad", wkt))
        (row_id,) = conn.execute(insert, ("ok", "POINT(106.05 -6.0)")).fetchone()
        conn.execute("UPDATE incidents SET metric_x = 0 WHERE id = %s", (row_id,))  # not by hand
        metric = "SELECT metric_x, metric_y FROM incidents WHERE id = %s"
        first = conn.execute(metric, (row_id,)).fetchone()
        conn.execute(
            "UPDATE incidents SET geom = ST_SetSRID(ST_MakePoint(106.1, -6.1), 4326) WHERE id = %s", (row_id,)
        )
        moved = conn.execute(metric, (row_id,)).fetchone()
    transformer = Transformer.from_crs(4326, 32748, always_xy=True)
    assert first == pytest.approx(transformer.transform(106.05, -6.0), abs=1e-6)
    assert moved == pytest.approx(transformer.transform(106.1, -6.1), abs=1e-6)


def test_users_made_before_cities_belong_to_the_deployments_city(empty_database, monkeypatch):
    """Revision 0012_city_users gives existing users CITY_CODE's city; new national users have none."""
    config = migrate.alembic_config(empty_database)
    command.upgrade(config, "0010")
    with psycopg.connect(empty_database) as conn:
        conn.execute(
            "INSERT INTO cities (code, name, timezone, metric_srid) VALUES ('73.71', 'Kota Makassar',"
            " 'Asia/Makassar', 32750)"
        )
        conn.execute("INSERT INTO users (username, role) VALUES ('lama', 'perencana')")
    monkeypatch.setenv("CITY_CODE", "73.71")
    command.upgrade(config, "0012_city_users")
    with connect(empty_database) as conn:
        assert conn.execute("SELECT city_code FROM users WHERE username = 'lama'").fetchone() == {
            "city_code": "73.71"
        }
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO users (username, role, city_code) VALUES ('baru', 'dlh', 'Makassar')")
    command.downgrade(config, "0010")
    with connect(empty_database) as conn:
        columns = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'users'"
        ).fetchall()
    assert "city_code" not in {row["column_name"] for row in columns}
