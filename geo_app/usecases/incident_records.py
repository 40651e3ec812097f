"""112 incident records: list (keyset pages, newest first), read one, record one live, import a file.

Every answer holds the fields the request names and no other (the web layer passes the caller's role's
fields, geo_app.auth.privacy); every write is one transaction, rolled back whole when rows are rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

import psycopg

from geo_app.catalog import Catalog
from geo_app.city import CityContext
from geo_app.ingest import incidents as ingest
from geo_app.settings import Settings
from geo_app.store import incidents as store
from geo_app.usecases.errors import NotFound, Rejected
from geo_app.usecases.paging import Page, PageRequest, page_of


@dataclass(frozen=True)
class IncidentList:
    filters: store.IncidentFilter
    fields: tuple[str, ...]
    page: PageRequest = PageRequest()


def list_incidents(conn: psycopg.Connection, city: CityContext, request: IncidentList) -> Page[dict]:
    """One page newest first; the sort key is (received_at, id)."""
    rows = store.list_incidents(
        conn, request.filters, request.fields, request.page.limit + 1, request.page.after
    )
    return page_of(rows, request.page.limit, lambda row: (row["received_at"], row["id"]))


def get_incident(
    conn: psycopg.Connection, city: CityContext, external_id: str, fields: tuple[str, ...]
) -> dict:
    row = store.get_incident(conn, city.code, external_id, fields)
    if row is None:
        raise NotFound("incident", external_id)
    return row


@dataclass(frozen=True)
class IncidentUpload:
    """A file (or one JSON record) of incidents; ``keep_good`` writes the good rows when some are bad."""

    stream: BinaryIO
    file_format: str
    source: str
    keep_good: bool = False


def import_incidents(
    conn: psycopg.Connection, city: CityContext, settings: Settings, catalog: Catalog, upload: IncidentUpload
) -> store.ImportResult:
    """Stage, geocode, check and upsert in one transaction; Rejected (nothing written) when no row was
    written, ingest.IncidentFileError when the file cannot be read."""
    with conn.transaction():
        result = ingest.import_incidents(
            conn, settings, catalog, upload.stream, upload.file_format, upload.source, upload.keep_good
        )
        if not result.written:
            count = len(result.rejected)
            reason = f"{count} row(s) rejected, nothing written; fix them or pass keep_good=true."
            raise Rejected("Import rejected", [reason], result.as_dict())
    return result


def record_incident(
    conn: psycopg.Connection,
    city: CityContext,
    settings: Settings,
    catalog: Catalog,
    upload: IncidentUpload,
    external_id: str,
    fields: tuple[str, ...],
) -> tuple[dict, bool]:
    """One incident from the call-taker system, inserted or (same external_id) updated: its row and
    whether it is new. Rejected with the reasons when it breaks a rule."""
    try:
        result = import_incidents(conn, city, settings, catalog, upload)
    except Rejected as exc:
        rejected = exc.report["rejected"] if exc.report else []
        raise Rejected("Incident rejected", rejected[0]["reasons"] if rejected else []) from None
    return get_incident(conn, city, external_id, fields), bool(result.inserted)
