"""The one place where access is decided, for every request, before any view runs.

``before_request``: who is asking (API token as Bearer or HTTP Basic, else session cookie, else
anonymous), then the permission table (geo_app.auth.permissions) says yes or no, then CSRF for
cookie-authenticated writes.
``after_request``: security headers, private caching for restricted answers, and a last check that no
caller field, nor an incident field the role may not see, leaves the service (geo_app.auth.privacy).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

import psycopg
from flask import Flask, Response, current_app, g, redirect, request, session, url_for

from geo_app.auth import credentials, log_redaction, privacy
from geo_app.auth.identity import Identity, anonymous, current_identity
from geo_app.auth.permissions import WRITE, allowed_roles
from geo_app.auth.privacy import can_see_personal_data
from geo_app.auth.roles import EVERYONE, READERS, USER_ROLES
from geo_app.ingest import geometry_limits
from geo_app.store import users as user_store
from geo_app.web import deps
from geo_app.web.errors import DETAILS, PAGE_REASONS, Problem, problem_response
from geo_app.web.params import json_has_nul

log = logging.getLogger(__name__)

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_SECRET = "sid"
"""The session cookie carries the secret of a server-side session row (geo_app.store.users)."""
SESSION_CSRF = "csrf"
DOCUMENTATION_RULES = ("/openapi.json", "/docs")
"""Endpoints that describe the API (field names included) rather than serve data."""


def init_access(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    settings.validate()  # also when the settings were built by hand: production refuses the default secret
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.env == "production",
        SESSION_COOKIE_NAME="geo_app_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=10),
    )
    app.config["CONTENT_SECURITY_POLICY"] = content_security_policy(settings.basemap_url)
    log_redaction.install()
    app.before_request(enforce_permissions)
    app.jinja_env.globals.update(current_identity=current_identity, session_csrf_token=csrf_token)
    app.after_request(secure_response)
    app.register_error_handler(psycopg.errors.InsufficientPrivilege, _refused_by_database)


def content_security_policy(basemap_url: str) -> str:
    """Maps are Folium pages: inline scripts and styles, assets from /static, tiles from the basemap."""
    basemap = urlsplit(basemap_url)
    tile_origin = f"{basemap.scheme}://{basemap.netloc.replace('{s}', '*')}" if basemap.netloc else ""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' 'unsafe-inline'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: blob: {tile_origin}".strip(),
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "frame-src 'self'",
            "frame-ancestors 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
        ]
    )


def identify() -> Identity:
    """The caller: an API token (Bearer, or HTTP Basic with the user name and the token as password) wins
    over the session cookie; a bad token is refused, not ignored."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, credential = header.partition(" ")
        if scheme.lower() == "basic":
            return _basic_identity(credential.strip())
        if scheme.lower() != "bearer" or not credential.strip():
            raise _unauthorized(
                "Send the API token as 'Authorization: Bearer <token>', or as the password of HTTP Basic "
                "with your user name."
            )
        return _token_identity(credential.strip(), via="token")
    session_secret = session.get(SESSION_SECRET)
    if isinstance(session_secret, str):
        with deps.raw_connection() as conn:
            user = user_store.user_for_token(conn, credentials.token_digest(session_secret), kind="session")
        if user:
            return _identity(user, via="session")
        session.clear()  # signed out, expired, revoked or the user disabled: nothing of it is kept
    return anonymous(public_view=deps.settings().anonymous_access)


def _token_identity(token: str, via: str, username: str | None = None) -> Identity:
    with deps.raw_connection() as conn:
        user = user_store.user_for_token(conn, credentials.token_digest(token))
    if not user or (username is not None and user["username"] != username):
        raise _unauthorized(
            "The API token is unknown, expired, revoked or not this user's. Ask an administrator for a new "
            "one (geo-app users token USERNAME)."
        )
    return _identity(user, via=via)


def _identity(user: dict, via: str) -> Identity:
    return Identity(user["username"], user["role"], user["opd"], user["id"], via, user["city_code"])


def _basic_identity(credential: str) -> Identity:
    """HTTP Basic for GIS clients that cannot send a Bearer header (QGIS, GDAL): the password is an API
    token of that user, never the sign-in password, and it is good for reading only (browsers resend
    Basic credentials on their own, so a write with them could be forged by another site)."""
    try:
        username, colon, token = base64.b64decode(credential, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        colon = ""
    if not colon or not username or not token:
        raise _unauthorized("HTTP Basic needs 'user name:API token', base64-encoded.")
    if request.method in WRITE:
        raise _unauthorized("HTTP Basic is for reading; send writes with 'Authorization: Bearer <token>'.")
    return _token_identity(token, via="basic", username=username)


def enforce_permissions():
    g.identity = identity = identify()
    if request.url_rule is None:  # 404 or 405: let routing answer
        return None
    if deps.city_in_url():
        deps.city()  # 404 for a city the deployment does not serve, before anything else is said
    roles = allowed_roles(request.url_rule.rule, request.method, request.view_args)
    if roles != EVERYONE:  # sign-in, health and static files are the same for every city
        enforce_city(identity)
    if identity.role not in roles:
        if identity.signed_in:
            raise Problem(
                403,
                "Forbidden",
                f"Your role ({identity.role}) may not {request.method} {request.path}. "
                "Ask an administrator if your work needs it.",
            )
        if request.method == "GET" and wants_html():
            # the page to return to keeps its city (/kota/<code>/...), which request.full_path leaves out
            next_page = request.script_root + request.full_path.rstrip("?")
            return redirect(url_for("auth.login", next=next_page))
        raise _unauthorized("Sign in at /login, or send an API token as 'Authorization: Bearer <token>'.")
    if request.method in WRITE and (identity.via == "session" or request.endpoint == "auth.login"):
        check_csrf()  # only a cookie is sent by the browser on its own; the sign-in form is guarded too
    if request.method in WRITE and request.is_json:
        check_json_body()
    return None


NATIONAL_PAGES = "/nasional"
READING_POSTS = ("/api/analysis/",)
"""POST endpoints that compute an answer from a request body and write nothing."""


def enforce_city(identity: Identity) -> None:
    """A user works for one city: any request for another city is answered 404, as if nothing were there,
    so a Cilegon account learns nothing of Makassar, not even what exists. National accounts read every
    city and write none; the national pages are for national accounts (and visitors the table lets in)."""
    if identity.national:
        if request.method in WRITE and not request.path.startswith(READING_POSTS):
            raise Problem(
                403,
                "Forbidden",
                "National accounts read every city and change none. Changes are made by the city's own "
                "accounts.",
                indonesian="Akun nasional hanya dapat membaca data kota.",
            )
        return
    if not identity.signed_in:
        return
    if request.path.startswith(NATIONAL_PAGES):
        raise Problem(
            403,
            "Forbidden",
            "The national pages are for national accounts; your account works for city "
            f"{identity.city_code}.",
            indonesian="Halaman nasional hanya untuk akun nasional.",
        )
    if identity.city_code != deps.city_code():
        raise Problem(404, "Not Found", DETAILS[404], indonesian=PAGE_REASONS[404])


def check_json_body() -> None:
    """Bodies nested too deeply for the parser, or geometries over the limits, never reach a view."""
    try:
        document = request.get_json(silent=True)  # cached: the view reads the same parsed body
    except RecursionError:
        raise Problem(
            400, "JSON nested too deeply", "The request body nests arrays or objects too deeply to read."
        ) from None
    if json_has_nul(document):
        raise Problem(
            400, "NUL character in the body", "Remove \\u0000 from the JSON body; text cannot hold it."
        )
    for where, geometry in geometry_limits.iter_geometries(document):
        try:
            geometry_limits.check_geojson(geometry, where)
        except geometry_limits.GeometryLimitError as exc:
            raise Problem(422, "Geometry over the limits", str(exc)) from None


MACHINE_PATHS = ("/api/", "/tiles/", "/ogc/", "/openapi.json", "/ows", "/metadata", "/csw")
"""Paths that GIS tools and scripts read: they get a 401 problem they can show, never the sign-in page."""


def wants_html() -> bool:
    if request.path == "/ogc" or request.path.startswith(MACHINE_PATHS):
        return False
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "text/html"


def csrf_token() -> str:
    """The session's CSRF token; forms send it back in a hidden field, scripts in the X-CSRF-Token header."""
    if SESSION_CSRF not in session:
        session[SESSION_CSRF] = secrets.token_urlsafe(32)
    return session[SESSION_CSRF]


def check_csrf() -> None:
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    expected = session.get(SESSION_CSRF) or ""
    if not expected or not secrets.compare_digest(sent, expected):
        raise Problem(
            400,
            "CSRF token missing or wrong",
            "Reload the page and submit the form again; scripts authenticate with an API token instead.",
        )


def _unauthorized(detail: str) -> Problem:
    problem = Problem(401, "Sign-in required", detail)
    problem.headers["WWW-Authenticate"] = 'Bearer realm="geo_app", Basic realm="geo_app"'
    return problem


def secure_response(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", current_app.config["CONTENT_SECURITY_POLICY"])
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    rule = request.url_rule.rule if request.url_rule else None
    restricted = rule is not None and not allowed_roles(rule, request.method, request.view_args) >= READERS
    headers.add("Vary", "Authorization, Cookie")  # answers may differ by role (e.g. incident counts)
    if restricted or current_identity().signed_in:
        headers["Cache-Control"] = _private(headers.get("Cache-Control"))
    if rule and not rule.startswith(DOCUMENTATION_RULES) and not can_see_personal_data():
        return withhold_personal_data(response)
    return response


def _private(cache_control: str | None) -> str:
    if not cache_control:
        return "private, no-cache"
    parts = [part.strip() for part in cache_control.split(",") if part.strip().lower() != "public"]
    return ", ".join(["private", *parts])


def withhold_personal_data(response: Response) -> Response:
    """Fail closed: a buffered answer that carries a field the role may not see is not sent.

    Decided by the answer's structure, never by the words in its values (an asset may be named
    ``caller_phone``): JSON answers by their object keys (an unreadable one is withheld), CSV answers by
    their header row. Other answers are not read: HTML pages and vector tiles show what the collection
    registry publishes, which is checked against geo_app.auth.privacy when it is built, and the binary
    exports are of assets.
    """
    if response.direct_passthrough or response.is_streamed:
        return response
    role = privacy.reading_role()
    withheld = privacy.withheld_fields(role)
    body = response.get_data()
    # a name nowhere in the bytes is no key either (JSON and CSV write ASCII names as they are)
    if not any(name.encode() in body for name in withheld):
        return response
    found = _fields_carried(response, withheld)
    if not found:
        return response
    log.error(
        "withheld a response to %s %s: it carried %s, which role %s may not see",
        request.method,
        request.path,
        ", ".join(sorted(found)),
        role,
    )
    return problem_response(
        500,
        "Response withheld",
        "This answer would have contained data your role may not see; the error is logged.",
    )


def _fields_carried(response: Response, names: frozenset[str]) -> set[str]:
    """Which of ``names`` the answer carries as JSON object keys or CSV columns."""
    if response.is_json:
        try:
            document = json.loads(response.get_data())
        except (ValueError, RecursionError):
            return set(names)  # unreadable: assume the worst
        return privacy.keys_named(document, names)
    if response.mimetype == "text/csv":
        return privacy.columns_named(response.get_data(as_text=True), names)
    return set()


def _refused_by_database(exc: psycopg.errors.InsufficientPrivilege):
    """Row-level rules in the database (an OPD editor and another OPD's asset) answer 403."""
    detail = exc.diag.message_primary or "This change is not allowed for your role."
    return problem_response(403, "Forbidden", detail)


SECURITY_SCHEMES = {
    "apiToken": {"type": "http", "scheme": "bearer", "description": "geo-app users token USERNAME"},
    "session": {"type": "apiKey", "in": "cookie", "name": "geo_app_session", "description": "from /login"},
    "apiTokenBasic": {
        "type": "http",
        "scheme": "basic",
        "description": "user name, and an API token as password (reading only; for QGIS and GDAL)",
    },
}


def openapi_access(rule: str, method: str, view_args: dict) -> dict:
    """What /openapi.json says about an operation's callers, read from the permission table."""
    roles = allowed_roles(rule, method, view_args)
    signed_in = [{"apiToken": []}, {"session": []}]
    if method not in WRITE:
        signed_in.append({"apiTokenBasic": []})
    return {
        "x-roles": [role for role in USER_ROLES if role in roles],
        "security": [{}, *signed_in] if roles >= READERS else signed_in,
    }
