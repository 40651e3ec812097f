"""The web app's database role: rows only, and the audit log beyond its reach whatever it sets."""

from __future__ import annotations

import psycopg
import pytest
from click.testing import CliRunner

from geo_app.cli import main
from geo_app.db import roles

ATTACKS_ON_THE_RECORD = [
    "UPDATE audit_log SET actor = 'someone else'",
    "DELETE FROM audit_log",
    "TRUNCATE audit_log",
    "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
    "DROP TRIGGER audit_update ON assets",
    "ALTER TABLE assets DISABLE TRIGGER ALL",
    "SET session_replication_role = replica",
    "CREATE TABLE stolen (x int)",
    "INSERT INTO alembic_version VALUES ('0000')",
    "DROP INDEX assets_city_id_idx",
]


@pytest.mark.parametrize("statement", ATTACKS_ON_THE_RECORD)
def test_the_web_role_cannot_change_the_schema_or_the_audit_log(web_database_url, statement):
    with psycopg.connect(web_database_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


def test_the_web_role_reads_and_writes_rows(web_database_url, sample_city):
    with psycopg.connect(web_database_url) as conn:
        assert conn.execute("SELECT count(*) FROM assets").fetchone()[0] > 0
        conn.execute(
            "INSERT INTO audit_log (actor, action, entity) VALUES ('test', 'sign_out', 'users')"
        )  # it may add to the record, as the triggers do for it
        conn.rollback()
        role = conn.execute(
            "SELECT rolsuper OR rolcreaterole OR rolbypassrls FROM pg_roles WHERE rolname = current_user"
        )
        assert role.fetchone()[0] is False


def test_the_append_only_guard_holds_even_for_a_session_that_skips_triggers(database_url):
    """session_replication_role = replica skips ordinary triggers; the audit log's fire always."""
    with psycopg.connect(database_url) as conn:  # the owner, a superuser here
        conn.execute("SET session_replication_role = replica")
        for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(statement)
            conn.rollback()
            conn.execute("SET session_replication_role = replica")


def test_the_web_app_runs_as_the_web_role(app, client, database_url):
    with app.extensions["db_pool"].connection() as conn:
        user = conn.execute("SELECT current_user AS name").fetchone()["name"]
    assert user == roles.web_role_name(database_url)
    created = client.post(
        "/api/assets",
        json={
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [106.05, -6.0]},
            "properties": {"asset_type": "cctv", "name": "CCTV uji peran", "owner_opd": "Diskominfo"},
        },
    )
    assert created.status_code == 201, created.json
    trail = client.get(f"/api/audit?entity=assets&entity_id={created.json['id']}").json["entries"]
    assert trail[0]["actor"] == "test-admin" and trail[0]["action"] == "insert"


def test_web_role_command_and_migrate_renew_the_grants(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    password = tmp_path / "web_role_password"
    password.write_text("short")
    runner = CliRunner()
    refused = runner.invoke(main, ["web-role", "--password-file", str(password)])
    assert refused.exit_code != 0 and "at least 16 characters" in refused.output
    password.write_text("a-random-password-of-enough-length\n")
    made = runner.invoke(main, ["web-role", "--password-file", str(password)])
    assert made.exit_code == 0, made.output
    url = made.output.strip()
    assert url.startswith("postgresql://") and roles.web_role_name(database_url) in url
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM admin_areas").fetchone()[0] >= 0
    migrated = runner.invoke(main, ["migrate"])
    assert migrated.exit_code == 0 and "grants of" in migrated.output
