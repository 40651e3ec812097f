"""/api/audit: the audit trail for administrators (who changed what, when, before and after)."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint
from pydantic import Field, field_validator

from geo_app.usecases.audit import AuditList, audit_entries
from geo_app.web import deps
from geo_app.web.paging import Keyset, deprecation_headers, links, page_request
from geo_app.web.params import Listed, parsed

blueprint = Blueprint("audit_api", __name__, url_prefix="/api")

AUDIT = Keyset("audit", (int,))
"""By entry id, newest first."""


class AuditQuery(Listed):
    entity: str | None = None
    entity_id: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after_id: int | None = Field(None, ge=1, description="Deprecated: use cursor from the next link.")

    @field_validator("since", "until")
    @classmethod
    def _zoned(cls, value: datetime | None):
        if value is not None and value.tzinfo is None:
            raise ValueError("add the time zone, e.g. 2026-01-31T08:00:00+07:00")
        return value


@blueprint.get("/audit")
def list_audit():
    """Audit entries newest first; filters entity, entity_id, actor, since, until; keyset pages (``next``)."""
    query = parsed(AuditQuery)
    request_ = AuditList(
        query.entity,
        query.entity_id,
        query.actor,
        query.since,
        query.until,
        page_request(AUDIT, query, alias="after_id"),
    )
    with deps.connection() as conn:
        page = audit_entries(conn, request_)
    body = {
        "entries": [{**row, "at": row["at"].isoformat()} for row in page.items],
        "links": links(page, AUDIT, "application/json"),
    }
    following = [link["href"] for link in body["links"] if link["rel"] == "next"]
    if following:
        body["next"] = following[0]
    return body, 200, deprecation_headers()
