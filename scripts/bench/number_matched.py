#!/usr/bin/env python3
"""What numberMatched costs on 1,000,000 incidents: exact counting against the planner's estimate.

    .venv/bin/python scripts/bench/number_matched.py [--incidents 1000000] [--repeat 5]

Uses the bench database of scripts/bench/ogc.py (BENCH_DATABASE_URL, default geo_app_bench_ogc; filled
the same way when it does not hold the incidents yet). For queries from a small bbox to the whole public
collection it prints the matches, the median time of the first page (limit 10), of the exact count, of
the count capped at NUMBER_MATCHED_EXACT_MAX (what the API does) and of the estimate, and how far the
estimate is from the truth. The API counts exactly while that costs about what the page costs, and
estimates above, where an exact count would cost many pages.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, datetime

from ogc import CITY, densest_tile, prepare_database, say, tile_centre

from geo_app.catalog import load_catalog
from geo_app.db import bootstrap, connect
from geo_app.ogc.core import NUMBER_MATCHED_EXACT_MAX
from geo_app.published import build_collections
from geo_app.settings import REPO_DIR
from geo_app.store import features as store
from geo_app.store.features import ItemQuery, TimeFilter


def median_ms(run, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def queries(url: str) -> dict[str, ItemQuery]:
    z, x, y = densest_tile(url)
    lon, lat = tile_centre(z, x, y)

    def box(half: float) -> tuple[float, float, float, float]:
        return (lon - half, lat - half, lon + half, lat + half)

    month = TimeFilter(datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 3, 31, 23, 59, 59, tzinfo=UTC))
    year = TimeFilter(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC))
    return {
        "bbox 0.01° (densest tile)": ItemQuery(bbox=box(0.005)),
        "bbox 0.04°": ItemQuery(bbox=box(0.02)),
        "one month": ItemQuery(time=month),
        "bbox 0.04° + one year": ItemQuery(bbox=box(0.02), time=year),
        "one year": ItemQuery(time=year),
        "category KEBAKARAN": ItemQuery(equals={"category": "KEBAKARAN"}),
        "whole collection": ItemQuery(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL") or bootstrap.with_database(
        os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/geo_app", "geo_app_bench_ogc"
    )
    prepare_database(url, args.incidents)
    incidents = build_collections(load_catalog(REPO_DIR / "layers"))["incidents"]
    header = (
        f"{'query':28} {'matches':>9} {'page':>8} {'exact':>9} {'capped':>8} {'estimate':>9} {'est/true':>8}"
    )
    say(header)
    with connect(url) as conn:
        conn.execute("ANALYZE incidents")
        for name, query in queries(url).items():
            page_ms, _ = median_ms(lambda q=query: store.fetch_page(conn, incidents, CITY, q), args.repeat)
            exact_ms, exact = median_ms(
                lambda q=query: store.count_matching(conn, incidents, CITY, q, 10**9), args.repeat
            )
            capped_ms, _ = median_ms(
                lambda q=query: store.count_matching(conn, incidents, CITY, q, NUMBER_MATCHED_EXACT_MAX),
                args.repeat,
            )
            estimate_ms, estimate = median_ms(
                lambda q=query: store.estimate_matching(conn, incidents, CITY, q), args.repeat
            )
            ratio = estimate / exact if exact else float("nan")
            say(
                f"{name:28} {exact:9,} {page_ms:6.1f}ms {exact_ms:7.1f}ms {capped_ms:6.1f}ms"
                f" {estimate_ms:7.1f}ms {ratio:8.2f}"
            )


if __name__ == "__main__":
    main()
