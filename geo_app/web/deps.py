"""What views need from the application: settings, catalog and a pooled database connection, all of the
city the request's URL names (geo_app.web.city_url)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from flask import current_app, g, request

from geo_app.auth.context import tag_connection
from geo_app.catalog import Catalog
from geo_app.city import CityContext, load_city
from geo_app.settings import Settings
from geo_app.store import areas as area_store
from geo_app.web.city_url import CITY_ENVIRON_KEY
from geo_app.web.errors import Problem


def settings() -> Settings:
    """The deployment's settings with ``city_code`` the request's city, so that code reading the city
    from the settings (imports, the geocoder, WMS/WFS) works for the city of the URL."""
    if "city_settings" not in g:
        g.city_settings = dataclasses.replace(current_app.config["SETTINGS"], city_code=city_code())
    return g.city_settings


def catalog() -> Catalog:
    """The layer catalog as the request's city sees it: shared entries with the city's overrides."""
    return current_app.config["CATALOG"].for_city(city_code())


@contextmanager
def connection() -> Iterator[psycopg.Connection]:
    """A pooled connection; its work is committed when the block ends without error.

    It is tagged with the request's actor first, so the audit triggers record who wrote.
    """
    with current_app.extensions["db_pool"].connection() as conn:
        tag_connection(conn)
        yield conn


@contextmanager
def raw_connection() -> Iterator[psycopg.Connection]:
    """A pooled connection without the actor tag: for the access check itself, which reads only."""
    with current_app.extensions["db_pool"].connection() as conn:
        yield conn


def city_code() -> str:
    """The code of the city this request works for: the one in the URL (``/kota/<code>/...``), else the
    deployment's default city (``CITY_CODE``)."""
    return request.environ.get(CITY_ENVIRON_KEY) or current_app.config["SETTINGS"].city_code


def city_in_url() -> bool:
    """Whether the URL names the city (``/kota/<code>/...``) rather than leaving it to the default."""
    return CITY_ENVIRON_KEY in request.environ


def city() -> CityContext:
    """The city this request works for (city_code), read once per request: its time zone, metric CRS
    and bounds come from its ``cities`` row (geo_app.city). 404 when the city is not in the database."""
    if "city" not in g:
        with raw_connection() as conn:
            g.city = load_city(conn, city_code())
        if g.city is not None:
            g.city = dataclasses.replace(g.city, url_root=request.script_root + "/")
    if g.city is None:
        code = city_code()
        if city_in_url():
            raise Problem(
                404,
                "No such city",
                f"This deployment serves no city with code {code}. Check the code in the URL "
                "(/kota/<kode wilayah>/...).",
                indonesian=f"Tidak ada kota dengan kode {code} di layanan ini.",
            )
        raise Problem(
            404,
            "No such city",
            f"City {code} is not in the database: create it from its official kelurahan boundaries with "
            "`geo-app add-city FILE` (or load the sample city with `geo-app load-sample`); "
            "`geo-app import-areas FILE` then replaces boundaries.",
        )
    return g.city


@dataclass(frozen=True)
class MapFrame:
    """What every map page starts from: where to fit the map, the city, sample data or not (the page's
    layer or the boundaries under it came from the sample generator)."""

    bounds: tuple[tuple[float, float], tuple[float, float]]
    city_name: str
    sample: bool
    city: CityContext


def map_frame(conn: psycopg.Connection, layer: str) -> MapFrame:
    """The frame of a map page showing ``layer`` (a dataset_loads layer); 404 when the city has no areas."""
    context = city()
    if context.bounds is None:
        raise Problem(
            404,
            "No areas",
            f"City {context.code} has no admin areas yet: run `geo-app load-sample` or "
            "`geo-app import-areas FILE`.",
        )
    loads = area_store.latest_loads(conn, context.code)
    # a map drawn on sample boundaries is sample data, whatever was imported onto them since
    sample = any(load["is_sample"] for name in ("admin_areas", layer) if (load := loads.get(name)))
    return MapFrame(context.bounds, context.name, sample, context)
