"""A map page that cannot be shown tells a browser why in Bahasa Indonesia, with a link back; scripts and
the API keep getting problem+json."""

from __future__ import annotations

from pathlib import Path

import pytest

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
REVERSED_DATES = "/maps/hotspots?start=2026-10-31&end=2026-10-01"


def test_dates_in_the_wrong_order_give_the_indonesian_error_page(client, sample_city):
    response = client.get(REVERSED_DATES, headers=HTML)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert '<html lang="id">' in page
    assert "Peta tidak dapat ditampilkan" in page
    assert "Tanggal awal harus sebelum tanggal akhir" in page
    assert 'href="/maps/hotspots"' in page  # back to the page with its default period
    assert "start must be before end" in page  # the technical detail stays readable below


@pytest.mark.parametrize(
    ("path", "status", "reason", "back"),
    [
        ("/maps/coverage?value=-3", 400, "Isi radius dalam meter", "/maps/coverage"),
        ("/maps/hotspots?size=7", 400, "Sisi heksagon harus bilangan bulat", "/maps/hotspots"),
        ("/maps/hotspots?grid=segitiga", 400, "pilih salah satu: hexagon, h3, kelurahan", "/maps/hotspots"),
        ("/maps/green?from=kemarin", 400, "Tanggal «kemarin» tidak dapat dibaca", "/maps/green"),
        ("/maps/areas?warna=merah", 400, "isian yang tidak dikenal: warna", "/maps/areas"),
        ("/maps/tidak-ada", 404, "Halaman yang diminta tidak ada", "/"),
    ],
)
def test_map_page_errors_read_in_indonesian(client, sample_city, path, status, reason, back):
    response = client.get(path, headers=HTML)
    assert response.status_code == status and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert reason in page
    assert f'class="error-back" href="{back}"' in page


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        (REVERSED_DATES, {"Accept": "application/json"}),
        (REVERSED_DATES, {}),  # no Accept header: a script
        ("/api/incidents?start=2026-10-31&end=2026-10-01", HTML),  # the API stays JSON for browsers too
    ],
)
def test_scripts_and_the_api_still_get_problem_json(client, sample_city, path, headers):
    response = client.get(path, headers=headers)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.json["detail"] == "start must be before end."
    assert "indonesian" not in response.json


@pytest.mark.browser
def test_the_error_page_in_chromium(open_page, sample_city, tmp_path: Path):
    page = open_page(REVERSED_DATES)
    assert page.external_requests() == []
    reason = page.evaluate("document.querySelector('.error-reason').innerText")
    assert reason.startswith("Tanggal awal harus sebelum tanggal akhir")
    assert page.evaluate("document.querySelector('a.error-back').getAttribute('href')") == "/maps/hotspots"
    page.screenshot(tmp_path / "error.png")
