"""Reading the audit trail. Writes are recorded by database triggers (migration 0007), so every write
path, the web API, imports and scripts alike, lands here in the same transaction as the change itself.
"""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb


def entries(
    conn: psycopg.Connection,
    *,
    entity: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_id: int | None = None,
    limit: int = 100,
) -> list[dict]:
    """Entries newest first; ``after_id`` pages on (entries with a smaller id)."""
    return conn.execute(
        "SELECT id, at, actor, actor_role, action, entity, entity_id, before, after FROM audit_log"
        " WHERE (%(entity)s::text IS NULL OR entity = %(entity)s)"
        " AND (%(entity_id)s::text IS NULL OR entity_id = %(entity_id)s)"
        " AND (%(actor)s::text IS NULL OR actor = %(actor)s)"
        " AND (%(since)s::timestamptz IS NULL OR at >= %(since)s)"
        " AND (%(until)s::timestamptz IS NULL OR at < %(until)s)"
        " AND (%(after_id)s::bigint IS NULL OR id < %(after_id)s)"
        " ORDER BY id DESC LIMIT %(limit)s",
        {
            "entity": entity,
            "entity_id": entity_id,
            "actor": actor,
            "since": since,
            "until": until,
            "after_id": after_id,
            "limit": limit,
        },
    ).fetchall()


def record_bulk_insert(
    conn: psycopg.Connection, entity: str, rows: int, lowest_id: int, highest_id: int
) -> None:
    """The summary entry of a bulk insert whose COPY ran without the audit trigger: the entry the
    trigger itself writes for a statement of more than ``geo_app.audit_full_rows`` rows."""
    conn.execute(
        "INSERT INTO audit_log (actor, actor_role, action, entity, after)"
        " SELECT audit_actor(), nullif(current_setting('geo_app.actor_role', true), ''), 'insert', %s,"
        " jsonb_build_object('rows', %s::bigint, 'lowest_id', %s::text, 'highest_id', %s::text)",
        (entity, rows, lowest_id, highest_id),
    )


def record_copied_inserts(
    conn: psycopg.Connection, table: str, id_column: str, rows: int, lowest_id: int, highest_id: int
) -> None:
    """The entries the ``audit_insert`` trigger of ``table`` (migration 0007) writes for a statement
    inserting ``rows`` rows, for COPYs that ran without it (geo_app.store.incidents.triggers_dropped)
    and inserted every row of ``table`` with an id from ``lowest_id`` to ``highest_id``: past
    ``geo_app.audit_full_rows`` rows one summary entry, else one entry per row, built by the
    trigger's own ``audit_row_sql`` with the columns its arguments redact (callers' names and
    phones). ``table`` and ``id_column`` are named by code, not input."""
    if rows == 0:
        return
    full_rows = conn.execute(
        "SELECT coalesce(nullif(current_setting('geo_app.audit_full_rows', true), '')::bigint, 10000) AS n"
    ).fetchone()["n"]  # as audit_statement() reads it
    if rows > full_rows:
        record_bulk_insert(conn, table, rows, lowest_id, highest_id)
        return
    row_json = conn.execute(
        "SELECT audit_row_sql('n', EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = tgrelid"
        "        AND attname = 'geom' AND NOT attisdropped),"
        "    coalesce((string_to_array(encode(tgargs, 'escape'), '\\000'))[2], '{}')::text[]) AS sql"
        " FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = 'audit_insert'",
        (table,),
    ).fetchone()["sql"]  # SQL text made by the database's own function from the trigger's arguments
    conn.execute(
        sql.SQL(
            "INSERT INTO audit_log (actor, actor_role, action, entity, entity_id, after)"
            " SELECT audit_actor(), nullif(current_setting('geo_app.actor_role', true), ''), 'insert',"
            " {entity}, n.{id}::text, {row_json} FROM {table} AS n WHERE n.{id} BETWEEN %s AND %s"
            " ORDER BY n.{id}"
        ).format(
            entity=sql.Literal(table),
            id=sql.Identifier(id_column),
            row_json=sql.SQL(row_json),
            table=sql.Identifier(table),
        ),
        (lowest_id, highest_id),
    )


def record(
    conn: psycopg.Connection,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | None = None,
    before: dict | None = None,
    after: dict | None = None,
    actor_role: str | None = None,
) -> None:
    """An entry for an event no table trigger sees (sign-in, sign-out), in the caller's transaction.
    ``actor_role`` names the role when the request's own is not the actor's (a sign-in is made by an
    anonymous request on behalf of the user who signs in)."""
    conn.execute(
        "INSERT INTO audit_log (actor, actor_role, action, entity, entity_id, before, after)"
        " VALUES (%s, coalesce(%s, nullif(current_setting('geo_app.actor_role', true), '')),"
        " %s, %s, %s, %s, %s)",
        (
            actor,
            actor_role,
            action,
            entity,
            entity_id,
            Jsonb(before) if before else None,
            Jsonb(after) if after else None,
        ),
    )
