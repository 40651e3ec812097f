"""Managing users and tokens (the ``geo-app users`` commands call these; each is one transaction)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from geo_app.auth import credentials
from geo_app.auth.roles import OPD_EDITOR, USER_ROLES
from geo_app.db import transaction
from geo_app.store import users as user_store


class UserError(ValueError):
    """A request the user store cannot fulfil; the message says what to change."""


def add_user(
    database_url: str,
    username: str,
    role: str,
    password: str | None,
    opd: str | None = None,
    display_name: str = "",
    *,
    city_code: str | None,
) -> dict:
    """A user of city ``city_code``, or a national (read-only) account with ``city_code=None``."""
    if role not in USER_ROLES:
        raise UserError(f"role {role!r}: use one of {', '.join(USER_ROLES)}")
    if role == OPD_EDITOR and not opd:
        raise UserError("an opd_editor needs --opd (the OPD whose assets it edits, e.g. Diskominfo)")
    _check_password(password)
    password_hash = credentials.hash_password(password) if password else None
    with transaction(database_url) as conn:
        if user_store.user_by_name(conn, username):
            raise UserError(f"user {username!r} exists already")
        _check_city(conn, city_code)
        return user_store.add_user(conn, username, role, password_hash, opd, display_name, city_code)


def set_city(database_url: str, username: str, city_code: str | None) -> None:
    """Move a user to another city, or make it national (``None``)."""
    with transaction(database_url) as conn:
        _check_city(conn, city_code)
        if not user_store.set_city(conn, username, city_code):
            raise UserError(f"no user {username!r}")


def _check_city(conn, city_code: str | None) -> None:
    if (
        city_code is not None
        and not conn.execute("SELECT 1 FROM cities WHERE code = %s", (city_code,)).fetchone()
    ):
        raise UserError(
            f"city {city_code!r} is not in the database: give the code of a city it serves (e.g. 36.72), "
            "or --national for an account of the national office"
        )


MIN_PASSWORD_LENGTH = 10


def _check_password(password: str | None) -> None:
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")


def change_password(database_url: str, username: str, password: str) -> None:
    """A new password; every browser session of the user ends at once (API tokens stay valid)."""
    _check_password(password)
    with transaction(database_url) as conn:
        if not user_store.set_password(conn, username, credentials.hash_password(password)):
            raise UserError(f"no user {username!r}")


def issue_token(
    database_url: str, username: str, days: float = 90, label: str = "", kind: str = "api"
) -> tuple[str, dict]:
    """A new secret (shown once, never stored) and its row."""
    if days <= 0:
        raise UserError("--days must be positive")
    secret = credentials.new_token()
    expires_at = datetime.now(UTC) + timedelta(days=days)
    with transaction(database_url) as conn:
        user = user_store.user_by_name(conn, username)
        if not user or not user["is_active"]:
            raise UserError(f"no active user {username!r}")
        row = user_store.add_token(
            conn, user["id"], credentials.token_digest(secret), expires_at, label, kind
        )
    return secret, row


def revoke_token(database_url: str, token_id: int) -> None:
    with transaction(database_url) as conn:
        if not user_store.revoke_token(conn, token_id):
            raise UserError(f"no unrevoked token with id {token_id} (see geo-app users list --tokens)")


def set_active(database_url: str, username: str, active: bool) -> None:
    with transaction(database_url) as conn:
        if not user_store.user_by_name(conn, username):
            raise UserError(f"no user {username!r}")
        user_store.set_active(conn, username, active)


def list_users(database_url: str) -> list[dict]:
    with transaction(database_url) as conn:
        return user_store.list_users(conn)


def list_tokens(database_url: str, username: str | None = None) -> list[dict]:
    with transaction(database_url) as conn:
        return user_store.list_tokens(conn, username)


def login_link_path(secret: str, next_path: str = "/", base_url: str = "") -> str:
    return f"{base_url.rstrip('/')}/login/link/{secret}?{urlencode({'next': next_path})}"


def login_link(database_url: str, username: str, next_path: str = "/", base_url: str = "", minutes=15) -> str:
    """A one-time sign-in URL for ``username`` that opens ``next_path``."""
    secret, _ = issue_token(
        database_url, username, days=minutes / 1440, label="login link", kind="login_link"
    )
    return login_link_path(secret, next_path, base_url)
