"""Printable monthly reports (PDF, A4, Bahasa Indonesia) for each user group: 112, cakupan and RTH.

The figures come from the use cases the API and the maps call (geo_app.usecases), the maps and charts are
drawn here with matplotlib, and WeasyPrint lays the HTML out as a PDF. The same bytes are served at
/reports/<group>?month=YYYY-MM and written by ``geo-app report``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import jinja2
import psycopg

from geo_app.analysis import coverage
from geo_app.analysis import green as green_analysis
from geo_app.catalog import Catalog
from geo_app.city import CityContext
from geo_app.maps.base import format_number
from geo_app.reports import figures
from geo_app.settings import Settings
from geo_app.store import areas as area_store
from geo_app.store import green as green_store
from geo_app.store import population as population_store
from geo_app.usecases import coverage as coverage_usecases
from geo_app.usecases import green as green_usecases
from geo_app.usecases import incidents as incident_usecases
from geo_app.usecases.periods import Month, last_complete_month

GROUPS = {"112": "Layanan Darurat 112", "cakupan": "Cakupan Infrastruktur", "rth": "Ruang Terbuka Hijau"}
MONTH_NAMES = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
]
LAYER_LABELS = {
    "admin_areas": "Batas wilayah",
    "assets": "Aset infrastruktur",
    "incidents": "Panggilan 112",
    "green_areas": "Ruang terbuka hijau",
    "population_grid": "Grid penduduk",
}
TOP_ROWS = 15
"""Rows of the ranked kelurahan tables (all kecamatan are listed)."""

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent.parent / "templates" / "reports"),
    autoescape=True,
)
_templates.filters["number"] = format_number
_templates.filters["share"] = lambda value, digits=1: (
    "–" if value is None else format_number(100 * value, digits) + " %"
)
_templates.filters["percent"] = lambda value, digits=1: (
    "–" if value is None else format_number(value, digits) + " %"
)


DATA_ERRORS = (coverage.CoverageError, green_analysis.NoKelurahan)
"""What the data of the city may lack for a report (no fire-post type, no kelurahan)."""


class ReportError(ValueError):
    """A report that cannot be made (no such group); the message says what to give."""


@dataclass(frozen=True)
class ReportRequest:
    group: str
    month: Month
    public: bool
    """Only public aggregates (for 112: whole-month counts from cells of at least ``min_cell``)."""

    def filename(self, city: CityContext) -> str:
        scope = "publik" if self.public and self.group == "112" else "lengkap"
        return f"laporan_{self.group}_{city.code}_{self.month.name}_{scope}.pdf"


def month_label(month: Month) -> str:
    return f"{MONTH_NAMES[month.month - 1]} {month.year}"


def _sources(
    conn: psycopg.Connection, city: CityContext, layers: tuple[str, ...], public: bool
) -> list[dict]:
    """Each layer's latest load: day and whether it is sample data (no file names: they can name people;
    no day of a 112 import in a public report: it would date the calls, as on the home page)."""
    loads = area_store.latest_loads(conn, city.code)
    return [
        {
            "label": LAYER_LABELS.get(layer, layer),
            "kind": "data contoh (generator)" if loads[layer]["is_sample"] else "data resmi (impor berkas)",
            "day": "–"
            if public and layer.startswith("incidents")
            else loads[layer]["loaded_at"].astimezone(city.timezone).strftime("%d-%m-%Y"),
        }
        for layer in layers
        if layer in loads
    ]


def _incident_section(conn, city: CityContext, catalog: Catalog, settings: Settings, request, kelurahan):
    if request.public:
        data = incident_usecases.public_monthly_counts(
            conn, city, request.month, settings.public_min_cell_count
        )
    else:
        data = incident_usecases.monthly_report(conn, city, catalog, request.month)
    values = {row["code"]: row["count"] for row in data["by_kelurahan"]}
    return {
        "data": data,
        "map": figures.kelurahan_map(kelurahan, values, city.metric_srid, "panggilan darurat", "OrRd"),
        "chart": None
        if request.public
        else figures.bar_chart(
            [row["label"] for row in data["by_category"]],
            [row["count"] for row in data["by_category"]],
            "panggilan darurat",
        ),
    }


def _coverage_section(conn, city: CityContext, catalog: Catalog, settings: Settings, request, kelurahan):
    analysis = coverage.CoverageRequest(
        asset_types=(coverage.FIRE_ASSET_TYPE,),
        minutes=float(settings.fire_response_minutes),
        access_m=float(settings.coverage_access_m),
    )
    data = coverage_usecases.coverage_summary(conn, city, catalog, analysis)
    values = {row["code"]: row["population_covered_pct"] for row in data["kelurahan"]}
    kecamatan = sorted(data["kecamatan"], key=lambda row: row["population_covered_pct"] or 0)
    return {
        "data": data,
        "asset_label": catalog.asset_types[coverage.FIRE_ASSET_TYPE].label,
        "least_covered": sorted(data["kelurahan"], key=lambda row: row["population_covered_pct"] or 0)[
            :TOP_ROWS
        ],
        "kecamatan": kecamatan,
        "map": figures.kelurahan_map(kelurahan, values, city.metric_srid, "% penduduk terjangkau", "YlGn"),
        "chart": figures.bar_chart(
            [row["name"] for row in kecamatan],
            [row["population_covered_pct"] or 0 for row in kecamatan],
            "% penduduk terjangkau",
        ),
    }


def _green_section(conn, city: CityContext, catalog: Catalog, settings: Settings, request, kelurahan):
    """RTH at the end of the month against the targets, what changed over the year before it and park
    access, per kelurahan and kecamatan: the figures of the RTH map's table (usecases.green.area_figures)."""
    until = (request.month.end - timedelta(days=1)).date()
    since = green_usecases.comparison_start(green_store.first_version(conn, city.code), until, city)
    period = green_usecases.Period(since, until)
    rows = green_usecases.records(green_usecases.area_figures(conn, city, period))
    by_level = {level: [row for row in rows if row["level"] == level] for level in green_analysis.LEVELS}
    kelurahan_rows = sorted(by_level["kelurahan"], key=lambda row: row["green_share"] or 0)
    values = {row["code"]: 100 * (row["green_share"] or 0) for row in kelurahan_rows}
    kecamatan = sorted(by_level["kecamatan"], key=lambda row: row["green_share"] or 0)
    return {
        "city": next(iter(by_level["kota"]), None),
        "since": since,
        "kecamatan": kecamatan,
        "kelurahan": kelurahan_rows,
        "targets": green_usecases.targets(),
        "radius_m": green_analysis.ACCESS_RADIUS_M,
        "min_ha": green_analysis.ACCESS_MIN_HA,
        "map": figures.kelurahan_map(kelurahan, values, city.metric_srid, "% luas RTH", "Greens"),
        "chart": figures.bar_chart(
            [row["name"] for row in kecamatan],
            [100 * (row["green_share"] or 0) for row in kecamatan],
            "% luas RTH",
        ),
    }


SECTIONS = {
    "112": (_incident_section, ("admin_areas", "incidents")),
    "cakupan": (_coverage_section, ("admin_areas", "assets", "population_grid")),
    "rth": (_green_section, ("admin_areas", "green_areas", "population_grid")),
}


def report_html(
    conn: psycopg.Connection,
    city: CityContext,
    catalog: Catalog,
    settings: Settings,
    request: ReportRequest,
    now: datetime,
) -> str:
    if request.group not in GROUPS:
        raise ReportError(f"report {request.group!r}: use one of {', '.join(GROUPS)}.")
    if request.public and request.group == "112" and request.month.unfinished(now):
        # as /api/incidents/counts: public counts never grow while a month fills up
        last = last_complete_month(city, now)
        raise ReportError(
            f"month={request.month.name}: the public 112 report covers complete months only; "
            f"give month={last.name} or earlier."
        )
    build, layers = SECTIONS[request.group]
    kelurahan = area_store.areas_geojson(conn, city.code, "kelurahan")
    return _templates.get_template(f"{request.group}.html").render(
        title=f"Laporan Bulanan {GROUPS[request.group]}",
        city=city,
        request=request,
        period=month_label(request.month),
        month=request.month,
        unfinished=request.month.unfinished(now),
        generated=now.astimezone(city.timezone).strftime("%d-%m-%Y %H:%M ") + city.timezone_label,
        sources=_sources(conn, city, layers, request.public),
        population_model=population_store.model_name(conn, city.code),
        section=build(conn, city, catalog, settings, request, kelurahan),
    )


def report_pdf(
    conn: psycopg.Connection,
    city: CityContext,
    catalog: Catalog,
    settings: Settings,
    request: ReportRequest,
    now: datetime,
) -> bytes:
    """The report as PDF bytes (A4)."""
    from weasyprint import HTML  # loads pango: only when a report is made

    return HTML(string=report_html(conn, city, catalog, settings, request, now)).write_pdf()
