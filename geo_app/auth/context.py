"""Tell the database who is writing: each pooled connection a request takes is tagged with the actor.

The audit triggers (migration 0007) read ``geo_app.actor`` and ``geo_app.actor_role``; the asset scope
trigger reads ``geo_app.actor_opd``. The values are set at session level in autocommit, so a rollback
inside the request cannot bring back an earlier request's actor, and they are set on every checkout.
"""

from __future__ import annotations

import psycopg

from geo_app.auth.identity import current_identity


def tag_connection(conn: psycopg.Connection) -> None:
    identity = current_identity()
    previous = conn.autocommit
    conn.autocommit = True
    try:
        conn.execute(
            "SELECT set_config('geo_app.actor', %s, false), set_config('geo_app.actor_role', %s, false),"
            " set_config('geo_app.actor_opd', %s, false)",
            (identity.username, identity.role, identity.opd or ""),
        )
    finally:
        conn.autocommit = previous
