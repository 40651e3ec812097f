"""Answers are sent compressed when the client accepts it, and decompress to exactly the plain answer."""

from __future__ import annotations

import gzip
import json

import brotli
import pytest

from geo_app import create_app
from geo_app.auth import permissions
from geo_app.auth.permissions import READ, Rule
from geo_app.auth.roles import READERS

BUSY_TILE = "/tiles/kelurahan/12/3254/2116.mvt"  # covers Kota Cilegon: kelurahan polygons


DECOMPRESS = {"gzip": gzip.decompress, "br": brotli.decompress}


@pytest.mark.parametrize(
    ("path", "accepted", "encoding"),
    [
        ("/api/areas?level=kelurahan", "gzip", "gzip"),
        ("/api/areas?level=kelurahan", "gzip, deflate, br", "br"),
        ("/maps/areas", "gzip", "gzip"),
        ("/openapi.json", "gzip", "gzip"),
        # streamed answers: brotli (what browsers accept); gzip cannot be streamed by the extension
        ("/ogc/collections/kelurahan/items?limit=50", "gzip, deflate, br", "br"),
    ],
)
def test_compressed_answers_decompress_to_the_plain_answer(client, sample_city, path, accepted, encoding):
    plain = client.get(path)
    packed = client.get(path, headers={"Accept-Encoding": accepted})
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert "Authorization" in packed.headers["Vary"]  # the access layer's header stays
    body = DECOMPRESS[encoding](packed.get_data())
    assert len(packed.get_data()) < len(body) / 2
    if plain.mimetype == "text/html":
        assert body.decode().count("<script") == plain.get_data(as_text=True).count("<script")
    else:
        assert json.loads(body) == plain.json


def test_vector_tiles_decompress_to_the_same_tile_and_revalidate(client, sample_city):
    plain = client.get(BUSY_TILE)
    packed = client.get(BUSY_TILE, headers={"Accept-Encoding": "gzip"})
    assert plain.status_code == packed.status_code == 200
    assert len(plain.get_data()) > 500
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.get_data()) == plain.get_data()
    assert packed.headers["ETag"] != plain.headers["ETag"]  # one validator per encoding
    again = client.get(
        BUSY_TILE, headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]}
    )
    assert again.status_code == 304 and again.get_data() == b""
    plain_again = client.get(BUSY_TILE, headers={"If-None-Match": plain.headers["ETag"]})
    assert plain_again.status_code == 304


def test_errors_and_small_answers_are_sent_as_they_are(client, sample_city):
    error = client.get("/api/areas?level=planet", headers={"Accept-Encoding": "gzip"})
    assert error.status_code == 400 and "Content-Encoding" not in error.headers
    assert error.mimetype == "application/problem+json" and error.json["status"] == 400
    small = client.get("/health", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers


def test_the_personal_data_check_reads_the_plain_body_before_compression(
    database_url, settings, tokens, monkeypatch
):
    monkeypatch.setattr(permissions, "PERMISSIONS", (Rule("/leak", READ, READERS), *permissions.PERMISSIONS))
    application = create_app(settings)
    padding = [{"name": f"pos {number}"} for number in range(200)]  # well over the size compressed
    application.add_url_rule("/leak", "leak", lambda: {"items": padding, "x": {"caller_phone": "0812"}})
    try:
        client = application.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens['public']}"
        response = client.get("/leak", headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 500
        assert response.json["title"] == "Response withheld"
        assert b"0812" not in response.get_data()
    finally:
        application.extensions["db_pool"].close()
