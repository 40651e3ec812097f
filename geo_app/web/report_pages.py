"""The 112 morning briefing page and the monthly PDF reports of each user group (geo_app.reports)."""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, Response, render_template, request

from geo_app import reports
from geo_app.auth.privacy import can_see_exact_incidents
from geo_app.dates import DateOutOfRange, check_in_range
from geo_app.usecases import incidents as incident_usecases
from geo_app.usecases.periods import Month
from geo_app.web import deps
from geo_app.web.errors import Problem
from geo_app.web.params import reject_unknown

blueprint = Blueprint("report_pages", __name__)


def _briefing_moment(city) -> datetime:
    """Now, or the start of ``day`` (YYYY-MM-DD, local): the briefing as it read that morning."""
    raw = request.args.get("day")
    if not raw:
        return datetime.now(city.timezone)
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise Problem(400, "Invalid parameter", f"day={raw!r}: give a date as YYYY-MM-DD.") from None
    try:
        check_in_range(day, f"day={raw}")
    except DateOutOfRange as exc:
        raise Problem(400, "Invalid parameter", str(exc)) from None
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
def monthly_report(group: str):
    """The month's PDF for ``group`` (112, cakupan, rth); the 112 report without exact-incident rights
    holds only the public counts."""
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
