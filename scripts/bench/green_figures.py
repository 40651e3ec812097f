#!/usr/bin/env python
"""Benchmark: the RTH figures of the green map's table and /api/analysis/green/figures (usecases.green
.area_figures: RTH share and deficits, hectares gained and lost over a year, residents within 300 m of a
park, per kelurahan, kecamatan and city) on the sample city. Target: at most 1 s.

Runs in its own database (default ``geo_app_bench_green_figures`` next to DATABASE_URL's), created and
loaded with the sample city on first use. Each run opens a fresh connection, as a web request does, and
empties the figures cache first; the same figures asked again (the page's choropleth) are timed too.
Usage::

    .venv/bin/python scripts/bench/green_figures.py [--runs 7] [--database NAME]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import datetime

from sample_database import SAMPLE_CITY as CITY
from sample_database import sample_city_database

from geo_app.city import require_city
from geo_app.db import connect
from geo_app.usecases import green as green_usecases


def measure(url: str, runs: int) -> tuple[list[float], list[float]]:
    """Times of computing the figures, and of asking again with the data unchanged (the cache)."""
    timings, reused = [], []
    for _ in range(runs):
        with connect(url) as conn:
            city = require_city(conn, CITY)
            period = green_usecases.default_period(conn, city, datetime.now(city.timezone))
            green_usecases.FIGURES.clear()  # computed, not reused
            started = time.perf_counter()
            figures = green_usecases.area_figures(conn, city, period)
            timings.append(time.perf_counter() - started)
            started = time.perf_counter()
            green_usecases.area_figures(conn, city, period)
            reused.append(time.perf_counter() - started)
    total = figures[figures["level"] == "kota"].iloc[0]
    print(
        f"{period.since} – {period.until}: RTH {total['green_share']:.1%}, "
        f"gained {total['gained_ha']:.1f} ha, "
        f"lost {total['lost_ha']:.1f} ha, residents within 300 m of a park {total['park_access_share']:.1%}; "
        f"{(figures['level'] == 'kelurahan').sum()} kelurahan"
    )
    return timings, reused


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database", default="geo_app_bench_green_figures")
    args = parser.parse_args()
    url = sample_city_database(args.database)
    load_before = os.getloadavg()[0]
    timings, reused = measure(url, args.runs)
    print(f"machine load average (1 min) before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f}")
    print(
        f"RTH figures, sample city: median {statistics.median(timings):.3f} s, best {min(timings):.3f} s, "
        f"worst {max(timings):.3f} s ({args.runs} runs; target <= 1 s); asked again with the data unchanged: "
        f"median {statistics.median(reused) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
