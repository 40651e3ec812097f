"""Sign-in for people (form, session cookie, CSRF) and one-time sign-in links; /api/me says who you are.

Scripts do not sign in here: they send an API token (``geo-app users token USERNAME``) as
``Authorization: Bearer <token>``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import limits
from flask import Blueprint, current_app, redirect, render_template, request, session
from flask_limiter.util import get_remote_address

from geo_app.auth import credentials
from geo_app.auth.identity import current_identity
from geo_app.store import audit
from geo_app.store import users as user_store
from geo_app.web import deps
from geo_app.web.access import SESSION_SECRET, csrf_token
from geo_app.web.errors import Problem
from geo_app.web.params import reject_unknown
from geo_app.web.rate_limits import limiter

blueprint = Blueprint("auth", __name__)
blueprint.record_once(lambda state: limiter.init_app(state.app))


def _login_rate_limit() -> str:
    return deps.settings().login_rate_limit


ATTEMPTS_PER_ADDRESS_FACTOR = 5
"""One address may try this many times the per-user limit across user names (credential stuffing)."""


def _address_rate_limit() -> str:
    per_user = limits.parse(deps.settings().login_rate_limit)
    attempts = per_user.amount * ATTEMPTS_PER_ADDRESS_FACTOR
    return f"{attempts} per {per_user.multiples} {per_user.GRANULARITY.name}"


def _ip_and_username() -> str:
    return f"{get_remote_address()}|{request.form.get('username', '').strip().lower()}"


def _safe_next(target: str | None) -> str:
    """Only paths on this site, so a sign-in link cannot send anyone elsewhere. Browsers drop tabs and
    line breaks inside a URL and read a backslash as a slash (``/%09/evil.com`` is ``//evil.com`` to
    them), so a target holding any of those, or naming a scheme or host, is replaced by the home page
    (of the city the sign-in page was opened for)."""
    home = request.script_root + "/"
    if not target or any(ch.isspace() or not ch.isprintable() for ch in target) or "\\" in target:
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return home
    return target


@blueprint.get("/login")
def login_form():
    reject_unknown({"next"})
    return render_template("login.html", csrf_token=csrf_token(), next=_safe_next(request.args.get("next")))


@blueprint.post("/login")
@limiter.limit(_login_rate_limit, key_func=_ip_and_username)
@limiter.limit(_address_rate_limit, key_func=get_remote_address)
def login():
    reject_unknown({"next"})
    username = request.form.get("username", "").strip().lower()
    password = request.form.get("password", "")
    target = _safe_next(request.form.get("next") or request.args.get("next"))
    with deps.connection() as conn:
        user = user_store.user_by_name(conn, username) if username else None
        if not credentials.verify_password(user["password_hash"] if user else None, password) or not (
            user and user["is_active"]
        ):
            response = render_template(
                "login.html",
                csrf_token=csrf_token(),
                next=target,
                username=username,
                error="Nama pengguna atau kata sandi salah, atau akun dinonaktifkan.",
            )
            return response, 401
        _record_sign_in(conn, user, "password")
        _start_session(conn, user["id"])
    return redirect(target, code=303)


@blueprint.get("/login/link/<token>")
def login_link(token: str):
    """A one-time link (``geo-app users login-link``): for wall displays and automated browser checks."""
    reject_unknown({"next"})
    with deps.connection() as conn:
        user = user_store.user_for_token(conn, credentials.token_digest(token), kind="login_link")
        if not user:
            raise Problem(
                401,
                "Sign-in link not valid",
                "This sign-in link is unknown, used or expired. Sign in at /login or ask for a new link.",
            )
        user_store.revoke_token(conn, user["token_id"])
        _record_sign_in(conn, user, "link")
        _start_session(conn, user["id"])
    return redirect(_safe_next(request.args.get("next")), code=303)


@blueprint.post("/logout")
def logout():
    identity = current_identity()
    if identity.signed_in:
        with deps.connection() as conn:
            if identity.via == "session":
                user_store.end_session(conn, credentials.token_digest(session[SESSION_SECRET]))
            audit.record(conn, identity.username, "sign_out", "users", str(identity.user_id))
    session.clear()
    return redirect("/", code=303)


@blueprint.get("/api/me")
def me():
    """Who the service thinks you are, and the CSRF token a page script sends with its writes."""
    reject_unknown(())
    identity = current_identity()
    return {
        "username": identity.username,
        "role": identity.role,
        "opd": identity.opd,
        "signed_in": identity.signed_in,
        "via": identity.via,
        "csrf_token": csrf_token() if identity.via == "session" else None,
    }


def _record_sign_in(conn, user: dict, via: str) -> None:
    """The entry names the user's role: the request itself is still anonymous while it signs in."""
    audit.record(
        conn,
        user["username"],
        "sign_in",
        "users",
        str(user["id"]),
        after={"via": via},
        actor_role=user["role"],
    )


def _start_session(conn, user_id: int) -> None:
    """A new server-side session (its secret in the signed cookie, its digest in the database), so that
    sign-out, disabling the user or a new password end it at once."""
    secret = credentials.new_token()
    expires_at = datetime.now(UTC) + current_app.permanent_session_lifetime
    user_store.add_token(conn, user_id, credentials.token_digest(secret), expires_at, "browser", "session")
    session.clear()
    session.permanent = True
    session[SESSION_SECRET] = secret
