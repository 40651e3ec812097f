"""ISO 19139 metadata (the XML of ISO 19115, which SNI 8843-1:2019 profiles) for every published layer.

One record per public WMS/WFS layer, written from the catalog (title, abstract, keywords, responsible OPD)
and the data (extent, time span, update date, lineage from the rows' ``source``), with links to the layer
in WMS, WFS and OGC API – Features. Ina-Geoportal and provincial portals harvest them through CSW.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
from lxml import etree

from geo_app.ows.mapfile import MapLayer

GMD = "http://www.isotc211.org/2005/gmd"
GCO = "http://www.isotc211.org/2005/gco"
GML = "http://www.opengis.net/gml"
NSMAP = {"gmd": GMD, "gco": GCO, "gml": GML}
LICENCE = "Creative Commons Attribution 4.0 International (CC BY 4.0)"
NODE_OPD = "Dinas Komunikasi dan Informatika (Simpul Jaringan)"
KUGI_THESAURUS = "Katalog Unsur Geografi Indonesia (KUGI), Badan Informasi Geospasial"
TOPICS = {"batas": "boundaries", "aset": "structure", "rth": "environment", "insiden": "society"}


@dataclass(frozen=True)
class LayerFacts:
    """What the data says about one layer."""

    bbox: tuple[float, float, float, float] | None
    updated: datetime
    sources: tuple[str, ...]
    opd: str


def layer_facts(conn: psycopg.Connection, layer: MapLayer, default_opd: str) -> LayerFacts:
    """Extent, last change, sources and responsible OPD from the layer's own rows (its published SQL)."""
    columns = {c.name for c in conn.execute(f"SELECT * FROM ({layer.subquery}) t LIMIT 0").description}
    changed = next(
        (c for c in ("updated_at", "valid_from", "month_start", "received_at") if c in columns), None
    )
    source = next((c for c in ("source", "boundary_source") if c in columns), None)
    opd = next((c for c in ("owner_opd", "managing_opd") if c in columns), None)
    row = conn.execute(
        "SELECT ST_XMin(e) AS x0, ST_YMin(e) AS y0, ST_XMax(e) AS x1, ST_YMax(e) AS y1,"
        " changed, sources, opds"
        " FROM (SELECT ST_Extent(geom) AS e,"
        f" {f'max({changed})' if changed else 'NULL::timestamptz'} AS changed,"
        f" {f'array_agg(DISTINCT {source})' if source else 'NULL::text[]'} AS sources,"
        f" {f'array_agg(DISTINCT {opd})' if opd else 'NULL::text[]'} AS opds"
        f" FROM ({layer.subquery}) t) s"
    ).fetchone()
    bbox = None if row["x0"] is None else (row["x0"], row["y0"], row["x1"], row["y1"])
    updated = row["changed"] or datetime.now(UTC)
    if updated.tzinfo is None:
        updated = updated.replace(tzinfo=UTC)
    opds = sorted(o for o in (row["opds"] or []) if o)
    sources = tuple(sorted(s for s in (row["sources"] or []) if s))
    return LayerFacts(bbox, updated, sources, opds[0] if opds else default_opd)


def _text(parent: etree._Element, path: str, value: str, kind: str = "CharacterString") -> etree._Element:
    """``gmd:a/gmd:b`` elements under ``parent`` ending in a gco value (CharacterString, Date, Decimal...)."""
    element = parent
    for name in path.split("/"):
        element = etree.SubElement(element, f"{{{GMD}}}{name}")
    etree.SubElement(element, f"{{{GCO}}}{kind}").text = value
    return element


def _code(parent: etree._Element, path: str, code_list: str, value: str) -> None:
    element = parent
    for name in path.split("/"):
        element = etree.SubElement(element, f"{{{GMD}}}{name}")
    etree.SubElement(
        element,
        f"{{{GMD}}}{code_list}",
        codeList=f"http://standards.iso.org/iso/19139/resources/gmxCodelists.xml#{code_list}",
        codeListValue=value,
    ).text = value


def _party(parent: etree._Element, tag: str, organisation: str, role: str) -> None:
    party = etree.SubElement(etree.SubElement(parent, f"{{{GMD}}}{tag}"), f"{{{GMD}}}CI_ResponsibleParty")
    _text(party, "organisationName", organisation)
    _code(party, "role", "CI_RoleCode", role)


def _online(parent: etree._Element, url: str, protocol: str, name: str, description: str) -> None:
    resource = etree.SubElement(etree.SubElement(parent, f"{{{GMD}}}onLine"), f"{{{GMD}}}CI_OnlineResource")
    linkage = etree.SubElement(resource, f"{{{GMD}}}linkage")
    etree.SubElement(linkage, f"{{{GMD}}}URL").text = url
    _text(resource, "protocol", protocol)
    _text(resource, "name", name)
    _text(resource, "description", description)


def _kugi_keywords(identification: etree._Element, category: str, name: str) -> None:
    """The layer's feature in the national feature catalogue, as keywords from that thesaurus."""
    keywords = etree.SubElement(
        etree.SubElement(identification, f"{{{GMD}}}descriptiveKeywords"), f"{{{GMD}}}MD_Keywords"
    )
    _text(keywords, "keyword", category)
    _text(keywords, "keyword", name)
    _code(keywords, "type", "MD_KeywordTypeCode", "theme")
    thesaurus = etree.SubElement(
        etree.SubElement(keywords, f"{{{GMD}}}thesaurusName"), f"{{{GMD}}}CI_Citation"
    )
    _text(thesaurus, "title", KUGI_THESAURUS)
    etree.SubElement(thesaurus, f"{{{GMD}}}date", {f"{{{GCO}}}nilReason": "unknown"})


def file_identifier(city_code: str, layer: MapLayer) -> str:
    return f"geo_app-{city_code}-{layer.name}"


def collection_url(site: str, layer: MapLayer) -> str | None:
    """The same rows in OGC API – Features, where a collection holds them."""
    kind, _, name = layer.name.partition("_")
    collections = {
        "batas": f"{site}/ogc/collections/{name}",
        "aset": f"{site}/ogc/collections/assets_{name}",
        "rth": f"{site}/ogc/collections/green_areas/items?green_type={name}",
    }
    return collections.get(kind)


def iso_record(layer: MapLayer, facts: LayerFacts, city_code: str, site: str) -> etree._Element:
    """One gmd:MD_Metadata record describing ``layer`` as a dataset."""
    root = etree.Element(f"{{{GMD}}}MD_Metadata", nsmap=NSMAP)
    _text(root, "fileIdentifier", file_identifier(city_code, layer))
    _text(root, "language", "ind")
    _code(root, "characterSet", "MD_CharacterSetCode", "utf8")
    _code(root, "hierarchyLevel", "MD_ScopeCode", "dataset")
    _party(root, "contact", NODE_OPD, "pointOfContact")
    _text(root, "dateStamp", facts.updated.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "DateTime")
    _text(root, "metadataStandardName", "ISO 19115:2003/19139 (SNI 8843-1:2019)")
    _text(root, "metadataStandardVersion", "2003/Cor.1:2006")
    reference = etree.SubElement(
        etree.SubElement(root, f"{{{GMD}}}referenceSystemInfo"), f"{{{GMD}}}MD_ReferenceSystem"
    )
    identifier = etree.SubElement(
        etree.SubElement(reference, f"{{{GMD}}}referenceSystemIdentifier"), f"{{{GMD}}}RS_Identifier"
    )
    _text(identifier, "code", "EPSG:4326")

    identification = etree.SubElement(
        etree.SubElement(root, f"{{{GMD}}}identificationInfo"), f"{{{GMD}}}MD_DataIdentification"
    )
    citation = etree.SubElement(
        etree.SubElement(identification, f"{{{GMD}}}citation"), f"{{{GMD}}}CI_Citation"
    )
    _text(citation, "title", layer.title)
    date = etree.SubElement(etree.SubElement(citation, f"{{{GMD}}}date"), f"{{{GMD}}}CI_Date")
    _text(date, "date", facts.updated.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "DateTime")
    _code(date, "dateType", "CI_DateTypeCode", "revision")
    _text(identification, "abstract", layer.abstract)
    _party(identification, "pointOfContact", facts.opd, "custodian")
    _party(identification, "pointOfContact", NODE_OPD, "distributor")
    keywords = etree.SubElement(
        etree.SubElement(identification, f"{{{GMD}}}descriptiveKeywords"), f"{{{GMD}}}MD_Keywords"
    )
    for word in layer.keywords:
        _text(keywords, "keyword", word)
    _code(keywords, "type", "MD_KeywordTypeCode", "theme")
    if layer.kugi is not None:
        _kugi_keywords(identification, layer.kugi.category, layer.kugi.name)
    constraints = etree.SubElement(
        etree.SubElement(identification, f"{{{GMD}}}resourceConstraints"), f"{{{GMD}}}MD_LegalConstraints"
    )
    _text(constraints, "useLimitation", f"Lisensi: {LICENCE}")
    _code(constraints, "accessConstraints", "MD_RestrictionCode", "otherRestrictions")
    _text(constraints, "otherConstraints", LICENCE)
    _text(identification, "language", "ind")
    topic = etree.SubElement(identification, f"{{{GMD}}}topicCategory")
    etree.SubElement(topic, f"{{{GMD}}}MD_TopicCategoryCode").text = TOPICS[layer.name.split("_")[0]]
    if facts.bbox is not None:
        extent = etree.SubElement(etree.SubElement(identification, f"{{{GMD}}}extent"), f"{{{GMD}}}EX_Extent")
        box = etree.SubElement(
            etree.SubElement(extent, f"{{{GMD}}}geographicElement"), f"{{{GMD}}}EX_GeographicBoundingBox"
        )
        for name, value in zip(
            ("westBoundLongitude", "eastBoundLongitude", "southBoundLatitude", "northBoundLatitude"),
            (facts.bbox[0], facts.bbox[2], facts.bbox[1], facts.bbox[3]),
            strict=True,
        ):
            _text(box, name, f"{value:.6f}", "Decimal")

    distribution = etree.SubElement(
        etree.SubElement(root, f"{{{GMD}}}distributionInfo"), f"{{{GMD}}}MD_Distribution"
    )
    transfer = etree.SubElement(
        etree.SubElement(distribution, f"{{{GMD}}}transferOptions"), f"{{{GMD}}}MD_DigitalTransferOptions"
    )
    _online(transfer, f"{site}/ows?SERVICE=WMS&REQUEST=GetCapabilities", "OGC:WMS", layer.name, "WMS 1.3.0")
    _online(transfer, f"{site}/ows?SERVICE=WFS&REQUEST=GetCapabilities", "OGC:WFS", layer.name, "WFS 2.0")
    if (collection := collection_url(site, layer)) is not None:
        _online(transfer, collection, "OGC:API-Features", layer.name, "OGC API – Features")

    quality = etree.SubElement(
        etree.SubElement(root, f"{{{GMD}}}dataQualityInfo"), f"{{{GMD}}}DQ_DataQuality"
    )
    scope = etree.SubElement(etree.SubElement(quality, f"{{{GMD}}}scope"), f"{{{GMD}}}DQ_Scope")
    _code(scope, "level", "MD_ScopeCode", "dataset")
    lineage = etree.SubElement(etree.SubElement(quality, f"{{{GMD}}}lineage"), f"{{{GMD}}}LI_Lineage")
    sources = "; ".join(facts.sources) or "Basis data geospasial kota (PostGIS)"
    _text(lineage, "statement", f"Sumber data: {sources}.")
    return root
