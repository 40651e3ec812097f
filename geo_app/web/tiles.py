"""/tiles/{collection}/{z}/{x}/{y}.mvt: Mapbox Vector Tiles of the OGC collections, from ST_AsMVT.

A tile holds what the OGC collection publishes and nothing more (same registry, same restrictions:
public incidents only, no personal data), with the properties marked ``in_tiles``. ETag is a hash of the
tile, so a client revalidating an unchanged tile gets 304; Cache-Control follows the collection, and
built tiles are reused in-process for that long (geo_app.ogc.tilecache), keyed by city.
Below a collection's ``tile_min_zoom`` (dense layers such as incidents) the tile is empty.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, current_app, request

from geo_app.ogc.core import MVT, OgcError
from geo_app.ogc.tilecache import TileCache
from geo_app.published import Collection
from geo_app.store import features as store
from geo_app.web import deps
from geo_app.web.apidoc import declare
from geo_app.web.ogc import ogc_api
from geo_app.web.params import reject_unknown

blueprint = Blueprint("tiles", __name__, url_prefix="/tiles")

MAX_ZOOM = 22


def tile_cache() -> TileCache:
    return current_app.extensions.setdefault("tile_cache", TileCache())


def build(collection: Collection, z: int, x: int, y: int) -> bytes:
    with deps.connection() as conn:
        return store.tile(conn, collection, deps.city_code(), z, x, y)


@blueprint.get("/<collection_id>/<int:z>/<int:x>/<int:y>.mvt")
@declare(media_type=MVT, per_collection=True)
def tile(collection_id: str, z: int, x: int, y: int):
    """A vector tile (Web Mercator z/x/y) of a collection, layer named after the collection."""
    reject_unknown(set())
    collection = ogc_api().find(collection_id)
    if z > MAX_ZOOM or x >= 2**z or y >= 2**z:
        raise OgcError(
            404, "Tile not found", f"Tile {z}/{x}/{y} does not exist: zoom 0–{MAX_ZOOM}, x and y < 2^z."
        )
    if z < collection.tile_min_zoom:
        data = b""
    else:
        data = tile_cache().get_or_build(
            (deps.city_code(), collection.id, z, x, y),
            collection.cache_seconds,
            lambda: build(collection, z, x, y),
        )
    etag = hashlib.blake2b(data, digest_size=16).hexdigest()
    headers = {
        "Cache-Control": f"public, max-age={collection.cache_seconds}",
        "Access-Control-Allow-Origin": "*",
    }
    if etag in request.if_none_match:
        response = Response(status=304, headers=headers)
    else:
        response = Response(data, mimetype=MVT, headers=headers)
    response.set_etag(etag)
    return response
