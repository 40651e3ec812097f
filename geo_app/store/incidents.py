"""SQL for 112 incidents: set-based import (COPY, validation, kelurahan assignment, upsert) and listing.

The import never loops over rows in Python: rows are COPied into a temporary staging table as text,
checked and typed by one INSERT ... SELECT, placed in their kelurahan by one spatial join, and upserted
by external id. Callers' names and phones go to ``incident_callers`` only; no reason text ever quotes
them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

TIME_FIELDS = ("received_at", "dispatched_at", "arrived_at", "closed_at")
# Columns an import file may carry (CSV header or JSON keys), all read as text first.
IMPORT_FIELDS = (
    "external_id",
    "call_type",
    "category",
    "description",
    "address",
    "lat",
    "lon",
    *TIME_FIELDS,
    "status",
    "responding_opd",
    "caller_name",
    "caller_phone",
    "geocode_precision",
    "geocode_source",
    "geocode_score",
)
STATUSES = ("received", "dispatched", "on_scene", "closed", "cancelled")
PRECISIONS = ("exact", "street", "kelurahan", "none")
NUMBER = r"^\s*[-+]?[0-9]+(\.[0-9]+)?\s*$"

# Columns of incidents that an import sets (and compares, to tell "updated" from "unchanged").
STORED_FIELDS = (
    "call_type",
    "category",
    "description",
    "address",
    "geom",
    "geocode_precision",
    "geocode_source",
    "geocode_score",
    "kelurahan_code",
    "kecamatan_code",
    *TIME_FIELDS,
    "status",
    "responding_opd",
)


@dataclass
class ImportResult:
    """What an import did: counts, and every rejected row with its reasons (never personal data)."""

    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    not_geocoded: int = 0
    rejected: list[dict] = field(default_factory=list)
    written: bool = False
    import_id: int | None = None

    def as_dict(self) -> dict:
        return {
            "rows_read": self.rows_read,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "not_geocoded": self.not_geocoded,
            "rejected_count": len(self.rejected),
            "rejected": self.rejected,
            "written": self.written,
            "import_id": self.import_id,
        }


def create_staging(conn: psycopg.Connection) -> None:
    """A temporary text table the import COPies into; dropped at the end of the transaction."""
    conn.execute("DROP TABLE IF EXISTS incident_staging")
    columns = ", ".join(f"{name} text" for name in IMPORT_FIELDS)
    conn.execute(
        f"CREATE TEMP TABLE incident_staging (row_no bigint GENERATED ALWAYS AS IDENTITY, {columns}) "
        "ON COMMIT DROP"
    )


def copy_csv_into_staging(conn: psycopg.Connection, columns: list[str], lines: Iterable[bytes]) -> None:
    """Stream CSV data lines (header already read) straight into the staging table."""
    column_list = ", ".join(columns)  # validated against IMPORT_FIELDS by the caller
    with conn.cursor().copy(f"COPY incident_staging ({column_list}) FROM STDIN (FORMAT csv)") as copy:
        for chunk in lines:
            copy.write(chunk)


def copy_rows_into_staging(conn: psycopg.Connection, rows: Iterable[dict]) -> None:
    """Write parsed records (JSON) into the staging table, every value as text."""
    column_list = ", ".join(IMPORT_FIELDS)
    with conn.cursor().copy(f"COPY incident_staging ({column_list}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([_as_text(row.get(name)) for name in IMPORT_FIELDS])


def _as_text(value: object) -> str | None:
    if value is None or value == "":
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)


def rows_without_point(conn: psycopg.Connection) -> list[dict]:
    """Staged rows with an address but no coordinates: the ones the geocoder is asked about."""
    return conn.execute(
        "SELECT row_no, address FROM incident_staging "
        "WHERE nullif(btrim(lat), '') IS NULL AND nullif(btrim(lon), '') IS NULL "
        "AND nullif(btrim(address), '') IS NOT NULL ORDER BY row_no"
    ).fetchall()


def set_staged_geocodes(conn: psycopg.Connection, results: Iterable[tuple]) -> None:
    """Write geocoder answers (row_no, lat, lon, precision, source, score) back into the staging rows."""
    with conn.cursor() as cursor:
        cursor.executemany(
            "UPDATE incident_staging SET lat = %s, lon = %s, geocode_precision = %s, "
            "geocode_source = %s, geocode_score = %s WHERE row_no = %s",
            [
                (lat, lon, precision, source, score, row_no)
                for row_no, lat, lon, precision, source, score in results
            ],
        )


# How a staged text becomes a number or a time. The fast way casts directly (PostgreSQL reads times
# without an offset in the session time zone, set to the city's); a value it cannot read raises, and
# the careful way, which turns every unreadable value into NULL and a reason, is used instead.
FAST_TYPES = {
    "number": "nullif(btrim({}), '')::float8",
    "time": "CASE WHEN btrim({0}) LIKE '____-__-__ __:__%%' OR btrim({0}) LIKE '____-__-__T__:__%%' "
    "THEN btrim({0})::timestamptz END",
}
CAREFUL_TYPES = {
    "number": "CASE WHEN {} ~ %(number)s THEN {}::float8 END",
    "time": "incident_parse_time(btrim({}), %(zone)s)",
}


def check_staged(
    conn: psycopg.Connection,
    city_code: str,
    categories: list[str],
    call_types: list[str],
    timezone: str,
) -> None:
    """Type and check every staged row into ``incident_checked`` with a list of reasons per row."""
    # times without an offset are the city's; one big statement: no JIT, sorts and hashes in memory
    conn.execute(
        "SELECT set_config('TimeZone', %s, true), set_config('jit', 'off', true), "
        "set_config('work_mem', '256MB', true), set_config('enable_memoize', 'off', true)",
        (timezone,),
    )
    _subdivided_kelurahan(conn, city_code)
    params = {
        "number": NUMBER,
        "zone": timezone,
        "city": city_code,
        "call_types": call_types,
        "categories": categories,
        "statuses": list(STATUSES),
        "precisions": list(PRECISIONS),
    }
    conn.execute("DROP TABLE IF EXISTS incident_checked")
    try:
        with conn.transaction():
            conn.execute(_checked_sql(FAST_TYPES), params)
    except psycopg.DataError:  # an unreadable number or time somewhere: type row by row
        conn.execute(_checked_sql(CAREFUL_TYPES), params)
    conn.execute("ANALYZE incident_checked")  # real row counts for the joins that follow
    _explain_outside(conn, city_code)


def _subdivided_kelurahan(conn: psycopg.Connection, city_code: str) -> None:
    """Kelurahan cut into small pieces: point-in-polygon tests on a million rows stay cheap."""
    conn.execute("DROP TABLE IF EXISTS kelurahan_pieces")
    conn.execute(
        "CREATE TEMP TABLE kelurahan_pieces ON COMMIT DROP AS "
        "SELECT code, parent_code, ST_Subdivide(geom, 64) AS geom FROM admin_areas "
        "WHERE city_code = %s AND level = 'kelurahan'",
        (city_code,),
    )
    conn.execute("CREATE INDEX ON kelurahan_pieces USING gist (geom)")
    conn.execute("ANALYZE kelurahan_pieces")


def _checked_sql(types: dict[str, str]) -> str:
    number, time = types["number"], types["time"]
    return (
        """
        CREATE TEMP TABLE incident_checked ON COMMIT DROP AS
        WITH typed AS (
            SELECT s.row_no,
                   nullif(btrim(s.external_id), '') AS external_id,
                   lower(nullif(btrim(s.call_type), '')) AS call_type,
                   upper(nullif(btrim(s.category), '')) AS category,
                   nullif(btrim(s.description), '') AS description,
                   nullif(btrim(s.address), '') AS address,
                   s.lat AS lat_text, s.lon AS lon_text,
                   {number_lat} AS lat,
                   {number_lon} AS lon,
                   nullif(btrim(s.received_at), '') AS received_text,
                   nullif(btrim(s.dispatched_at), '') AS dispatched_text,
                   nullif(btrim(s.arrived_at), '') AS arrived_text,
                   nullif(btrim(s.closed_at), '') AS closed_text,
                   {time_received_at} AS received_at,
                   {time_dispatched_at} AS dispatched_at,
                   {time_arrived_at} AS arrived_at,
                   {time_closed_at} AS closed_at,
                   coalesce(lower(nullif(btrim(s.status), '')), 'received') AS status,
                   nullif(btrim(s.responding_opd), '') AS responding_opd,
                   nullif(btrim(s.caller_name), '') AS caller_name,
                   nullif(btrim(s.caller_phone), '') AS caller_phone,
                   lower(nullif(btrim(s.geocode_precision), '')) AS precision_text,
                   nullif(btrim(s.geocode_source), '') AS geocode_source,
                   CASE WHEN s.geocode_score ~ %(number)s THEN s.geocode_score::real END AS geocode_score,
                   repeated.first_row
            FROM incident_staging s
            LEFT JOIN (
                SELECT nullif(btrim(external_id), '') AS external_id, min(row_no) AS first_row
                FROM incident_staging GROUP BY 1 HAVING count(*) > 1
            ) repeated ON repeated.external_id = nullif(btrim(s.external_id), '')
        ), located AS MATERIALIZED (  -- typed once: the lateral join below would recompute it
            SELECT t.*, CASE WHEN abs(t.lat) <= 90 AND abs(t.lon) <= 180
                             THEN ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326) END AS geom
            FROM typed t
        ), reasoned AS (
            SELECT t.*, k.code AS kelurahan_code, k.parent_code AS kecamatan_code,
                   CASE WHEN t.external_id IS NULL THEN 'external_id is missing' END AS r1,
                   CASE WHEN t.row_no > t.first_row
                        THEN format('external_id %%s repeats row %%s of the same file', t.external_id,
                                    t.first_row) END AS r2,
                   CASE WHEN t.call_type IS NULL THEN 'call_type is missing'
                        WHEN NOT t.call_type = ANY(%(call_types)s)
                        THEN format('unknown call_type %%s (use one of %%s)', t.call_type,
                                    array_to_string(%(call_types)s, ', ')) END AS r3,
                   CASE WHEN t.category IS NOT NULL AND NOT t.category = ANY(%(categories)s)
                        THEN format('unknown category %%s (see layers/incidents.yaml)', t.category)
                        WHEN t.category IS NULL AND t.call_type = 'darurat'
                        THEN 'category is missing (required for darurat calls)' END AS r4,
                   CASE WHEN t.received_text IS NULL THEN 'received_at is missing'
                        WHEN t.received_at IS NULL
                        THEN format('received_at %%s is not a date-time (use ISO 8601, e.g. '
                                    '2026-10-31T14:05:00+07:00)', t.received_text) END AS r5,
                   CASE WHEN t.dispatched_text IS NOT NULL AND t.dispatched_at IS NULL
                        THEN format('dispatched_at %%s is not a date-time', t.dispatched_text)
                   END AS r6,
                   CASE WHEN t.arrived_text IS NOT NULL AND t.arrived_at IS NULL
                        THEN format('arrived_at %%s is not a date-time', t.arrived_text) END AS r7,
                   CASE WHEN t.closed_text IS NOT NULL AND t.closed_at IS NULL
                        THEN format('closed_at %%s is not a date-time', t.closed_text) END AS r8,
                   CASE WHEN t.dispatched_at < t.received_at
                        THEN format('time order broken: dispatched_at %%s is before received_at %%s',
                                    t.dispatched_text, t.received_text) END AS r9,
                   CASE WHEN t.arrived_at < coalesce(t.dispatched_at, t.received_at)
                        THEN format('time order broken: arrived_at %%s is before %%s %%s', t.arrived_text,
                                    CASE WHEN t.dispatched_at IS NULL THEN 'received_at'
                                         ELSE 'dispatched_at' END,
                                    coalesce(t.dispatched_text, t.received_text)) END AS r10,
                   CASE WHEN t.closed_at < t.received_at
                        THEN format('time order broken: closed_at %%s is before received_at %%s',
                                    t.closed_text, t.received_text) END AS r11,
                   CASE WHEN NOT t.status = ANY(%(statuses)s)
                        THEN format('unknown status %%s (use one of %%s)', t.status,
                                    array_to_string(%(statuses)s, ', ')) END AS r12,
                   CASE WHEN t.precision_text IS NOT NULL
                             AND NOT t.precision_text = ANY(%(precisions)s)
                        THEN format('unknown geocode_precision %%s (use one of %%s)', t.precision_text,
                                    array_to_string(%(precisions)s, ', ')) END AS r13,
                   CASE WHEN (nullif(btrim(t.lat_text), '') IS NULL)
                             <> (nullif(btrim(t.lon_text), '') IS NULL)
                        THEN 'give both lat and lon, or neither'
                        WHEN nullif(btrim(t.lat_text), '') IS NOT NULL AND (t.lat IS NULL OR t.lon IS NULL)
                        THEN format('lat/lon %%s, %%s are not decimal degrees', t.lat_text, t.lon_text)
                   END AS r14
            FROM located t
            LEFT JOIN LATERAL (
                SELECT p.code, p.parent_code FROM kelurahan_pieces p WHERE ST_Intersects(p.geom, t.geom)
                ORDER BY p.code LIMIT 1
            ) k ON true
        )
        -- most rows have no reason: build the array only for the others
        SELECT row_no, external_id, call_type, category, description, address, lat_text, lon_text,
               lat, lon, received_text, dispatched_text, arrived_text, closed_text, received_at,
               dispatched_at, arrived_at, closed_at, status, responding_opd, caller_name, caller_phone,
               precision_text, geocode_source, geocode_score, first_row, geom, kelurahan_code, kecamatan_code,
               CASE WHEN num_nonnulls(r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13, r14) = 0
                    THEN '{}'::text[]
                    ELSE array_remove(
                        ARRAY[r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13, r14], NULL)
               END AS reasons
        FROM reasoned
        """.replace("{number_lat}", number.format("s.lat", "s.lat"))
        .replace("{number_lon}", number.format("s.lon", "s.lon"))
        .replace("{time_received_at}", time.format("s.received_at"))
        .replace("{time_dispatched_at}", time.format("s.dispatched_at"))
        .replace("{time_arrived_at}", time.format("s.arrived_at"))
        .replace("{time_closed_at}", time.format("s.closed_at"))
    )


def _explain_outside(conn: psycopg.Connection, city_code: str) -> None:
    """Points in no kelurahan are rejected; one that is inside the city once lat and lon are exchanged
    is named as a likely lat/lon swap, the most common mistake in exported call data."""
    conn.execute(
        """
        UPDATE incident_checked c SET reasons = c.reasons || CASE
            WHEN abs(c.lon) <= 90 AND EXISTS (
                    SELECT 1 FROM admin_areas k WHERE k.city_code = %(city)s AND k.level = 'kelurahan'
                    AND ST_Intersects(k.geom, ST_SetSRID(ST_MakePoint(c.lat, c.lon), 4326)))
            THEN format('likely lat/lon swap: the point lat %%s, lon %%s is outside the city, but with '
                        'lat and lon exchanged it is inside; swap the two columns', c.lat_text, c.lon_text)
            ELSE format('point outside the city: lat %%s, lon %%s is in no kelurahan of city %%s',
                        c.lat_text, c.lon_text, %(city)s) END
        WHERE c.lat IS NOT NULL AND c.lon IS NOT NULL AND c.kelurahan_code IS NULL
        """,
        {"city": city_code},
    )


def rejected_rows(conn: psycopg.Connection) -> list[dict]:
    return conn.execute(
        "SELECT row_no AS row, external_id, reasons FROM incident_checked "
        "WHERE cardinality(reasons) > 0 ORDER BY row_no"
    ).fetchall()


def count_staged(conn: psycopg.Connection) -> dict:
    return conn.execute(
        "SELECT count(*) AS rows_read, "
        "count(*) FILTER (WHERE geom IS NULL AND cardinality(reasons) = 0) AS not_geocoded "
        "FROM incident_checked"
    ).fetchone()


@contextmanager
def indexes_rebuilt_after(conn: psycopg.Connection, foreign_keys: bool = True) -> Iterator[None]:
    """For big imports: drop the secondary indexes, the unique key and (unless ``foreign_keys`` is
    false) the foreign keys of ``incidents``, rebuild them after.

    A million rows then cost one sorted build per index and one set-based check per key instead of
    millions of index insertions and per-row key look-ups. The definitions are read from the catalog,
    so they come back exactly as the migrations made them, in the same transaction (a duplicate would
    fail the import as a whole); the table is locked for writes and reads until the import commits.
    The primary key stays: rebuilding it and re-checking the keys that refer to it costs as much as
    its million insertions (measured). A caller whose COPY skips the foreign-key checks
    (:func:`foreign_key_checks_skipped`) keeps the foreign keys in place.
    """
    indexes = conn.execute(
        "SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS ddl FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid "
        "WHERE i.indrelid = 'incidents'::regclass AND NOT i.indisprimary AND k.oid IS NULL"
    ).fetchall()
    keys = conn.execute(
        "SELECT conname AS name, pg_get_constraintdef(oid) AS ddl FROM pg_constraint "
        "WHERE conrelid = 'incidents'::regclass AND (contype = 'u' OR (contype = 'f' AND %s)) "
        "ORDER BY contype DESC",
        (foreign_keys,),
    ).fetchall()  # unique before foreign keys
    conn.execute("SELECT set_config('maintenance_work_mem', '512MB', true)")  # index builds in memory
    for key in reversed(keys):
        conn.execute(sql.SQL("ALTER TABLE incidents DROP CONSTRAINT {}").format(sql.Identifier(key["name"])))
    for index in indexes:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(index["name"])))
    yield
    for index in indexes:
        conn.execute(index["ddl"])  # DDL text from pg_get_indexdef, not from input
    # the planner's row counts (and expression-index statistics) of the new rows: the analyses' plans
    # need them, and so does the validation of each foreign key below (with the counts of before the
    # import it probes the referenced key row by row)
    conn.execute("ANALYZE incidents")
    for key in keys:
        conn.execute(
            sql.SQL("ALTER TABLE incidents ADD CONSTRAINT {} {}").format(
                sql.Identifier(key["name"]), sql.SQL(key["ddl"])
            )
        )


def may_rebuild_indexes(conn: psycopg.Connection) -> bool:
    """Whether this role owns the incidents table, as :func:`indexes_rebuilt_after` needs (the command
    line does; the web app's least-privilege role, geo_app.db.roles, writes rows only)."""
    return conn.execute(
        "SELECT pg_has_role(current_user, relowner, 'USAGE') AS owner FROM pg_class"
        " WHERE oid = 'incidents'::regclass"
    ).fetchone()["owner"]


def may_skip_foreign_key_checks(conn: psycopg.Connection) -> bool:
    """Whether this database role may set session_replication_role (a superuser, or a role granted
    ``SET ON PARAMETER session_replication_role``), which :func:`foreign_key_checks_skipped` needs."""
    return conn.execute(
        "SELECT has_parameter_privilege('session_replication_role', 'SET') AS allowed"
    ).fetchone()["allowed"]


def lock_references(conn: psycopg.Connection, city_code: str, area_codes: Iterable[str]) -> bool:
    """Lock the city and the admin areas that new incidents will refer to, as the foreign-key triggers
    would (FOR KEY SHARE: they cannot be deleted or renamed until the import commits); False if one
    of them is not there. A code may be None (an area without a parent): there is nothing to lock."""
    wanted = {code for code in area_codes if code is not None}
    areas = conn.execute(
        "SELECT code FROM admin_areas WHERE code = ANY(%s) FOR KEY SHARE", (sorted(wanted),)
    ).fetchall()
    city = conn.execute("SELECT 1 FROM cities WHERE code = %s FOR KEY SHARE", (city_code,)).fetchone()
    return city is not None and {row["code"] for row in areas} == wanted


@contextmanager
def foreign_key_checks_skipped(conn: psycopg.Connection) -> Iterator[None]:
    """For a COPY whose references the caller has checked and locked (:func:`lock_references`): the
    foreign-key triggers do not fire (session_replication_role = replica for this transaction, as
    under ``pg_restore --disable-triggers``), so PostgreSQL does not look up each row's keys, and the
    keys stay in place, valid, with nothing to check again afterwards. Only around a COPY into
    incidents without other row triggers (:func:`triggers_dropped`). If the block fails, rolling back
    the transaction or savepoint restores the setting too."""
    conn.execute("SELECT set_config('session_replication_role', 'replica', true)")
    yield
    conn.execute("SELECT set_config('session_replication_role', 'origin', true)")


# Row-level work of every insert into incidents that a bulk COPY does itself (see triggers_dropped).
BULK_COPY_TRIGGERS = (
    "incidents_metric_point",  # metric_x/metric_y from the point (migration 0009)
    "audit_insert",  # captures every new row to write one summary entry (migration 0007)
)


@contextmanager
def triggers_dropped(conn: psycopg.Connection, names: Iterable[str] = BULK_COPY_TRIGGERS) -> Iterator[None]:
    """For a COPY that computes the metric coordinates and writes the audit summary itself
    (geo_app.store.audit.record_bulk_insert): a BEFORE ROW trigger makes PostgreSQL insert row by row
    and a transition table keeps a copy of every row, so the triggers are dropped and recreated from
    their catalog definitions afterwards, in the same transaction (a failure rolls both back)."""
    definitions = conn.execute(
        "SELECT tgname AS name, pg_get_triggerdef(oid) AS ddl FROM pg_trigger "
        "WHERE tgrelid = 'incidents'::regclass AND tgname = ANY(%s)",
        (list(names),),
    ).fetchall()
    for trigger in definitions:
        conn.execute(sql.SQL("DROP TRIGGER {} ON incidents").format(sql.Identifier(trigger["name"])))
    yield
    for trigger in definitions:
        conn.execute(trigger["ddl"])  # DDL text from pg_get_triggerdef, not from input


def next_incident_id(conn: psycopg.Connection) -> int:
    """The first id of a COPY that brings its own ids (saves a sequence call per row): the ids after it
    are the COPY's until :func:`incident_ids_used_up_to` moves the sequence past them. Only inside
    indexes_rebuilt_after or triggers_dropped, whose exclusive lock on the table keeps every other
    insert out meanwhile."""
    return conn.execute("SELECT nextval(pg_get_serial_sequence('incidents', 'id')) AS id").fetchone()["id"]


def incident_ids_used_up_to(conn: psycopg.Connection, last_id: int) -> None:
    """The sequence goes on after ``last_id``, the last id a COPY brought (see next_incident_id)."""
    conn.execute("SELECT setval(pg_get_serial_sequence('incidents', 'id'), %s)", (last_id,))


# The stored value of each column of STORED_FIELDS, from a row ``c`` of incident_checked.
CHECKED_VALUES = """
    c.call_type, c.category, c.description, c.address, c.geom,
    CASE WHEN c.geom IS NULL THEN 'none' ELSE coalesce(c.precision_text, 'exact') END,
    CASE WHEN c.geom IS NULL THEN c.geocode_source ELSE coalesce(c.geocode_source, 'source') END,
    c.geocode_score, c.kelurahan_code, c.kecamatan_code,
    c.received_at, c.dispatched_at, c.arrived_at, c.closed_at, c.status, c.responding_opd
"""


def count_new(conn: psycopg.Connection, city_code: str) -> int:
    """Good staged rows whose external id is not stored yet (they will be inserted)."""
    return conn.execute(
        "SELECT count(*) AS n FROM incident_checked c WHERE cardinality(c.reasons) = 0 AND NOT EXISTS "
        "(SELECT 1 FROM incidents i WHERE i.city_code = %s AND i.external_id = c.external_id)",
        (city_code,),
    ).fetchone()["n"]


def upsert_checked(conn: psycopg.Connection, city_code: str, source: str, bulk: bool = False) -> dict:
    """Write the rows without reasons: changed rows updated through one join, new external ids
    inserted through one anti-join, the rest untouched.

    ``bulk``: inside :func:`indexes_rebuilt_after`, where the table is locked and its unique key is
    being rebuilt; otherwise a row inserted meanwhile by someone else with the same external id is
    left alone (ON CONFLICT DO NOTHING) rather than failing the import.
    """
    import_id = start_import_record(conn, city_code, source)
    params = {"city": city_code, "import_id": import_id}
    columns = ", ".join(STORED_FIELDS)
    updated = conn.execute(
        f"""
        UPDATE incidents i
        SET ({columns}, import_id, updated_at) = ({CHECKED_VALUES}, %(import_id)s, now())
        FROM incident_checked c
        WHERE i.city_code = %(city)s AND i.external_id = c.external_id AND cardinality(c.reasons) = 0
          AND ({", ".join(f"i.{name}" for name in STORED_FIELDS)}) IS DISTINCT FROM ({CHECKED_VALUES})
        """,
        params,
    ).rowcount
    inserted = conn.execute(
        f"""
        INSERT INTO incidents (city_code, external_id, import_id, {columns})
        SELECT %(city)s, c.external_id, %(import_id)s, {CHECKED_VALUES}
        FROM incident_checked c
        WHERE cardinality(c.reasons) = 0 AND NOT EXISTS (
            SELECT 1 FROM incidents i WHERE i.city_code = %(city)s AND i.external_id = c.external_id)
        {"" if bulk else "ON CONFLICT (city_code, external_id) DO NOTHING"}
        """,
        params,
    ).rowcount
    conn.execute(
        """
        INSERT INTO incident_callers (incident_id, caller_name, caller_phone)
        SELECT i.id, c.caller_name, c.caller_phone
        FROM incident_checked c JOIN incidents i ON i.city_code = %s AND i.external_id = c.external_id
        WHERE cardinality(c.reasons) = 0 AND (c.caller_name IS NOT NULL OR c.caller_phone IS NOT NULL)
        ON CONFLICT (incident_id) DO UPDATE SET caller_name = excluded.caller_name,
            caller_phone = excluded.caller_phone
        """,
        (city_code,),
    )
    return {"import_id": import_id, "inserted": inserted, "updated": updated}


def start_import_record(conn: psycopg.Connection, city_code: str, source: str) -> int:
    """The import batch the written rows point to; its counts are set by :func:`finish_import_record`."""
    return conn.execute(
        "INSERT INTO incident_imports (city_code, source, rows_read, inserted, updated, unchanged, rejected) "
        "VALUES (%s, %s, 0, 0, 0, 0, 0) RETURNING id",
        (city_code, source),
    ).fetchone()["id"]


def kelurahan_shapes(conn: psycopg.Connection, city_code: str) -> list[dict]:
    """The city's kelurahan (code, parent_code, WKB) ordered by code, for placing points in Python."""
    return conn.execute(
        "SELECT code, parent_code, ST_AsBinary(geom) AS wkb FROM admin_areas "
        "WHERE city_code = %s AND level = 'kelurahan' ORDER BY code",
        (city_code,),
    ).fetchall()


def external_ids(conn: psycopg.Connection, city_code: str) -> list[str]:
    """Every external id stored for the city."""
    with conn.cursor(row_factory=tuple_row) as cursor:
        cursor.execute("SELECT external_id FROM incidents WHERE city_code = %s", (city_code,))
        return [row[0] for row in cursor.fetchall()]


def copy_into_incidents(conn: psycopg.Connection, columns: list[str], chunks: Iterable[bytes]) -> None:
    """COPY checked binary COPY data straight into incidents (columns named by the caller's code, not
    input)."""
    column_list = ", ".join(columns)
    with conn.cursor().copy(f"COPY incidents ({column_list}) FROM STDIN (FORMAT binary)") as copy:
        for chunk in chunks:
            copy.write(chunk)


def finish_import_record(conn: psycopg.Connection, import_id: int, result_counts: dict) -> None:
    conn.execute(
        "UPDATE incident_imports SET rows_read = %(rows_read)s, inserted = %(inserted)s, "
        "updated = %(updated)s, unchanged = %(unchanged)s, rejected = %(rejected)s WHERE id = %(id)s",
        {**result_counts, "id": import_id},
    )


# The SQL of each field of an incident row (geo_app.auth.privacy.INCIDENT_FIELD_ROLES says who sees it).
# Nothing here reads incident_callers.
INCIDENT_COLUMNS = {
    "id": "i.id",
    "external_id": "i.external_id",
    "call_type": "i.call_type",
    "category": "i.category",
    "description": "i.description",
    "address": "i.address",
    "lon": "ST_X(i.geom)",
    "lat": "ST_Y(i.geom)",
    "geocode_precision": "i.geocode_precision",
    "geocode_source": "i.geocode_source",
    "geocode_score": "i.geocode_score",
    "kelurahan_code": "i.kelurahan_code",
    "kelurahan_name": "kel.name",
    "kecamatan_code": "i.kecamatan_code",
    "kecamatan_name": "kec.name",
    "received_at": "i.received_at",
    "dispatched_at": "i.dispatched_at",
    "arrived_at": "i.arrived_at",
    "closed_at": "i.closed_at",
    "status": "i.status",
    "responding_opd": "i.responding_opd",
}


def incident_select(fields: Iterable[str]) -> str:
    """SELECT ... FROM incidents i of exactly ``fields`` (names of INCIDENT_COLUMNS, given by code)."""
    columns = ", ".join(f"{INCIDENT_COLUMNS[name]} AS {name}" for name in fields)
    return f"""
        SELECT {columns}
        FROM incidents i
        LEFT JOIN admin_areas kel ON kel.code = i.kelurahan_code
        LEFT JOIN admin_areas kec ON kec.code = i.kecamatan_code
    """


@dataclass(frozen=True)
class IncidentFilter:
    """The filters every incident query and analysis shares (all optional except the city)."""

    city_code: str
    start: datetime | None = None
    end: datetime | None = None
    categories: tuple[str, ...] = ()
    call_types: tuple[str, ...] = ()
    kecamatan: tuple[str, ...] = ()
    kelurahan: tuple[str, ...] = ()
    bbox: tuple[float, float, float, float] | None = None
    located_only: bool = False

    def where(self, alias: str = "i") -> tuple[str, dict]:
        """A parameterised WHERE clause (without the keyword) and its parameters."""
        a = alias
        clauses = [f"{a}.city_code = %(f_city)s"]
        params: dict = {"f_city": self.city_code}
        if self.start is not None:
            clauses.append(f"{a}.received_at >= %(f_start)s")
            params["f_start"] = self.start
        if self.end is not None:
            clauses.append(f"{a}.received_at < %(f_end)s")
            params["f_end"] = self.end
        for name, values, column in (
            ("f_categories", self.categories, "category"),
            ("f_call_types", self.call_types, "call_type"),
            ("f_kecamatan", self.kecamatan, "kecamatan_code"),
            ("f_kelurahan", self.kelurahan, "kelurahan_code"),
        ):
            if values:
                clauses.append(f"{a}.{column} = ANY(%({name})s)")
                params[name] = list(values)
        if self.bbox is not None:
            clauses.append(f"{a}.geom && ST_MakeEnvelope(%(f_w)s, %(f_s)s, %(f_e)s, %(f_n)s, 4326)")
            params.update(zip(("f_w", "f_s", "f_e", "f_n"), self.bbox, strict=True))
        if self.located_only or self.bbox is not None:
            clauses.append(f"{a}.geom IS NOT NULL")
        return " AND ".join(clauses), params


def list_incidents(
    conn: psycopg.Connection,
    filters: IncidentFilter,
    fields: Iterable[str],
    limit: int,
    after: tuple[datetime, int] | None,
) -> list[dict]:
    """One page of ``fields``, newest first, keyset-paged on (received_at, id)."""
    where, params = filters.where()
    if after is not None:
        where += " AND (i.received_at, i.id) < (%(after_time)s, %(after_id)s)"
        params.update(after_time=after[0], after_id=after[1])
    params["limit"] = limit
    return conn.execute(
        f"""
        {incident_select(fields)}
        WHERE {where}
        ORDER BY i.received_at DESC, i.id DESC
        LIMIT %(limit)s
        """,
        params,
    ).fetchall()


def get_incident(
    conn: psycopg.Connection, city_code: str, external_id: str, fields: Iterable[str]
) -> dict | None:
    """The ``fields`` of the incident with this call-centre number."""
    return conn.execute(
        f"""
        {incident_select(fields)}
        WHERE i.city_code = %s AND i.external_id = %s
        """,
        (city_code, external_id),
    ).fetchone()


def city_timezone(conn: psycopg.Connection, city_code: str) -> str:
    row = conn.execute("SELECT timezone FROM cities WHERE code = %s", (city_code,)).fetchone()
    if row is None:
        raise LookupError(f"city {city_code} is not loaded; run geo-app load-sample or import its areas")
    return row["timezone"]


def iter_chunks(stream, size: int = 1 << 20) -> Iterator[bytes]:
    while chunk := stream.read(size):
        yield chunk
