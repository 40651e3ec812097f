"""/ogc: the Flask adapter of the OGC API – Features core (geo_app.ogc.core).

Views parse the request (format, arguments), call the core and shape the answer as JSON/GeoJSON or, for
browsers and ``f=html``, as a simple HTML page.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, render_template, request

from geo_app.auth.identity import current_role
from geo_app.auth.permissions import is_allowed
from geo_app.auth.roles import PUBLIC
from geo_app.ogc.core import GEOJSON, HTML, JSON, Answer, OgcApi, OgcError, with_query
from geo_app.published import build_collections
from geo_app.web import deps
from geo_app.web.apidoc import QueryParam, declare
from geo_app.web.errors import problem_response
from geo_app.web.params import reject_unknown

blueprint = Blueprint("ogc", __name__, url_prefix="/ogc")

COLLECTION_RULE = "/ogc/collections/<collection_id>"
FORMAT = QueryParam("f", "Response format: json (default for clients) or html (default for browsers)",
                    enum=("json", "html"))  # fmt: skip


def ogc_api() -> OgcApi:
    """The OGC API core of the request's city, built once per city from its view of the layer catalog
    (its collections, and the extents it caches, are the city's own)."""
    apis = current_app.extensions.setdefault("ogc_api", {})
    code = deps.city_code()
    if code not in apis:
        apis[code] = OgcApi(build_collections(deps.catalog()), code, is_public_collection)
    return apis[code]


def is_public_collection(collection_id: str) -> bool:
    """Whether the public view may read the collection (else its descriptions say sign-in is needed)."""
    return is_allowed(PUBLIC, COLLECTION_RULE, "GET", {"collection_id": collection_id})


def site_url() -> str:
    return request.url_root.rstrip("/")


def base_url() -> str:
    return site_url() + blueprint.url_prefix


@blueprint.app_errorhandler(OgcError)
def _ogc_error(exc: OgcError):
    return problem_response(exc.status, exc.title, exc.detail)


def wants_html() -> bool:
    requested = request.args.get("f")
    if requested is not None:
        if requested not in ("json", "html"):
            raise OgcError(400, "Invalid parameter", f"f={requested!r}: use json or html.")
        return requested == "html"
    return request.accept_mimetypes.best_match([JSON, GEOJSON, HTML], default=JSON) == HTML


def as_html(url: str) -> str:
    """The HTML version of an API URL (``f=html`` added)."""
    return f"{url}{'&' if '?' in url else '?'}f=html"


def respond(answer: Answer, kind: str, **context) -> Response:
    if wants_html():
        json_args = [(k, v) for k, v in request.args.items(multi=True) if k != "f"]
        html = render_template(
            "ogc_page.html",
            kind=kind,
            doc=answer.document(),
            city=None,
            base=base_url(),
            as_html=as_html,
            as_json=with_query(request.base_url, [*json_args, ("f", "json")]),
            **context,
        )
        return Response(html, mimetype="text/html")
    body = answer.body if isinstance(answer.body, str) else json.dumps(answer.body, ensure_ascii=False)
    return Response(body, mimetype=answer.media_type, headers=answer.headers)


@blueprint.get("", strict_slashes=False)
@declare(FORMAT)
def landing():
    """OGC API landing page: links to the API definition, conformance and collections."""
    reject_unknown({"f"})
    return respond(ogc_api().landing(base_url(), site_url()), "landing")


@blueprint.get("/conformance")
@declare(FORMAT)
def conformance():
    """Conformance classes this service implements (and tests)."""
    reject_unknown({"f"})
    return respond(ogc_api().conformance(), "conformance")


@blueprint.get("/collections")
@declare(FORMAT)
def collections():
    """Every published collection the caller may read, with its extent, CRS list and links."""
    reject_unknown({"f"})
    role = current_role()

    def readable(collection_id: str) -> bool:
        return is_allowed(role, COLLECTION_RULE, "GET", {"collection_id": collection_id})

    with deps.connection() as conn:
        return respond(ogc_api().collection_list(base_url(), conn, readable), "collections")


@blueprint.get("/collections/<collection_id>")
@declare(FORMAT, per_collection=True)
def collection(collection_id: str):
    """One collection: extent (CRS84 bbox and time span), CRS list, links to items and queryables."""
    reject_unknown({"f"})
    with deps.connection() as conn:
        return respond(ogc_api().collection(base_url(), collection_id, conn), "collection")


@blueprint.get("/collections/<collection_id>/queryables")
@declare(FORMAT, per_collection=True)
def queryables(collection_id: str):
    """Properties usable in filter, property filters and sortby, as JSON Schema."""
    reject_unknown({"f"})
    return respond(ogc_api().queryables(base_url(), collection_id), "queryables")


@blueprint.get("/collections/<collection_id>/schema")
@declare(FORMAT, per_collection=True)
def schema(collection_id: str):
    """The features' schema (OGC API – Features Part 5): each property's type; id and geometry marked."""
    reject_unknown({"f"})
    return respond(ogc_api().schema(base_url(), collection_id), "queryables")


@blueprint.get("/collections/<collection_id>/feature-schema")
@declare(FORMAT, per_collection=True)
def feature_schema(collection_id: str):
    """JSON Schema of one GeoJSON feature (the collection's describedby link; GDAL types fields by it)."""
    reject_unknown({"f"})
    return respond(ogc_api().feature_schema(base_url(), collection_id), "queryables")


@blueprint.get("/collections/<collection_id>/items")
@declare(per_collection=True, items=True)
def items(collection_id: str):
    """Features of a collection, one page at a time (next/prev links carry a keyset cursor)."""
    with deps.connection() as conn:
        answer = ogc_api().items(base_url(), collection_id, request.args, conn)
    return respond(answer, "items", collection=ogc_api().find(collection_id))


@blueprint.get("/collections/<collection_id>/items/<feature_id>")
@declare(
    FORMAT,
    QueryParam(
        "crs", "CRS of the answer (CRS84, EPSG:4326 latitude first, or a WGS 84 / UTM zone over Indonesia)"
    ),
    per_collection=True,
)
def item(collection_id: str, feature_id: str):
    """One feature by id, with self, alternate and collection links."""
    reject_unknown({"f", "crs"})
    with deps.connection() as conn:
        answer = ogc_api().item(base_url(), collection_id, feature_id, request.args, conn)
    return respond(answer, "item", collection=ogc_api().find(collection_id))
