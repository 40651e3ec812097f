#!/usr/bin/env python
"""Benchmark: generate the sample city and load it into a fresh, migrated database. Target: generation
plus first load under 30 s.

Creates its own database (default ``geo_app_bench_sample`` next to DATABASE_URL's) and drops it at the end.
Prints the generation time, the first load (empty city) and a reload (replacing the city's data).
Usage::

    .venv/bin/python scripts/bench/sample_city.py [--database NAME] [--keep]
"""

from __future__ import annotations

import argparse
import os
import time

from geo_app.db import bootstrap, migrate
from geo_app.sample import generate_sample_city, load_sample_city
from geo_app.settings import DEFAULT_DATABASE_URL


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="geo_app_bench_sample")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    url = bootstrap.with_database(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL, args.database)
    bootstrap.drop_database(url)
    bootstrap.ensure_database(url)
    bootstrap.ensure_extensions(url)
    migrate.upgrade(url)
    try:
        started = time.perf_counter()
        generate_sample_city()
        generation_s = time.perf_counter() - started
        print(f"generation only: {generation_s:.1f} s")
        started = time.perf_counter()
        counts = load_sample_city(url, progress=True)
        first_s = time.perf_counter() - started
        print(f"generation + first load: {first_s:.1f} s (target < 30 s); rows: {counts}")
        started = time.perf_counter()
        load_sample_city(url, progress=True)
        print(f"generation + reload (replacing the city's rows): {time.perf_counter() - started:.1f} s")
    finally:
        if not args.keep:
            bootstrap.drop_database(url)


if __name__ == "__main__":
    main()
