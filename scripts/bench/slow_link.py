#!/usr/bin/env python
"""Benchmark of issue 14: every map page's first view over a 2 Mbit/s link (target: usable in at most 2 s).

Headless Chromium (tests/browser.py) opens each map page of the sample city with Chromium's own network
throttling (Network.emulateNetworkConditions: 2 Mbit/s down, 1 Mbit/s up, 150 ms round trip) and its
cache off, so every script, style sheet, font, tile and API answer travels over the slow link, compressed
as the app sends it. Per page, from the start of navigation (median of ``--runs``):

- ``HTML``: the page's own HTML received (navigation responseEnd);
- ``peta``: the first data layer drawn (maps.js: GeoApp.firstDrawnAt);
- ``siap``: "Memuat data…" gone for good, every data layer drawn (GeoApp.idleAt): the first usable view;
- ``semua``: the last file of any kind in (basemap tiles, fonts);
- ``kB``: bytes over the link.

The app runs in-process (werkzeug, threaded) on its own database (default ``geo_app_bench_slow_link``,
created and loaded with the sample city on first use), signed in as an admin so every layer is shown.
Each page is opened once unthrottled first, so the server's own caches (coverage results) are warm and the
figures are about the link. The machine is shared: the load average is printed with the figures.
Usage::

    .venv/bin/python scripts/bench/slow_link.py [--runs 3] [--database NAME]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from contextlib import suppress
from pathlib import Path

from sample_database import SAMPLE_CITY, sample_city_database

from geo_app import create_app
from geo_app.auth.roles import ADMIN
from geo_app.auth.users import UserError, add_user, issue_token
from geo_app.settings import Settings
from geo_app.web.pages import MAP_PAGES

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from browser import SLOW_LINK, Browser, LiveServer, chromium_path  # noqa: E402

TARGET_S = 2.0
PAGES = [path for path, _, _ in MAP_PAGES] + [
    "/maps/coverage?type=pos_damkar&mode=travel_time&value=15",
    "/maps/coverage?type=cctv&count=3",
]
TIMINGS = """(() => {
    const navigation = performance.getEntriesByType('navigation')[0];
    const files = performance.getEntriesByType('resource');
    const ends = files.map(file => file.responseEnd).concat([navigation.loadEventEnd]);
    return {
        html: navigation.responseEnd,
        drawn: window.GeoApp && GeoApp.firstDrawnAt,
        ready: window.GeoApp && GeoApp.idleAt || navigation.loadEventEnd,
        all: Math.max(...ends),
        bytes: navigation.transferSize + files.reduce((sum, file) => sum + file.transferSize, 0),
    };
})()"""


def seconds(value: float | None) -> str:
    return "–" if value is None else f"{value / 1000:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database", default="geo_app_bench_slow_link")
    args = parser.parse_args()
    url = sample_city_database(args.database)
    with suppress(UserError):
        add_user(url, "bench_admin", ADMIN, password=None, city_code=SAMPLE_CITY)
    token, _ = issue_token(url, "bench_admin", days=1, label="bench slow link")
    headers = {"Authorization": f"Bearer {token}"}
    app = create_app(Settings.from_env(database_url=url, env="test", city_code=SAMPLE_CITY))
    server = LiveServer(app)
    browser = Browser(chromium_path())
    load_before = os.getloadavg()
    rows = []
    try:
        for path in PAGES:
            browser.open(server.url + path, timeout=120, headers=headers).close()  # server caches warm
            runs = []
            for _ in range(args.runs):
                page = browser.open(server.url + path, timeout=120, headers=headers, network=SLOW_LINK)
                runs.append(page.evaluate(TIMINGS))
                page.close()
            median = {
                key: statistics.median(run[key] for run in runs) if all(run[key] for run in runs) else None
                for key in runs[0]
            }
            rows.append((path, median))
            print(
                f"{path:60s} HTML {seconds(median['html'])} s, peta {seconds(median['drawn'])} s, "
                f"siap {seconds(median['ready'])} s, semua {seconds(median['all'])} s, "
                f"{median['bytes'] / 1000:.0f} kB",
                flush=True,
            )
    finally:
        browser.close()
        server.close()
    load_after = os.getloadavg()
    link = f"{SLOW_LINK['downloadThroughput'] * 8 / 1e6:g} Mbit/s, {SLOW_LINK['latency']} ms RTT"
    print(f"\n| Halaman ({link}, median of {args.runs}) | HTML | first layer | ready | all files | kB |")
    print("|---|---:|---:|---:|---:|---:|")
    for path, median in rows:
        mark = "" if median["ready"] / 1000 <= TARGET_S else " (over 2 s)"
        kilobytes = median["bytes"] / 1000
        print(
            f"| `{path}` | {seconds(median['html'])} s | {seconds(median['drawn'])} s | "
            f"{seconds(median['ready'])} s{mark} | {seconds(median['all'])} s | {kilobytes:.0f} |"
        )
    print(
        f"\nload average (1/5/15 min) before {' '.join(f'{v:.2f}' for v in load_before)}, "
        f"after {' '.join(f'{v:.2f}' for v in load_after)} on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
