"""The roles of geo_app and the groups the permission table is written with.

``anonymous`` is not a role a user can have: it is what a visitor without a session or token gets when
``ANONYMOUS_ACCESS`` is off (with it on, such a visitor gets ``public``).
"""

from __future__ import annotations

ADMIN = "admin"
PERENCANA = "perencana"
SUPERVISOR_112 = "supervisor_112"
CALL_TAKER_112 = "call_taker_112"
DLH = "dlh"
OPD_EDITOR = "opd_editor"
PUBLIC = "public"
ANONYMOUS = "anonymous"

USER_ROLES = (ADMIN, PERENCANA, SUPERVISOR_112, CALL_TAKER_112, DLH, OPD_EDITOR, PUBLIC)
ALL_ROLES = (*USER_ROLES, ANONYMOUS)

EVERYONE = frozenset(ALL_ROLES)
"""Open even when anonymous visitors are not given the public view (sign-in page, health, static files)."""
READERS = frozenset(USER_ROLES)
"""Anyone with at least the public view."""
STAFF = frozenset(USER_ROLES) - {PUBLIC}
STAFF_112 = frozenset({ADMIN, SUPERVISOR_112, CALL_TAKER_112})
INCIDENT_READERS = STAFF_112 | {PERENCANA}
"""Roles that see incidents as exact points (never callers' personal data, except STAFF_112)."""
ASSET_EDITORS = frozenset({ADMIN, OPD_EDITOR})
PLANNERS = frozenset({ADMIN, PERENCANA, OPD_EDITOR})
GREEN_EDITORS = frozenset({ADMIN, DLH})
ADMINS = frozenset({ADMIN})

PERSONAL_DATA_ROLES = STAFF_112
"""Only these roles ever see a caller's name or phone number."""
