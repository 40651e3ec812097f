"""geo_app: the geospatial service of a smart city, on PostGIS.

``create_app`` builds the Flask application; ``geo-app`` (geo_app.cli) is the command line. Flask and
the web modules are imported by ``create_app`` only: the command line starts without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from geo_app.settings import Settings

if TYPE_CHECKING:
    from flask import Flask

# Answers sent compressed (brotli or gzip, as the client accepts): pages, scripts, JSON and GeoJSON (a map
# page's layers shrink about sevenfold), CSV and vector tiles. Answers under 500 bytes are sent as they are.
COMPRESSED_MEDIA_TYPES = [
    "text/html",
    "text/css",
    "text/csv",
    "text/plain",
    "text/xml",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/geo+json",
    "application/schema+json",
    "application/vnd.oai.openapi+json",
    "application/xml",
    "application/vnd.mapbox-vector-tile",
    "image/svg+xml",
]


def create_app(settings: Settings | None = None) -> Flask:
    """Application factory: settings, layer catalog, database pool, blueprints, error handlers."""
    import logging

    from flask import Flask
    from flask_compress import Compress

    from geo_app.catalog import load_catalog
    from geo_app.db import make_pool
    from geo_app.settings import PACKAGE_DIR
    from geo_app.web import BLUEPRINTS
    from geo_app.web.access import init_access
    from geo_app.web.city_url import CityUrls
    from geo_app.web.errors import register_error_handlers
    from geo_app.web.params import reject_nul_characters

    settings = settings or Settings.from_env()
    settings.check_web()  # rate limits; only the test suite signs sessions with its built-in secret
    app = Flask(
        __name__,
        static_folder=str(PACKAGE_DIR / "static"),
        template_folder=str(PACKAGE_DIR / "templates"),
    )
    app.config.update(
        SETTINGS=settings,
        CATALOG=load_catalog(settings.layers_dir),
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        RATELIMIT_HEADERS_ENABLED=True,
        COMPRESS_MIMETYPES=COMPRESSED_MEDIA_TYPES,
        COMPRESS_ALGORITHM=["br", "gzip"],
        COMPRESS_ALGORITHM_STREAMING=["br", "deflate"],
    )
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    pool = make_pool(settings.database_url, settings.db_pool_size, settings.statement_timeout_ms)
    pool.open(wait=False)
    app.extensions["db_pool"] = pool

    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    register_error_handlers(app)
    # after_request hooks run last-registered first: compression is registered before the access checks
    # so that it runs after them (they read the plain body for fields the role may not see)
    Compress(app)
    init_access(app)
    app.before_request(reject_nul_characters)
    app.wsgi_app = CityUrls(app.wsgi_app)  # /kota/<code>/... serves that city (geo_app.web.city_url)
    return app
