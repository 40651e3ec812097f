"""/ows: WMS 1.3.0 and WFS 2.0 (``/ows?SERVICE=WMS&REQUEST=GetCapabilities``), answered by MapServer.

The same access rules as /ogc: everyone gets the public map; the roles that may read the OGC ``incidents``
collection also get its points as the WMS/WFS layer ``insiden_112``. HTTP Basic with the user name and an
API token works here as everywhere (QGIS and GDAL cannot send a Bearer header).
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, current_app, request

from geo_app.auth.identity import current_role
from geo_app.auth.permissions import is_allowed
from geo_app.ows import metadata
from geo_app.ows.service import OwsService
from geo_app.web import deps
from geo_app.web.apidoc import QueryParam, declare
from geo_app.web.errors import Problem
from geo_app.web.ogc import COLLECTION_RULE, ogc_api
from geo_app.web.params import reject_unknown

blueprint = Blueprint("ows", __name__)


def ows_service() -> OwsService:
    """The WMS/WFS of the request's city, one per city: its map and cached capabilities are its own."""
    services = current_app.extensions.setdefault("ows", {})
    code = deps.city_code()
    if code not in services:
        settings = deps.settings()
        services[code] = OwsService(
            deps.catalog(),
            ogc_api().collections,
            code,
            mapserver_connection(settings.database_url, settings.statement_timeout_ms),
            settings.public_min_cell_count,
        )
    return services[code]


def mapserver_connection(database_url: str, statement_timeout_ms: int) -> str:
    """The web app's database URL for MapServer, with the same statement timeout as the app's own pool."""
    if not statement_timeout_ms:
        return database_url
    separator = "&" if "?" in database_url else "?"
    return f"{database_url}{separator}options={quote(f'-c statement_timeout={statement_timeout_ms}')}"


@blueprint.get("/ows")
@declare(
    QueryParam("SERVICE", "WMS or WFS", enum=("WMS", "WFS")),
    QueryParam(
        "REQUEST",
        "GetCapabilities, GetMap, GetFeatureInfo, GetLegendGraphic, DescribeFeatureType, GetFeature",
    ),  # fmt: skip
    media_type="text/xml",
)
def ows():
    """WMS 1.3.0 and WFS 2.0 of every published layer (MapServer; parameters as the OGC standards say)."""
    with_points = is_allowed(current_role(), COLLECTION_RULE, "GET", {"collection_id": "incidents"})
    online_resource = request.base_url + "?"
    with deps.connection() as conn:
        answer = ows_service().dispatch(
            request.query_string.decode("latin-1"), online_resource, with_points, conn
        )
    if not answer.body:  # MapServer answers only requests of a service it offers
        raise Problem(
            400,
            "Not a WMS or WFS request",
            "Give SERVICE=WMS or SERVICE=WFS and a REQUEST, e.g. /ows?SERVICE=WMS&REQUEST=GetCapabilities.",
        )
    return Response(answer.body, status=answer.status, content_type=answer.content_type)


@blueprint.get("/metadata")
def metadata_index():
    """The ISO 19139 metadata records of the published layers (id, title, link), for harvesters."""
    reject_unknown(set())
    site = request.url_root.rstrip("/")
    service = ows_service()
    with deps.connection() as conn:
        described = service.described_layers(conn)
    return {
        "records": [
            {
                "id": metadata.file_identifier(service.city_code, layer),
                "title": layer.title,
                "updated": facts.updated.isoformat(),
                "href": f"{site}/metadata/{metadata.file_identifier(service.city_code, layer)}.xml",
                "type": "application/xml",
            }
            for layer, facts in described
        ]
    }


@blueprint.get("/metadata/<record_id>.xml")
def metadata_record(record_id: str):
    """One layer's ISO 19139 record (gmd:MD_Metadata): title, abstract, keywords, extent, contact, links."""
    reject_unknown(set())
    with deps.connection() as conn:
        records = ows_service().iso_records(conn, request.url_root.rstrip("/"))
    if record_id in records:
        return Response(records[record_id], content_type="application/xml")
    raise Problem(
        404, "No such metadata record", f"No record {record_id!r}; the records are listed at /metadata."
    )
