"""The city is part of the URL: ``/kota/<code>/...`` serves city ``code``; paths without it serve the
deployment's default city (``CITY_CODE``), so every URL of a one-city deployment keeps working.

The code is the city's Kemendagri/BPS kode wilayah (``73.71`` is Kota Makassar): it is already the key of
every table, it never changes when a city is renamed or respelled, and it names no language. The prefix
is moved into ``SCRIPT_NAME`` before Flask sees the request, so the views, the permission table and the
error pages see the same paths as for the default city (``/maps/hotspots``), and everything built from
the request's root (``url_for``, ``request.url_root``, the pages' ``<base href>``) stays inside the
city. A GIS client (QGIS, GDAL, a tile viewer) is given one base URL per city, ``/kota/73.71/ogc``, and
needs to know nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

CITY_ENVIRON_KEY = "geo_app.city_code"
"""Where the middleware leaves the city code of a ``/kota/<code>/`` request."""
CITY_PATH = re.compile(r"^/kota/(?P<code>\d{2}\.\d{2})(?P<rest>/.*)?$")
"""A kabupaten/kota code has two parts of two digits (province, kabupaten/kota)."""


def city_root(code: str) -> str:
    """The URL root of a city: its pages, API, OGC services and tiles are below it."""
    return f"/kota/{code}"


class CityUrls:
    """WSGI middleware: ``/kota/<code>/<rest>`` becomes SCRIPT_NAME ``/kota/<code>``, PATH_INFO ``/<rest>``,
    with the code left in the environ for :func:`geo_app.web.deps.city_code`."""

    def __init__(self, wsgi_app: Callable):
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        return self.wsgi_app(route_city(environ), start_response)


def route_city(environ: dict) -> dict:
    """Move a ``/kota/<code>`` prefix of the path into SCRIPT_NAME and note the code (in place)."""
    match = CITY_PATH.match(environ.get("PATH_INFO", ""))
    if match:
        code = match["code"]
        environ[CITY_ENVIRON_KEY] = code
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + city_root(code)
        environ["PATH_INFO"] = match["rest"] or "/"
    return environ
