"""Every error as ``application/problem+json`` (RFC 9457), never a stack trace.

Raise :class:`Problem` from any view with a message a person can act on; the use cases' own errors
(geo_app.usecases.errors), framework errors (404, 405, 413, ...) and unexpected exceptions are turned into
the same shape here, once. A browser opening a map page
(/maps/...) gets the same error as a readable page in Bahasa Indonesia with a link back instead.
"""

from __future__ import annotations

import json
import logging

import psycopg
import psycopg_pool
from flask import Flask, Response, current_app, render_template, request
from werkzeug.exceptions import HTTPException

from geo_app.ingest.incidents import IncidentFileError
from geo_app.usecases.errors import (
    CoverageError,
    NoArea,
    NotEnoughData,
    NotFound,
    Rejected,
    TooMuchWork,
    WholeMonthsOnly,
)

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


class Problem(Exception):
    """An error response: HTTP status, short title, a detail that says what to fix, extra members."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        indonesian: str = "",
        headers: dict[str, str] | None = None,
        **extra,
    ):
        """``indonesian``: the reason as the map pages' error page tells it (else one by status);
        ``headers``: response headers such as Retry-After."""
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.indonesian = indonesian
        self.extra = extra
        self.headers: dict[str, str] = dict(headers or {})


def problem_response(
    status: int, title: str, detail: str = "", headers: dict | None = None, *, indonesian: str = "", **extra
) -> Response:
    if _is_map_page_in_browser():
        response = map_error_page(status, title, detail, indonesian)
    else:
        response = _problem_json(status, title, detail, extra)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _problem_json(status: int, title: str, detail: str, extra: dict) -> Response:
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body["instance"] = request.path
    body.update(extra)
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)


MAP_PAGES = "/maps/"
PAGE_REASONS = {
    400: "Isian formulir atau alamat halaman ini tidak dapat dipakai.",
    403: "Peran Anda tidak diizinkan membuka halaman ini.",
    404: "Halaman yang diminta tidak ada.",
    405: "Halaman ini tidak menerima cara permintaan tersebut.",
    422: "Permintaan tidak dapat diproses: data tidak cukup atau pekerjaannya terlalu besar.",
    429: "Terlalu banyak permintaan. Tunggu sebentar, lalu coba lagi.",
    503: "Layanan sedang sibuk atau basis data tidak terjangkau. Coba lagi beberapa saat lagi.",
}
"""The reason shown on a map page's error page when the error has no Indonesian text of its own."""


def _is_map_page_in_browser() -> bool:
    from geo_app.web.access import wants_html  # access imports this module

    return (request.path == "/" or request.path.startswith(MAP_PAGES)) and wants_html()


def map_error_page(status: int, title: str, detail: str, indonesian: str) -> Response:
    """An error on a map page as a page: the reason in Bahasa Indonesia, the technical detail below it, a
    link back to the page with its default settings (or to the home page when there is no such page)."""
    reason = indonesian or PAGE_REASONS.get(status) or "Layanan gagal menjawab permintaan ini."
    known_page = status != 404 and request.url_rule is not None
    html = render_template(
        "map_error.html",
        status=status,
        reason=reason,
        technical=f"{title}: {detail}" if detail else title,
        back_url=request.script_root + (request.path if known_page else "/"),
        home_url=request.script_root + "/",
        back_label="Buka peta dengan pengaturan bawaan" if known_page else "Ke beranda",
    )
    return Response(html, status=status, mimetype="text/html")


DETAILS = {
    404: "No resource at this path. The API is listed at /openapi.json and the home page at /.",
    405: "This path does not accept that method; the Allow header lists the methods it does accept.",
    413: "The request body is larger than the service accepts (MAX_CONTENT_LENGTH). Split the upload.",
    429: "Too many attempts. Wait the number of seconds in the Retry-After header, then try again.",
}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(Problem)
    def _problem(exc: Problem):
        return problem_response(
            exc.status, exc.title, exc.detail, exc.headers, indonesian=exc.indonesian, **exc.extra
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        detail = DETAILS.get(exc.code or 500) or (exc.description or "")
        headers = {k: v for k, v in exc.get_headers() if k.lower() in {"allow", "retry-after"}}
        return problem_response(exc.code or 500, exc.name, detail, headers)

    @app.errorhandler(TooMuchWork)
    def _too_much_work(exc: TooMuchWork):
        limit = {"parameter": exc.parameter} | ({"allowed": exc.allowed} if exc.allowed is not None else {})
        return problem_response(422, "Request too large", str(exc), **limit)

    @app.errorhandler(NotFound)
    def _not_found(exc: NotFound):
        return problem_response(404, f"{exc.what.capitalize()} not found", str(exc))

    @app.errorhandler(Rejected)
    def _rejected(exc: Rejected):
        report = {"report": exc.report} if exc.report is not None else {}
        return problem_response(422, exc.title, "; ".join(exc.reasons), reasons=exc.reasons, **report)

    @app.errorhandler(NotEnoughData)
    def _not_enough_data(exc: NotEnoughData):
        return problem_response(422, "Not enough data for a hot-spot analysis", str(exc))

    @app.errorhandler(NoArea)
    def _no_area(exc: NoArea):
        return problem_response(422, "No area to analyse", str(exc))

    @app.errorhandler(CoverageError)
    def _coverage(exc: CoverageError):
        return problem_response(409, "Coverage cannot be computed", str(exc))

    @app.errorhandler(WholeMonthsOnly)
    def _whole_months_only(exc: WholeMonthsOnly):
        given = request.args.get(exc.parameter)
        detail = f"{exc.parameter}={given!r}: {exc}"
        return problem_response(400, "Whole months only", detail, parameters=[exc.parameter])

    @app.errorhandler(IncidentFileError)
    def _unreadable_incidents(exc: IncidentFileError):
        return problem_response(400, "Unreadable import file", str(exc))

    @app.errorhandler(psycopg.errors.QueryCanceled)
    def _statement_timeout(exc: psycopg.errors.QueryCanceled):
        seconds = current_app.config["SETTINGS"].statement_timeout_ms / 1000
        log.warning("statement cancelled on %s %s: %s", request.method, request.path, exc)
        return problem_response(
            503,
            "Request took too long",
            f"The database stopped this request after {seconds:g} s (STATEMENT_TIMEOUT_MS). Ask for less: "
            "narrow the filters (dates, kecamatan, kelurahan, types) or use coarser parameters (larger "
            "cells, smaller radii or bands, fewer items per page), then try again.",
        )

    @app.errorhandler(psycopg.OperationalError)
    @app.errorhandler(psycopg_pool.PoolTimeout)
    def _database_down(exc: Exception):
        log.warning("database unavailable: %s", type(exc).__name__)
        return problem_response(
            503,
            "Database unavailable",
            "The database cannot be reached right now. Try again in a few seconds.",
            {"Retry-After": "5"},
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(
            500,
            "Internal Server Error",
            "The service failed to answer this request; the error is logged. Try again, and report "
            "it to the administrators if it persists.",
        )
