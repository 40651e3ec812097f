"""Monthly PDF reports (112, cakupan, RTH) on the sample city: their figures, read back with pdftotext,
are the API's answers for the same month; roles decide what the 112 report holds; the CLI writes the same
report."""

from __future__ import annotations

import calendar
import re
import subprocess
from datetime import datetime

import pytest
from click.testing import CliRunner

from geo_app.city import load_city
from geo_app.cli import main
from geo_app.db import connect
from geo_app.maps.base import format_number
from geo_app.sample.incidents import PERIOD_END
from geo_app.usecases.periods import last_complete_month

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
    answer = client.get(f"/api/analysis/green?as_of={last_day}&level=kecamatan").json
    assert answer["areas"]
    for row in answer["areas"]:
        line = line_of(text, row["name"], after="Kecamatan (RTH terendah")
        assert format_number(row["green_ha"], 1) in line and share(row["green_share"]) in line
    assert "Ruang terbuka hijau data contoh (generator)" in text and "Grid penduduk" in text
    city = client.get(f"/api/analysis/green?as_of={last_day}&level=kota").json["areas"][0]
    assert f"RTH: {share(city['green_share'])}" in text


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
