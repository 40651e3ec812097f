"""The map pages under the security headers, in headless Chromium: they still work, signed in or not."""

from __future__ import annotations

import pytest
from browser import LiveServer

from geo_app.web.pages import MAP_PAGES

pytestmark = pytest.mark.browser
MAP_PATHS = [path for path, _title, _description in MAP_PAGES]


def csp_problems(page) -> list[str]:
    return [error for error in page.errors if "Content Security Policy" in error or "Refused to" in error]


@pytest.mark.parametrize("path", ["/", *MAP_PATHS])
def test_pages_run_under_the_content_security_policy(open_page, path, tmp_path):
    page = open_page(path)  # signed in as admin
    assert page.errors == []
    if path.startswith("/maps/"):
        assert page.count(".leaflet-container") >= 1
    page.screenshot(tmp_path / "page.png")


def test_a_stricter_policy_would_be_caught(browser, app):
    """The check above can fail: with inline scripts forbidden, a map page reports the violation."""
    default = app.config["CONTENT_SECURITY_POLICY"]
    app.config["CONTENT_SECURITY_POLICY"] = "default-src 'self'; script-src 'self'"
    server = LiveServer(app)
    try:
        page = browser.open(server.url + "/maps/areas")
        assert csp_problems(page)
        page.close()
    finally:
        app.config["CONTENT_SECURITY_POLICY"] = default
        server.close()


def test_anonymous_visitors_see_public_maps_and_are_asked_to_sign_in_for_112_maps(open_page):
    public = open_page("/maps/areas", role=None)
    assert public.errors == [] and public.count(".leaflet-container") == 1
    incidents = open_page("/maps/incidents", role=None)
    assert incidents.evaluate("location.pathname") == "/login"
    assert incidents.evaluate("new URLSearchParams(location.search).get('next')") == "/maps/incidents"
    assert incidents.count("form.login-form input[name=csrf_token]") == 1


@pytest.mark.parametrize("role", ["supervisor_112", "perencana"])
def test_112_maps_open_for_112_staff_and_planners(open_page, role):
    page = open_page("/maps/incidents", role=role)
    assert page.errors == [] and page.evaluate("location.pathname") == "/maps/incidents"
