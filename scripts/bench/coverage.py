#!/usr/bin/env python
"""Benchmarks of issue 4 on the sample city, in their own database (default ``geo_app_bench_coverage``):

- straight-line coverage of 5,000 CCTV points over the 43 kelurahan (target: at most 2 s), with the
  sample city's population grid (and the time its cells take against the even spread by area);
- travel-time coverage (15 minutes) of 10 fire posts on the sample road network (target: at most 5 s);
- ``GET /api/assets?limit=1000``: a page of 1,000 out of 10,000 assets (target: at most 300 ms).

The database is created and loaded with the sample city on first use; random assets (placed in kelurahan
in proportion to their population) top the city up to 5,000 CCTV, 10 fire posts and 10,000 assets.
Figures are the median of ``--runs`` timed runs after one warm-up. Usage::

    .venv/bin/python scripts/bench/coverage.py [--runs 5] [--database NAME]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import numpy as np
import shapely
from pyproj import Transformer
from sample_database import SAMPLE_CITY as CITY
from sample_database import sample_city_database
from tqdm import tqdm

from geo_app import create_app
from geo_app.analysis import coverage
from geo_app.catalog import load_catalog
from geo_app.db import connect, transaction
from geo_app.settings import Settings
from geo_app.store import assets as asset_store
from geo_app.store import coverage as coverage_store

TARGETS = {"cctv": 5000, "pos_damkar": 10}
TOTAL_ASSETS = 10_000


def random_points(
    areas: coverage.Areas, srid: int, count: int, rng: np.random.Generator
) -> list[shapely.Point]:
    """Points in kelurahan chosen in proportion to population, uniform inside each (lon/lat)."""
    to_lonlat = Transformer.from_crs(srid, 4326, always_xy=True)
    weights = areas.population / areas.population.sum()
    points = []
    for index in rng.choice(len(areas.geoms), size=count, p=weights):
        area = areas.geoms[index]
        xmin, ymin, xmax, ymax = area.bounds
        while True:
            x, y = rng.uniform(xmin, xmax), rng.uniform(ymin, ymax)
            if shapely.contains_xy(area, x, y):
                break
        points.append(shapely.Point(*to_lonlat.transform(x, y)))
    return points


def top_up(url: str, catalog, asset_type: str, wanted: int, rng: np.random.Generator) -> None:
    """Add random assets of a type until the city has ``wanted`` of them."""
    with transaction(url) as conn:
        have = asset_store.count(conn, CITY, asset_store.AssetFilter(asset_types=[asset_type]))
        missing = wanted - have
        if missing <= 0:
            return
        entry = catalog.asset_types[asset_type]
        srid = coverage_store.metric_srid(conn, CITY)
        points = random_points(coverage.load_areas(conn, CITY), srid, missing, rng)
        locations = asset_store.locate(conn, CITY, points)
        records = [
            asset_store.AssetRecord(
                asset_type, f"{entry.label} uji {i}", entry.owner_opd, entry.dimension, point, source="bench"
            )
            for i, point in enumerate(tqdm(points, desc=f"adding {asset_type}", unit=" asset"))
        ]
        asset_store.insert_assets(conn, CITY, records, [location.kelurahan_code for location in locations])


def timed(label: str, runs: int, action) -> float:
    action()  # warm-up: imports, caches, first connection
    times = []
    for _ in tqdm(range(runs), desc=label, unit=" run", leave=False):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    print(
        f"{label}: median {median * 1000:.0f} ms (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})"
    )
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database", default="geo_app_bench_coverage")
    args = parser.parse_args()
    url = sample_city_database(args.database)
    settings = Settings.from_env(database_url=url, env="test")
    catalog = load_catalog(settings.layers_dir)
    rng = np.random.default_rng(4)
    for asset_type, wanted in TARGETS.items():
        top_up(url, catalog, asset_type, wanted, rng)
    with connect(url) as conn:
        total = asset_store.count(conn, CITY, asset_store.AssetFilter())
        wifi = asset_store.count(conn, CITY, asset_store.AssetFilter(asset_types=["wifi_publik"]))
    if total < TOTAL_ASSETS:  # the rest of the 10,000 as public Wi-Fi points
        top_up(url, catalog, "wifi_publik", wifi + TOTAL_ASSETS - total, rng)

    with connect(url) as conn:
        counts = {t: asset_store.count(conn, CITY, asset_store.AssetFilter(asset_types=[t])) for t in TARGETS}
        total = asset_store.count(conn, CITY, asset_store.AssetFilter())
        print(f"assets: {counts['cctv']} CCTV, {counts['pos_damkar']} fire posts, {total} in all")

        def straight_line():
            return coverage.compute_coverage(conn, CITY, catalog, coverage.CoverageRequest(("cctv",)))

        def travel_time():
            request = coverage.CoverageRequest(("pos_damkar",), "travel_time", minutes=15)
            return coverage.compute_coverage(conn, CITY, catalog, request)

        result = straight_line()
        print(f"population model: {result.areas.population_model}")
        timed("straight-line coverage, 5,000 CCTV x 43 kelurahan (target 2000 ms)", args.runs, straight_line)
        if result.areas.cells is not None:  # the part the population grid adds, against the even spread
            even = dataclasses.replace(result.areas, cells=None)
            timed(
                f"  of which people covered by {len(result.areas.cells.x)} grid cells",
                args.runs,
                lambda: result.areas.people_share(result.covered),
            )
            timed("  the same spread evenly by area", args.runs, lambda: even.people_share(result.covered))
        timed("travel-time coverage, 10 fire posts, 15 min (target 5000 ms)", args.runs, travel_time)
        print(f"  fire posts cover {travel_time().city['population_covered_pct']:.1f} % of people in 15 min")

    app = create_app(settings)
    client = app.test_client()

    def page():
        response = client.get("/api/assets?limit=1000&after=4000")
        assert response.status_code == 200 and len(response.get_json()["features"]) == 1000

    timed(f"GET /api/assets page of 1,000 of {total} (target 300 ms)", args.runs, page)
    app.extensions["db_pool"].close()


if __name__ == "__main__":
    main()
