#!/usr/bin/env python3
"""Bounded requests: requests that once stalled or killed a gunicorn worker, each timed once over HTTP.

    .venv/bin/python scripts/bench/bounded_requests.py [--workers 2] [--target-seconds 5]

The sample city lives in its own database (default ``geo_app_bench_bounded``, next to DATABASE_URL's);
gunicorn serves geo_app on a free 127.0.0.1 port with its production worker timeout (30 s) and an admin
API token; every request of the walk is sent once, in order, and its status, time and size are shown.
A worker killed by the timeout shows as ``dropped``. A request refused as too large (422 naming a
``parameter`` and the ``allowed`` value) is sent again with that value, to time the largest analysis the
limits let through. The run fails when any answer takes longer than
``--target-seconds`` or is a 5xx other than 503 (the statement timeout's answer).

The walk: oversized hot-spot grids, bands and density grids, weekly emerging hot spots on tiny cells,
siting and coverage with huge radii, travel time with the longest budget, green access and change
reports over every year, OGC pages of the largest limit, low-zoom tiles, DBSCAN with a huge eps, and two
uploads (dry runs): a self-crossing 301-vertex star polygon of green space and a zipped Shapefile of
200,000 points.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import geopandas as gpd
import numpy as np
from load import CENTRE, free_port, say, start_gunicorn, tile_of
from sample_database import SAMPLE_CITY, sample_city_database
from tqdm import tqdm

from geo_app.auth.users import UserError, add_user, issue_token

BENCH_USER = "bench-bounded-admin"
ALL_ASSET_TYPES = (
    "cctv,wifi_publik,pos_damkar,puskesmas,sirine_peringatan,pju,sensor_udara,kantor_pelayanan,jaringan_fiber"
)
GUNICORN_TIMEOUT_S = 30  # gunicorn's default, as scripts/run serves the app


@dataclass(frozen=True)
class Step:
    path: str
    upload: tuple[str, str, bytes, dict[str, str]] | None = None  # (field, filename, data, form fields)


def star_polygon_geojson(points: int = 301, skip: int = 150, radius_deg: float = 0.01) -> bytes:
    """A {points/skip} star: one ring whose edges cross each other about points²/4 times."""
    angles = 2 * math.pi * skip * np.arange(points) / points
    ring = [[CENTRE[0] + radius_deg * math.cos(a), CENTRE[1] + radius_deg * math.sin(a)] for a in angles]
    feature = {
        "type": "Feature",
        "properties": {"name": "Bintang", "type": "taman_kota"},
        "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
    }
    return json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()


def points_shapefile_zip(count: int = 200_000) -> bytes:
    """A zipped Shapefile of ``count`` CCTV points scattered over the city."""
    rng = np.random.default_rng(7)
    lon = CENTRE[0] + rng.uniform(-0.08, 0.08, count)
    lat = CENTRE[1] + rng.uniform(-0.08, 0.08, count)
    frame = gpd.GeoDataFrame(
        {"name": [f"CCTV {k}" for k in range(count)], "status": ["active"] * count},
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    )
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as folder:
        frame.to_file(Path(folder) / "cctv.shp")
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for part in sorted(Path(folder).iterdir()):
                archive.write(part, part.name)
    return buffer.getvalue()


def walk() -> list[Step]:
    tile_x, tile_y = tile_of(*CENTRE, 10)
    return [
        Step("/api/analysis/emerging?size=25&step=week"),
        Step("/api/analysis/emerging?step=week"),
        Step("/api/analysis/hotspots?size=25"),
        Step("/api/analysis/hotspots?size=100&band=100000"),
        Step("/api/analysis/hotspots?size=150&band=100000"),
        Step("/api/analysis/hotspots?grid=h3&resolution=11"),
        Step("/api/analysis/hotspots"),
        Step("/api/analysis/hotspots/density?cell=20"),
        Step("/api/analysis/hotspots/density?cell=10&radius=20000"),
        Step("/api/analysis/hotspots/density"),
        Step("/api/analysis/hotspots/clusters?eps=5000&min_points=2"),
        Step("/api/analysis/siting?type=pos_damkar&spacing_m=100&radius_m=3000&count=100"),
        Step("/api/analysis/siting?type=cctv&spacing_m=50&count=100"),
        Step(f"/api/analysis/coverage?type={ALL_ASSET_TYPES}&radius_m=50000"),
        Step(f"/api/analysis/coverage?type={ALL_ASSET_TYPES}&radius_m=50000&format=geojson&layer=gaps"),
        Step(f"/api/analysis/coverage?type={ALL_ASSET_TYPES}&mode=travel_time&minutes=180&access_m=2000"),
        Step("/api/analysis/coverage/fire?radius_m=50000&minutes=180"),
        Step("/api/analysis/green/access?radius_m=5000&min_ha=0"),
        Step("/api/analysis/green/access?radius_m=5000&min_ha=0&format=geojson"),
        Step("/api/green-areas/changes?from=1900-01-01&to=2100-01-01"),
        Step("/api/green-areas/changes?from=1900-01-01&to=2100-01-01&format=geojson"),
        Step("/ogc/collections/incidents/items?limit=10000"),
        Step("/ogc/collections/assets/items?limit=10000"),
        Step("/ogc/collections/green_areas/items?limit=10000"),
        Step("/tiles/assets/0/0/0.mvt"),
        Step("/tiles/green_areas/0/0/0.mvt"),
        Step("/tiles/kelurahan/0/0/0.mvt"),
        Step(f"/tiles/incidents/10/{tile_x}/{tile_y}.mvt"),
        Step(
            "/api/green-areas/import?dry_run=true",
            ("file", "star.geojson", star_polygon_geojson(), {"type": "taman_kota"}),
        ),
        Step(
            "/api/assets/import?dry_run=true&type=cctv",
            ("file", "cctv.zip", points_shapefile_zip(), {}),
        ),
    ]


def multipart(field: str, filename: str, data: bytes, form: dict[str, str]) -> tuple[bytes, str]:
    """A multipart/form-data body with one file and some plain fields, and its Content-Type."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in form.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def send(base: str, step: Step, token: str) -> tuple[int, float, int, dict]:
    """(status, seconds, body bytes, problem body) of one request; status 0 when the connection dropped."""
    request = urllib.request.Request(base + step.path, headers={"Authorization": f"Bearer {token}"})
    if step.upload:
        request.data, content_type = multipart(*step.upload)
        request.add_header("Content-Type", content_type)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=2 * GUNICORN_TIMEOUT_S) as response:
            body, status = response.read(), response.status
    except urllib.error.HTTPError as error:
        body, status = error.read(), error.code
    except OSError:  # the worker was killed mid-request: the connection just closes
        return 0, time.perf_counter() - started, 0, {}
    seconds = time.perf_counter() - started
    problem = {}
    if status >= 400:
        with contextlib.suppress(ValueError):
            problem = json.loads(body)
    return status, seconds, len(body), problem


def with_value(path: str, parameter: str, value: float) -> str:
    parts = urlsplit(path)
    query = dict(parse_qsl(parts.query))
    query[parameter] = f"{value:g}"
    return f"{parts.path}?{urlencode(query)}"


def prepare_token(url: str) -> str:
    with contextlib.suppress(UserError):  # the user exists from an earlier run
        add_user(url, BENCH_USER, "admin", None, city_code=SAMPLE_CITY)
    token, _ = issue_token(url, BENCH_USER, days=1, label="bounded requests benchmark")
    return token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--target-seconds", type=float, default=5.0)
    parser.add_argument("--database", default="geo_app_bench_bounded")
    args = parser.parse_args()
    say(f"sample city in {args.database}")
    url = sample_city_database(args.database)
    token = prepare_token(url)
    say("building the walk (two upload files)")
    steps = walk()
    port = free_port()
    server = start_gunicorn(url, port, args.workers, timeout=GUNICORN_TIMEOUT_S)
    base = f"http://127.0.0.1:{port}"
    results = []
    try:
        progress = tqdm(total=len(steps), desc="requests", unit="req")
        while steps:
            step = steps.pop(0)
            status, seconds, size, problem = send(base, step, token)
            results.append((step.path, status, seconds))
            shown = status or "dropped"
            title = problem.get("title", "")
            tqdm.write(f"  {shown:>7}  {seconds:6.2f} s  {size / 1024:9.1f} KiB  {step.path}  {title}")
            if status == 422 and problem.get("allowed") is not None:
                steps.insert(0, Step(with_value(step.path, problem["parameter"], problem["allowed"])))
                progress.total += 1
            progress.update()
        progress.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    path, status, seconds = max(results, key=lambda result: result[2])
    print(f"slowest: {seconds:.2f} s ({status or 'dropped'}) {path}")
    late = [result for result in results if result[2] > args.target_seconds]
    failed = [result for result in results if result[1] == 0 or (result[1] >= 500 and result[1] != 503)]
    print(f"{len(results)} requests, {len(late)} over {args.target_seconds:g} s, {len(failed)} failed")
    if late or failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
