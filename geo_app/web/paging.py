"""One paging style for every list of the API: ``limit`` and an opaque ``cursor`` from the ``next`` link.

A cursor is the sort key of the last item of a page (geo_app.usecases.paging), base64url-encoded JSON that
also names its list, so a cursor of another list or a hand-made one is a 400 saying to follow the links.
The paging names used before (``after`` on assets and green areas, ``after_id`` on the audit trail) are
still read for one release: such an answer carries ``Deprecation`` and a ``Link`` to the same request in
the cursor form. (OGC API – Features lists keep the standard's own ``offset`` and ``cursor``,
geo_app.ogc.core.)
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import g, request, url_for

from geo_app.usecases.paging import Page, PageRequest
from geo_app.web.errors import Problem
from geo_app.web.params import Listed

DEPRECATED_SINCE = datetime(2026, 12, 1, tzinfo=UTC)
"""When ``after``/``after_id`` gave way to ``cursor`` (the ``Deprecation`` header's date)."""
DEPRECATION_DOC = "/api/docs#paging"


@dataclass(frozen=True)
class Keyset:
    """The order of one list: its name and the types of its sort key (int, or datetime as ISO text)."""

    name: str
    types: tuple[type, ...]

    def encode(self, key: tuple) -> str:
        values = [value.isoformat() if isinstance(value, datetime) else value for value in key]
        text = json.dumps({"list": self.name, "key": values}, separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def decode(self, cursor: str) -> tuple:
        """The sort key in ``cursor``; a 400 when it is not a cursor of this list."""
        try:
            payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            values = payload["key"]
            if payload["list"] != self.name or len(values) != len(self.types):
                raise ValueError
            return tuple(
                datetime.fromisoformat(value) if kind is datetime else kind(value)
                for kind, value in zip(self.types, values, strict=True)
            )
        except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
            raise Problem(
                400,
                "Invalid parameter",
                f"cursor={cursor!r}: not a position in this list; follow the next link of the previous page, "
                "or leave cursor out to start from the first page.",
                indonesian="Penanda halaman tidak dikenal; buka halaman pertama daftar ini lagi.",
                parameters=["cursor"],
            ) from None


def page_request(keyset: Keyset, query: Listed, alias: str | None = None) -> PageRequest:
    """Where the page starts: ``cursor``, or the deprecated id parameter ``alias`` of ``query``."""
    old = getattr(query, alias) if alias else None
    if query.cursor is not None and old is not None:
        raise Problem(
            400, "Invalid parameter", f"Use cursor (from the next link) without {alias}.", parameters=[alias]
        )
    if query.cursor is not None:
        return PageRequest(query.limit, keyset.decode(query.cursor))
    if old is not None:
        g.deprecated_paging = (alias, keyset.encode((old,)))
        return PageRequest(query.limit, (old,))
    return PageRequest(query.limit)


def _url(cursor: str, dropped: str | None = None) -> str:
    args = {key: values for key, values in request.args.lists() if key not in {"cursor", dropped}}
    return url_for(request.endpoint, **(request.view_args or {}), **args, cursor=cursor)


def links(page: Page, keyset: Keyset, media_type: str) -> list[dict]:
    """``self`` and, when more follow, ``next``: the same request (filters and limit) at the next cursor."""
    found = [{"rel": "self", "href": request.full_path.rstrip("?"), "type": media_type}]
    if page.next_key is not None:
        href = _url(keyset.encode(page.next_key), deprecated_alias())
        found.append({"rel": "next", "href": href, "type": media_type})
    return found


def deprecated_alias() -> str | None:
    return g.deprecated_paging[0] if "deprecated_paging" in g else None


def deprecation_headers() -> dict[str, str]:
    """``Deprecation`` (RFC 9745) and ``Link`` to the cursor form when the request paged the old way."""
    if "deprecated_paging" not in g:
        return {}
    alias, cursor = g.deprecated_paging
    successor = _url(cursor, alias)
    return {
        "Deprecation": f"@{int(DEPRECATED_SINCE.timestamp())}",
        "Link": f'<{successor}>; rel="alternate", <{DEPRECATION_DOC}>; rel="deprecation"',
    }
