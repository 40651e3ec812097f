"""Personal data, free text and exact locations: the questions every module asks before showing them.

``INCIDENT_FIELD_ROLES`` is the one definition of which incident fields each role may see: every query,
serializer, collection and last check that touches incident rows reads it. Planners get what they plan
with (times, category, call type, location, kelurahan/kecamatan, status, responding OPD); the free text
and the call-centre number are for the 112 roles and admins, because call-takers type names, phone
numbers and house addresses into them. Caller names and phone numbers are for the same roles only.
Everyone else gets aggregates whose cells hold at least ``PUBLIC_MIN_CELL_COUNT`` incidents (smaller cells
are withheld, not rounded).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app, has_request_context

from geo_app.auth.identity import current_role
from geo_app.auth.roles import INCIDENT_READERS, PERSONAL_DATA_ROLES, STAFF_112

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


def can_see_personal_data() -> bool:
    return current_role() in PERSONAL_DATA_ROLES


def can_see_exact_incidents() -> bool:
    return current_role() in INCIDENT_READERS


def incident_fields(role: str | None = None) -> tuple[str, ...]:
    """The fields of an incident row ``role`` (default: the caller's) may see, in answer order.

    The caller is not part of an incident row: no incident answer reads incident_callers.
    """
    role = role or current_role()
    return tuple(
        name
        for name, roles in INCIDENT_FIELD_ROLES.items()
        if role in roles and name not in PERSONAL_DATA_FIELDS
    )


def incident_fields_for_all(roles: Iterable[str]) -> frozenset[str]:
    """The incident fields every one of ``roles`` may see: what an answer shared by all of them may hold."""
    return frozenset(name for name, allowed in INCIDENT_FIELD_ROLES.items() if allowed >= frozenset(roles))


def public_min_cell_count() -> int:
    """Smallest incident count a cell may show to a role that cannot see exact points."""
    if not has_request_context() or can_see_exact_incidents():
        return 1
    return current_app.config["SETTINGS"].public_min_cell_count
