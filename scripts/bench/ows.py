#!/usr/bin/env python3
"""WMS and WFS at /ows (MapServer inside geo_app) under gunicorn, on the sample city.

    .venv/bin/python scripts/bench/ows.py [--workers 2] [--seconds 10] [--clients 4]

The sample city lives in its own database (default ``geo_app_bench_ows``, next to DATABASE_URL's);
gunicorn serves geo_app on a free 127.0.0.1 port. For each request: one warm-up, then latency of one client
in a row (p50, p95; target p95 <= 300 ms for the GetMaps) and throughput with ``--clients`` at once:

- WMS GetMap 1024x768 PNG of every asset layer over the whole city (EPSG:3857),
- WMS GetMap 1024x768 PNG of the kelurahan choropleth of monthly 112 counts (last complete month with calls),
- WFS GetFeature of 10,000 incident points as GeoJSON (as a planner, HTTP Basic with an API token).
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import threading
import time
import urllib.request
import uuid

from load import free_port, say, start_gunicorn
from sample_database import SAMPLE_CITY, sample_city_database

from geo_app.auth.users import add_user, issue_token
from geo_app.db import connect

CITY_3857 = "11785000,-690000,11830000,-650000"
ASSET_TYPES = ("cctv", "wifi_publik", "pos_damkar", "puskesmas", "sirine_peringatan", "pju", "sensor_udara",
               "kantor_pelayanan", "jaringan_fiber")  # fmt: skip
ASSET_LAYERS = ",".join(f"aset_{asset_type}" for asset_type in ASSET_TYPES)


def requests_to_time(last_month: str) -> dict[str, str]:
    getmap = "/ows?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&STYLES=&CRS=EPSG:3857&WIDTH=1024&HEIGHT=768"
    return {
        "WMS GetMap all assets": f"{getmap}&LAYERS={ASSET_LAYERS}&BBOX={CITY_3857}&FORMAT=image/png",
        "WMS GetMap kelurahan choropleth": f"{getmap}&LAYERS=insiden_bulanan_kelurahan&BBOX={CITY_3857}"
        f"&FORMAT=image/png&TIME={last_month}",
        "WFS GetFeature 10,000 incidents": "/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature"
        "&TYPENAMES=insiden_112&COUNT=10000&OUTPUTFORMAT=geojson",
    }


def fetch(url: str, headers: dict) -> tuple[float, int]:
    started = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as response:
        size = len(response.read())
        assert response.status == 200, url
    return time.perf_counter() - started, size


def measure(url: str, headers: dict, seconds: float, clients: int) -> dict:
    fetch(url, headers)
    single = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline or len(single) < 5:
        single.append(fetch(url, headers)[0])
    done = []
    deadline = time.monotonic() + seconds

    def client():
        while time.monotonic() < deadline:
            done.append(fetch(url, headers)[0])

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    single.sort()
    return {
        "p50_ms": 1000 * statistics.median(single),
        "p95_ms": 1000 * single[min(len(single) - 1, int(0.95 * len(single)))],
        "requests_per_s": len(done) / elapsed,
        "size": fetch(url, headers)[1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--database", default="geo_app_bench_ows")
    args = parser.parse_args()
    url = sample_city_database(args.database)
    username = f"bench-ows-{uuid.uuid4().hex[:6]}"
    add_user(url, username, "perencana", password=None, city_code=SAMPLE_CITY)
    token, _ = issue_token(url, username, days=1, label="bench")
    headers = {"Authorization": "Basic " + base64.b64encode(f"{username}:{token}".encode()).decode()}
    port = free_port()
    server = start_gunicorn(url, port, args.workers)
    try:
        with connect(url) as conn:  # the last complete month holding incidents
            last_month = conn.execute(
                "SELECT to_char(max(received_at), 'YYYY-MM') AS month FROM incidents"
                " WHERE received_at < date_trunc('month', now())"
            ).fetchone()["month"]
        say(f"load average before: {os.getloadavg()}")
        for label, path in requests_to_time(last_month).items():
            result = measure(f"http://127.0.0.1:{port}{path}", headers, args.seconds, args.clients)
            rate = f"{result['requests_per_s']:.1f} requests/s with {args.clients} clients"
            latency = f"p50 {result['p50_ms']:.0f} ms, p95 {result['p95_ms']:.0f} ms"
            say(f"{label}: {latency}, {rate}, {result['size']:,} B")
        say(f"load average after: {os.getloadavg()}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
