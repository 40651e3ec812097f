"""Monthly PDF reports (112, cakupan, RTH) on the sample city: their figures, read back with pdftotext,
are the API's answers for the same month; roles decide what the 112 report holds; the CLI writes the same
report."""

from __future__ import annotations

import calendar
import re
import subprocess
from dataclasses import replace
from datetime import datetime

import pytest
from click.testing import CliRunner

from geo_app.city import load_city
from geo_app.cli import main
from geo_app.db import connect
from geo_app.maps.base import format_number
from geo_app.sample.incidents import PERIOD_END
from geo_app.usecases.periods import last_complete_month
from geo_app.web import report_pages

MONTH = PERIOD_END.strftime("%Y-%m")
"""The last month of the sample city's calls."""


@pytest.fixture
def month() -> str:
    return MONTH


def pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return re.sub(r"[ \t]+", " ", text)


def report(client, group: str, month: str, tmp_path) -> str:
    response = client.get(f"/reports/{group}?month={month}")
    assert response.status_code == 200, response.data[:500]
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    assert f"laporan_{group}_36.72_{month}" in response.headers["Content-Disposition"]
    return pdf_text(response.data, tmp_path)


def line_of(text: str, name: str, after: str = "") -> str:
    """The first table row of ``name`` (an area or category; after its rank, if any) following the
    heading ``after``."""
    text = text[text.index(after) :]
    row = re.compile(rf"^(\d+ )?{re.escape(name)} ")
    lines = [line.strip() for line in text.splitlines() if row.match(line.strip())]
    assert lines, f"no line for {name!r}"
    return lines[0]


def share(fraction: float) -> str:
    """A fraction (RTH shares, response compliance) as the reports print it."""
    return format_number(100 * fraction, 1) + " %"


def percent(value: float) -> str:
    """A figure already in percent (coverage) as the reports print it."""
    return format_number(value, 1) + " %"


def test_112_report_for_112_roles_matches_the_api(client_as, month, tmp_path):
    supervisor = client_as("supervisor_112")
    text = report(supervisor, "112", month, tmp_path)
    assert "Laporan Bulanan Layanan Darurat 112" in text and "Sumber data" in text
    assert "Model penduduk" in text and "Yang tidak termasuk" in text and "panggilan tanpa lokasi" in text
    counts = supervisor.get(f"/api/incidents/counts?level=kecamatan&start={month}&end={month}").json
    assert counts["suppression"] is None and sum(area["count"] for area in counts["areas"]) > 100
    for area in counts["areas"]:
        row = line_of(text, area["name"], after="Panggilan per kecamatan")
        assert row.endswith(" " + format_number(area["count"]))
    answer = supervisor.get(f"/api/analysis/response?start={month}&end={month}").json
    assert answer["by_category"]
    for summary in answer["by_category"].values():
        row = line_of(text, summary["label"], after="Waktu tanggap (panggilan")
        expected = [
            format_number(summary["incidents"]),
            share(summary["compliance"]),
            format_number(summary["median_min"], 2),
            format_number(summary["p90_min"], 2),
        ]
        assert all(figure in row for figure in expected), (row, expected)
    assert "Tahap waktu tanggap" in text


def test_public_112_report_holds_only_the_public_counts(anonymous_client, client_as, month, tmp_path):
    text = report(anonymous_client, "112", month, tmp_path)
    public = anonymous_client.get(f"/api/incidents/counts?level=kecamatan&start={month}&end={month}").json
    assert public["suppression"]["min_cell"] > 1 and sum(area["count"] for area in public["areas"]) > 100
    for area in public["areas"]:
        row = line_of(text, area["name"], after="Panggilan per kecamatan")
        assert row.endswith(" " + format_number(area["count"]))
    assert "Versi publik" in text
    # the day of a 112 import would date the calls: not in the public report (as on the home page)
    assert line_of(text, "Panggilan 112", after="Sumber data") == "Panggilan 112 data contoh (generator) –"
    for exact_only in ("Waktu tanggap", "Tahap waktu tanggap", "Median", "panggilan tanpa lokasi"):
        assert exact_only not in text
    # a role without exact incidents gets the public version too, however it signs in
    assert "Versi publik" in report(client_as("dlh"), "112", month, tmp_path)


def test_public_112_report_refuses_a_month_not_ended(
    anonymous_client, client_as, database_url, sample_city, tmp_path
):
    """Like the public counts: a month still filling up would tell when each call came in."""
    with connect(database_url) as conn:
        city = load_city(conn, sample_city)
    now = datetime.now(city.timezone)
    this_month, last = now.strftime("%Y-%m"), last_complete_month(city, now).name
    response = anonymous_client.get(f"/reports/112?month={this_month}")
    assert response.status_code == 400 and f"month={last}" in response.json["detail"]
    supervisor = client_as("supervisor_112").get(f"/reports/112?month={this_month}")
    assert supervisor.status_code == 200
    assert "Periode belum selesai" in pdf_text(supervisor.data, tmp_path)


def test_cli_refuses_a_public_report_of_a_month_not_ended(database_url, sample_city, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CITY_CODE", sample_city)
    with connect(database_url) as conn:
        city = load_city(conn, sample_city)
    this_month = datetime.now(city.timezone).strftime("%Y-%m")
    result = CliRunner().invoke(main, ["report", "112", "--month", this_month, "--public"])
    assert result.exit_code != 0 and "complete months only" in result.output


def test_coverage_report_matches_the_api(client, month, tmp_path):
    text = report(client, "cakupan", month, tmp_path)
    answer = client.get("/api/analysis/coverage?type=pos_damkar").json
    city = answer["city"]
    # the coverage figures are in percent already (not fractions like the RTH shares)
    assert abs(100 * city["population_covered"] / city["population"] - city["population_covered_pct"]) < 0.01
    assert (
        f"Penduduk terjangkau: {percent(city['population_covered_pct'])} "
        f"({format_number(city['population_covered'])} dari {format_number(city['population'])} jiwa)"
    ) in text
    for row in answer["kecamatan"]:
        line = line_of(text, row["name"], after="Kecamatan (cakupan terendah")
        assert format_number(row["population_covered"]) in line
        assert percent(row["population_covered_pct"]) in line
    assert answer["population_model"] in text


def test_rth_report_matches_the_api_at_the_end_of_the_month(client, month, tmp_path):
    text = report(client, "rth", month, tmp_path)
    year, number = map(int, month.split("-"))
    last_day = f"{month}-{calendar.monthrange(year, number)[1]:02d}"
    answer = client.get(f"/api/analysis/green/figures?to={last_day}").json
    assert answer["areas"]
    since = datetime.fromisoformat(answer["from"]).strftime("%d-%m-%Y")
    assert f"perubahan sejak {since}" in text
    for level in ("kecamatan", "kelurahan"):
        heading = f"{level.capitalize()} (RTH terendah"
        rows = [row for row in answer["areas"] if row["level"] == level]
        assert len(rows) == {"kecamatan": 8, "kelurahan": 43}[level]
        for row in rows:
            line = line_of(text, row["name"], after=heading)
            expected = [
                share(row["green_share"]),
                format_number(row["green_deficit_ha"], 1),
                format_number(row["public_deficit_ha"], 1),
                format_number(row["gained_ha"], 2),
                format_number(row["lost_ha"], 2),
                share(row["park_access_share"]),
            ]
            assert " ".join(expected) in line, (line, expected)
    assert "Ruang terbuka hijau data contoh (generator)" in text and "Grid penduduk" in text
    city = next(row for row in answer["areas"] if row["level"] == "kota")
    assert f"RTH: {share(city['green_share'])}" in text
    assert f"bersih {format_number(city['net_ha'], 1)} ha" in text


def test_cli_writes_the_same_report(client_as, database_url, sample_city, month, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CITY_CODE", sample_city)
    out = tmp_path / "cli.pdf"
    result = CliRunner().invoke(main, ["report", "112", "--month", month, "--out", str(out)])
    assert result.exit_code == 0, result.output
    web = client_as("supervisor_112").get(f"/reports/112?month={month}").data

    def without_time(text: str) -> str:
        return re.sub(r"Dibuat .*", "", text)

    assert without_time(pdf_text(out.read_bytes(), tmp_path)) == without_time(pdf_text(web, tmp_path))


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/reports/112?month=2026-13", 400, "YYYY-MM"),
        ("/reports/rth?month=9999-12", 400, "outside the dates the service handles"),
        ("/reports/112", 400, "YYYY-MM"),
        ("/reports/112?month=2026-10&level=kelurahan", 400, "level"),
        ("/reports/dinas?month=2026-10", 404, "112, cakupan, rth"),
    ],
)
def test_bad_report_requests_say_what_to_give(client, path, status, says):
    response = client.get(path)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json" and says in response.json["detail"]


def test_map_pages_link_their_report(client, database_url, sample_city):
    with connect(database_url) as conn:
        city = load_city(conn, sample_city)
    month = last_complete_month(city, datetime.now(city.timezone)).name
    for path, group in (("/maps/hotspots", "112"), ("/maps/coverage", "cakupan"), ("/maps/green", "rth")):
        html = client.get(path).get_data(as_text=True)
        assert f'href="reports/{group}?month={month}"' in html


def test_reports_are_rate_limited_per_address(app, monkeypatch):
    """One address asking for PDF after PDF gets 429 with Retry-After; another address is not held up."""
    monkeypatch.setitem(
        app.config, "SETTINGS", replace(app.config["SETTINGS"], report_rate_limit="2 per minute")
    )
    first, second = app.test_client(), app.test_client()
    first.environ_base["REMOTE_ADDR"], second.environ_base["REMOTE_ADDR"] = "10.9.0.1", "10.9.0.2"
    statuses = [first.get("/reports/112?month=2026-13").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]
    limited = first.get("/reports/112?month=2026-13")
    assert limited.mimetype == "application/problem+json" and "Retry-After" in limited.headers
    assert second.get("/reports/112?month=2026-13").status_code == 400


def test_a_worker_makes_one_report_at_a_time(client, month):
    """While a report is being made, the next one on the same worker is 503 with Retry-After, not queued
    behind it on a worker that map requests need."""
    assert report_pages._report_slots.acquire(blocking=False)
    try:
        busy = client.get(f"/reports/rth?month={month}")
    finally:
        report_pages._report_slots.release()
    # the rate limiter raises Retry-After to its own window's reset when that is later
    assert busy.status_code == 503 and int(busy.headers["Retry-After"]) >= 5
    assert busy.mimetype == "application/problem+json"
