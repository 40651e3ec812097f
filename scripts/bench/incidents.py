#!/usr/bin/env python
"""Benchmarks of the 112 incidents on 1,000,000 synthetic calls, in their own database (default
``geo_app_bench_incidents``, created and loaded with the sample city on first use, then given the official
kelurahan boundaries of ``shared/data/cilegon_kelurahan.geojson`` beside the repository or a folder above
it (or of OFFICIAL_KELURAHAN) through the import-areas logic when that file is there; the project itself
never needs it):

1. a CSV shaped like a call-centre export (88 % darurat calls with the caller's name and phone, 12 %
   other call types, a few dozen points on kelurahan boundaries, in the gaps between them and 150 m off
   the coast, five bad rows) imported two ways, side by side, ``--import-runs`` times each (the order
   alternates; the median of the ratios of the back-to-back pairs is compared, shown with the load
   average): ``ogr2ogr -f PostgreSQL ... --config PG_USE_COPY YES`` into a plain PostGIS table, and
   ``geo-app import-incidents --keep-good`` in its own process (validation, kelurahan assignment,
   callers, audit, upsert into ``incidents``; its peak resident memory is reported); then the same file
   again (nothing changes), again beside ogr2ogr. Targets: at most 1.0x and 2.0x ogr2ogr;
2. ``GET /api/analysis/hotspots`` (aggregation, Gi*, FDR) over the 1,000,000 incidents: median of
   ``--runs`` requests (target: at most 1.5 s), and esda's ``G_Local`` on the same cells and band;
3. the size of the ``/maps/hotspots`` page at 1,000,000 incidents (target: at most 2 MB).

Usage::

    .venv/bin/python scripts/bench/incidents.py [--rows 1000000] [--runs 5] [--import-runs 3]
        [--database NAME] [--keep-csv] [--imports-only]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from sample_database import SAMPLE_CITY as CITY
from sample_database import sample_city_database
from tqdm import tqdm

from geo_app import create_app
from geo_app.catalog import load_catalog
from geo_app.db import bootstrap, connect
from geo_app.settings import Settings

TOKEN_USER = "bench-incidents"
REPO = Path(__file__).resolve().parents[2]


# The official boundaries, in the project's shared data beside the repository or a folder above it (a
# worktree); the project itself never needs them: without them the bench runs on the sample city's own
OFFICIAL_FILE = Path("shared", "data", "cilegon_kelurahan.geojson")
OFFICIAL_KELURAHAN = Path(
    os.environ.get("OFFICIAL_KELURAHAN")
    or next(
        (up / OFFICIAL_FILE for up in REPO.parents if (up / OFFICIAL_FILE).exists()),
        REPO.parent / OFFICIAL_FILE,
    )
)
NON_EMERGENCY = ("informasi", "prank", "ghost", "dropped")


def load_official_boundaries(url: str, path: Path) -> None:
    """The official kelurahan boundaries (with their slivers and gaps) in place of the sample city's,
    through the import-areas logic; once per bench database."""
    from geo_app.ingest.areas import import_areas

    with connect(url) as conn:
        loaded = conn.execute(
            "SELECT 1 FROM dataset_loads WHERE city_code = %s AND layer = 'admin_areas' AND source = %s",
            (CITY, path.name),
        ).fetchone()
        if loaded:
            return
        print(f"importing the official kelurahan boundaries from {path}")
        report = import_areas(conn, CITY, path, progress=lambda step: print(f"  {step}"))
        conn.commit()
    for warning in report.warnings:
        print(f"  {warning}")


def city_shapes(url: str) -> tuple[shapely.Geometry, list[shapely.Geometry]]:
    with connect(url) as conn:
        rows = conn.execute(
            "SELECT ST_AsBinary(geom) AS g FROM admin_areas WHERE city_code = %s AND level = 'kelurahan'",
            (CITY,),
        ).fetchall()
    kelurahan = list(shapely.from_wkb([row["g"] for row in rows]))
    return shapely.union_all(kelurahan), kelurahan


def edge_points(city, kelurahan, rng, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Points on boundaries shared by two kelurahan (vertices inside the city) and in the gaps the
    kelurahan leave between them (holes of their union): ``count`` of each at most."""
    vertices = shapely.points(np.concatenate([shapely.get_coordinates(k.boundary) for k in kelurahan]))
    shared = vertices[shapely.contains(city.buffer(-1e-5), vertices)]
    on_boundary = shared[rng.choice(len(shared), min(count, len(shared)), replace=False)]
    holes = [shapely.Polygon(ring) for part in getattr(city, "geoms", [city]) for ring in part.interiors]
    in_gaps = [shapely.point_on_surface(hole) for hole in holes[:count]]
    points = shapely.get_coordinates([*on_boundary, *in_gaps])
    return points[:, 0], points[:, 1]


def synthetic_csv(url: str, rows: int, path: Path, seed: int = 112) -> dict[str, int]:
    """``rows`` calls shaped like a call-centre export: 88 % darurat calls with the caller's name and
    phone, 12 % other call types without, points in a uniform background and a few dense clusters over
    two years, a few dozen points on kelurahan boundaries and in the gaps between them, 150 m off the
    coast, and a few bad rows (5 km out at sea, an unknown category, times out of order)."""
    rng = np.random.default_rng(seed)
    city, kelurahan = city_shapes(url)
    inner = city.buffer(-0.0002)  # ~20 m inside the boundary: no point is lost to rounding to 6 decimals
    west, south, east, north = inner.bounds
    categories = list(load_catalog(Settings.from_env().layers_dir).incident_categories)
    lon, lat = np.empty(0), np.empty(0)
    with tqdm(total=rows, desc="points", unit="pt") as progress:
        while len(lon) < rows:
            n = rows - len(lon)
            clustered = rng.random(n) < 0.35
            centres = rng.uniform([west, south], [east, north], (8, 2))
            pick = centres[rng.integers(0, 8, n)]
            x = np.where(clustered, pick[:, 0] + rng.normal(0, 0.004, n), rng.uniform(west, east, n))
            y = np.where(clustered, pick[:, 1] + rng.normal(0, 0.004, n), rng.uniform(south, north, n))
            inside = shapely.contains_xy(inner, x, y)
            lon, lat = np.concatenate([lon, x[inside]]), np.concatenate([lat, y[inside]])
            progress.update(int(inside.sum()) - max(0, len(lon) - rows))
    lon, lat = lon[:rows], lat[:rows]
    edge_lon, edge_lat = edge_points(city, kelurahan, rng, 24)
    coast = shapely.get_coordinates(shapely.Point(west, (south + north) / 2))  # the city's west: sea
    nearest = shapely.get_coordinates(shapely.shortest_line(city, shapely.Point(coast[0])))[0]
    metres = 111_320 * np.cos(np.radians(nearest[1]))  # of a degree of longitude there
    spots = {
        "edge": np.arange(len(edge_lon)) * (rows // max(len(edge_lon), 1)),
        "near the coast": rows // 3 + np.arange(6),
        "5 km out at sea": rows // 2 + np.arange(2),
    }
    lon[spots["edge"]], lat[spots["edge"]] = edge_lon, edge_lat
    lon[spots["near the coast"]], lat[spots["near the coast"]] = nearest[0] - 150 / metres, nearest[1]
    lon[spots["5 km out at sea"]], lat[spots["5 km out at sea"]] = nearest[0] - 5000 / metres, nearest[1]
    start = pd.Timestamp("2024-11-01", tz="Asia/Jakarta").value // 10**9
    received = start + rng.integers(0, 730 * 86400, rows)
    dispatched = received + rng.integers(60, 300, rows)
    arrived = dispatched + rng.gamma(3.0, 240.0, rows).astype(np.int64)
    emergency = rng.random(rows) < 0.88
    category = np.where(emergency, np.array(categories)[rng.integers(0, len(categories), rows)], "")
    bad_category, bad_order = rows // 4 + np.arange(2), 2 * rows // 3 + np.arange(1)
    emergency[bad_category] = True
    category[bad_category] = "GEMPA BUMI"
    dispatched[bad_order] = received[bad_order] - 600
    caller = rng.integers(0, 10**8, rows)

    def when(seconds):
        return pd.to_datetime(seconds, unit="s", utc=True).strftime("%Y-%m-%dT%H:%M:%SZ")

    frame = pd.DataFrame(
        {
            "external_id": [f"B{n:07d}" for n in range(rows)],
            "call_type": np.where(emergency, "darurat", np.array(NON_EMERGENCY)[caller % len(NON_EMERGENCY)]),
            "category": category,
            "lat": np.round(lat, 6),
            "lon": np.round(lon, 6),
            "received_at": when(received),
            "dispatched_at": when(dispatched),
            "arrived_at": when(arrived),
            "status": "closed",
            "caller_name": np.where(emergency, np.char.add("Warga ", caller.astype(str)), ""),
            "caller_phone": np.where(emergency, np.char.add("+62812", caller.astype(str)), ""),
        }
    )
    for chunk in tqdm(np.array_split(np.arange(rows), 10), desc="csv", unit="part"):
        frame.iloc[chunk].to_csv(path, mode="a", header=chunk[0] == 0, index=False)
    return {
        "with caller": int(emergency.sum()),
        "other call types": int((~emergency).sum()),
        **{name: len(where) for name, where in spots.items()},
        "bad rows": len(bad_category) + len(bad_order) + len(spots["5 km out at sea"]),
    }


def run_ogr2ogr(url: str, path: Path) -> float:
    """Seconds for ogr2ogr (COPY mode) to load the CSV as points into a fresh PostGIS table."""
    with connect(url) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_ogr_incidents")
        conn.commit()
    database = bootstrap.database_name(url)
    command = [
        "ogr2ogr", "-f", "PostgreSQL", f"PG:dbname={database} host=127.0.0.1 user=postgres", str(path),
        "-nln", "bench_ogr_incidents", "-oo", "X_POSSIBLE_NAMES=lon", "-oo", "Y_POSSIBLE_NAMES=lat",
        "-oo", "KEEP_GEOM_COLUMNS=NO", "-a_srs", "EPSG:4326", "-lco", "GEOMETRY_NAME=geom",
        "--config", "PG_USE_COPY", "YES",
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def remove_bench_rows(url: str) -> None:
    """Back to the sample city: the rows of an earlier import and their dead space go. A checkpoint
    then writes what that changed to disk, so the next timed run does not pay for it (the first tool
    of a pair waited up to 3 s for this clean-up's writes)."""
    with connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM incidents WHERE city_code = %s AND external_id LIKE 'B%%'", (CITY,))
        conn.execute("VACUUM FULL ANALYZE incidents, incident_callers")  # callers go with their incidents
        conn.execute("CHECKPOINT")


# Starts a command and reports its peak resident memory as the kernel counts it when the command ends.
# A small process of its own: a process started straight from the benchmark would count the
# benchmark's own memory (Linux keeps the peak of the memory a child had before it started the command).
MEASURED_LAUNCH = (
    "import os, sys\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execv(sys.argv[1], sys.argv[1:])\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "print('peak_rss_kib', usage.ru_maxrss, file=sys.stderr)\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def run_import(url: str, path: Path) -> tuple[float, int, str]:
    """``geo-app import-incidents --keep-good`` as a user runs it, in its own process: seconds, peak
    resident memory (bytes) and the report it prints."""
    geo_app = str(Path(sys.executable).with_name("geo-app"))
    command = [sys.executable, "-c", MEASURED_LAUNCH, geo_app, "import-incidents", "--keep-good", str(path)]
    environment = {**os.environ, "DATABASE_URL": url, "CITY_CODE": CITY}
    started = time.perf_counter()
    process = subprocess.run(command, env=environment, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"import-incidents failed:\n{process.stdout}\n{process.stderr[-2000:]}")
    peak_kib = int(process.stderr.rsplit("peak_rss_kib", 1)[1].split()[0])
    return seconds, peak_kib * 1024, process.stdout


def pair_summary(pairs: list[tuple[float, float, float]]) -> str:
    """Side-by-side runs compared: the median of the ratios of each pair (the two ran back to back, so
    the machine's changing load falls on both alike), the medians of both tools, and each pair with
    the one-minute load average after it."""
    ratios = [ours / theirs for ours, theirs, _ in pairs]
    ours, theirs = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
    runs = "; ".join(f"{o:.1f} s vs {t:.1f} s = {o / t:.2f}x at load {load:.1f}" for o, t, load in pairs)
    return (
        f"median ratio {statistics.median(ratios):.2f}x ogr2ogr (medians: geo-app {ours:.1f} s, ogr2ogr "
        f"{theirs:.1f} s; {runs})"
    )


def admin_client(app, url: str):
    from geo_app.auth import users

    with connect(url) as conn:
        exists = conn.execute("SELECT 1 FROM users WHERE username = %s", (TOKEN_USER,)).fetchone()
    if not exists:
        users.add_user(url, TOKEN_USER, "admin", None, city_code=CITY)
    token, _ = users.issue_token(url, TOKEN_USER, days=1, label="bench")
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def time_requests(client, path: str, runs: int) -> tuple[float, object]:
    client.get(path)  # warm-up (pool, caches)
    timings, response = [], None
    for _ in tqdm(range(runs), desc=path[:40], unit="req"):
        started = time.perf_counter()
        response = client.get(path)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return statistics.median(timings), response


def compare_with_esda(url: str, size: float, band: float) -> dict[str, float]:
    """Seconds for Gi* on the request's cells and band: ours (z, p, FDR bins; and with the band search)
    and esda's G_Local (weights built by libpysal DistanceBand; z only, and with 999 permutations)."""
    import esda
    import libpysal

    from geo_app.analysis import hotspots
    from geo_app.store import incident_aggregates
    from geo_app.store.incidents import IncidentFilter

    with connect(url) as conn:
        filters = IncidentFilter(city_code=CITY, call_types=("darurat",))
        cells = incident_aggregates.hexagon_counts(conn, filters, size)
    xy = np.array([(c["x"], c["y"]) for c in cells])
    counts = np.array([c["count"] for c in cells], dtype=float)
    figures = {}
    started = time.perf_counter()
    hotspots.hot_spots(counts, xy, int(counts.sum()), band=band)
    figures["ours: Gi*, p, FDR bins"] = time.perf_counter() - started
    started = time.perf_counter()
    hotspots.hot_spots(counts, xy, int(counts.sum()))
    figures["ours: band search + Gi*, p, FDR bins"] = time.perf_counter() - started
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for permutations in (0, 999):
            started = time.perf_counter()
            weights = libpysal.weights.DistanceBand(xy, threshold=band, binary=True, silence_warnings=True)
            esda.G_Local(counts, weights, transform="B", star=True, permutations=permutations)
            figures[f"esda: DistanceBand + G_Local, {permutations} permutations"] = (
                time.perf_counter() - started
            )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="requests per timed page")
    parser.add_argument("--import-runs", type=int, default=3, help="imports timed with each tool")
    parser.add_argument("--database", default="geo_app_bench_incidents")
    parser.add_argument("--imports-only", action="store_true", help="skip the hotspots request and page")
    parser.add_argument(
        "--keep-csv", action="store_true", help="keep the generated CSV (its path is printed)"
    )
    args = parser.parse_args()
    if shutil.which("ogr2ogr") is None:
        raise SystemExit("ogr2ogr is missing: apt-get install -y gdal-bin")

    url = sample_city_database(args.database)
    if OFFICIAL_KELURAHAN.exists():
        load_official_boundaries(url, OFFICIAL_KELURAHAN)
    else:
        print(f"{OFFICIAL_KELURAHAN} is missing: the sample city's own boundaries (no gaps) are used")
    settings = Settings.from_env(database_url=url, city_code=CITY)
    workdir = Path(tempfile.mkdtemp(prefix="geo-app-bench-"))
    csv_path = workdir / "incidents.csv"
    try:
        print(f"generating {args.rows:,} incidents into {csv_path}")
        shape = synthetic_csv(url, args.rows, csv_path)
        print(f"CSV: {csv_path.stat().st_size / 1e6:.0f} MB; rows: {shape}")
        fresh, again, peaks = [], [], []  # (geo-app s, ogr2ogr s, load average) of each pair
        for run in range(1, args.import_runs + 1):
            remove_bench_rows(url)
            # alternate which goes first: the machine's other load then falls on both alike
            times = {}
            for tool in ("ogr2ogr", "geo-app") if run % 2 else ("geo-app", "ogr2ogr"):
                if tool == "ogr2ogr":
                    times[tool] = run_ogr2ogr(url, csv_path)
                    print(f"  run {run}: ogr2ogr (PG_USE_COPY=YES) {times[tool]:.1f} s")
                else:
                    times[tool], peak, report = run_import(url, csv_path)
                    peaks.append(peak)
                    print(
                        f"  run {run}: geo-app import-incidents --keep-good {times[tool]:.1f} s, peak RSS "
                        f"{peak / 2**20:.0f} MiB\n    " + report.strip().replace("\n", "\n    ")
                    )
            fresh.append((times["geo-app"], times["ogr2ogr"], os.getloadavg()[0]))
        for run in range(1, args.import_runs + 1):  # the same file again, beside ogr2ogr again
            seconds, peak, report = run_import(url, csv_path)
            peaks.append(peak)
            print(
                f"  run {run}: same file again {seconds:.1f} s, peak RSS {peak / 2**20:.0f} MiB\n    "
                + report.strip().replace("\n", "\n    ")
            )
            ogr_seconds = run_ogr2ogr(url, csv_path)
            print(f"  run {run}: ogr2ogr (PG_USE_COPY=YES) {ogr_seconds:.1f} s")
            again.append((seconds, ogr_seconds, os.getloadavg()[0]))
        summary = [
            f"import {args.rows:,} rows: {pair_summary(fresh)}",
            f"same file again: {pair_summary(again)}",
            f"peak RSS of the import: {max(peaks) / 2**20:.0f} MiB",
        ]
        if args.imports_only:
            print("\nsummary\n  " + "\n  ".join(summary))
            return

        with connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE incidents")  # as autovacuum would after the import
        app = create_app(settings)
        client = admin_client(app, url)
        hotspot_seconds, response = time_requests(client, "/api/analysis/hotspots", args.runs)
        body = response.get_json()
        print(
            f"  hotspots: median {hotspot_seconds:.2f} s over {body['incidents']:,} incidents, "
            f"{body['cells']} cells of {body['cell_size_m']:g} m, band {body['band_m']:g} m"
        )
        for label, seconds in compare_with_esda(url, body["cell_size_m"], body["band_m"]).items():
            print(f"  {label}: {seconds * 1000:.0f} ms")
        page_seconds, page = time_requests(client, "/maps/hotspots", 1)
        print(f"  /maps/hotspots: {len(page.data) / 1e6:.3f} MB HTML in {page_seconds:.2f} s")
        app.extensions["db_pool"].close()

        print("\nsummary\n  " + "\n  ".join(summary))
        print(f"  hotspots request: {hotspot_seconds:.2f} s")
        print(f"  /maps/hotspots HTML: {len(page.data) / 1e6:.3f} MB")
    finally:
        if args.keep_csv:
            print(f"CSV kept at {csv_path}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
