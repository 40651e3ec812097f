"""The 112 morning briefing page and the monthly PDF reports of each user group (geo_app.reports)."""

from __future__ import annotations

import threading
from datetime import datetime

from flask import Blueprint, Response, render_template, request

from geo_app import reports
from geo_app.auth.privacy import can_see_exact_incidents
from geo_app.usecases import incidents as incident_usecases
from geo_app.usecases.periods import Month
from geo_app.web import deps
from geo_app.web.errors import Problem
from geo_app.web.params import day_param, reject_unknown
from geo_app.web.rate_limits import limiter, user_or_address

blueprint = Blueprint("report_pages", __name__)

REPORTS_AT_ONCE = 1
"""PDFs one worker process makes at the same time: each takes one to two seconds of CPU, so a second
one waits for a free worker rather than slowing every map request of this one."""
_report_slots = threading.BoundedSemaphore(REPORTS_AT_ONCE)


def _report_rate_limit() -> str:
    return deps.settings().report_rate_limit


def _briefing_moment(city) -> datetime:
    """Now, or the start of ``day`` (YYYY-MM-DD, local): the briefing as it read that morning."""
    day = day_param("day")
    if day is None:
        return datetime.now(city.timezone)
    return datetime(day.year, day.month, day.day, tzinfo=city.timezone)


@blueprint.get("/briefing")
def briefing():
    """Yesterday, 7 and 28 days against the period before, per kecamatan and category; response stages.
    ``day`` shows the briefing of an earlier morning."""
    reject_unknown({"day"})
    city = deps.city()
    with deps.connection() as conn:
        data = incident_usecases.daily_briefing(conn, city, deps.catalog(), _briefing_moment(city))
    return render_template("briefing.html", city=city, briefing=data)


@blueprint.get("/reports/<group>")
@limiter.limit(_report_rate_limit, key_func=user_or_address)
def monthly_report(group: str):
    """The month's PDF for ``group`` (112, cakupan, rth); the 112 report without exact-incident rights
    holds only the public counts. Rate-limited per user or address (REPORT_RATE_LIMIT) and made one at a
    time per worker: a busy worker answers 503 with Retry-After."""
    reject_unknown({"month"})
    if group not in reports.GROUPS:
        raise Problem(404, "No such report", f"/reports/{group}: use one of {', '.join(reports.GROUPS)}.")
    city = deps.city()
    try:
        month = Month.parse(request.args.get("month", ""), city)
    except ValueError as exc:
        raise Problem(400, "Invalid parameter", str(exc)) from None
    report = reports.ReportRequest(group, month, public=not can_see_exact_incidents())
    now = datetime.now(city.timezone)
    if not _report_slots.acquire(blocking=False):
        raise Problem(
            503,
            "Report being made",
            "This worker is making another report; try again in a few seconds.",
            headers={"Retry-After": "5"},
            indonesian="Laporan lain sedang dibuat. Coba lagi beberapa detik lagi.",
        )
    try:
        return _report_response(city, report, now)
    finally:
        _report_slots.release()


def _report_response(city, report: reports.ReportRequest, now: datetime) -> Response:
    with deps.connection() as conn:
        try:
            pdf = reports.report_pdf(conn, city, deps.catalog(), deps.settings(), report, now)
        except reports.ReportError as exc:
            raise Problem(400, "Invalid parameter", str(exc)) from None
        except reports.DATA_ERRORS as exc:  # as the API answers them: the data cannot give the figures
            raise Problem(409, "Report cannot be made", str(exc)) from None
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{report.filename(city)}"'},
    )
