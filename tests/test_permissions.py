"""The permission table against every registered endpoint: listed explicitly, enforced as written.

When this fails with "unlisted endpoints", add a line for each to geo_app/auth/permissions.py (until then
such an endpoint answers admins only).
"""

from __future__ import annotations

import re

import flask
import pytest
from access_city import create_city
from werkzeug.exceptions import HTTPException
from werkzeug.test import EnvironBuilder

from geo_app import create_app
from geo_app.auth import permissions
from geo_app.auth.roles import ADMIN, ANONYMOUS, EVERYONE, PUBLIC, USER_ROLES
from geo_app.web.access import NATIONAL_PAGES, READING_POSTS
from geo_app.web.city_url import city_root, route_city
from geo_app.web.errors import Problem

SAMPLE_ARGUMENTS = {"integer": "1", "path": "site.css", "float": "1.5"}
COLLECTIONS = ("assets", "incidents", "green_areas", "kelurahan")
INCIDENT_POINTS = re.compile(r"incidents|hotspots|emerging|response")


@pytest.fixture(scope="module")
def app(settings):
    application = create_app(settings)
    yield application
    application.extensions["db_pool"].close()


@pytest.fixture(scope="module")
def other_city(database_url) -> str:
    """A second city in the same database: the city dimension of the matrix."""
    return create_city(database_url)


def endpoint_rules(app):
    return [rule for rule in app.url_map.iter_rules()]


def concrete_urls(rule) -> list[tuple[str, dict]]:
    """URLs for a rule with sample values (collection arguments once per kind of collection)."""
    names = list(rule.arguments)
    collection_names = [name for name in names if name.startswith("collection")]
    variants = (
        [{name: value for name in collection_names} for value in COLLECTIONS] if collection_names else [{}]
    )
    urls = []
    for variant in variants:
        values = dict(variant)
        for name in names:
            if name not in values:
                converter = type(rule._converters[name]).__name__.replace("Converter", "").lower()
                values[name] = SAMPLE_ARGUMENTS.get(converter, "x")
        path = rule.rule
        for name, value in values.items():
            path = re.sub(rf"<(?:[^:>]+:)?{name}>", value, path)
        urls.append((path, values))
    return urls


def test_every_endpoint_is_listed_explicitly(app):
    unlisted = permissions.unlisted((rule.rule, rule.methods) for rule in endpoint_rules(app))
    assert not unlisted, (
        "unlisted endpoints (admin-only until classified): add them to geo_app/auth/permissions.py: "
        + ", ".join(unlisted)
    )


def enforcement(app, rule, method: str, path: str, token: str | None, city: str | None = None) -> int | None:
    """What the access hook does: None (the view would run), or the status it answers with.
    ``city``: ask for the path under ``/kota/<city>/`` rather than for the default city."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = city_root(city) + path if city else path
    environ = route_city(EnvironBuilder(url, method=method, headers=headers).get_environ())
    with app.request_context(environ):
        assert flask.request.url_rule is rule, f"{method} {path} does not reach {rule.rule}"
        try:
            response = app.preprocess_request()
        except Problem as problem:
            return problem.status
        except HTTPException as exc:  # 405 from routing: not an access decision
            return exc.code
        return response.status_code if response is not None else None


def cases(app):
    for rule in endpoint_rules(app):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for path, values in concrete_urls(rule):
                yield rule, method, path, values


@pytest.mark.parametrize("role", [*USER_ROLES, ANONYMOUS])
def test_every_endpoint_method_and_role_is_enforced_as_the_table_says(app, tokens, role):
    wrong = []
    for rule, method, path, values in cases(app):
        token = tokens.get(role)
        effective_role = role if token else PUBLIC  # anonymous visitors get the public view by default
        allowed = permissions.is_allowed(effective_role, rule.rule, method, values)
        if token and rule.rule.startswith(NATIONAL_PAGES):
            allowed = False  # the national pages are for national accounts, not a city's
        outcome = enforcement(app, rule, method, path, token)
        refused = outcome in (401, 403) or (outcome == 302 and not token)
        if allowed == refused:
            wrong.append(f"{role} {method} {path}: table {'allows' if allowed else 'refuses'}, got {outcome}")
    assert not wrong, "\n".join(wrong)


OPEN_TO_EVERYONE = "open to everyone"


def city_cases(app):
    """Every endpoint, method and URL, with whether it is the same for every city (sign-in, health,
    static files), which no city check applies to."""
    for rule, method, path, values in cases(app):
        open_to_all = permissions.allowed_roles(rule.rule, method, values) == EVERYONE
        yield rule, method, path, values, open_to_all


@pytest.mark.parametrize("role", USER_ROLES)
def test_no_endpoint_lets_a_city_user_into_another_city(app, tokens, other_city, role):
    """The city dimension of the matrix: a user of one city gets 404 from every endpoint and method of
    the other, through its /kota/<code>/ URL and, for the default city, through the plain one. The
    national pages belong to no city: 403 for every city account."""
    wrong = []
    for rule, method, path, _values, open_to_all in city_cases(app):
        if open_to_all:
            continue
        expected = 403 if path.startswith(NATIONAL_PAGES) else 404
        for token, city in ((tokens[role], other_city), (tokens.of(other_city)[role], None)):
            outcome = enforcement(app, rule, method, path, token, city)
            if outcome != expected:
                wrong.append(f"{role} of another city: {method} {city or 'default'} {path}: got {outcome}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", USER_ROLES)
def test_national_accounts_read_every_city_and_write_none(app, tokens, other_city, role):
    wrong = []
    for rule, method, path, values, open_to_all in city_cases(app):
        if open_to_all:
            continue
        for city in (None, other_city):
            outcome = enforcement(app, rule, method, path, tokens.national[role], city)
            allowed = permissions.is_allowed(role, rule.rule, method, values)
            writes = method in permissions.WRITE and not path.startswith(READING_POSTS)
            expected = 403 if (writes or not allowed) else None
            if outcome != expected:
                wrong.append(f"national {role}: {method} {city or 'default'} {path}: got {outcome}")
    assert not wrong, "\n".join(wrong)


def test_an_unknown_city_is_404_for_everyone(app, tokens):
    for token in (None, tokens["admin"], tokens.national["admin"]):
        for path in ("/", "/api/areas", "/ogc/collections", "/maps/areas"):
            rule = app.url_map.bind("localhost").match(path, return_rule=True)[0]
            assert enforcement(app, rule, "GET", path, token, city="98.76") == 404, path


def test_admin_may_call_everything(app):
    refused = [
        f"{method} {rule.rule}"
        for rule, method, _path, values in cases(app)
        if not permissions.is_allowed(ADMIN, rule.rule, method, values)
    ]
    assert not refused


def test_public_never_writes_and_never_sees_incident_points(app):
    problems = []
    for rule, method, path, values in cases(app):
        if not permissions.is_allowed(PUBLIC, rule.rule, method, values):
            continue
        # /csw: CSW queries are XML documents sent by POST; the view passes only read operations to the
        # catalogue and refuses Transaction and Harvest (tests/test_csw.py).
        if method in permissions.WRITE and rule.rule not in ("/login", "/logout", "/csw"):
            problems.append(f"public may {method} {path}")
        if INCIDENT_POINTS.search(path) and path != "/api/incidents/counts":
            problems.append(f"public may see incident points at {path}")
    assert not problems, problems


def test_an_endpoint_missing_from_the_table_is_for_admins_only():
    assert permissions.allowed_roles("/api/some-new-endpoint", "GET") == {ADMIN}
    assert permissions.allowed_roles("/api/some-new-endpoint", "DELETE") == {ADMIN}
    assert permissions.unlisted([("/api/some-new-endpoint", {"GET", "HEAD", "OPTIONS"})]) == [
        "GET /api/some-new-endpoint"
    ]


@pytest.mark.parametrize(
    ("role", "method", "rule", "allowed"),
    [
        ("opd_editor", "POST", "/api/assets", True),
        ("opd_editor", "POST", "/api/green-areas", False),
        ("dlh", "PATCH", "/api/green-areas/<int:feature_id>", True),
        ("dlh", "POST", "/api/assets", False),
        ("call_taker_112", "POST", "/api/incidents", True),
        ("call_taker_112", "POST", "/api/incidents/import", False),
        ("supervisor_112", "POST", "/api/incidents/import", True),
        ("perencana", "GET", "/api/incidents", True),
        ("perencana", "POST", "/api/incidents", False),
        ("dlh", "GET", "/api/incidents", False),
        ("public", "GET", "/api/incidents/counts", True),
        ("public", "GET", "/api/assets", True),
        ("perencana", "GET", "/api/audit", False),
    ],
)
def test_role_examples_read_as_the_issue_says(role, method, rule, allowed):
    assert permissions.is_allowed(role, rule, method) is allowed
