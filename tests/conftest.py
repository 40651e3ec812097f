"""Shared fixtures: a fresh PostGIS database per test session (created, migrated, dropped after).

Tests that need hand-made data use their own city code (``TEST_CITY``) in the same database, so they
never disturb the sample city that other tests read.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import uuid

import psycopg
import pytest

from geo_app import create_app
from geo_app.db import bootstrap, connect, migrate, roles
from geo_app.settings import DEFAULT_DATABASE_URL, Settings

pytest_plugins = ("browser",)  # fixtures browser, live_server, open_page (tests/browser.py)

SAMPLE_CITY = "36.72"
TEST_CITY = "99.01"


@pytest.fixture(scope="session")
def database_url() -> str:
    base = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    url = bootstrap.with_database(base, f"geo_app_test_{uuid.uuid4().hex[:10]}")
    bootstrap.ensure_database(url)
    bootstrap.ensure_extensions(url)
    migrate.upgrade(url)
    yield url
    bootstrap.drop_database(url)
    roles.drop_web_role(url)


@pytest.fixture(scope="session")
def web_database_url(database_url: str) -> str:
    """The least-privilege role the web app connects as (geo_app.db.roles), set up as scripts/run does."""
    return roles.ensure_web_role(database_url, secrets.token_hex(16))


@pytest.fixture(scope="session")
def sample_city(database_url: str) -> str:
    """The generated sample city (Cilegon), loaded once per session; returns its city code."""
    from geo_app.sample import load_sample_city

    load_sample_city(database_url, progress=False)
    return SAMPLE_CITY


@pytest.fixture
def conn(database_url: str):
    """A connection whose work is rolled back after the test."""
    with connect(database_url) as connection:
        connection.execute("BEGIN")
        yield connection
        connection.rollback()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings.from_env(database_url=database_url, env="test")


@pytest.fixture(scope="session")
def app(settings: Settings, sample_city: str, web_database_url: str):
    """The web app on the sample city, connected as the least-privilege web role like a deployment."""
    application = create_app(dataclasses.replace(settings, database_url=web_database_url))
    yield application
    application.extensions["db_pool"].close()


class RoleTokens(dict):
    """An API token per role of the sample city's users (``tokens["admin"]``, users ``test-<role>``);
    ``tokens.of(code)`` the same for the users of another city (``test-<code>-<role>``, made on first
    use, the city must exist), ``tokens.national`` for national, read-only accounts. The opd_editors edit
    OPD ``Diskominfo``."""

    def __init__(self, database_url: str, city: str):
        self.database_url = database_url
        self.city = city
        self._by_city: dict[str | None, dict[str, str]] = {}
        super().__init__(self.of(city))

    def of(self, code: str | None) -> dict[str, str]:
        if code not in self._by_city:
            self._by_city[code] = self._issue(code)
        return self._by_city[code]

    def for_app(self, app) -> dict[str, str]:
        """The tokens of the users of ``app``'s default city (its CITY_CODE)."""
        return self.of(app.config["SETTINGS"].city_code)

    @property
    def national(self) -> dict[str, str]:
        return self.of(None)

    def _issue(self, code: str | None) -> dict[str, str]:
        from geo_app.auth import users
        from geo_app.auth.roles import OPD_EDITOR, USER_ROLES

        prefix = "test-" if code == self.city else f"test-{code or 'nasional'}-"
        issued = {}
        for role in USER_ROLES:
            username = prefix + role.replace("_", "-")
            opd = "Diskominfo" if role == OPD_EDITOR else None
            users.add_user(self.database_url, username, role, None, opd=opd, city_code=code)
            issued[role], _ = users.issue_token(self.database_url, username, days=1, label="pytest")
        return issued


@pytest.fixture(scope="session")
def tokens(database_url: str, sample_city: str) -> RoleTokens:
    """API tokens per role and city (RoleTokens): ``tokens[role]`` for the sample city's users."""
    return RoleTokens(database_url, sample_city)


@pytest.fixture
def client(app, tokens):
    """A test client signed in as an admin of the app's city (API token), so feature tests are not about
    access control."""
    test_client = app.test_client()
    test_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens.for_app(app)['admin']}"
    return test_client


@pytest.fixture
def client_as(app, tokens):
    """``client_as("dlh")``: a test client signed in with the API token of that role in the app's city."""

    def make(role: str):
        test_client = app.test_client()
        test_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens.for_app(app)[role]}"
        return test_client

    return make


@pytest.fixture
def anonymous_client(app):
    """A visitor without session or token (gets the public view while ANONYMOUS_ACCESS is on)."""
    return app.test_client()


def execute(database_url: str, sql: str, params=()) -> list:
    """Run one statement in its own committed transaction (for tests that set up their own rows)."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        cursor = connection.execute(sql, params)
        return cursor.fetchall() if cursor.description else []
