"""/api/incidents (list as GeoJSON, add one, bulk import) and /api/geocode (offline geocoder).

An incident answer carries the fields the caller's role may see (geo_app.auth.privacy) and selects no
other: planners get no free text and no call-centre number; no answer carries a caller's name or phone.
The work is done by geo_app.usecases.incident_records; these views parse the request and shape the answer.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Literal

from flask import Blueprint, request

from geo_app.auth.privacy import incident_fields, note_incident_rows
from geo_app.ingest.geocode import Geocoder
from geo_app.store import incidents as store
from geo_app.usecases import incident_records
from geo_app.usecases.incident_records import IncidentList, IncidentUpload
from geo_app.web import deps
from geo_app.web.errors import Problem
from geo_app.web.paging import Keyset, links, page_request
from geo_app.web.params import IncidentQuery, Listed, Query, parsed, reject_unknown

blueprint = Blueprint("incidents_api", __name__, url_prefix="/api")

GEOJSON = "application/geo+json"
INCIDENTS = Keyset("incidents", (datetime, int))
"""Newest first: (received_at, id) descending."""


class IncidentListQuery(IncidentQuery, Listed):
    """The incident filters and the page."""


class ImportQuery(Query):
    format: Literal["csv", "json"] | None = None
    keep_good: bool = False


def _shown_time(value: datetime | None) -> str | None:
    return value.astimezone(deps.city().timezone).isoformat() if value else None


def incident_feature(row: dict) -> dict:
    """A GeoJSON Feature of an incident row with the fields the role may see (marked for the last check)."""
    note_incident_rows()
    geometry = (
        {"type": "Point", "coordinates": [round(row["lon"], 6), round(row["lat"], 6)]}
        if row.get("lon") is not None
        else None
    )
    properties = {
        key: _shown_time(value) if key in store.TIME_FIELDS else value
        for key, value in row.items()
        if key not in {"lon", "lat"}
    }
    return {"type": "Feature", "id": row["id"], "geometry": geometry, "properties": properties}


@blueprint.get("/incidents")
def list_incidents():
    """Incidents newest first as GeoJSON, keyset-paged (``limit``, ``cursor`` from the next link)."""
    query = parsed(IncidentListQuery)
    city = deps.city()
    list_request = IncidentList(query.to_filter(city.code), incident_fields(), page_request(INCIDENTS, query))
    with deps.connection() as conn:
        page = incident_records.list_incidents(conn, city, list_request)
    body = {
        "type": "FeatureCollection",
        "features": [incident_feature(row) for row in page.items],
        "numberReturned": len(page.items),
        "links": links(page, INCIDENTS, GEOJSON),
    }
    return body, 200, {"Content-Type": GEOJSON}


@blueprint.post("/incidents")
def create_incident():
    """One incident, live from the call-taker system (JSON object); the same external_id updates it."""
    reject_unknown(set())
    record = request.get_json(silent=True)
    if not isinstance(record, dict):
        raise Problem(
            400, "Invalid body", "Send one incident as a JSON object (Content-Type application/json)."
        )
    upload = IncidentUpload(io.BytesIO(request.get_data()), "json", "api")
    external_id = str(record.get("external_id", "")).strip()
    with deps.connection() as conn:
        row, created = incident_records.record_incident(
            conn, deps.city(), deps.settings(), deps.catalog(), upload, external_id, incident_fields()
        )
    return incident_feature(row), 201 if created else 200, {"Content-Type": GEOJSON}


@blueprint.post("/incidents/import")
def import_incidents():
    """Bulk upload (CSV/JSON body or multipart ``file``): 200 with the report, or 422 and nothing written."""
    query = parsed(ImportQuery)
    upload = request.files.get("file")
    if upload is not None:
        stream, name = upload.stream, upload.filename or "upload"
    else:
        stream, name = io.BytesIO(request.get_data()), "upload"
    file_format = query.format or (
        "json"
        if (request.mimetype or "").endswith("json") or name.lower().endswith(("json", "geojson"))
        else "csv"
    )
    with deps.connection() as conn:
        result = incident_records.import_incidents(
            conn,
            deps.city(),
            deps.settings(),
            deps.catalog(),
            IncidentUpload(stream, file_format, f"api:{name}", query.keep_good),
        )
    return result.as_dict()


@blueprint.get("/geocode")
def geocode():
    """Offline geocoding of one address: point, precision (exact/street/kelurahan/none), score, the
    kelurahan and kecamatan, candidates when several places bear the name, and a note saying why the
    answer is less precise than the address looked."""
    reject_unknown({"address"})
    address = request.args.get("address", "").strip()
    if not address:
        raise Problem(
            400, "Missing parameter", "address: give the address text, e.g. Jl. Ahmad Yani, Kel. Cibeber."
        )
    with deps.connection() as conn:
        return Geocoder(conn, deps.settings()).geocode(address).as_dict()


@blueprint.get("/geocode/reverse")
def reverse_geocode():
    """The kelurahan, kecamatan and nearest street of a point."""
    reject_unknown({"lat", "lon"})
    try:
        lat, lon = float(request.args["lat"]), float(request.args["lon"])
    except (KeyError, ValueError):
        raise Problem(400, "Invalid parameter", "Give lat and lon in decimal degrees.") from None
    with deps.connection() as conn:
        return Geocoder(conn, deps.settings()).reverse(lon, lat)
