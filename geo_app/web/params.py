"""Request parsing shared by the API: strict, with problem+json messages that say what to fix.

A view's query parameters are a pydantic model (:class:`Query`): ``parsed(Model)`` reads them (lists as
repeated or comma-separated values), rejects unknown ones and answers a wrong value with a 400 that names
the parameter and says what to give. The shared models live here: :class:`Listed` (``limit`` and
``cursor``, geo_app.web.paging) and :class:`IncidentQuery` (the filters of the incident list and of every
112 analysis).
"""

from __future__ import annotations

import re
import typing
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Annotated, ClassVar, TypeVar

from flask import request
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from geo_app.city import CityContext
from geo_app.crs import CRS84, OutsideCrs, check_box
from geo_app.dates import DateOutOfRange, check_in_range
from geo_app.store import green as green_store
from geo_app.store.incidents import IncidentFilter
from geo_app.usecases import green as green_usecases
from geo_app.web import deps
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
    try:
        return _bbox_value(raw)
    except ValueError as exc:
        raise Problem(
            400, "Invalid parameter", f"bbox={raw!r}: {exc} (e.g. 105.9,-6.1,106.1,-5.9)."
        ) from None


# --- typed query models --------------------------------------------------------------------------------


def _bbox_value(raw):
    """``min_lon,min_lat,max_lon,max_lat`` in degrees, checked against CRS84's bounds."""
    if not isinstance(raw, str):
        return raw
    try:
        values = tuple(float(part) for part in raw.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise ValueError("four numbers are needed; give min_lon,min_lat,max_lon,max_lat in degrees")
    try:
        check_box(values, CRS84)
    except OutsideCrs as exc:
        raise ValueError(f"{exc}; give min_lon,min_lat,max_lon,max_lat in degrees") from None
    return values


BBox = Annotated[tuple[float, float, float, float] | None, BeforeValidator(_bbox_value)]
"""A ``bbox`` parameter as (min_lon, min_lat, max_lon, max_lat)."""


class Query(BaseModel):
    """Query parameters of one view: unknown names are refused, values are typed and checked.

    Validators may read ``info.context``: ``catalog`` (the city's catalog) and ``city`` (a function
    returning the request's geo_app.city.CityContext, read only when needed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def names(cls) -> set[str]:
        return set(cls.model_fields)


class Listed(Query):
    """A page of a list: ``limit`` items after the position in ``cursor`` (from the previous ``next``
    link; geo_app.web.paging). Lists that allow more per page raise ``MAX_LIMIT``."""

    MAX_LIMIT: ClassVar[int] = 1000
    limit: int = Field(100, ge=1, description="Items per page (keyset pages; see the next link)")
    cursor: str | None = Field(None, description="Opaque position from the next link of the previous page")

    @field_validator("limit")
    @classmethod
    def _at_most(cls, value: int) -> int:
        if value > cls.MAX_LIMIT:
            raise ValueError(f"give a whole number from 1 to {cls.MAX_LIMIT}")
        return value


MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")


def local_time(raw: str, info: ValidationInfo, end_of_day: bool) -> datetime:
    """A month (2026-10) or a date (2026-10-31), whole in the city's time zone (an ``end`` includes it),
    or an ISO date-time (one without an offset is read in the city's time zone)."""
    zone = info.context["city"]().timezone
    name = info.field_name
    try:
        if MONTH.fullmatch(raw):
            first = datetime(int(raw[:4]), int(raw[5:]), 1, tzinfo=zone)
            check_in_range(first, name)
            return (first + timedelta(days=31)).replace(day=1) if end_of_day else first
        value = date.fromisoformat(raw) if len(raw) == 10 else datetime.fromisoformat(raw)
        check_in_range(value, name)
    except DateOutOfRange:
        raise
    except ValueError:
        raise ValueError("use a month (2026-10), a date (2026-10-31) or an ISO date-time") from None
    if isinstance(value, datetime):
        return value.astimezone(zone) if value.tzinfo else value.replace(tzinfo=zone)
    day = value + timedelta(days=1 if end_of_day else 0)
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def known(values: tuple[str, ...], allowed: Iterable[str]) -> tuple[str, ...]:
    """``values`` when each is one of ``allowed``; else a ValueError listing the unknown and the known."""
    allowed = list(allowed)
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise ValueError(f"unknown {', '.join(unknown)}; use {', '.join(allowed)}")
    return values


class IncidentQuery(Query):
    """The filters of the incident list and every 112 analysis; months and dates are read in the city's
    own time zone, categories and call types against the catalog."""

    start: datetime | None = Field(None, description="From: a month (2026-10), a date or an ISO date-time")
    end: datetime | None = Field(None, description="To (a month or date counts whole): like start")
    category: tuple[str, ...] = Field((), description="Incident categories of the catalog, comma-separated")
    call_type: tuple[str, ...] = Field((), description="Call types; the analyses default to the emergencies")
    kecamatan: tuple[str, ...] = Field((), description="Kecamatan codes, comma-separated")
    kelurahan: tuple[str, ...] = Field((), description="Kelurahan codes, comma-separated")
    bbox: BBox = Field(None, description="min_lon,min_lat,max_lon,max_lat in degrees")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time(cls, raw, info: ValidationInfo):
        return local_time(raw, info, end_of_day=info.field_name == "end") if isinstance(raw, str) else raw

    @field_validator("category")
    @classmethod
    def _category(cls, values, info: ValidationInfo):
        return known(values, info.context["catalog"].incident_categories)

    @field_validator("call_type")
    @classmethod
    def _call_type(cls, values, info: ValidationInfo):
        return known(values, info.context["catalog"].call_types)

    def to_filter(self, city_code: str, default_call_types: tuple[str, ...] = ()) -> IncidentFilter:
        if self.start and self.end and self.start >= self.end:
            raise Problem(
                400,
                "Invalid parameter",
                "start must be before end.",
                indonesian="Tanggal awal harus sebelum tanggal akhir: tukar keduanya atau pilih periode "
                "lain.",
            )
        return IncidentFilter(
            city_code=city_code,
            start=self.start,
            end=self.end,
            categories=self.category,
            call_types=self.call_type or default_call_types,
            kecamatan=self.kecamatan,
            kelurahan=self.kelurahan,
            bbox=self.bbox,
        )


def incident_filter(default_call_types: tuple[str, ...] = ()) -> IncidentFilter:
    """The shared incident filters of this request's query string (other parameters left to the view)."""
    return read(IncidentQuery).to_filter(deps.city_code(), default_call_types)


# --- reading a model from the query string -------------------------------------------------------------

Model = TypeVar("Model", bound=Query)


def _is_list(annotation) -> bool:
    return typing.get_origin(annotation) in (tuple, list)


def read(model: type[Model]) -> Model:
    """The model's fields from the query string, ignoring other parameters (the view checks those); an
    empty value (``size=``, as a form sends an empty field) counts as not given."""
    values: dict = {}
    for name, field in model.model_fields.items():
        if not request.args.get(name):
            continue
        if _is_list(field.annotation):
            raws = request.args.getlist(name)
            values[name] = tuple(part.strip() for raw in raws for part in raw.split(",") if part.strip())
        else:
            values[name] = request.args[name]
    try:
        return model.model_validate(values, context={"catalog": deps.catalog(), "city": deps.city})
    except ValidationError as exc:
        raise invalid(exc) from None


def parsed(model: type[Model], *, also: Iterable[str] = ()) -> Model:
    """The query string as ``model``; parameters that are neither its fields nor in ``also`` are a 400."""
    reject_unknown(model.names() | set(also))
    return read(model)


def invalid(exc: ValidationError) -> Problem:
    """A 400 naming each wrong parameter, its value and what to give instead."""
    problems, names = [], []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "query"
        raw = request.args.get(name)
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{name}={raw!r}: {message}." if raw is not None else f"{name}: {message}.")
        names.append(name)
    return Problem(
        400,
        "Invalid parameter",
        " ".join(problems),
        indonesian=f"Isian {', '.join(names)} tidak dapat dipakai: {' '.join(problems)}",
        parameters=names,
    )


def day_param(name: str) -> date | None:
    """A calendar day YYYY-MM-DD within the served range; None when not given (or empty)."""
    value = request.args.get(name)
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
        check_in_range(day, name)
    except DateOutOfRange as exc:
        raise Problem(
            400, "Invalid parameter", str(exc), indonesian=f"Tanggal {value} di luar rentang yang dilayani."
        ) from None
    except ValueError:
        raise Problem(
            400,
            "Invalid parameter",
            f"{name}={value!r}: use a date like 2025-06-01 (YYYY-MM-DD)",
            indonesian=f"Tanggal «{value}» tidak dapat dibaca; tulis seperti 2025-06-01.",
        ) from None
    return day


def green_period(conn, city: CityContext) -> green_usecases.Period:
    """The ``from`` / ``to`` dates of a green figures request (page or API). By default ``to`` is the end
    of the last complete month and ``from`` the end of the same month a year before (or the first day of
    the green history, if later)."""
    since, until = day_param("from"), day_param("to")
    if until is None:
        until = green_usecases.default_period(conn, city, datetime.now(city.timezone)).until
    if since is None:
        since = green_usecases.comparison_start(green_store.first_version(conn, city.code), until, city)
    if since >= until:
        raise Problem(
            400,
            "Invalid parameter",
            f"from={since} is not before to={until}: give from before to, e.g. from=2025-06-01&to=2026-06-01",
            indonesian="Tanggal «Dari» harus sebelum tanggal «Sampai».",
        )
    return green_usecases.Period(since, until)
