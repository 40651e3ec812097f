"""THE permission table: which roles may call which endpoint with which method.

One rule per line: a URL-rule pattern (``fnmatch`` on the Flask rule string, e.g. ``/api/assets/<int:id>``),
the methods, the roles, and optionally view-argument patterns (e.g. the OGC collection ``incidents*``).
The first matching rule decides. An endpoint no rule matches is for admins only, so a forgotten endpoint is
closed, not open; ``tests/test_permissions.py`` walks every registered endpoint and names the unlisted ones.
HEAD is answered like GET; OPTIONS is open (it only lists the allowed methods).

Enforced in one place: ``geo_app.web.access`` (a ``before_request`` hook). Row-level rules that depend on
the data (an opd_editor edits only its own OPD's assets) are enforced by the database, see migration 0007.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from geo_app.auth.roles import (
    ADMINS,
    ASSET_EDITORS,
    EVERYONE,
    GREEN_EDITORS,
    INCIDENT_READERS,
    PLANNERS,
    READERS,
    STAFF,
    STAFF_112,
    SUPERVISOR_112,
)

READ = frozenset({"GET", "HEAD"})
WRITE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
POST = frozenset({"POST"})
ANY = READ | WRITE

INCIDENT_COLLECTIONS = {"collection*": "incidents*"}
"""OGC collections and tile layers that show incidents as points."""


@dataclass(frozen=True)
class Rule:
    pattern: str
    methods: frozenset[str]
    roles: frozenset[str]
    view_args: Mapping[str, str] = field(default_factory=dict)

    def matches(self, rule: str, method: str, view_args: Mapping[str, object] | None) -> bool:
        if method not in self.methods or not fnmatchcase(rule, self.pattern):
            return False
        return all(
            any(
                fnmatchcase(name, name_glob) and fnmatchcase(str(value), value_glob)
                for name, value in (view_args or {}).items()
            )
            for name_glob, value_glob in self.view_args.items()
        )


PERMISSIONS: tuple[Rule, ...] = (
    # Always reachable: health checks, static files, sign-in.
    Rule("/healthz", READ, EVERYONE),
    Rule("/readyz", READ, EVERYONE),
    Rule("/static/<path:filename>", READ, EVERYONE),
    Rule("/login", READ | POST, EVERYONE),
    Rule("/login/link/<token>", READ, EVERYONE),
    Rule("/logout", POST, EVERYONE),
    Rule("/api/me", READ, EVERYONE),
    # Public view (anonymous visitors too, unless ANONYMOUS_ACCESS is off).
    Rule("/", READ, READERS),
    Rule("/api/areas", READ, READERS),
    Rule("/openapi.json", READ, READERS),
    Rule("/docs*", READ, READERS),
    # Assets: everyone reads; admins and OPD editors (own OPD only, enforced in the database) write.
    Rule("/api/assets", READ, READERS),
    Rule("/api/assets/*", READ, READERS),
    Rule("/api/assets", WRITE, ASSET_EDITORS),
    Rule("/api/assets/*", WRITE, ASSET_EDITORS),
    Rule("/api/analysis/coverage*", READ | POST, READERS),
    Rule("/api/analysis/siting*", READ | POST, PLANNERS),
    Rule("/maps/areas", READ, READERS),
    Rule("/maps/coverage", READ, READERS),
    # Green areas: everyone reads; the environment office writes.
    Rule("/api/green-areas", READ, READERS),
    Rule("/api/green-areas/*", READ, READERS),
    Rule("/api/green-areas", WRITE, GREEN_EDITORS),
    Rule("/api/green-areas/*", WRITE, GREEN_EDITORS),
    Rule("/api/analysis/green*", READ | POST, READERS),
    Rule("/maps/green", READ, READERS),
    # 112 incidents: exact points for 112 staff and planners; the 112 line writes; bulk imports by
    # supervisors. The public sees incidents only aggregated (see geo_app.auth.privacy).
    Rule("/api/incidents/counts", READ, READERS),
    Rule("/api/incidents/import*", POST, frozenset({"admin", SUPERVISOR_112})),
    Rule("/api/incidents", READ, INCIDENT_READERS),
    Rule("/api/incidents/*", READ, INCIDENT_READERS),
    Rule("/api/incidents", WRITE, STAFF_112),
    Rule("/api/incidents/*", WRITE, STAFF_112),
    Rule("/api/geocode*", READ, STAFF),
    Rule("/api/analysis/hotspots*", READ | POST, INCIDENT_READERS),
    Rule("/api/analysis/emerging*", READ | POST, INCIDENT_READERS),
    Rule("/api/analysis/response*", READ | POST, INCIDENT_READERS),
    Rule("/maps/hotspots", READ, INCIDENT_READERS),
    Rule("/maps/incidents", READ, INCIDENT_READERS),
    Rule("/briefing", READ, STAFF_112),
    # Monthly reports: everyone; the 112 report holds exact figures only for INCIDENT_READERS.
    Rule("/reports/<group>", READ, READERS),
    # OGC API and vector tiles: everything public except the incident collections.
    Rule("/ogc*", READ, INCIDENT_READERS, INCIDENT_COLLECTIONS),
    Rule("/tiles/*", READ, INCIDENT_READERS, INCIDENT_COLLECTIONS),
    Rule("/ogc", READ, READERS),
    Rule("/ogc/*", READ, READERS),
    Rule("/tiles/*", READ, READERS),
    # WMS/WFS: the public map for everyone; the incident points only in the map of INCIDENT_READERS
    # (decided in geo_app.web.ows by the OGC rule of the incidents collection above).
    Rule("/ows", READ, READERS),
    Rule("/metadata*", READ, READERS),
    # The CSW catalogue: read operations, which CSW also sends as POSTed XML (geo_app.web.csw refuses
    # Transaction and Harvest).
    Rule("/csw", READ | POST, READERS),
    # National dashboard: the league of every city, for the national office's administrators.
    Rule("/nasional*", READ, ADMINS),
    # Administration.
    Rule("/api/audit", READ, ADMINS),
    Rule("/api/users*", ANY, ADMINS),
)

DEFAULT_ROLES = ADMINS
"""Who may call an endpoint that no rule lists."""


def find_rule(rule: str, method: str, view_args: Mapping[str, object] | None = None) -> Rule | None:
    method = "GET" if method == "HEAD" else method
    return next((entry for entry in PERMISSIONS if entry.matches(rule, method, view_args)), None)


def allowed_roles(rule: str, method: str, view_args: Mapping[str, object] | None = None) -> frozenset[str]:
    """The roles that may call ``method`` on the endpoint with URL rule ``rule``."""
    if method == "OPTIONS":
        return EVERYONE
    entry = find_rule(rule, method, view_args)
    return entry.roles if entry else DEFAULT_ROLES


def is_allowed(role: str, rule: str, method: str, view_args: Mapping[str, object] | None = None) -> bool:
    return role in allowed_roles(rule, method, view_args)


def unlisted(rules: Iterable[tuple[str, Iterable[str]]]) -> list[str]:
    """``"METHOD rule"`` for each (rule, methods) pair that no entry of the table lists explicitly."""
    missing = []
    for rule, methods in rules:
        for method in sorted(set(methods) - {"HEAD", "OPTIONS"}):
            if not any(method in entry.methods and fnmatchcase(rule, entry.pattern) for entry in PERMISSIONS):
                missing.append(f"{method} {rule}")
    return missing
