"""SQL for users and their API tokens / sign-in links (only SHA-256 digests of the secrets are stored)."""

from __future__ import annotations

from datetime import datetime

import psycopg

USER_COLUMNS = "id, username, display_name, role, opd, city_code, is_active, created_at"


def add_user(
    conn: psycopg.Connection,
    username: str,
    role: str,
    password_hash: str | None,
    opd: str | None = None,
    display_name: str = "",
    city_code: str | None = None,
) -> dict:
    """``city_code`` None: a national account."""
    return conn.execute(
        f"INSERT INTO users (username, role, opd, password_hash, display_name, city_code)"
        f" VALUES (%s, %s, %s, %s, %s, %s) RETURNING {USER_COLUMNS}",
        (username, role, opd, password_hash, display_name, city_code),
    ).fetchone()


def user_by_name(conn: psycopg.Connection, username: str) -> dict | None:
    return conn.execute(
        f"SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = %s", (username,)
    ).fetchone()


def active_user(conn: psycopg.Connection, user_id: int) -> dict | None:
    return conn.execute(
        f"SELECT {USER_COLUMNS} FROM users WHERE id = %s AND is_active", (user_id,)
    ).fetchone()


def list_users(conn: psycopg.Connection) -> list[dict]:
    return conn.execute(
        f"SELECT {USER_COLUMNS},"
        " (SELECT count(*) FROM api_tokens t WHERE t.user_id = users.id AND t.kind = 'api'"
        "  AND t.revoked_at IS NULL AND t.expires_at > now()) AS active_tokens"
        " FROM users ORDER BY username"
    ).fetchall()


def set_active(conn: psycopg.Connection, username: str, active: bool) -> bool:
    """Enable or disable; disabling also ends the user's browser sessions."""
    cursor = conn.execute(
        "UPDATE users SET is_active = %s WHERE username = %s AND is_active <> %s RETURNING id",
        (active, username, active),
    )
    row = cursor.fetchone()
    if row and not active:
        end_sessions(conn, row["id"])
    return row is not None


def set_city(conn: psycopg.Connection, username: str, city_code: str | None) -> bool:
    """Move a user to a city (None: national); the user's browser sessions end, so none of them goes on
    with the old city."""
    row = conn.execute(
        "UPDATE users SET city_code = %s WHERE username = %s RETURNING id", (city_code, username)
    ).fetchone()
    if row:
        end_sessions(conn, row["id"])
    return row is not None


def set_password(conn: psycopg.Connection, username: str, password_hash: str) -> bool:
    """A new password ends every browser session signed in with the old one."""
    row = conn.execute(
        "UPDATE users SET password_hash = %s WHERE username = %s RETURNING id", (password_hash, username)
    ).fetchone()
    if row:
        end_sessions(conn, row["id"])
    return row is not None


def end_sessions(conn: psycopg.Connection, user_id: int) -> int:
    """Revoke every live browser session of a user (API tokens stay: they are revoked one by one)."""
    return conn.execute(
        "UPDATE api_tokens SET revoked_at = now()"
        " WHERE user_id = %s AND kind = 'session' AND revoked_at IS NULL",
        (user_id,),
    ).rowcount


def end_session(conn: psycopg.Connection, digest: bytes) -> bool:
    """Sign-out: the session's row is revoked, so a copy of the cookie is worth nothing afterwards."""
    return (
        conn.execute(
            "UPDATE api_tokens SET revoked_at = now()"
            " WHERE token_hash = %s AND kind = 'session' AND revoked_at IS NULL",
            (digest,),
        ).rowcount
        == 1
    )


def add_token(
    conn: psycopg.Connection, user_id: int, digest: bytes, expires_at: datetime, label: str, kind: str = "api"
) -> dict:
    return conn.execute(
        "INSERT INTO api_tokens (user_id, kind, token_hash, label, expires_at) VALUES (%s, %s, %s, %s, %s)"
        " RETURNING id, kind, label, created_at, expires_at",
        (user_id, kind, digest, label, expires_at),
    ).fetchone()


def user_for_token(conn: psycopg.Connection, digest: bytes, kind: str = "api") -> dict | None:
    """The active user a valid (unexpired, unrevoked) token belongs to."""
    return conn.execute(
        "SELECT u.id, u.username, u.role, u.opd, u.city_code, t.id AS token_id FROM api_tokens t"
        " JOIN users u ON u.id = t.user_id"
        " WHERE t.token_hash = %s AND t.kind = %s AND t.revoked_at IS NULL AND t.expires_at > now()"
        " AND u.is_active",
        (digest, kind),
    ).fetchone()


def revoke_token(conn: psycopg.Connection, token_id: int) -> bool:
    cursor = conn.execute(
        "UPDATE api_tokens SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL", (token_id,)
    )
    return cursor.rowcount == 1


def list_tokens(conn: psycopg.Connection, username: str | None = None) -> list[dict]:
    return conn.execute(
        "SELECT t.id, u.username, t.kind, t.label, t.created_at, t.expires_at, t.revoked_at"
        " FROM api_tokens t JOIN users u ON u.id = t.user_id"
        " WHERE %(username)s::text IS NULL OR u.username = %(username)s ORDER BY t.id",
        {"username": username},
    ).fetchall()
