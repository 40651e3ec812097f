"""Personal data, free text and exact locations: the questions every module asks before showing them.

``INCIDENT_FIELD_ROLES`` is the one definition of which incident fields each role may see: every query,
serializer, collection and last check that touches incident rows reads it. Planners get what they plan
with (times, category, call type, location, kelurahan/kecamatan, status, responding OPD); the free text
and the call-centre number are for the 112 roles and admins, because call-takers type names, phone
numbers and house addresses into them. Caller names and phone numbers are for the same roles only.
National accounts read incidents as planners do, whatever their role (:func:`reading_role`).
Everyone else gets counts over whole calendar months that are sums of cells (kelurahan × month × category
× call type) holding at least ``PUBLIC_MIN_CELL_COUNT`` incidents; smaller cells are left out of every
sum (geo_app.store.incident_counts), so no difference of answers shows them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from flask import current_app, g, has_request_context

from geo_app.auth.identity import current_identity
from geo_app.auth.roles import INCIDENT_READERS, PERENCANA, PERSONAL_DATA_ROLES, STAFF_112

PERSONAL_DATA_FIELDS = ("caller_name", "caller_phone")

INCIDENT_FIELD_ROLES: dict[str, frozenset[str]] = {
    "id": INCIDENT_READERS,
    "external_id": STAFF_112,  # the call-centre number leads back to the caller's record
    "call_type": INCIDENT_READERS,
    "category": INCIDENT_READERS,
    "description": STAFF_112,  # free text typed during the call
    "address": STAFF_112,  # free text, often the caller's own house
    "lon": INCIDENT_READERS,
    "lat": INCIDENT_READERS,
    "geocode_precision": INCIDENT_READERS,
    "geocode_source": INCIDENT_READERS,
    "geocode_score": INCIDENT_READERS,
    "kelurahan_code": INCIDENT_READERS,
    "kelurahan_name": INCIDENT_READERS,
    "kecamatan_code": INCIDENT_READERS,
    "kecamatan_name": INCIDENT_READERS,
    "received_at": INCIDENT_READERS,
    "dispatched_at": INCIDENT_READERS,
    "arrived_at": INCIDENT_READERS,
    "closed_at": INCIDENT_READERS,
    "status": INCIDENT_READERS,
    "responding_opd": INCIDENT_READERS,
    "caller_name": PERSONAL_DATA_ROLES,  # kept apart in incident_callers
    "caller_phone": PERSONAL_DATA_ROLES,
}
"""Every field of an incident, in the order answers list them, and the roles that may see it."""


def reading_role() -> str:
    """The role whose incident rights apply to the request. A national account oversees cities and
    handles none of their calls: whatever its role, it reads incidents as a planner does (no free text,
    no call-centre numbers, no callers)."""
    identity = current_identity()
    if identity.national and identity.role in STAFF_112:
        return PERENCANA
    return identity.role


def can_see_personal_data() -> bool:
    return reading_role() in PERSONAL_DATA_ROLES


def can_see_exact_incidents() -> bool:
    return reading_role() in INCIDENT_READERS


def incident_fields(role: str | None = None) -> tuple[str, ...]:
    """The fields of an incident row ``role`` (default: the caller's) may see, in answer order.

    The caller is not part of an incident row: no incident answer reads incident_callers.
    """
    role = role or reading_role()
    return tuple(
        name
        for name, roles in INCIDENT_FIELD_ROLES.items()
        if role in roles and name not in PERSONAL_DATA_FIELDS
    )


def incident_fields_for_all(roles: Iterable[str]) -> frozenset[str]:
    """The incident fields every one of ``roles`` may see: what an answer shared by all of them may hold."""
    return frozenset(name for name, allowed in INCIDENT_FIELD_ROLES.items() if allowed >= frozenset(roles))


def note_incident_rows() -> None:
    """Mark the answer being built as carrying incident rows, for the last check (:func:`withheld_fields`)."""
    if has_request_context():
        g.incident_rows = True


def withheld_fields(role: str) -> frozenset[str]:
    """Field names no answer to ``role`` may carry as a key: caller fields in any answer, and the incident
    fields the role may not see in an answer marked by :func:`note_incident_rows`."""
    withheld = {name for name in PERSONAL_DATA_FIELDS if role not in INCIDENT_FIELD_ROLES[name]}
    if has_request_context() and g.get("incident_rows"):
        withheld |= {name for name, roles in INCIDENT_FIELD_ROLES.items() if role not in roles}
    return frozenset(withheld)


def keys_named(document: object, names: frozenset[str]) -> set[str]:
    """Which of ``names`` occur as an object key anywhere in a parsed JSON document (values are not read)."""
    found, pending = set(), [document]
    while pending:  # a loop, not recursion: the document may nest as deep as the parser allowed
        node = pending.pop()
        if isinstance(node, dict):
            found |= names.intersection(node)
            pending.extend(value for value in node.values() if isinstance(value, dict | list))
        elif isinstance(node, list):
            pending.extend(value for value in node if isinstance(value, dict | list))
    return found


def columns_named(csv_text: str, names: frozenset[str]) -> set[str]:
    """Which of ``names`` are columns in the header row of a CSV text (data rows are not read)."""
    header = next(csv.reader(io.StringIO(csv_text)), [])
    return names.intersection(column.strip() for column in header)


def public_min_cell_count() -> int:
    """Smallest incident count a cell may show to a role that cannot see exact points."""
    if not has_request_context() or can_see_exact_incidents():
        return 1
    return current_app.config["SETTINGS"].public_min_cell_count
