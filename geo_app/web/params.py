"""Query-string parsing shared by the API: strict, with problem+json messages that say what to fix."""

from __future__ import annotations

from collections.abc import Iterable

from flask import request

from geo_app.web.errors import Problem


def reject_unknown(allowed: Iterable[str]) -> None:
    """Unknown parameters are answered with 400, so a typo is never silently ignored."""
    allowed = set(allowed)
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        raise Problem(
            400,
            "Unknown query parameter",
            f"Unknown parameter(s): {', '.join(unknown)}. Allowed: {', '.join(sorted(allowed))}.",
        )


def choice(name: str, options: Iterable[str], default: str | None = None) -> str | None:
    value = request.args.get(name, default)
    options = list(options)
    if value is not None and value not in options:
        raise Problem(400, "Invalid parameter", f"{name}={value!r}: use one of {', '.join(options)}.")
    return value
