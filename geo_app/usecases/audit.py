"""The audit trail for administrators: who changed what and when, newest first, in keyset pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from geo_app.store import audit
from geo_app.usecases.paging import Page, PageRequest, page_of


@dataclass(frozen=True)
class AuditList:
    entity: str | None = None
    entity_id: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    page: PageRequest = PageRequest()


def audit_entries(conn: psycopg.Connection, request: AuditList) -> Page[dict]:
    """One page newest first; the sort key is the entry id (descending). The trail is the database's,
    shared by every city it holds."""
    rows = audit.entries(
        conn,
        entity=request.entity,
        entity_id=request.entity_id,
        actor=request.actor,
        since=request.since,
        until=request.until,
        after_id=request.page.after[0] if request.page.after else None,
        limit=request.page.limit + 1,
    )
    return page_of(rows, request.page.limit, lambda row: (row["id"],))
