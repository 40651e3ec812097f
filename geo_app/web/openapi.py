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
from dataclasses import replace
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


COMMON_PARAMETERS = {
    "as_of": "State at the end of this day (YYYY-MM-DD, city time); default: today",
    "level": "Which rows or areas: kelurahan, kecamatan or the city (kota); default all",
    "format": "Answer format (json by default)",
    "radius_m": "Distance in metres (straight line)",
    "minutes": "Travel time over the road network, in minutes",
    "min_ha": "Smallest public green area counted, in hectares",
    "type": "Types of the layer catalog, comma-separated (default: all)",
    "mode": "radius (straight line) or travel_time (over the road network)",
    "value": "Radius in metres (mode=radius) or minutes (mode=travel_time); default per asset type",
    "count": "Number of suggested sites",
    "from": "Start date, YYYY-MM-DD (as of the end of that day, city time)",
    "to": "End date, YYYY-MM-DD (as of the end of that day, city time)",
    "start": "From: a month (2026-10), a date or an ISO date-time, in the city's time zone",
    "end": "To (a month or date counts whole): like start",
    "category": "Incident categories of the catalog, comma-separated",
    "call_type": "Call types of the catalog, comma-separated",
    "public": "true: public green areas only; false: private only",
    "opd": "Owner OPD (agency) code",
    "owner_opd": "Owner OPD (agency) code",
    "kelurahan": "Kelurahan codes, comma-separated",
    "bbox": "min_lon,min_lat,max_lon,max_lat in degrees",
    "status": "Asset status, comma-separated",
    "dimension": "Smart-city dimension, comma-separated",
    "phase": "Roadmap phase, comma-separated",
    "overlap": "What to do where the new polygon overlaps a current one: reject (default), clip or keep",
    "valid_to": "Last day the feature was valid (YYYY-MM-DD); default today",
    "dry_run": "true: check and report without writing",
    "keep_good_rows": "true: import the good rows and report the rejected ones (default: refuse the file)",
    "keep_good": "true: import the good rows and report the rejected ones (default: refuse the file)",
    "crs": "CRS of a file without one, as EPSG:code (e.g. the city's WGS 84 / UTM zone)",
    "address": "Address or place name to find in the city",
    "lat": "Latitude in degrees",
    "lon": "Longitude in degrees",
    "entity": "Kind of record (asset, incident, green_area, user, …)",
    "entity_id": "Id of the record",
    "actor": "User name of whoever made the change",
    "since": "Changes from this date or ISO date-time on",
    "until": "Changes up to this date or ISO date-time",
    "day": "The briefing as it read on this morning (YYYY-MM-DD, city time); default today",
    "next": "Page to open after signing in (a path of this service)",
    "figure": "League figure the cities are coloured by",
    "month": "Calendar month YYYY-MM; default the last complete month",
    "grid": "Cells incidents are counted in: hexagons, H3 cells or kelurahan",
    "size": "Hexagon size in metres (centre to corner); default 1/100 of the area's longer side",
    "resolution": "H3 resolution with grid=h3",
    "band": "Gi* distance band in metres; default chosen from the data (see band_choice)",
    "fdr": "Correct the confidence bins for the false discovery rate (Benjamini-Hochberg)",
    "radius": "Kernel radius in metres; default from the data (Silverman-style rule)",
    "cell": "Grid spacing of the surface in metres; default radius/4",
    "eps": "DBSCAN neighbourhood distance in metres",
    "min_points": "DBSCAN: incidents a core point needs within eps",
    "step": "Time step of the space-time cube: month or week",
    "previous_steps": "Steps back the recent patterns (new, intensifying) look at",
}
"""Descriptions of query parameters that mean the same on every endpoint; a view or model that says more
(its own ``declare`` or pydantic ``Field(description=...)``) wins."""

UNDESCRIBED = "Checked by the view; not described yet"

JSON_TYPES = {"integer", "number", "boolean", "string"}


def _described(name: str) -> QueryParam:
    return QueryParam(name, COMMON_PARAMETERS.get(name, UNDESCRIBED))


def _literal(node: ast.AST | None) -> object:
    try:
        return ast.literal_eval(node) if node is not None else None
    except ValueError:
        return None


def _from_call(called: str, node: ast.Call, params: dict[str, QueryParam]) -> None:
    """Enum and default of ``choice(name, options, default)``, type and bounds of ``number(name, default,
    minimum, maximum, whole=)`` where the view writes them as literals."""
    name = _literal(node.args[0])
    given = [_literal(arg) for arg in node.args[1:]]
    keywords = {keyword.arg: _literal(keyword.value) for keyword in node.keywords}
    if called == "choice":
        options, default = (*given, keywords.get("default"), None)[:2]
        if isinstance(options, tuple | list | set):
            params[name] = replace(params[name], enum=tuple(sorted(options)), default=default)
        return
    default, low, high = (*given, keywords.get("maximum"), None, None)[:3]
    numeric = (int, float)
    params[name] = replace(
        params[name],
        type="integer" if keywords.get("whole") is True else "number",
        default=default if isinstance(default, numeric) else None,
        minimum=low if isinstance(low, numeric) else None,
        maximum=high if isinstance(high, numeric) else None,
    )


def _model_params(model) -> dict[str, QueryParam]:
    """The fields of a pydantic query model, typed from its JSON schema (enums, bounds, defaults)."""
    try:
        properties = model.model_json_schema()["properties"]
    except Exception:  # a field type without a JSON schema: names and descriptions only
        properties = {}
    params = {}
    for name, field in model.model_fields.items():
        prop = properties.get(name, {})
        typed = next((option for option in prop.get("anyOf", [prop]) if option.get("type") != "null"), {})
        kind = typed.get("type")
        default = prop.get("default")
        params[name] = QueryParam(
            name,
            field.description or COMMON_PARAMETERS.get(name, UNDESCRIBED),
            kind if kind in JSON_TYPES else "string",
            enum=tuple(typed.get("enum", ())),
            default=default if isinstance(default, str | int | float | bool) else None,
            minimum=typed.get("minimum"),
            maximum=typed.get("maximum"),
        )
    return params


@cache
def _source_facts(view) -> tuple[dict[str, QueryParam], bool]:
    """Query parameters given to reject_unknown or read by parsed(Model) (typed and described where the
    code says how), and whether the view renders an HTML template."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(view)))
    except (OSError, TypeError, SyntaxError):
        return {}, False
    params: dict[str, QueryParam] = {}
    renders_html = False
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    for node in calls:
        called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        renders_html |= called == "render_template"
        if called == reject_unknown.__name__ and node.args:
            names = _literal(node.args[0])
            if isinstance(names, set | list | tuple):
                params |= {name: params.get(name) or _described(name) for name in sorted(names)}
        if called == parsed.__name__ and node.args and isinstance(node.args[0], ast.Name):
            model = view.__globals__.get(node.args[0].id)
            if model is not None:
                params |= _model_params(model)
    for node in calls:
        called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if called in ("choice", "number") and node.args and _literal(node.args[0]) in params:
            _from_call(called, node, params)
    return params, renders_html


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
    source_params, renders_html = _source_facts(view)
    params = list(declaration.params) or list(source_params.values())
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
