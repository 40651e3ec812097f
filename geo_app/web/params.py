"""Request parsing shared by the API: strict, with problem+json messages that say what to fix."""

from __future__ import annotations

from collections.abc import Iterable

from flask import request

from geo_app.crs import CRS84, OutsideCrs, check_box
from geo_app.web.errors import Problem

NUL = "\x00"


def reject_nul_characters() -> None:
    """PostgreSQL text cannot hold NUL (U+0000): a path, query parameter or form field carrying one is
    answered with 400 before any query is built from it."""
    texts = [request.path, *(text for pair in request.args.items(multi=True) for text in pair)]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        texts += [text for pair in request.form.items(multi=True) for text in pair]
    if any(NUL in text for text in texts):
        raise Problem(
            400,
            "NUL character in the request",
            "Remove the NUL character (%00) from the path, query parameters or form fields; text cannot "
            "hold it.",
        )


def json_has_nul(document: object) -> bool:
    """Whether a key or string anywhere in a parsed JSON document holds NUL (walked without recursion)."""
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and NUL in item:
            return True
        if isinstance(item, dict):
            pending.extend([*item.keys(), *item.values()])
        elif isinstance(item, list):
            pending.extend(item)
    return False


def reject_unknown(allowed: Iterable[str]) -> None:
    """Unknown parameters are answered with 400, so a typo is never silently ignored."""
    allowed = set(allowed)
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        raise Problem(
            400,
            "Unknown query parameter",
            f"Unknown parameter(s): {', '.join(unknown)}. Allowed: {', '.join(sorted(allowed))}.",
            indonesian=f"Alamat halaman memuat isian yang tidak dikenal: {', '.join(unknown)}.",
        )


def choice(name: str, options: Iterable[str], default: str | None = None) -> str | None:
    value = request.args.get(name, default)
    options = list(options)
    if value is not None and value not in options:
        raise Problem(
            400,
            "Invalid parameter",
            f"{name}={value!r}: use one of {', '.join(options)}.",
            indonesian=f"Nilai {name} «{value}» tidak dikenal; pilih salah satu: {', '.join(options)}.",
        )
    return value


def number(
    name: str, default: float | None, minimum: float, maximum: float | None = None, *, whole: bool = False
) -> float | int | None:
    """A numeric parameter within [minimum, maximum] (whole numbers only with ``whole``)."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        value = None
    if value is None or value != value or value < minimum or (maximum is not None and value > maximum):
        kind = "a whole number" if whole else "a number"
        bounds = f"from {minimum:g} to {maximum:g}" if maximum is not None else f"of at least {minimum:g}"
        raise Problem(400, "Invalid parameter", f"{name}={raw!r}: give {kind} {bounds}.")
    return value


def bbox() -> tuple[float, float, float, float] | None:
    """The ``bbox`` parameter as (min_lon, min_lat, max_lon, max_lat), corners in that order."""
    raw = request.args.get("bbox")
    if raw is None:
        return None
    try:
        values = tuple(float(part) for part in raw.split(","))
    except ValueError:
        values = ()
    problem = "" if len(values) == 4 else "four numbers are needed"
    if not problem:
        try:
            check_box(values, CRS84)
        except OutsideCrs as exc:
            problem = str(exc)
    if problem:
        raise Problem(
            400,
            "Invalid parameter",
            f"bbox={raw!r}: {problem}; give min_lon,min_lat,max_lon,max_lat in degrees "
            "(e.g. 105.9,-6.1,106.1,-5.9).",
        )
    return values
