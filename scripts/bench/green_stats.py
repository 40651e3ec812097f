#!/usr/bin/env python
"""Benchmark: RTH statistics (union per kelurahan, shares, targets, deficits) for 10,000 green polygons
over the sample city's 43 kelurahan. Target: at most 1 s.

Runs in its own database (default ``geo_app_bench_green`` next to DATABASE_URL's), created and loaded
with the sample city on first use; then 10,000 random polygons (about 18 % of the city once overlaps
are unioned) replace the city's green areas. Usage::

    .venv/bin/python scripts/bench/green_stats.py [--polygons 10000] [--runs 5] [--database NAME]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import shapely
from sample_database import SAMPLE_CITY as CITY
from sample_database import sample_city_database
from tqdm import tqdm

from geo_app.analysis import green as green_analysis
from geo_app.db import connect
from geo_app.sample.reference import to_geographic, to_metric

SOURCE = "benchmark polygons"


def random_polygons(kelurahan_metric: np.ndarray, count: int, seed: int = 7) -> np.ndarray:
    """Irregular polygons of 0.02-2 ha (log-normal, median ~0.2 ha) placed in random kelurahan; placed at
    random, about half of them overlap another (a harder case than surveyed data)."""
    rng = np.random.default_rng(seed)
    areas = shapely.area(kelurahan_metric)
    chosen = rng.choice(len(kelurahan_metric), size=count, p=areas / areas.sum())
    polygons = np.empty(count, dtype=object)
    sizes_m2 = np.clip(rng.lognormal(np.log(2000), 0.9, size=count), 200, 20000)
    for i in tqdm(range(count), desc="polygons", unit=" poly"):
        area = kelurahan_metric[chosen[i]]
        xmin, ymin, xmax, ymax = area.bounds
        while True:
            centre = shapely.Point(rng.uniform(xmin, xmax), rng.uniform(ymin, ymax))
            if area.contains(centre):
                break
        radius = np.sqrt(sizes_m2[i] / np.pi)
        shape = shapely.buffer(centre, radius, quad_segs=3)
        stretched = shapely.affinity.scale(shape, rng.uniform(0.5, 1.8), 1.0)
        polygons[i] = shapely.affinity.rotate(stretched, rng.uniform(0, 180))
    # Kept inside their kelurahan, like surveyed polygons; the city edge is the kelurahan union.
    return shapely.intersection(polygons, kelurahan_metric[chosen])


def load_polygons(url: str, count: int) -> None:
    with connect(url) as conn, conn.transaction():
        rows = conn.execute(
            "SELECT ST_AsBinary(geom) AS wkb FROM admin_areas WHERE city_code = %s AND level = 'kelurahan'",
            (CITY,),
        ).fetchall()
        kelurahan = to_metric(shapely.from_wkb([row["wkb"] for row in rows]))
        polygons = to_geographic(random_polygons(kelurahan, count))
        polygons = shapely.make_valid(polygons)
        conn.execute("DELETE FROM green_areas WHERE city_code = %s", (CITY,))
        rng = np.random.default_rng(11)
        types = np.array(["taman_kota", "taman_lingkungan", "hutan_kota", "jalur_hijau", "pekarangan"])
        kinds = rng.choice(types, size=count)
        with conn.cursor().copy(
            "COPY green_areas (city_code, green_type, is_public, source, geom) FROM STDIN"
        ) as copy:
            for kind, geom in tqdm(
                zip(kinds, polygons, strict=True), total=count, desc="loading", unit=" poly"
            ):
                parts = shapely.get_parts(geom)
                polygonal = shapely.multipolygons([p for p in parts if p.geom_type == "Polygon"])
                ewkb = shapely.to_wkb(shapely.set_srid(polygonal, 4326), hex=True, include_srid=True)
                copy.write_row((CITY, kind, kind != "pekarangan", SOURCE, ewkb))
        conn.execute("ANALYZE green_areas")


def measure(url: str, runs: int) -> list[float]:
    timings = []
    with connect(url) as conn:
        for _ in tqdm(range(runs), desc="statistics", unit=" run"):
            started = time.perf_counter()
            table = green_analysis.load_rth_statistics(conn, CITY, "Kota Cilegon")
            timings.append(time.perf_counter() - started)
    city = table[table["level"] == "kota"].iloc[0]
    print(
        f"city: {city['area_ha']:,.0f} ha, RTH {city['green_ha']:,.1f} ha ({city['green_share']:.1%}), "
        f"public {city['public_share']:.1%}, private {city['private_share']:.1%}; "
        f"{(table['level'] == 'kelurahan').sum()} kelurahan"
    )
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polygons", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database", default="geo_app_bench_green")
    args = parser.parse_args()
    url = sample_city_database(args.database)
    load_polygons(url, args.polygons)
    load_before = os.getloadavg()[0]
    timings = measure(url, args.runs)
    print(f"machine load average (1 min) before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f}")
    print(
        f"RTH statistics, {args.polygons:,} polygons over 43 kelurahan: "
        f"median {statistics.median(timings):.3f} s, "
        f"best {min(timings):.3f} s, worst {max(timings):.3f} s ({args.runs} runs; target <= 1 s)"
    )


if __name__ == "__main__":
    main()
