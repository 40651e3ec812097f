"""/openapi.json documents every endpoint of the service and validates as OpenAPI 3.0; /docs renders it."""

from __future__ import annotations

import pytest
from ogc_city import CITY, ogc_app  # noqa: F401 (fixture app)
from openapi_spec_validator import validate

from geo_app.ogc.core import MAX_LIMIT
from geo_app.web.openapi import RULE_ARGUMENT, UNDESCRIBED


@pytest.fixture(scope="module")
def document(app) -> dict:
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200
    assert response.content_type == "application/vnd.oai.openapi+json;version=3.0"
    return response.get_json()


def test_the_document_is_valid_openapi_3(document):
    validate(document)


def test_every_route_is_documented(app, document):
    ogc = app.extensions["ogc_api"][CITY]  # the OGC API of the app's city
    expected: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = RULE_ARGUMENT.sub(lambda m: "{" + m.group(2) + "}", rule.rule) or "/"
        paths = (
            [path.replace("{collection_id}", c) for c in ogc.collections]
            if "{collection_id}" in path
            else [path]
        )
        for each in paths:
            expected.setdefault(each, set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    assert {path: set(operations) for path, operations in document["paths"].items()} == expected


def resolve(document: dict, parameter: dict) -> dict:
    """A parameter, or the component its ``$ref`` names."""
    reference = parameter.get("$ref")
    return document["components"]["parameters"][reference.rsplit("/", 1)[1]] if reference else parameter


def test_operations_carry_summaries_parameters_and_problem_errors(document):
    items = document["paths"]["/ogc/collections/incidents/items"]["get"]
    names = {resolve(document, p)["name"] for p in items["parameters"]}
    assert {"limit", "bbox", "datetime", "filter", "crs", "bbox-crs", "category", "received_at"} <= names
    assert not {"description", "address", "caller_name"} & names
    assert items["summary"].startswith("Features of a collection")
    assert "application/geo+json" in items["responses"]["200"]["content"]
    problem = document["components"]["responses"]["Problem"]["content"]
    assert "application/problem+json" in problem
    tile = document["paths"]["/tiles/assets/{z}/{x}/{y}.mvt"]["get"]
    assert {p["name"]: p["schema"]["type"] for p in tile["parameters"]} == {
        "z": "integer",
        "x": "integer",
        "y": "integer",
    }
    areas = document["paths"]["/api/areas"]["get"]
    assert [p["name"] for p in areas["parameters"]] == ["limit", "cursor", "level"]  # its parsed(AreaQuery)


def test_every_query_parameter_is_described_and_typed_where_the_code_says_how(document):
    undescribed = [
        f"{method.upper()} {path} {parameter['name']}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for parameter in operation["parameters"]
        if parameter.get("in") == "query" and parameter.get("description") in (None, "", UNDESCRIBED)
    ]
    assert undescribed == []

    def query(path: str, method: str = "get") -> dict:
        operation = document["paths"][path][method]
        return {p["name"]: p["schema"] for p in operation["parameters"] if p.get("in") == "query"}

    hotspots = query("/api/analysis/hotspots")  # a pydantic model: Literal, bounds and defaults
    assert hotspots["grid"] == {
        "type": "string",
        "enum": ["hexagon", "h3", "kelurahan"],
        "default": "hexagon",
    }
    assert hotspots["resolution"] == {"type": "integer", "default": 8, "minimum": 5, "maximum": 11}
    fire = query("/api/analysis/coverage/fire")  # number(name, default, minimum, maximum) in the view
    assert fire["radius_m"]["minimum"] == 1 and fire["radius_m"]["maximum"] == 50_000
    green = query("/api/analysis/green")  # choice(name, options, default) in the view
    assert green["format"] == {"type": "string", "enum": ["csv", "geojson", "json"], "default": "json"}


def test_items_take_limit_from_components_with_its_maximum(document):
    """QGIS reads limit's maximum only from components/parameters/limit; inline it pages by 10 (or 100)."""
    limit = document["components"]["parameters"]["limit"]
    assert limit["name"] == "limit" and limit["in"] == "query"
    assert limit["schema"] == {"type": "integer", "default": 10, "minimum": 1, "maximum": MAX_LIMIT}
    for path, operations in document["paths"].items():
        if path.startswith("/ogc/collections/") and path.endswith("/items"):
            parameters = operations["get"]["parameters"]
            assert {"$ref": "#/components/parameters/limit"} in parameters, path
            assert not [p for p in parameters if p.get("name") == "limit"], path


def test_the_documentation_page_is_served_by_the_app(app, document):
    response = app.test_client().get("/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "cdn" not in html.lower() and "https://" not in html
    for path in ("/ogc/collections/assets_cctv/items", "/tiles/incidents/{z}/{x}/{y}.mvt", "/api/areas"):
        assert path in html
