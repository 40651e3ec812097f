"""/openapi.json for every endpoint of the service, built from the code, and /docs to read it.

The document walks ``app.url_map``: each rule becomes a path, its docstring the summary, its converters
the path parameters, its ``declare(...)`` (geo_app.web.apidoc) or its ``reject_unknown`` call the query
parameters; OGC collection paths are listed once per collection with that collection's queryables.
Errors are documented as problem+json.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from functools import cache

from flask import Blueprint, Flask, current_app, render_template, request

from geo_app.ogc.core import DEFAULT_LIMIT, GEOJSON, MAX_LIMIT, OPENAPI
from geo_app.published import Collection
from geo_app.web.access import SECURITY_SCHEMES, openapi_access
from geo_app.web.apidoc import ApiDeclaration, QueryParam, declare
from geo_app.web.errors import PROBLEM_JSON
from geo_app.web.params import parsed, reject_unknown

blueprint = Blueprint("openapi", __name__)

HIDDEN_ENDPOINTS = {"static"}
CONVERTER_TYPES = {"int": "integer", "float": "number"}
RULE_ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")

LIMIT_PARAM = QueryParam(
    "limit",
    f"Features per page (default {DEFAULT_LIMIT}; larger than {MAX_LIMIT:,} is clamped)",
    "integer",
    default=DEFAULT_LIMIT,
)
LIMIT_REF = {"$ref": "#/components/parameters/limit"}
"""Items operations refer to ``limit`` here: QGIS reads its maximum from components/parameters/limit and
then pages by 1,000 instead of 10."""

ITEMS_PARAMS = (
    QueryParam("offset", "Features to skip (next links use cursor instead, which stays fast)", "integer"),
    QueryParam("cursor", "Opaque position from a next/prev link"),
    QueryParam("bbox", "minx,miny,maxx,maxy in bbox-crs (default CRS84 lon/lat; EPSG:4326 is lat/lon)"),
    QueryParam("bbox-crs", "CRS of bbox: CRS84, EPSG:4326 or a WGS 84 / UTM zone URI"),
    QueryParam("datetime", "RFC 3339 instant or interval start/end with .. for an open end"),
    QueryParam("sortby", "Comma-separated properties, - in front for descending"),
    QueryParam("filter", "CQL2 text filter over the queryables"),
    QueryParam("filter-lang", "Filter language", enum=("cql2-text",)),
    QueryParam("filter-crs", "CRS of geometries in filter (default CRS84)"),
    QueryParam("crs", "CRS of the answer: CRS84, EPSG:4326 (lat/lon) or a WGS 84 / UTM zone over Indonesia"),
    QueryParam("f", "Response format", enum=("json", "html")),
)

PROBLEM_SCHEMA = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "What to fix"},
        "instance": {"type": "string"},
    },
    "required": ["title", "status"],
}


def _summary(view) -> tuple[str, str]:
    doc = inspect.getdoc(view) or ""
    first, _, rest = doc.partition("\n")
    return first.strip() or view.__name__.replace("_", " "), rest.strip()


UNDESCRIBED = "Checked by the view; not described yet"


@cache
def _source_facts(view) -> tuple[dict[str, str], bool]:
    """Query parameters given to reject_unknown or read by parsed(Model) (name → description), and
    whether the view renders an HTML template."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(view)))
    except (OSError, TypeError, SyntaxError):
        return {}, False
    names: dict[str, str] = {}
    renders_html = False
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        renders_html |= called == "render_template"
        if (
            called == reject_unknown.__name__
            and node.args
            and isinstance(node.args[0], ast.Set | ast.List | ast.Tuple)
        ):
            names |= {
                e.value: UNDESCRIBED
                for e in node.args[0].elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str)
            }
        if called == parsed.__name__ and node.args and isinstance(node.args[0], ast.Name):
            model = view.__globals__.get(node.args[0].id)
            fields = getattr(model, "model_fields", {})
            names |= {name: field.description or UNDESCRIBED for name, field in fields.items()}
    return names, renders_html


def _parameter(param: QueryParam) -> dict:
    return {
        "name": param.name,
        "in": "query",
        "required": param.required,
        "description": param.description,
        "schema": param.schema(),
    }


def _limit_parameter() -> dict:
    parameter = _parameter(LIMIT_PARAM)
    parameter["schema"].update(minimum=1, maximum=MAX_LIMIT)
    parameter["style"], parameter["explode"] = "form", False
    return parameter


def _queryable_params(collection: Collection) -> list[QueryParam]:
    return [
        QueryParam(p.name, f"Only features whose {p.name} equals this value ({p.description})",
                   "string" if p.type in ("date-time", "date") else p.type, enum=p.enum)
        for p in collection.properties
    ]  # fmt: skip


def _operation(
    view, endpoint: str, rule, path_values: dict[str, str], collection: Collection | None, operation_id: str
) -> dict:
    declaration: ApiDeclaration = getattr(view, "api_declaration", ApiDeclaration())
    summary, description = _summary(view)
    parameter_names, renders_html = _source_facts(view)
    params = list(declaration.params) or [
        QueryParam(name, description) for name, description in parameter_names.items()
    ]
    references = []
    if declaration.items and collection is not None:
        params = [*ITEMS_PARAMS, *_queryable_params(collection)]
        references = [LIMIT_REF]
    path_params = [
        {"name": name, "in": "path", "required": True,
         "schema": {"type": CONVERTER_TYPES.get(converter or "", "string")}}
        for converter, name in RULE_ARGUMENT.findall(rule.rule) if name not in path_values
    ]  # fmt: skip
    media_type = declaration.media_type or (GEOJSON if declaration.items else None)
    media_type = media_type or ("text/html" if renders_html else "application/json")
    operation = {
        "summary": summary,
        "operationId": operation_id,
        "tags": [endpoint.split(".")[0]],
        "parameters": path_params + references + [_parameter(p) for p in params],
        "responses": {
            "200": {"description": "Success", "content": {media_type: {}}},
            "400": {"$ref": "#/components/responses/Problem"},
            "404": {"$ref": "#/components/responses/Problem"},
            "500": {"$ref": "#/components/responses/Problem"},
        },
    }
    if description:
        operation["description"] = description
    return operation


def _fill_path(rule: str, path_values: dict[str, str]) -> str:
    """An OpenAPI path from a Flask rule: ``<int:z>`` becomes ``{z}``; given values are filled in."""
    return RULE_ARGUMENT.sub(lambda m: path_values.get(m.group(2), "{" + m.group(2) + "}"), rule)


def build_document(app: Flask, site: str) -> dict:
    """The OpenAPI 3.0 document of every route of ``app``."""
    from geo_app.web.ogc import ogc_api

    collections = ogc_api().collections
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint in HIDDEN_ENDPOINTS:
            continue
        view = app.view_functions[rule.endpoint]
        declaration: ApiDeclaration = getattr(view, "api_declaration", ApiDeclaration())
        variants = [({}, None)]
        if declaration.per_collection:
            variants = [({"collection_id": c.id}, c) for c in collections.values()]
        for path_values, collection in variants:
            path = _fill_path(rule.rule, path_values)
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                operation_id = method.lower() + re.sub(r"[^A-Za-z0-9]+", "_", path).rstrip("_")
                operation = _operation(view, rule.endpoint, rule, path_values, collection, operation_id)
                operation.update(openapi_access(rule.rule, method, path_values))
                paths.setdefault(path or "/", {})[method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "geo_app",
            "version": "1.0",
            "description": "Geospatial service of the city: JSON/GeoJSON API, OGC API – Features at /ogc, "
            "vector tiles at /tiles, map pages. Errors are application/problem+json.",
        },
        "servers": [{"url": site}],
        "paths": paths,
        "components": {
            "schemas": {"Problem": PROBLEM_SCHEMA},
            "parameters": {"limit": _limit_parameter()},
            "securitySchemes": SECURITY_SCHEMES,
            "responses": {
                "Problem": {
                    "description": "An error, with a detail that says what to fix",
                    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
                }
            },
        },
    }


@blueprint.get("/openapi.json")
@declare(media_type=OPENAPI)
def openapi_document():
    """The OpenAPI 3.0 definition of every endpoint of this service."""
    reject_unknown(set())
    document = build_document(current_app, request.url_root.rstrip("/"))
    return current_app.response_class(current_app.json.dumps(document), content_type=OPENAPI)


@blueprint.get("/docs")
def docs():
    """API documentation page, rendered by the service from its own OpenAPI document."""
    reject_unknown(set())
    document = build_document(current_app, request.url_root.rstrip("/"))
    return render_template("api_docs.html", doc=document, city=None)
