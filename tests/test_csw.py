"""The CSW catalogue at /csw: the real pycsw process (geo_app/csw_node/pycsw_app.py in .local/pycsw-venv)
behind the web app, read by OWSLib's CatalogueServiceWeb as a harvester (Ina-Geoportal, GeoNetwork) would.

Expected records come from /metadata (the layers the WMS publishes); each record is validated against the
ISO 19139 schemas (.local/iso19139, as for tests/test_ows_metadata.py).
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from datetime import UTC
from pathlib import Path

import pytest
from browser import LiveServer
from conftest import SAMPLE_CITY, execute
from lxml import etree
from owslib.csw import CatalogueServiceWeb
from owslib.fes import BBox, PropertyIsLike
from test_ows_metadata import NS, SCHEMA

from geo_app import create_app

REPO = Path(__file__).resolve().parent.parent
STATE_DIR = Path(os.environ.get("GEO_APP_STATE_DIR") or REPO / ".local")
PYCSW_PYTHON = STATE_DIR / "pycsw-venv" / "bin" / "python"
GMD = "http://www.isotc211.org/2005/gmd"
REFRESH_SECONDS = 10


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the catalogue process stopped: {process.stderr.read().decode()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    raise RuntimeError(f"the catalogue did not answer at {url} within {seconds} s")


@pytest.fixture(scope="module")
def site(settings, sample_city, web_database_url, database_url):
    """The web app on a live port, its /csw proxied to a pycsw process started as scripts/run starts it."""
    if not PYCSW_PYTHON.exists():
        pytest.skip("the pycsw environment is missing (scripts/test creates .local/pycsw-venv)")
    port = free_port()
    app = create_app(
        dataclasses.replace(settings, database_url=web_database_url, csw_url=f"http://127.0.0.1:{port}")
    )
    server = LiveServer(app)
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CITY_CODE": SAMPLE_CITY,
        "CSW_SITE_URL": server.url,
        "CSW_PORT": str(port),
        "CSW_REFRESH_SECONDS": str(REFRESH_SECONDS),
        "GEO_APP_COMMAND": str(REPO / ".venv" / "bin" / "geo-app"),
        "PYTHONPATH": str(REPO),  # geo-app runs this checkout's code
    }
    process = subprocess.Popen(
        [str(PYCSW_PYTHON), str(REPO / "geo_app" / "csw_node" / "pycsw_app.py")],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/?service=CSW&request=GetCapabilities", process)
        yield server.url
    finally:
        process.terminate()
        process.wait(timeout=30)
        server.close()
        app.extensions["db_pool"].close()


@pytest.fixture(scope="module")
def csw(site) -> CatalogueServiceWeb:
    return CatalogueServiceWeb(f"{site}/csw", version="2.0.2", timeout=60)


@pytest.fixture(scope="module")
def published(site) -> set[str]:
    """The record ids of the layers the service publishes (its /metadata index)."""
    with urllib.request.urlopen(f"{site}/metadata", timeout=60) as response:
        return {record["id"] for record in json.load(response)["records"]}


@pytest.fixture(scope="module")
def iso_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA)))


def all_records(csw: CatalogueServiceWeb, **query) -> dict:
    records, start = {}, 1
    while True:
        csw.getrecords2(
            typenames="gmd:MD_Metadata", outputschema=GMD, esn="full", startposition=start, maxrecords=10,
            **query,
        )  # fmt: skip
        records.update(csw.records)
        if not csw.results["nextrecord"] or csw.results["nextrecord"] > csw.results["matches"]:
            return records
        start = csw.results["nextrecord"]


def test_capabilities_offer_the_read_operations_at_the_public_address(csw, site):
    operations = {operation.name for operation in csw.operations}
    assert {"GetCapabilities", "DescribeRecord", "GetRecords", "GetRecordById", "GetDomain"} <= operations
    assert "Transaction" not in operations and "Harvest" not in operations
    get_records = next(operation for operation in csw.operations if operation.name == "GetRecords")
    assert all(method["url"].startswith(f"{site}/csw") for method in get_records.methods)
    assert "simpul jaringan" in csw.identification.title.lower()


def test_every_published_layer_is_a_valid_iso_19139_record_in_the_catalogue(csw, published, iso_schema):
    records = all_records(csw)
    assert set(records) == published and len(published) > 10
    assert csw.results["matches"] == len(published)
    for identifier, record in records.items():
        document = etree.fromstring(record.xml)
        assert iso_schema.validate(document), (identifier, iso_schema.error_log.last_error)
        assert record.identification[0].title
        protocols = {online.protocol for online in record.distribution.online}
        assert {"OGC:WMS", "OGC:WFS"} <= protocols, identifier


def test_get_record_by_id_returns_the_record_the_service_writes(csw, site, iso_schema):
    identifier = f"geo_app-{SAMPLE_CITY}-batas_kecamatan"
    csw.getrecordbyid([identifier], outputschema=GMD)
    record = etree.fromstring(csw.records[identifier].xml)
    assert iso_schema.validate(record), iso_schema.error_log.last_error
    with urllib.request.urlopen(f"{site}/metadata/{identifier}.xml", timeout=60) as response:
        served = etree.fromstring(response.read())
    path = "gmd:identificationInfo//gmd:keyword/gco:CharacterString"
    assert record.xpath(path, namespaces=NS) and [e.text for e in record.xpath(path, namespaces=NS)] == [
        e.text for e in served.xpath(path, namespaces=NS)
    ]
    assert "Administrasi Kecamatan" in [e.text for e in record.xpath(path, namespaces=NS)]  # KUGI


def test_text_and_bbox_queries_find_the_right_records(csw):
    cctv = all_records(csw, constraints=[PropertyIsLike("csw:AnyText", "%CCTV%")])
    assert f"geo_app-{SAMPLE_CITY}-aset_cctv" in cctv and len(cctv) < 5
    # OWSLib's BBox is in EPSG:4326, latitude first
    far_away = all_records(csw, constraints=[BBox([-3.0, 130.0, -2.0, 131.0])])  # Papua, not Cilegon
    cilegon = all_records(csw, constraints=[BBox([-6.1, 105.9, -5.9, 106.2])])
    assert far_away == {}
    assert f"geo_app-{SAMPLE_CITY}-batas_kelurahan" in cilegon and len(cilegon) > 10


def test_the_catalogue_follows_the_data_within_its_refresh_period(csw, database_url):
    """A change to the data reaches the record (its revision date) by the next refresh."""
    identifier = f"geo_app-{SAMPLE_CITY}-aset_cctv"
    (row,) = execute(
        database_url,
        "SELECT id, updated_at FROM assets WHERE city_code = %s AND asset_type = 'cctv'"
        " ORDER BY updated_at DESC, id LIMIT 1",
        (SAMPLE_CITY,),
    )
    execute(
        database_url,
        "UPDATE assets SET updated_at = date_trunc('second', updated_at) + interval '7 seconds'"
        " WHERE id = %s",
        (row[0],),
    )
    try:
        ((changed,),) = execute(database_url, "SELECT updated_at FROM assets WHERE id = %s", (row[0],))
        wanted = changed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        deadline = time.monotonic() + 6 * REFRESH_SECONDS + 60
        seen = None
        while time.monotonic() < deadline:
            csw.getrecordbyid([identifier], outputschema=GMD)
            record = etree.fromstring(csw.records[identifier].xml)
            seen = record.xpath("gmd:dateStamp/gco:DateTime", namespaces=NS)[0].text
            if seen == wanted:
                break
            time.sleep(2)
        assert seen == wanted
    finally:
        execute(database_url, "UPDATE assets SET updated_at = %s WHERE id = %s", (row[1], row[0]))


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"url": "/csw?SERVICE=CSW&VERSION=2.0.2&REQUEST=Transaction"},
        {"url": "/csw?service=CSW&version=2.0.2&request=Harvest&source=http://evil.example/csw"},
        {
            "url": "/csw",
            "data": b'<?xml version="1.0"?><csw:Transaction xmlns:csw="http://www.opengis.net/cat/csw/2.0.2"'
            b' service="CSW" version="2.0.2"><csw:Delete><csw:Constraint version="1.1.0"/></csw:Delete>'
            b"</csw:Transaction>",
        },
        {
            "url": "/csw",
            "data": b'<csw:Harvest xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" service="CSW"'
            b' version="2.0.2"><csw:Source>http://evil.example/csw</csw:Source>'
            b"<csw:ResourceType>http://www.opengis.net/cat/csw/2.0.2</csw:ResourceType></csw:Harvest>",
        },
    ],
)
def test_writes_are_refused_with_a_problem(site, csw, request_kwargs):
    data = request_kwargs.get("data")
    request = urllib.request.Request(
        site + request_kwargs["url"], data=data, headers={"Content-Type": "application/xml"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 403
    assert refused.value.headers["Content-Type"] == "application/problem+json"
    assert "read-only" in refused.value.read().decode()
    assert len(all_records(csw)) > 10  # nothing was deleted


def test_a_post_of_a_read_operation_is_answered_by_pycsw(site):
    body = (
        b'<csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" service="CSW" version="2.0.2"'
        b' resultType="hits"><csw:Query typeNames="csw:Record"><csw:ElementSetName>brief'
        b"</csw:ElementSetName></csw:Query></csw:GetRecords>"
    )
    request = urllib.request.Request(f"{site}/csw", data=body, headers={"Content-Type": "application/xml"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = etree.fromstring(response.read())
    results = answer.find("{http://www.opengis.net/cat/csw/2.0.2}SearchResults")
    assert int(results.get("numberOfRecordsMatched")) > 10


def test_a_post_with_a_doctype_never_reaches_pycsw(site):
    """An external entity would make pycsw's parser read a file of the server: refused before it."""
    body = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<csw:GetRecords xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" service="CSW" version="2.0.2"'
        b' resultType="results"><csw:Query typeNames="csw:Record"><csw:ElementSetName>&x;'
        b"</csw:ElementSetName></csw:Query></csw:GetRecords>"
    )
    request = urllib.request.Request(f"{site}/csw", data=body, headers={"Content-Type": "application/xml"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    answer = refused.value.read().decode()
    assert refused.value.code == 400 and "DOCTYPE" in answer and "root:" not in answer


def test_without_the_catalogue_process_csw_is_a_503_problem(settings, sample_city, web_database_url):
    app = create_app(
        dataclasses.replace(
            settings, database_url=web_database_url, csw_url=f"http://127.0.0.1:{free_port()}"
        )
    )
    try:
        response = app.test_client().get("/csw?SERVICE=CSW&REQUEST=GetCapabilities")
        no_operation = app.test_client().get("/csw")
        unknown = app.test_client().get("/csw?SERVICE=CSW&REQUEST=GetRepositoryItem")
    finally:
        app.extensions["db_pool"].close()
    assert response.status_code == 503 and response.content_type == "application/problem+json"
    assert no_operation.status_code == 400 and "REQUEST" in no_operation.get_json()["detail"]
    assert unknown.status_code == 400 and "GetRecords" in unknown.get_json()["detail"]
