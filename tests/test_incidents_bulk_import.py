"""The columnar fast path of big CSV imports stores exactly what the set-based SQL path stores: the rows
it vouches for go straight into incidents, rows whose external id is stored are compared in one
statement, and every other row (a bad one, a repeated external id) is checked and reported on the SQL
path, within the same import."""

from __future__ import annotations

import csv
import json
import math
from datetime import UTC, datetime

import numpy as np
import psycopg
import pyarrow as pa
import pytest
from incident_city import CITY, create_city, drop_city

from geo_app.catalog import load_catalog
from geo_app.db import connect
from geo_app.ingest import incidents as ingest
from geo_app.ingest import incidents_bulk
from geo_app.ingest.incidents import import_file
from geo_app.settings import Settings
from geo_app.store import incidents as store

HEADER = (
    "id,call_type,kategori,description,alamat,lat,lon,received_at,dispatched_at,arrived_at,closed_at,status\n"
)
ROWS = [
    "F-1,darurat,kebakaran, gudang terbakar ,Jl. Raya,-6.07,106.02,2026-10-01T10:00:00+07:00,"
    "2026-10-01T10:02:00+07:00,2026-10-01T10:12:30.5+07:00,2026-10-01T11:00:00+07:00, Closed ",
    "F-2,darurat,BANJIR,,,-6.02,106.07,2026-10-01T04:00:00Z,,,,",
    " F-3 ,INFORMASI,,,,-6.07,106.05,2026-10-01 12:00:00+0700,,,,received",  # on the edge of two kelurahan
    "F-4,darurat,BANJIR,,,-6.05,106.05,2026-10-01T05:00:00Z,2026-10-01T05:00:00Z,,,dispatched",  # a corner
]
STORED = (
    "external_id, call_type, category, description, address, ST_AsEWKT(geom) AS geom, geocode_precision, "
    "geocode_source, geocode_score, kelurahan_code, kecamatan_code, received_at, dispatched_at, arrived_at, "
    "closed_at, status, responding_opd, metric_x, metric_y"
)


@pytest.fixture(scope="module")
def city_settings(database_url):
    create_city(database_url)
    yield Settings.from_env(database_url=database_url, env="test", city_code=CITY)
    drop_city(database_url)


@pytest.fixture
def clean(database_url, city_settings):
    yield
    delete_incidents(database_url)


def delete_incidents(database_url):
    with connect(database_url) as conn:
        conn.execute("DELETE FROM incidents WHERE city_code = %s", (CITY,))
        conn.commit()


@pytest.fixture
def fast_path_answers(monkeypatch):
    """What the fast path answered for each import: True when it wrote the file, False when it left it."""
    answers = []
    real = incidents_bulk.import_csv

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        answers.append(result is not None)
        return result

    monkeypatch.setattr(incidents_bulk, "import_csv", spy)
    return answers


def run_import(settings, tmp_path, text, bulk_rows, monkeypatch, keep_good=False):
    monkeypatch.setattr(ingest, "BULK_ROWS", bulk_rows)
    path = tmp_path / "incidents.csv"
    path.write_text(text, encoding="utf-8")
    return import_file(settings, load_catalog(settings.layers_dir), path, keep_good=keep_good)


def stored_rows(database_url):
    with connect(database_url) as conn:
        return conn.execute(
            f"SELECT {STORED} FROM incidents WHERE city_code = %s ORDER BY external_id", (CITY,)
        ).fetchall()


def test_fast_path_stores_what_the_sql_path_stores(
    city_settings, database_url, clean, tmp_path, monkeypatch, fast_path_answers
):
    text = HEADER + "\n".join(ROWS) + "\n"
    fast = run_import(city_settings, tmp_path, text, 1, monkeypatch)
    fast_rows = stored_rows(database_url)
    delete_incidents(database_url)
    careful = run_import(city_settings, tmp_path, text, 10**9, monkeypatch)
    assert fast_path_answers == [True, False]
    assert (fast.inserted, fast.updated, fast.unchanged, fast.rejected) == (4, 0, 0, [])
    assert (careful.inserted, careful.rows_read) == (fast.inserted, fast.rows_read)
    assert fast_rows == stored_rows(database_url)
    by_id = {row["external_id"]: row for row in fast_rows}
    assert by_id["F-3"]["kelurahan_code"] == "99.31.01.1001"  # the lower code of the two, as in SQL
    assert by_id["F-4"]["kelurahan_code"] == "99.31.01.1001"
    with connect(database_url) as conn:
        record = conn.execute(
            "SELECT rows_read, inserted FROM incident_imports WHERE id = %s", (fast.import_id,)
        ).fetchone()
    assert record == {"rows_read": 4, "inserted": 4}


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("F-9,darurat,BANJIR,,,106.02,-6.07,2026-10-01T04:00:00Z,,,,", "likely lat/lon swap"),
        ("F-9,darurat,BANJIR,,,-6.07,106.02,2026-02-30T04:00:00Z,,,,", "received_at 2026-02-30T04:00:00Z"),
        ("F-9,darurat,,,,-6.07,106.02,2026-10-01T04:00:00Z,,,,", "category is missing"),
        ("F-9,darurat,BANJIR,,,-6.07,106.02,2026-10-01T04:00:00Z,2026-10-01T03:00:00Z,,,", "time order"),
        ("F-1,darurat,BANJIR,,,-6.07,106.02,2026-10-01T04:00:00Z,,,,", "repeats row 1"),
        ("F-9,darurat,BANJIR,,,-6.07,105.95,2026-10-01T04:00:00Z,,,,", "point outside the city"),  # 5.5 km
    ],
)
def test_a_bad_row_is_reported_from_the_sql_path_and_nothing_is_written(
    city_settings, database_url, clean, tmp_path, monkeypatch, fast_path_answers, row, reason
):
    result = run_import(city_settings, tmp_path, HEADER + "\n".join([*ROWS, row]) + "\n", 1, monkeypatch)
    assert fast_path_answers == [True]  # the file stays on the fast path
    assert (result.columnar_rows, result.sql_rows) == (len(ROWS), 1)
    assert not result.written and stored_rows(database_url) == []
    assert [row["row"] for row in result.rejected] == [len(ROWS) + 1]
    assert any(reason in text for text in result.rejected[0]["reasons"]), result.rejected


def test_with_keep_good_the_fast_path_writes_the_good_rows_as_the_sql_path_does(
    city_settings, database_url, clean, tmp_path, monkeypatch, fast_path_answers
):
    bad = [
        "F-9,darurat,BANJIR,,,106.02,-6.07,2026-10-01T04:00:00Z,,,,",  # lat/lon swapped
        "F-1,darurat,BANJIR,,,-6.07,106.02,2026-10-01T04:00:00Z,,,,",  # repeats row 1
        "F-10,darurat,,,Jl. Melati,,,2026-10-01T04:00:00Z,,,,",  # category missing (and geocoded)
    ]
    good_on_sql_path = "F-11,informasi,,,Pasar Kranggot,,,2026-10-01 11:00:00,,,,"  # geocoder, local time
    text = HEADER + "\n".join([*ROWS[:2], *bad, *ROWS[2:], good_on_sql_path]) + "\n"
    fast = run_import(city_settings, tmp_path, text, 1, monkeypatch, keep_good=True)
    fast_rows = stored_rows(database_url)
    delete_incidents(database_url)
    careful = run_import(city_settings, tmp_path, text, 10**9, monkeypatch, keep_good=True)
    assert fast_path_answers == [True, False]
    assert (fast.columnar_rows, fast.sql_rows) == (len(ROWS), len(bad) + 1)
    assert (careful.columnar_rows, careful.sql_rows) == (0, len(ROWS) + len(bad) + 1)
    assert fast.written and (fast.inserted, fast.updated, fast.unchanged) == (len(ROWS) + 1, 0, 0)
    assert fast.rejected == careful.rejected and [row["row"] for row in fast.rejected] == [3, 4, 5]
    assert fast_rows == stored_rows(database_url)
    assert {row["external_id"]: row["geocode_precision"] for row in fast_rows}["F-11"] == "exact"


def spreadsheet_csv(lines: list[str]) -> str:
    """Comma-separated lines as a spreadsheet saves them where the comma is the decimal mark: fields
    separated by semicolons, coordinates with a decimal comma."""
    header, *rows = [next(csv.reader([line])) for line in lines]
    lat, lon = header.index("lat"), header.index("lon")
    for row in rows:
        row[lat], row[lon] = row[lat].replace(".", ","), row[lon].replace(".", ",")
    return "".join(";".join(row) + "\n" for row in [header, *rows])


@pytest.mark.parametrize("bulk_rows", [1, 10**9], ids=["fast path", "SQL path"])
def test_a_spreadsheet_export_with_semicolons_and_decimal_commas_stores_the_same_rows(
    city_settings, database_url, clean, tmp_path, monkeypatch, bulk_rows
):
    bad = [
        "F-9,darurat,BANJIR,,,106.02,-6.07,2026-10-01T04:00:00Z,,,,",  # lat/lon swapped
        "F-10,darurat,BANJIR,,,-6.07.5,106.02,2026-10-01T04:00:00Z,,,,",  # two decimal marks
    ]
    lines = [HEADER.strip(), *ROWS, *bad]
    comma = run_import(city_settings, tmp_path, "\n".join(lines) + "\n", bulk_rows, monkeypatch, True)
    comma_rows = stored_rows(database_url)
    delete_incidents(database_url)
    text = spreadsheet_csv(lines)
    assert "-6,07;106,02" in text
    semicolon = run_import(city_settings, tmp_path, text, bulk_rows, monkeypatch, keep_good=True)
    assert (semicolon.columnar_rows, semicolon.sql_rows) == (comma.columnar_rows, comma.sql_rows)
    assert semicolon.inserted == len(ROWS) and stored_rows(database_url) == comma_rows
    reasons = {row["row"]: "; ".join(row["reasons"]) for row in semicolon.rejected}
    assert reasons.keys() == {len(ROWS) + 1, len(ROWS) + 2}
    assert "likely lat/lon swap" in reasons[len(ROWS) + 1]
    assert "lat" in reasons[len(ROWS) + 2]  # -6,07,5: not a number, named as written


def test_a_header_separated_by_commas_and_semicolons_is_refused_saying_so():
    with pytest.raises(ingest.IncidentFileError, match="all with commas or all with semicolons"):
        ingest.csv_header("external_id,call_type;category\n")
    columns = ["external_id", "call_type", "received_at"]
    assert ingest.csv_header(";".join(columns) + "\n") == (columns, ";")


def test_times_without_an_offset_are_the_citys_on_the_fast_path_too(
    city_settings, database_url, clean, tmp_path, monkeypatch, fast_path_answers
):
    local = [
        "L-1,darurat,BANJIR,,,-6.02,106.07,2026-10-01 10:00:00,2026-10-01T10:02,2026-10-01 10:12:30.25,,",
        "L-2,informasi,,,,-6.07,106.02,2026-10-01T23:59:59,,,,",
    ]
    # Jakarta's clocks jumped from +07:30 to +09:00 at midnight on 23 March 1942 (00:45 never showed)
    # and went back from +07:30 to +07:00 at midnight on 1 January 1964 (23:45 showed twice): those two
    # take the SQL path, which reads them as PostgreSQL does
    changes = [
        "L-3,darurat,BANJIR,,,-6.02,106.07,1942-03-23 00:45:00,,,,",
        "L-4,darurat,BANJIR,,,-6.02,106.07,1963-12-31 23:45:00,,,,",
    ]
    text = HEADER + "\n".join([*ROWS, *local, *changes]) + "\n"
    fast = run_import(city_settings, tmp_path, text, 1, monkeypatch)
    fast_rows = stored_rows(database_url)
    delete_incidents(database_url)
    run_import(city_settings, tmp_path, text, 10**9, monkeypatch)
    assert fast_path_answers == [True, False]
    assert (fast.columnar_rows, fast.sql_rows, fast.inserted) == (len(ROWS) + 2, 2, len(ROWS) + 4)
    assert fast_rows == stored_rows(database_url)
    by_id = {row["external_id"]: row for row in fast_rows}
    assert by_id["L-1"]["received_at"] == datetime(2026, 10, 1, 3, tzinfo=UTC)  # WIB is UTC+7
    assert by_id["L-1"]["arrived_at"] == datetime(2026, 10, 1, 3, 12, 30, 250_000, tzinfo=UTC)
    assert by_id["L-2"]["received_at"] == datetime(2026, 10, 1, 16, 59, 59, tzinfo=UTC)


def test_stored_external_ids_are_compared_and_only_changed_rows_update(
    city_settings, database_url, clean, tmp_path, monkeypatch, fast_path_answers
):
    text = HEADER + "\n".join(ROWS) + "\n"
    run_import(city_settings, tmp_path, text, 1, monkeypatch)
    again = run_import(
        city_settings, tmp_path, text.replace("BANJIR,,,-6.02", "KEBAKARAN,,,-6.02"), 1, monkeypatch
    )
    assert fast_path_answers == [True, True] and again.sql_rows == 0
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 3)
    assert {row["external_id"]: row["category"] for row in stored_rows(database_url)}["F-2"] == "KEBAKARAN"
    with connect(database_url) as conn:
        changed = conn.execute(
            "SELECT external_id FROM incidents WHERE import_id = %s", (again.import_id,)
        ).fetchall()
    assert changed == [{"external_id": "F-2"}]


def incidents_machinery(database_url):
    """The definitions of the indexes, constraints and triggers of incidents and incident_callers."""
    with connect(database_url) as conn:
        return conn.execute(
            "SELECT 'index' AS kind, indexdef AS ddl FROM pg_indexes "
            "WHERE tablename IN ('incidents', 'incident_callers') "
            "UNION ALL SELECT 'constraint', conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid IN ('incidents'::regclass, 'incident_callers'::regclass) "
            "OR confrelid = 'incidents'::regclass "
            "UNION ALL SELECT 'trigger', pg_get_triggerdef(oid) FROM pg_trigger "
            "WHERE tgrelid IN ('incidents'::regclass, 'incident_callers'::regclass) AND NOT tgisinternal "
            "ORDER BY 1, 2"
        ).fetchall()


@pytest.mark.parametrize(
    "bad",
    [
        "F-9,darurat,BANJIR,,,-6.07,106.02,2026-10-01T04:00:00Z,2026-10-01T03:00:00Z,,,",  # time order
        "F-1,darurat,BANJIR,,,-6.07,106.02,2026-10-01T04:00:00Z,,,,",  # the id of a row sent before
    ],
    ids=["time order", "repeated id"],
)
def test_a_bad_row_after_the_copy_began_rolls_it_back(
    city_settings, database_url, clean, tmp_path, monkeypatch, fast_path_answers, bad
):
    """Batches of two rows: the first two are stored when the last one turns out bad."""
    monkeypatch.setattr(incidents_bulk, "FIRST_BATCH_ROWS", 2)
    monkeypatch.setattr(incidents_bulk, "BATCH_ROWS", 2)
    before = incidents_machinery(database_url)
    rows = [*ROWS, ROWS[0].replace("F-1", "F-5").replace("-6.07,106.02", "-6.01,106.09"), bad]
    result = run_import(city_settings, tmp_path, HEADER + "\n".join(rows) + "\n", 1, monkeypatch)
    assert fast_path_answers == [True]
    assert not result.written and stored_rows(database_url) == []
    assert [row["row"] for row in result.rejected] == [len(rows)]
    assert incidents_machinery(database_url) == before


def audit_entries(database_url, import_id, entities=("incidents", "incident_callers")):
    """The audit entries written since the import began, without the ids and times of the rows."""
    volatile = {"id", "incident_id", "import_id", "created_at", "updated_at"}
    with connect(database_url) as conn:
        entries = conn.execute(
            "SELECT action, entity, entity_id IS NOT NULL AS per_row, after FROM audit_log "
            "WHERE entity = ANY(%s) AND at >= (SELECT imported_at FROM incident_imports WHERE id = %s) "
            "ORDER BY id",
            (list(entities), import_id),
        ).fetchall()
    entries = [
        {**entry, "after": {key: value for key, value in entry["after"].items() if key not in volatile}}
        for entry in entries
    ]
    return sorted(entries, key=lambda entry: json.dumps(entry, sort_keys=True))  # ids differ in order


def test_fast_path_keeps_the_table_machinery_and_audits_as_the_trigger_does(
    city_settings, database_url, clean, tmp_path, monkeypatch, fast_path_answers
):
    monkeypatch.setattr(incidents_bulk, "FIRST_BATCH_ROWS", 3)
    monkeypatch.setattr(incidents_bulk, "BATCH_ROWS", 3)
    before = incidents_machinery(database_url)
    assert {"index", "constraint", "trigger"} == {row["kind"] for row in before}
    assert any("incidents_metric_point" in row["ddl"] for row in before)
    text = HEADER + "\n".join(ROWS) + "\n"
    result = run_import(city_settings, tmp_path, text, 1, monkeypatch)
    assert fast_path_answers == [True] and result.inserted == len(ROWS)
    assert incidents_machinery(database_url) == before
    fast_entries = audit_entries(database_url, result.import_id)
    delete_incidents(database_url)
    careful = run_import(city_settings, tmp_path, text, 10**9, monkeypatch)
    assert fast_entries == audit_entries(database_url, careful.import_id)  # one entry per row
    assert len(fast_entries) == len(ROWS) and all(entry["per_row"] for entry in fast_entries)
    delete_incidents(database_url)

    monkeypatch.setenv("PGOPTIONS", "-c geo_app.audit_full_rows=3")  # past 3 rows: one summary
    result = run_import(city_settings, tmp_path, text, 1, monkeypatch)
    with connect(database_url) as conn:
        ids = conn.execute(
            "SELECT min(id) AS low, max(id) AS high, count(*) AS n FROM incidents WHERE import_id = %s",
            (result.import_id,),
        ).fetchone()
    assert ids["high"] - ids["low"] + 1 == ids["n"] == len(ROWS)  # one block of ids
    assert audit_entries(database_url, result.import_id) == [
        {
            "action": "insert",
            "entity": "incidents",
            "per_row": False,
            "after": {"rows": len(ROWS), "lowest_id": str(ids["low"]), "highest_id": str(ids["high"])},
        }
    ]


def test_fast_path_stores_rows_in_tile_order(
    city_settings, database_url, clean, tmp_path, monkeypatch, fast_path_answers
):
    """Ids follow the zoom-14 tiles as the SQL tile functions of the tile index number them."""
    rows = [
        f"T-{n},darurat,BANJIR,,,{-6.099 + 0.0131 * (n % 7)},{106.001 + 0.0093 * (n % 11)},"
        "2026-10-01T04:00:00Z,,,,"
        for n in range(60)
    ]
    run_import(city_settings, tmp_path, HEADER + "\n".join(rows) + "\n", 1, monkeypatch)
    assert fast_path_answers == [True]
    with connect(database_url) as conn:
        stored = conn.execute(
            "SELECT id, ogc_tile_x(geom, 14) AS x, ogc_tile_y(geom, 14) AS y FROM incidents "
            "WHERE city_code = %s ORDER BY id",
            (CITY,),
        ).fetchall()
    tiles = [(row["x"], row["y"]) for row in stored]
    assert len(set(tiles)) > 20 and tiles == sorted(tiles)


def foreign_keys(database_url):
    with connect(database_url) as conn:
        return {
            row["conname"]: row["oid"]
            for row in conn.execute(
                "SELECT conname, oid FROM pg_constraint WHERE conrelid = 'incidents'::regclass "
                "AND contype = 'f' AND convalidated"
            ).fetchall()
        }


@pytest.fixture
def importer_url(database_url):
    """A login that owns what postgres owns (as a member of it) but may not set
    session_replication_role, as an application role without that grant."""
    role = "geo_app_test_importer"
    with connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN IN ROLE postgres")
    yield database_url.replace("postgres@", f"{role}@", 1)
    with connect(database_url, autocommit=True) as conn:
        conn.execute(f"DROP ROLE {role}")


def test_foreign_keys_stay_where_the_role_may_skip_their_checks(
    city_settings, database_url, clean, tmp_path, monkeypatch, fast_path_answers
):
    keys = foreign_keys(database_url)
    assert len(keys) == 4
    run_import(city_settings, tmp_path, HEADER + "\n".join(ROWS) + "\n", 1, monkeypatch)
    assert fast_path_answers == [True]
    assert foreign_keys(database_url) == keys  # the same constraints, never dropped, still valid


def test_without_that_right_the_foreign_keys_are_checked_again(
    city_settings, database_url, clean, tmp_path, monkeypatch, fast_path_answers, importer_url
):
    before, keys = incidents_machinery(database_url), foreign_keys(database_url)
    settings = Settings.from_env(database_url=importer_url, env="test", city_code=CITY)
    result = run_import(settings, tmp_path, HEADER + "\n".join(ROWS) + "\n", 1, monkeypatch)
    assert fast_path_answers == [True] and result.inserted == len(ROWS)
    after = foreign_keys(database_url)
    assert after.keys() == keys.keys() and not set(after.values()) & set(keys.values())  # re-added
    assert incidents_machinery(database_url) == before


def test_the_areas_a_copy_refers_to_are_locked_until_it_ends(city_settings, database_url):
    kecamatan = f"{CITY}.01"
    with connect(database_url) as conn, connect(database_url, autocommit=True) as other:
        assert not store.lock_references(conn, CITY, [kecamatan, "99.99.99"])
        conn.rollback()
        assert store.lock_references(conn, CITY, [kecamatan])
        other.execute("SET lock_timeout = '200ms'")
        for table, code in (("admin_areas", kecamatan), ("cities", CITY)):
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute(f"DELETE FROM {table} WHERE code = %s", (code,))
        conn.rollback()


def test_prefetched_keeps_the_order_and_hands_on_the_helpers_error():
    made = []

    def numbers():
        for number in range(5):
            made.append(number)
            yield number

    assert list(incidents_bulk.prefetched(numbers())) == [0, 1, 2, 3, 4]

    def failing():
        yield 1
        raise incidents_bulk.DoubtfulRow

    with pytest.raises(incidents_bulk.DoubtfulRow):
        list(incidents_bulk.prefetched(failing()))
    made.clear()
    stream = incidents_bulk.prefetched(numbers(), depth=2)
    assert next(stream) == 0
    stream.close()  # the caller stops: at most the items already asked for were made
    assert made == [0, 1, 2][: len(made)] and made


def test_a_file_is_read_in_a_small_batch_then_doubling_batches_up_to_the_batch_size(tmp_path, monkeypatch):
    monkeypatch.setattr(incidents_bulk, "FIRST_BATCH_ROWS", 2)
    monkeypatch.setattr(incidents_bulk, "BATCH_ROWS", 5)
    path = tmp_path / "incidents.csv"
    path.write_text("external_id,lat\n" + "".join(f"E-{n},-6.{n:02d}\n" for n in range(17)), encoding="utf-8")
    batches = list(incidents_bulk.read_batches(path, ["external_id", "lat"]))
    assert [batch.num_rows for batch in batches] == [2, 4, 5, 5, 1]
    assert [value for batch in batches for value in batch["external_id"].to_pylist()] == [
        f"E-{n}" for n in range(17)
    ]
    path.write_text("external_id,lat\nE-1,-6.01\nE-2,-6.02,surplus\n", encoding="utf-8")
    with pytest.raises(incidents_bulk.DoubtfulRow):
        list(incidents_bulk.read_batches(path, ["external_id", "lat"]))


@pytest.mark.parametrize(
    ("bulk_rows", "steps"),
    [
        (1, ["checking and storing rows"] * 2 + ["rebuilding indexes and keys"]),  # batches of 3 and 1
        (10**9, ["reading the file", "geocoding addresses", "checking rows", "writing rows", "rows written"]),
    ],
    ids=["fast path", "SQL path"],
)
def test_an_import_reports_its_steps_and_every_row(
    city_settings, database_url, clean, tmp_path, monkeypatch, bulk_rows, steps
):
    monkeypatch.setattr(ingest, "BULK_ROWS", bulk_rows)
    monkeypatch.setattr(incidents_bulk, "FIRST_BATCH_ROWS", 3)
    path = tmp_path / "incidents.csv"
    path.write_text(HEADER + "\n".join(ROWS) + "\n", encoding="utf-8")
    reports = []
    import_file(
        city_settings,
        load_catalog(city_settings.layers_dir),
        path,
        progress=lambda step, rows: reports.append((step, rows)),
    )
    assert [step for step, _ in reports] == steps
    assert sum(rows for _, rows in reports) == len(ROWS)


CALLER_HEADER = HEADER.replace(",status\n", ",status,caller_name,caller_phone\n")
CALLER_ROWS = [
    ROWS[0] + ",Budi Santoso,0812 1111 2222",
    ROWS[1] + ",, 0813 3333 4444 ",  # a phone only
    ROWS[2] + ",,",  # an information call: no caller
    ROWS[3] + ",Siti Aminah,",
]


def stored_callers(database_url):
    with connect(database_url) as conn:
        return conn.execute(
            "SELECT i.external_id, c.caller_name, c.caller_phone FROM incident_callers c "
            "JOIN incidents i ON i.id = c.incident_id WHERE i.city_code = %s ORDER BY 1",
            (CITY,),
        ).fetchall()


def test_callers_of_a_fast_path_import_are_stored_audited_and_kept_apart_as_on_the_sql_path(
    city_settings, database_url, clean, tmp_path, monkeypatch, fast_path_answers
):
    text = CALLER_HEADER + "\n".join(CALLER_ROWS) + "\n"
    imported = {}
    for path, bulk_rows in (("fast", 1), ("sql", 10**9)):
        delete_incidents(database_url)
        first = run_import(city_settings, tmp_path, text, bulk_rows, monkeypatch)
        again = run_import(city_settings, tmp_path, text, bulk_rows, monkeypatch)  # nothing changes
        imported[path] = {
            "incidents": stored_rows(database_url),
            "callers": stored_callers(database_url),
            "audit": audit_entries(database_url, first.import_id),
            "audit of the same file again": audit_entries(database_url, again.import_id),
            "counts": [(r.inserted, r.updated, r.unchanged, r.sql_rows) for r in (first, again)],
        }
    assert fast_path_answers == [True, True, False, False]
    fast, sql = imported["fast"], imported["sql"]
    assert fast["counts"] == [(4, 0, 0, 0), (0, 0, 4, 0)] and sql["counts"] == [(4, 0, 0, 4), (0, 0, 4, 4)]
    assert fast["incidents"] == sql["incidents"]
    assert (
        fast["callers"]
        == sql["callers"]
        == [
            {"external_id": "F-1", "caller_name": "Budi Santoso", "caller_phone": "0812 1111 2222"},
            {"external_id": "F-2", "caller_name": None, "caller_phone": "0813 3333 4444"},
            {"external_id": "F-4", "caller_name": "Siti Aminah", "caller_phone": None},
        ]
    )
    assert fast["audit"] == sql["audit"]
    callers_audited = [entry["after"] for entry in fast["audit"] if entry["entity"] == "incident_callers"]
    assert sorted(sorted(after) for after in callers_audited) == [
        ["caller_name"],
        ["caller_name", "caller_phone"],
        ["caller_phone"],
    ]  # only whether a value is there
    assert {value for after in callers_audited for value in after.values()} == {"[personal data]"}
    assert fast["audit of the same file again"] == sql["audit of the same file again"] == []
    with connect(database_url) as conn:
        trail = conn.execute(
            "SELECT string_agg(coalesce(after::text, ''), ' ') AS text FROM audit_log"
        ).fetchone()
    assert not any(secret in trail["text"] for secret in ("Budi", "Siti", "1111 2222", "3333 4444"))


GAP_CITY = "99.33"
# 150 m and 5 km west of the city's western edge (lon 106.00) at lat -6.07, in degrees of longitude
METRES_WEST = 1 / (111_320 * math.cos(math.radians(6.07)))


@pytest.fixture(scope="module")
def gap_city_settings(database_url):
    """The hand-made city with a gap of about 220 m between Lebak Gede (up to lat -6.05) and Deringo
    (moved up to start at lat -6.048), as official boundaries leave slivers between kelurahan."""
    create_city(database_url, GAP_CITY)
    with connect(database_url) as conn:
        conn.execute(
            "UPDATE admin_areas SET geom = ST_Multi(ST_MakeEnvelope(106.00, -6.048, 106.05, -6.00, 4326)) "
            "WHERE code = %s",
            (f"{GAP_CITY}.01.1002",),
        )
        conn.commit()
    yield Settings.from_env(database_url=database_url, env="test", city_code=GAP_CITY)
    drop_city(database_url, GAP_CITY)


@pytest.mark.parametrize("bulk_rows", [1, 10**9], ids=["fast path", "SQL path"])
def test_points_within_the_tolerance_get_the_nearest_kelurahan_farther_ones_are_rejected(
    gap_city_settings, database_url, tmp_path, monkeypatch, bulk_rows
):
    points = {
        "on a boundary": (-6.07, 106.05),  # between Lebak Gede and Citangkil: the lower code
        "in the gap": (-6.0484, 106.02),  # 44 m below Deringo, 156 m above Lebak Gede
        "150 m out at sea": (-6.07, 106.00 - 150 * METRES_WEST),
        "5 km out at sea": (-6.07, 106.00 - 5000 * METRES_WEST),
        "inside": (-6.02, 106.07),
    }
    rows = [
        f"{name},darurat,BANJIR,,,{lat:.7f},{lon:.7f},2026-10-01T04:00:00Z,,,,"
        for name, (lat, lon) in points.items()
    ]
    result = run_import(
        gap_city_settings, tmp_path, HEADER + "\n".join(rows) + "\n", bulk_rows, monkeypatch, keep_good=True
    )
    with connect(database_url) as conn:
        placed = {
            row["external_id"]: row["kelurahan_code"]
            for row in conn.execute(
                "SELECT external_id, kelurahan_code FROM incidents WHERE city_code = %s", (GAP_CITY,)
            ).fetchall()
        }
        conn.execute("DELETE FROM incidents WHERE city_code = %s", (GAP_CITY,))
        conn.commit()
    assert placed == {
        "on a boundary": f"{GAP_CITY}.01.1001",
        "in the gap": f"{GAP_CITY}.01.1002",
        "150 m out at sea": f"{GAP_CITY}.01.1001",
        "inside": f"{GAP_CITY}.02.1002",
    }
    assert result.near_city == 2 and result.inserted == 4
    assert [(row["row"], row["external_id"]) for row in result.rejected] == [(4, "5 km out at sea")]
    assert "point outside the city" in result.rejected[0]["reasons"][0]
    assert (result.columnar_rows, result.sql_rows) == ((4, 1) if bulk_rows == 1 else (0, 5))


def test_external_id_keys_with_equal_first_hashes_are_told_apart_by_the_second():
    keys = incidents_bulk.SortedKeys(np.array([5, 7, 5]), np.array([2, 3, 1]))
    found = keys.find(np.array([5, 5, 5, 7, 8]), np.array([2, 1, 9, 3, 3]))
    assert [(int(keys.first[i]), int(keys.second[i])) if i >= 0 else None for i in found] == [
        (5, 2),
        (5, 1),
        None,
        (7, 3),
        None,
    ]
    seen = incidents_bulk.FileIds()
    assert seen.repeated_rows(np.array([5, 5, 5]), np.array([1, 2, 1]), np.array([1, 2, 3])).tolist() == [
        0,
        0,
        1,
    ]
    assert seen.repeated_rows(np.array([5, 5]), np.array([2, 4]), np.array([4, 5])).tolist() == [2, 0]


def test_external_ids_are_keyed_by_their_text_wherever_they_come_from():
    ids = pa.array(["B0000001", "B0000002", "", "ünïcode-7", "B0000001"])
    first, second = incidents_bulk.id_keys(ids)
    again = incidents_bulk.id_keys(pa.array(["x", *ids.to_pylist()]).slice(1))  # an offset into the buffer
    assert (first == again[0]).all() and (second == again[1]).all()
    assert len(set(zip(first.tolist(), second.tolist(), strict=True))) == 4  # the repeated id alone collides


def test_words_that_csv_readers_take_for_missing_values_are_kept_as_the_sql_path_keeps_them(
    city_settings, database_url, clean, tmp_path, monkeypatch, fast_path_answers
):
    text = HEADER + ROWS[1].replace("BANJIR,,,", "BANJIR,NA,NULL,") + "\n"
    run_import(city_settings, tmp_path, text, 1, monkeypatch)
    fast_rows = stored_rows(database_url)
    delete_incidents(database_url)
    run_import(city_settings, tmp_path, text, 10**9, monkeypatch)
    assert fast_path_answers == [True, False] and fast_rows == stored_rows(database_url)
    assert (fast_rows[0]["description"], fast_rows[0]["address"]) == ("NA", "NULL")
