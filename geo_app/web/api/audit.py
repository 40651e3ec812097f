"""/api/audit: the audit trail for administrators (who changed what, when, before and after)."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, request, url_for

from geo_app.store import audit
from geo_app.web import deps
from geo_app.web.errors import Problem
from geo_app.web.params import number, reject_unknown

blueprint = Blueprint("audit_api", __name__, url_prefix="/api")

MAX_LIMIT = 1000


def _time(name: str) -> datetime | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise Problem(
            400,
            "Invalid parameter",
            f"{name}={raw!r}: use an ISO 8601 time such as 2026-01-31T08:00:00+07:00.",
        ) from None
    if value.tzinfo is None:
        raise Problem(400, "Invalid parameter", f"{name}={raw!r}: add the time zone, e.g. +07:00.")
    return value


@blueprint.get("/audit")
def list_audit():
    """Audit entries newest first; filters entity, entity_id, actor, since, until; paged by ``after_id``."""
    reject_unknown({"entity", "entity_id", "actor", "since", "until", "after_id", "limit"})
    limit = number("limit", 100, 1, MAX_LIMIT, whole=True)
    filters = {name: request.args.get(name) for name in ("entity", "entity_id", "actor")}
    with deps.connection() as conn:
        rows = audit.entries(
            conn,
            **filters,
            since=_time("since"),
            until=_time("until"),
            after_id=number("after_id", None, 1, 2**62, whole=True),
            limit=limit,
        )
    body = {"entries": [{**row, "at": row["at"].isoformat()} for row in rows]}
    if len(rows) == limit:
        args = {k: v for k, v in request.args.items() if k != "after_id"}
        body["next"] = url_for("audit_api.list_audit", **args, after_id=rows[-1]["id"], _external=True)
    return body
