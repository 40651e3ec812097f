"""Personal data and exact locations: the questions every module asks before showing them.

Caller names and phone numbers are for the 112 roles and admins only; exact incident points are for the
roles in INCIDENT_READERS; everyone else gets counts over whole calendar months that are sums of cells
(kelurahan × month × category × call type) holding at least ``PUBLIC_MIN_CELL_COUNT`` incidents; smaller
cells are left out of every sum (geo_app.store.incident_counts), so no difference of answers shows them.
"""

from __future__ import annotations

from flask import current_app, has_request_context

from geo_app.auth.identity import current_role
from geo_app.auth.roles import INCIDENT_READERS, PERSONAL_DATA_ROLES

PERSONAL_DATA_FIELDS = ("caller_name", "caller_phone")


def can_see_personal_data() -> bool:
    return current_role() in PERSONAL_DATA_ROLES


def can_see_exact_incidents() -> bool:
    return current_role() in INCIDENT_READERS


def public_min_cell_count() -> int:
    """Smallest incident count a cell may show to a role that cannot see exact points."""
    if not has_request_context() or can_see_exact_incidents():
        return 1
    return current_app.config["SETTINGS"].public_min_cell_count
