"""/api/incidents (list as GeoJSON, add one, bulk import) and /api/geocode (offline geocoder).

An incident answer carries the fields the caller's role may see (geo_app.auth.privacy) and selects no
other: planners get no free text and no call-centre number; no answer carries a caller's name or phone.
"""

from __future__ import annotations

import base64
import io
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, request, url_for

from geo_app.auth.privacy import incident_fields, note_incident_rows
from geo_app.dates import DateOutOfRange, check_in_range
from geo_app.ingest import incidents as ingest
from geo_app.ingest.geocode import Geocoder
from geo_app.store import incidents as store
from geo_app.web import deps
from geo_app.web.errors import Problem
from geo_app.web.params import bbox, reject_unknown

blueprint = Blueprint("incidents_api", __name__, url_prefix="/api")

FILTER_PARAMS = {"start", "end", "category", "call_type", "kecamatan", "kelurahan", "bbox"}
MAX_LIMIT = 1000
MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")


def _list_param(name: str, allowed: list[str] | None = None) -> tuple[str, ...]:
    values = tuple(
        value.strip() for raw in request.args.getlist(name) for value in raw.split(",") if value.strip()
    )
    if allowed is not None:
        unknown = [value for value in values if value not in allowed]
        if unknown:
            raise Problem(
                400, "Invalid parameter", f"{name}: unknown {', '.join(unknown)}; use {', '.join(allowed)}."
            )
    return values


def _time_param(name: str, end_of_day: bool, zone: ZoneInfo) -> datetime | None:
    """A month (2026-10) or a date (2026-10-31), whole in ``zone`` (``end`` includes it), or an ISO
    date-time; dates outside the span the service handles (geo_app.dates) are a 400."""
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        if MONTH.fullmatch(raw):
            first = datetime(int(raw[:4]), int(raw[5:]), 1, tzinfo=zone)
            check_in_range(first, name)
            return (first + timedelta(days=31)).replace(day=1) if end_of_day else first
        value = date.fromisoformat(raw) if len(raw) == 10 else datetime.fromisoformat(raw)
        check_in_range(value, name)
    except DateOutOfRange as exc:
        raise Problem(
            400, "Invalid parameter", str(exc), indonesian=f"Tanggal {raw} di luar rentang yang dilayani."
        ) from None
    except ValueError:
        raise Problem(
            400,
            "Invalid parameter",
            f"{name}={raw!r}: use a month (2026-10), a date (2026-10-31) or an ISO date-time.",
            indonesian=f"Tanggal «{raw}» tidak dapat dibaca; tulis seperti 2026-10-31.",
        ) from None
    if isinstance(value, datetime):
        return value.astimezone(zone) if value.tzinfo else value.replace(tzinfo=zone)
    day = value + timedelta(days=1 if end_of_day else 0)
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def incident_filter(default_call_types: tuple[str, ...] = ()) -> store.IncidentFilter:
    """The shared filters of the incident list and every 112 analysis, from the query string; months and
    dates are read in the city's own time zone."""
    catalog = deps.catalog()
    city = deps.city()
    start, end = _time_param("start", False, city.timezone), _time_param("end", True, city.timezone)
    if start and end and start >= end:
        raise Problem(
            400,
            "Invalid parameter",
            "start must be before end.",
            indonesian="Tanggal awal harus sebelum tanggal akhir: tukar keduanya atau pilih periode lain.",
        )
    return store.IncidentFilter(
        city_code=city.code,
        start=start,
        end=end,
        categories=_list_param("category", list(catalog.incident_categories)),
        call_types=_list_param("call_type", list(catalog.call_types)) or default_call_types,
        kecamatan=_list_param("kecamatan"),
        kelurahan=_list_param("kelurahan"),
        bbox=bbox(),
    )


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


def _encode_cursor(row: dict) -> str:
    return base64.urlsafe_b64encode(f"{row['received_at'].isoformat()}|{row['id']}".encode()).decode()


def _decode_cursor(raw: str) -> tuple[datetime, int]:
    try:
        moment, incident_id = base64.urlsafe_b64decode(raw.encode()).decode().split("|")
        return datetime.fromisoformat(moment), int(incident_id)
    except (ValueError, UnicodeDecodeError):
        raise Problem(
            400, "Invalid parameter", "cursor: use the value from the previous page's next link."
        ) from None


@blueprint.get("/incidents")
def list_incidents():
    """Incidents newest first as GeoJSON, keyset-paged (``limit``, ``cursor`` from the next link)."""
    reject_unknown(FILTER_PARAMS | {"limit", "cursor"})
    filters = incident_filter()
    try:
        limit = int(request.args.get("limit", 100))
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise Problem(400, "Invalid parameter", f"limit: a whole number from 1 to {MAX_LIMIT}.")
    after = _decode_cursor(request.args["cursor"]) if request.args.get("cursor") else None
    with deps.connection() as conn:
        rows = store.list_incidents(conn, filters, incident_fields(), limit + 1, after)
    page, more = rows[:limit], len(rows) > limit
    links = []
    if more:
        query = {key: value for key, value in request.args.items() if key != "cursor"}
        next_url = url_for("incidents_api.list_incidents", cursor=_encode_cursor(page[-1]), **query)
        links.append({"rel": "next", "href": next_url, "type": "application/geo+json"})
    body = {
        "type": "FeatureCollection",
        "features": [incident_feature(row) for row in page],
        "numberReturned": len(page),
        "links": links,
    }
    return body, 200, {"Content-Type": "application/geo+json"}


def _run_import(stream, file_format: str, source: str, keep_good: bool) -> store.ImportResult:
    with deps.connection() as conn, conn.transaction():
        try:
            result = ingest.import_incidents(
                conn, deps.settings(), deps.catalog(), stream, file_format, source, keep_good
            )
        except ingest.IncidentFileError as exc:
            raise Problem(400, "Unreadable import file", str(exc)) from None
        if not result.written:
            raise _Rejected(result)
    return result


class _Rejected(Exception):
    """Leaves the transaction block (rolling back) and carries the report out."""

    def __init__(self, result: store.ImportResult):
        self.result = result


@blueprint.post("/incidents")
def create_incident():
    """One incident, live from the call-taker system (JSON object); the same external_id updates it."""
    reject_unknown(set())
    record = request.get_json(silent=True)
    if not isinstance(record, dict):
        raise Problem(
            400, "Invalid body", "Send one incident as a JSON object (Content-Type application/json)."
        )
    payload = io.BytesIO(request.get_data())
    try:
        result = _run_import(payload, "json", "api", keep_good=False)
    except _Rejected as rejected:
        reasons = rejected.result.rejected[0]["reasons"] if rejected.result.rejected else []
        raise Problem(422, "Incident rejected", "; ".join(reasons), reasons=reasons) from None
    with deps.connection() as conn:
        external_id = str(record.get("external_id", "")).strip()
        row = store.get_incident(conn, deps.city_code(), external_id, incident_fields())
    status = 201 if result.inserted else 200
    return incident_feature(row), status, {"Content-Type": "application/geo+json"}


@blueprint.post("/incidents/import")
def import_incidents():
    """Bulk upload (CSV/JSON body or multipart ``file``): 200 with the report, or 422 and nothing written."""
    reject_unknown({"format", "keep_good"})
    keep_good = request.args.get("keep_good", "false").lower() in {"1", "true", "yes"}
    upload = request.files.get("file")
    if upload is not None:
        stream, name = upload.stream, upload.filename or "upload"
    else:
        stream, name = io.BytesIO(request.get_data()), "upload"
    file_format = request.args.get("format") or (
        "json"
        if (request.mimetype or "").endswith("json") or name.lower().endswith(("json", "geojson"))
        else "csv"
    )
    if file_format not in {"csv", "json"}:
        raise Problem(400, "Invalid parameter", "format: use csv or json.")
    try:
        result = _run_import(stream, file_format, f"api:{name}", keep_good)
    except _Rejected as rejected:
        raise Problem(
            422,
            "Import rejected",
            f"{len(rejected.result.rejected)} row(s) rejected, nothing written; fix them or pass "
            "keep_good=true.",
            report=rejected.result.as_dict(),
        ) from None
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
