"""Who is asking: the identity the access hook puts on ``flask.g`` for the rest of the request.

Other modules ask through the helpers here and in geo_app.auth.privacy, never by reading ``g`` themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, has_request_context

from geo_app.auth.roles import ANONYMOUS, PUBLIC


@dataclass(frozen=True)
class Identity:
    username: str
    role: str
    opd: str | None = None
    user_id: int | None = None
    via: str = "anonymous"
    """How the request proved it: ``session`` (cookie, CSRF applies), ``token`` (Bearer), ``basic``
    (HTTP Basic with an API token, reading only) or ``anonymous``."""
    city_code: str | None = None
    """The one city a user works for; None for visitors and for national accounts."""

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None

    @property
    def national(self) -> bool:
        """An account of the national office: reads every city, writes none."""
        return self.signed_in and self.city_code is None


def anonymous(public_view: bool) -> Identity:
    return Identity(username="anonymous", role=PUBLIC if public_view else ANONYMOUS)


SYSTEM = Identity(username="system", role="admin", via="system")
"""Work outside a web request (command line, tests calling store functions)."""


def current_identity() -> Identity:
    if not has_request_context():
        return SYSTEM
    return g.get("identity") or anonymous(public_view=False)


def current_role() -> str:
    return current_identity().role
