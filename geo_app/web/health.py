"""Liveness and readiness: /healthz says the process is up, /readyz that it can do real work."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from geo_app.db import migrate

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz():
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz():
    settings = current_app.config["SETTINGS"]
    checks: dict[str, str] = {}
    try:
        with current_app.extensions["db_pool"].connection() as conn:
            conn.execute("SELECT 1")
            checks["database"] = "ok"
            current = migrate.is_current(conn, settings.database_url)
        checks["migrations"] = "ok" if current else "pending: run geo-app migrate"
    except Exception as exc:  # any failure here means "not ready", reported, never raised
        checks.setdefault("database", f"unreachable ({type(exc).__name__})")
    ready = all(value == "ok" for value in checks.values())
    response = jsonify(status="ready" if ready else "not ready", checks=checks)
    response.status_code = 200 if ready else 503
    if not ready:
        response.headers["Retry-After"] = "5"
    return response
