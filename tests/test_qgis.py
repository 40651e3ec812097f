"""QGIS 3.22 itself (Debian's python3-qgis, headless) against a live server on the OGC test city.

PyQGIS is built for Debian's /usr/bin/python3, not the project's venv, so tests/qgis_client.py runs in a
child process and prints what QGIS saw; the expected numbers come from the database.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest
from browser import LiveServer
from ogc_city import CITY, city_app, db_rows

from geo_app.auth.roles import PERENCANA
from geo_app.auth.users import add_user, issue_token

DEBIAN_PYTHON = "/usr/bin/python3"


@pytest.fixture(scope="module")
def qgis_saw(database_url) -> dict:
    has_qgis = subprocess.run([DEBIAN_PYTHON, "-c", "import qgis.core"], capture_output=True).returncode == 0
    if not has_qgis:
        pytest.skip("python3-qgis is not installed (scripts/test installs python3-qgis and qgis-providers)")
    with city_app(database_url) as app:
        username = f"qgis_{uuid.uuid4().hex[:8]}"
        add_user(database_url, username, PERENCANA, password=None, city_code=CITY)
        token, _ = issue_token(database_url, username)
        server = LiveServer(app)
        try:
            script = Path(__file__).with_name("qgis_client.py")
            result = subprocess.run(
                [DEBIAN_PYTHON, str(script), server.url, username, token],
                capture_output=True,
                text=True,
                timeout=600,
                check=True,
            )
        finally:
            server.close()
    return json.loads(result.stdout.strip().splitlines()[-1])


def count(database_url: str, sql: str) -> int:
    return db_rows(database_url, sql, {"c": CITY})[0]["n"]


def test_qgis_reads_public_collections_whole_with_real_ids(qgis_saw, database_url):
    cctv = qgis_saw["oapif_cctv"]
    expected = count(
        database_url, "SELECT count(*) AS n FROM assets WHERE city_code = %(c)s AND asset_type = 'cctv'"
    )
    assert cctv["valid"] and cctv["features"] == expected
    assert cctv["feature_count_before_download"] == expected > 1000  # numberMatched, not a count of pages
    assert cctv["fields"]["id"] == "Integer"  # the real id, not QGIS's own 1..N numbering only
    kelurahan = qgis_saw["oapif_kelurahan"]
    assert kelurahan["valid"] and "code" in kelurahan["fields"]


def test_qgis_signs_in_with_basic_and_an_api_token(qgis_saw, database_url):
    assert (
        not qgis_saw["oapif_incidents_anonymous"]["valid"]
        or qgis_saw["oapif_incidents_anonymous"]["features"] == 0
    )
    signed_in = qgis_saw["oapif_incidents_signed_in"]
    expected = count(
        database_url,
        "SELECT count(*) AS n FROM incidents"
        " WHERE city_code = %(c)s AND call_type = 'darurat' AND geom IS NOT NULL",
    )
    assert signed_in["valid"] and signed_in["features"] == expected
    assert signed_in["feature_count_before_download"] == expected


def test_qgis_opens_wms_and_reads_wfs_whole(qgis_saw, database_url):
    assert qgis_saw["wms_valid"]
    wfs = qgis_saw["wfs_cctv"]
    expected = count(
        database_url, "SELECT count(*) AS n FROM assets WHERE city_code = %(c)s AND asset_type = 'cctv'"
    )
    assert wfs["valid"] and wfs["features"] == expected


def test_qgis_types_each_collection_as_declared(qgis_saw):
    """QGIS's QgsWkbTypes: 1 Point, 2 LineString, 6 MultiPolygon (the fiber layer's first features would
    not tell it; the collection says so)."""
    assert qgis_saw["oapif_cctv"]["geometry_type"] == 1
    assert qgis_saw["oapif_fiber"]["valid"] and qgis_saw["oapif_fiber"]["geometry_type"] == 2
    assert qgis_saw["oapif_kelurahan"]["geometry_type"] == 6
