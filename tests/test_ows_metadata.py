"""ISO 19139 metadata of every published layer: linked from the WMS capabilities (MetadataURL), listed at
/metadata, valid against the ISO 19139 schemas (as packaged in the pycsw 2.6.2 wheel, unpacked into
.local/iso19139 by scripts/test), and true to
the data: extents from the database, links that answer.
"""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import pytest
from conftest import SAMPLE_CITY
from lxml import etree
from ogc_city import db_rows
from owslib.wms import WebMapService

SCHEMA = (
    Path(os.environ.get("GEO_APP_STATE_DIR") or Path(__file__).resolve().parent.parent / ".local")
    / "iso19139/pycsw/plugins/profiles/apiso/schemas/ogc/iso/19139/20060504/gmd/gmd.xsd"
)
NS = {"gmd": "http://www.isotc211.org/2005/gmd", "gco": "http://www.isotc211.org/2005/gco"}


@pytest.fixture(scope="module")
def iso_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA)))


@pytest.fixture(scope="module")
def wms(live_server) -> WebMapService:
    return WebMapService(live_server.url + "/ows", version="1.3.0", timeout=120)


def read(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as response:
        assert response.status == 200, url
        return response.read()


def values(record: etree._Element, path: str) -> list[str]:
    return [e.text for e in record.xpath(path, namespaces=NS)]


def test_every_layer_links_a_valid_iso_19139_record_true_to_its_data(wms, iso_schema, database_url):
    layers = {name: layer for name, layer in wms.contents.items() if name != "geo_app"}
    assert layers
    for name, layer in layers.items():
        (link,) = layer.metadataUrls
        assert link["type"] == "ISO19115:2003" and link["format"] == "text/xml"
        record = etree.fromstring(read(link["url"]))
        assert iso_schema.validate(record), (name, iso_schema.error_log.last_error)
        assert values(record, "gmd:fileIdentifier/gco:CharacterString") == [f"geo_app-{SAMPLE_CITY}-{name}"]
        title = values(record, "gmd:identificationInfo//gmd:citation/*/gmd:title/gco:CharacterString")
        assert title == [layer.title]
        assert values(record, "gmd:identificationInfo//gmd:abstract/gco:CharacterString") == [layer.abstract]
        assert values(record, "gmd:identificationInfo//gmd:keyword/gco:CharacterString")
        protocols = dict(
            zip(
                values(record, "//gmd:CI_OnlineResource/gmd:protocol/gco:CharacterString"),
                values(record, "//gmd:CI_OnlineResource/gmd:linkage/gmd:URL"),
                strict=True,
            )
        )
        assert {"OGC:WMS", "OGC:WFS"} <= set(protocols), name
        for url in protocols.values():
            read(url)  # every link answers
        assert values(record, "//gmd:LI_Lineage/gmd:statement/gco:CharacterString")[0].startswith(
            "Sumber data"
        )
        assert values(record, "//gmd:otherConstraints/gco:CharacterString")  # the licence
    record = etree.fromstring(read(layers["aset_cctv"].metadataUrls[0]["url"]))
    expected = db_rows(
        database_url,
        "SELECT ST_XMin(e) AS w, ST_XMax(e) AS e, ST_YMin(e) AS s, ST_YMax(e) AS n FROM"
        " (SELECT ST_Extent(geom) AS e FROM assets WHERE city_code = %s AND asset_type = 'cctv') x",
        (SAMPLE_CITY,),
    )[0]
    box = record.xpath("//gmd:EX_GeographicBoundingBox", namespaces=NS)[0]
    for tag, key in (("westBoundLongitude", "w"), ("eastBoundLongitude", "e"), ("southBoundLatitude", "s"),
                     ("northBoundLatitude", "n")):  # fmt: skip
        assert float(values(box, f"gmd:{tag}/gco:Decimal")[0]) == pytest.approx(expected[key], abs=1e-6)
    assert (
        values(
            record, "gmd:identificationInfo//gmd:pointOfContact//gmd:organisationName/gco:CharacterString"
        )[0]
        == "Diskominfo"
    )  # the asset type's owner OPD, from the data


def test_metadata_index_lists_every_record_and_unknown_ones_are_404(anonymous_client, wms):
    listed = anonymous_client.get("/metadata").get_json()["records"]
    assert {r["id"] for r in listed} == {f"geo_app-{SAMPLE_CITY}-{n}" for n in wms.contents if n != "geo_app"}
    missing = anonymous_client.get("/metadata/geo_app-36.72-insiden_112.xml")
    assert missing.status_code == 404 and missing.content_type == "application/problem+json"


def test_kugi_keywords_come_from_the_catalog_under_their_thesaurus(anonymous_client, app):
    catalog = app.config["CATALOG"]
    assert catalog.admin_levels["kecamatan"].kugi is not None
    for name, kugi in (
        ("batas_kecamatan", catalog.admin_levels["kecamatan"].kugi),
        ("aset_puskesmas", catalog.asset_types["puskesmas"].kugi),
        ("aset_cctv", catalog.asset_types["cctv"].kugi),
    ):
        record = etree.fromstring(anonymous_client.get(f"/metadata/geo_app-{SAMPLE_CITY}-{name}.xml").data)
        thesaurus = record.xpath(
            "//gmd:MD_Keywords[gmd:thesaurusName/*/gmd:title/gco:CharacterString"
            " = 'Katalog Unsur Geografi Indonesia (KUGI), Badan Informasi Geospasial']",
            namespaces=NS,
        )
        if kugi is None:
            assert thesaurus == [], name
        else:
            (keywords,) = thesaurus
            assert values(keywords, "gmd:keyword/gco:CharacterString") == [kugi.category, kugi.name]
