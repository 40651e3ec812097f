#!/usr/bin/env python3
"""OGC API and vector tiles of geo_app side by side with pygeoapi, on one 1,000,000-incident table.

    .venv/bin/python scripts/bench/ogc.py [--incidents 1000000] [--workers 2] [--seconds 10]

Steps (each shows progress): a separate bench database (BENCH_DATABASE_URL, default
postgresql://postgres@127.0.0.1:5432/geo_app_bench_ogc) is migrated and filled with synthetic incidents
inside Cilegon's outline (half spread evenly, half around the kelurahan centres, 85 % call type darurat);
pygeoapi is installed into its own virtual environment (.local/bench/pygeoapi-venv) and serves the same
public incidents (a view with geo_app's public restrictions) with its PostgreSQL provider; both run under
gunicorn with the same worker count on 127.0.0.1; wrk measures

- a bbox page of 100 items over the densest area (target: geo_app >= 20x pygeoapi requests/s),
- one item by random id (target: >= 2x),
- the z14 vector tile with the most incidents (target: p95 <= 50 ms), geo_app only: over HTTP (after
  the first request from the in-process tile cache) and built from the database every time,
- keyset paging: page 1 and page 1,000 (limit 100) through the cursor of a next link.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager, suppress
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Polygon
from tqdm import tqdm

from geo_app.auth.roles import PERENCANA
from geo_app.auth.users import UserError, add_user, issue_token
from geo_app.catalog import load_catalog
from geo_app.db import bootstrap, connect, migrate
from geo_app.ogc.core import encode_cursor
from geo_app.published import build_collections
from geo_app.settings import REPO_DIR
from geo_app.store import features as store

CITY = "36.72"
REFERENCE = REPO_DIR / "data" / "reference"
BENCH_DIR = REPO_DIR / ".local" / "bench"
PYGEOAPI_VENV = BENCH_DIR / "pygeoapi-venv"
PYGEOAPI_PACKAGES = ["pygeoapi", "gunicorn", "psycopg2-binary", "SQLAlchemy", "GeoAlchemy2", "pygeofilter"]
PUBLIC_VIEW = "bench_public_incidents"
PUBLIC_COLUMNS = (
    "id, category, status, received_at, dispatched_at, arrived_at, closed_at, responding_opd, "
    "kelurahan_code, kecamatan_code, geocode_precision, geom"
)
CATEGORIES = ["KEBAKARAN", "KECELAKAAN_LL", "MEDIS_AMBULANS", "BANJIR", "KRIMINAL", "KAMTIBMAS", "LAINNYA"]
CALL_TYPES = ["darurat"] * 17 + ["informasi", "prank", "ghost"]  # 85 % darurat
WRK_REPORT = """
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    errors.status, errors.connect, errors.read, errors.write, errors.timeout))
end
"""
WRK_RANDOM_ID = """
math.randomseed(7)
ids = {{{ids}}}
request = function()
  return wrk.format("GET", "{prefix}" .. ids[math.random(#ids)] .. "{suffix}")
end
"""


def say(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


# -- data ------------------------------------------------------------------------------------------
def outline() -> Polygon:
    vertices = pd.read_csv(REFERENCE / "city_outline.csv")[["lon", "lat"]].to_numpy()
    return Polygon(vertices)


def synthetic_points(count: int, rng: np.random.Generator) -> np.ndarray:
    """Half evenly inside the outline, half around the kelurahan centres (sigma about 600 m)."""
    city = outline()
    shapely.prepare(city)
    centres = pd.read_csv(REFERENCE / "kelurahan.csv")[["lon", "lat"]].to_numpy()
    west, south, east, north = city.bounds
    points = np.empty((0, 2))
    while len(points) < count:
        batch = count - len(points)
        even = np.column_stack([rng.uniform(west, east, batch // 2), rng.uniform(south, north, batch // 2)])
        around = centres[rng.integers(0, len(centres), batch - batch // 2)]
        around = around + rng.normal(0, 0.0055, around.shape)
        candidates = np.vstack([even, around])
        points = np.vstack(
            [points, candidates[shapely.contains_xy(city, candidates[:, 0], candidates[:, 1])]]
        )
    return points[:count]


def prepare_database(url: str, count: int) -> None:
    bootstrap.ensure_database(url)
    bootstrap.ensure_extensions(url)
    migrate.upgrade(url)
    with connect(url) as conn:
        have = conn.execute("SELECT count(*) AS n FROM incidents WHERE city_code = %s", (CITY,)).fetchone()[
            "n"
        ]
    if have == count:
        say(f"bench database has its {count:,} incidents")
    else:
        load_incidents(url, count)
    with connect(url, autocommit=True) as conn:
        conn.execute(
            f"CREATE OR REPLACE VIEW {PUBLIC_VIEW} AS SELECT {PUBLIC_COLUMNS} FROM incidents"
            " WHERE city_code = '36.72' AND call_type = 'darurat' AND geom IS NOT NULL"
        )


def load_incidents(url: str, count: int) -> None:
    rng = np.random.default_rng(1_000_000)
    say(f"generating {count:,} synthetic incidents inside the city outline")
    points = synthetic_points(count, rng)
    call_types = np.array(CALL_TYPES)[rng.integers(0, len(CALL_TYPES), count)]
    categories = np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), count)]
    start = pd.Timestamp("2024-01-01", tz="UTC")
    received = start + pd.to_timedelta(rng.uniform(0, 730 * 86400, count), unit="s")
    with connect(url) as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")  # no audit rows for bench data
        conn.execute("DELETE FROM incidents WHERE city_code = %s", (CITY,))
        conn.execute(
            "INSERT INTO cities (code, name, timezone, metric_srid) VALUES (%s, 'Kota Cilegon (bench)',"
            " 'Asia/Jakarta', 32748) ON CONFLICT DO NOTHING",
            (CITY,),
        )
        copy_sql = (
            "COPY incidents (city_code, external_id, call_type, category, geom, geocode_precision,"
            " received_at, status) FROM STDIN"
        )
        with (
            conn.cursor().copy(copy_sql) as copy,
            tqdm(total=count, unit="row", desc="COPY incidents") as bar,
        ):
            for start in range(0, count, 20_000):
                for i in range(start, min(start + 20_000, count)):
                    point = f"SRID=4326;POINT({points[i][0]:.7f} {points[i][1]:.7f})"
                    copy.write_row(
                        (CITY, f"BENCH-{i:07d}", call_types[i], categories[i], point, "exact",
                         received[i].to_pydatetime(), "closed")
                    )  # fmt: skip
                bar.update(min(20_000, count - start))
    say("VACUUM ANALYZE incidents")
    with connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE incidents")


def densest_tile(url: str, zoom: int = 14) -> tuple[int, int, int]:
    with connect(url) as conn:
        row = conn.execute(
            "SELECT floor((ST_X(p) + 20037508.342789244) / (40075016.68557849 / 2 ^ %(z)s))::int AS x,"
            " floor((20037508.342789244 - ST_Y(p)) / (40075016.68557849 / 2 ^ %(z)s))::int AS y,"
            " count(*) AS n"
            " FROM (SELECT ST_Transform(geom, 3857) AS p FROM incidents WHERE city_code = %(c)s"
            " AND call_type = 'darurat' AND geom IS NOT NULL) s GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 1",
            {"z": zoom, "c": CITY},
        ).fetchone()
    say(f"densest z{zoom} tile {row['x']}/{row['y']} holds {row['n']:,} public incidents")
    return zoom, row["x"], row["y"]


def tile_centre(z: int, x: int, y: int) -> tuple[float, float]:
    n = 2**z
    lon = (x + 0.5) / n * 360 - 180
    lat = np.degrees(np.arctan(np.sinh(np.pi * (1 - 2 * (y + 0.5) / n))))
    return lon, float(lat)


def cold_tile_times(url: str, z: int, x: int, y: int, runs: int = 30) -> dict:
    """Build the tile straight from the database ``runs`` times (no tile cache, no HTTP): the cost of a
    tile nobody asked for in the last minute."""
    incidents = build_collections(load_catalog(REPO_DIR / "layers"))["incidents"]
    times = []
    with connect(url) as conn:
        for _ in tqdm(range(runs), desc="cold z14 tile", unit="tile"):
            start = time.perf_counter()
            store.tile(conn, incidents, CITY, z, x, y)
            times.append((time.perf_counter() - start) * 1000)
            conn.rollback()
    p50, p95, p99 = np.percentile(times, [50, 95, 99])
    return {"rps": 1000 / np.mean(times), "p50_ms": p50, "p95_ms": p95, "p99_ms": p99}


def sample_ids(url: str, count: int = 5000) -> str:
    """Random public incident ids as a Lua list (the same ids for both servers)."""
    with connect(url) as conn:
        conn.execute("SELECT setseed(0.7)")
        rows = conn.execute(f"SELECT id FROM {PUBLIC_VIEW} ORDER BY random() LIMIT %s", (count,)).fetchall()
    return ", ".join(str(row["id"]) for row in rows)


def public_id_at(url: str, position: int) -> int:
    with connect(url) as conn:
        return conn.execute(
            f"SELECT id FROM {PUBLIC_VIEW} ORDER BY id OFFSET %s LIMIT 1", (position,)
        ).fetchone()["id"]


def bench_token(url: str) -> str:
    with suppress(UserError):
        add_user(url, "bench_planner", PERENCANA, password=None, city_code=CITY)
    secret, _ = issue_token(url, "bench_planner", days=1, label="bench")
    return secret


# -- servers ---------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, headers: dict, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


@contextmanager
def serve(command: list[str], env: dict, check_url: str, headers: dict, log: Path):
    with log.open("w") as log_file:
        process = subprocess.Popen(
            command, env={**os.environ, **env}, stdout=log_file, stderr=subprocess.STDOUT
        )
        try:
            wait_until_up(check_url, headers)
            yield
        finally:
            process.terminate()
            process.wait(timeout=30)


def ensure_pygeoapi() -> Path:
    python = PYGEOAPI_VENV / "bin" / "python"
    if not (PYGEOAPI_VENV / "bin" / "pygeoapi").exists():
        say(f"installing pygeoapi into {PYGEOAPI_VENV}")
        subprocess.run([sys.executable, "-m", "venv", str(PYGEOAPI_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PYGEOAPI_PACKAGES], check=True)
    return PYGEOAPI_VENV / "bin"


def pygeoapi_config(url: str, port: int, directory: Path) -> tuple[Path, Path]:
    parts = re.match(r"postgres(?:ql)?://(?P<user>[^:@/]+)(?::(?P<pw>[^@]*))?@(?P<host>[^:/]+)(?::(?P<port>\d+))?/(?P<db>\w+)",
                     url)  # fmt: skip
    if parts is None:
        raise SystemExit(f"cannot read {url} for pygeoapi's configuration")
    config = {
        "server": {
            "bind": {"host": "127.0.0.1", "port": port},
            "url": f"http://127.0.0.1:{port}",
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["en-US"],
            "limits": {"default_items": 10, "max_items": 10000},
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "OSM"},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": "bench",
                "description": "bench",
                "keywords": ["bench"],
                "keywords_type": "theme",
                "terms_of_service": "none",
                "url": "http://127.0.0.1",
            },
            "license": {"name": "bench", "url": "http://127.0.0.1"},
            "provider": {"name": "bench", "url": "http://127.0.0.1"},
            "contact": {
                "name": "bench",
                "position": "bench",
                "address": "bench",
                "city": "bench",
                "stateorprovince": "bench",
                "postalcode": "0",
                "country": "ID",
                "phone": "0",
                "fax": "0",
                "email": "bench@example.org",
                "url": "http://127.0.0.1",
                "hours": "0",
                "instructions": "none",
                "role": "pointOfContact",
            },
        },
        "resources": {
            "incidents": {
                "type": "collection",
                "title": "incidents",
                "description": "public incidents",
                "keywords": ["incidents"],
                "extents": {"spatial": {"bbox": [105.9, -6.1, 106.2, -5.9]}},
                "providers": [
                    {
                        "type": "feature",
                        "name": "PostgreSQL",
                        "data": {
                            "host": parts["host"],
                            "port": int(parts["port"] or 5432),
                            "dbname": parts["db"],
                            "user": parts["user"],
                            "password": parts["pw"] or "",
                            "search_path": ["public"],
                        },
                        "id_field": "id",
                        "table": PUBLIC_VIEW,
                        "geom_field": "geom",
                    }
                ],
            }
        },
    }
    config_path = directory / "pygeoapi-config.yml"
    config_path.write_text(json.dumps(config, indent=1))  # JSON is YAML
    openapi_path = directory / "pygeoapi-openapi.yml"
    return config_path, openapi_path


# -- load ------------------------------------------------------------------------------------------
def wrk(url: str, seconds: int, connections: int, headers: dict, timeout: float, script: str = "") -> dict:
    """Answers per second (2xx only), latency percentiles (of the answered requests) and the errors of
    ``seconds`` of load: non-2xx answers and socket errors (connect, read, write, and requests without an
    answer within ``timeout`` seconds) are counted, not fatal, and shown beside the figures."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script + WRK_REPORT)
    command = ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds}s",
               "--timeout", f"{timeout:g}s", "-s", lua.name]  # fmt: skip
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    os.unlink(lua.name)
    numbers = [int(n) for n in re.search(r"RESULT (.*)", output).group(1).split()]
    requests, duration_us, p50, p95, p99, non_2xx, *socket_errors = numbers
    return {
        "rps": (requests - non_2xx) / (duration_us / 1e6),
        "p50_ms": p50 / 1000,
        "p95_ms": p95 / 1000,
        "p99_ms": p99 / 1000,
        "non_2xx": non_2xx,
        "socket_errors": dict(zip(("connect", "read", "write", "timeout"), socket_errors, strict=True)),
    }


def errors_text(figures: dict) -> str:
    """The errors of one measurement, e.g. ``0`` or ``3 (2 timeout, 1 non-2xx)``."""
    counts = {**figures["socket_errors"], "non-2xx": figures["non_2xx"]}
    total = sum(counts.values())
    named = ", ".join(f"{count} {kind}" for kind, count in counts.items() if count)
    return f"{total} ({named})" if total else "0"


def fetch_json(url: str, headers: dict) -> dict:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as response:
        return json.load(response)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds wrk waits for an answer before counting a timeout (wrk's own default, 2 s, is "
        "close to what one pygeoapi bbox page takes under load)",
    )
    parser.add_argument("--prepare-only", action="store_true", help="fill the bench database and stop")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    url = os.environ.get("BENCH_DATABASE_URL") or bootstrap.with_database(
        os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/geo_app", "geo_app_bench_ogc"
    )
    prepare_database(url, args.incidents)
    if args.prepare_only:
        return
    z, tx, ty = densest_tile(url)
    lon, lat = tile_centre(z, tx, ty)
    bbox = f"{lon - 0.005:.5f},{lat - 0.005:.5f},{lon + 0.005:.5f},{lat + 0.005:.5f}"
    ids = sample_ids(url)
    token = bench_token(url)
    auth = {"Authorization": f"Bearer {token}"}
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}

    ours = free_port()
    ours_url = f"http://127.0.0.1:{ours}"
    env = {"DATABASE_URL": url, "CITY_CODE": CITY, "GEO_APP_ENV": "development", "DB_POOL_SIZE": "4"}
    env["SECRET_KEY"] = os.environ.get("SECRET_KEY") or secrets.token_urlsafe(48)  # the app's own secret
    gunicorn = [str(REPO_DIR / ".venv" / "bin" / "gunicorn"), "--workers", str(args.workers),
                "--bind", f"127.0.0.1:{ours}", "geo_app.wsgi:app"]  # fmt: skip
    items = f"{ours_url}/ogc/collections/incidents/items"
    steps = tqdm(total=8, desc="measuring", unit="run")
    say(f"geo_app on {ours_url} ({args.workers} gunicorn workers)")
    with serve(gunicorn, env, f"{items}?limit=1", auth, BENCH_DIR / "geo_app.log"):
        matched = fetch_json(f"{items}?bbox={bbox}&limit=100", auth)
        say(
            f"bbox {bbox}: numberMatched {matched['numberMatched']}, "
            f"numberReturned {matched['numberReturned']}"
        )
        results["geo_app bbox page"] = wrk(
            f"{items}?bbox={bbox}&limit=100", args.seconds, args.connections, auth, args.timeout
        )
        steps.update()
        script = WRK_RANDOM_ID.format(ids=ids, prefix="/ogc/collections/incidents/items/", suffix="")
        results["geo_app item by id"] = wrk(
            ours_url, args.seconds, args.connections, auth, args.timeout, script
        )
        steps.update()
        tile = f"{ours_url}/tiles/incidents/{z}/{tx}/{ty}.mvt"
        results["geo_app z14 tile, cold (built each time)"] = cold_tile_times(url, z, tx, ty)
        results["geo_app z14 tile (1 connection)"] = wrk(tile, args.seconds, 1, auth, args.timeout)
        steps.update()
        results[f"geo_app z14 tile ({args.connections} connections)"] = wrk(
            tile, args.seconds, args.connections, auth, args.timeout
        )
        steps.update()
        deep = encode_cursor([public_id_at(url, 99_899)], "", backwards=False)
        results["geo_app page 1 (limit 100)"] = wrk(f"{items}?limit=100", args.seconds, 1, auth, args.timeout)
        results["geo_app page 1,000 (limit 100, cursor)"] = wrk(
            f"{items}?limit=100&cursor={deep}", args.seconds, 1, auth, args.timeout
        )
        steps.update(2)

    theirs = free_port()
    bin_dir = ensure_pygeoapi()
    config_path, openapi_path = pygeoapi_config(url, theirs, BENCH_DIR)
    pg_env = {"PYGEOAPI_CONFIG": str(config_path), "PYGEOAPI_OPENAPI": str(openapi_path)}
    generate = [
        str(bin_dir / "pygeoapi"),
        "openapi",
        "generate",
        str(config_path),
        "--output-file",
        str(openapi_path),
    ]
    subprocess.run(generate, env={**os.environ, **pg_env}, check=True, capture_output=True)
    their_items = f"http://127.0.0.1:{theirs}/collections/incidents/items"
    command = [str(bin_dir / "gunicorn"), "--workers", str(args.workers), "--bind", f"127.0.0.1:{theirs}",
               "pygeoapi.flask_app:APP"]  # fmt: skip
    say(f"pygeoapi on 127.0.0.1:{theirs} ({args.workers} gunicorn workers)")
    with serve(command, pg_env, f"{their_items}?limit=1&f=json", {}, BENCH_DIR / "pygeoapi.log"):
        results["pygeoapi bbox page"] = wrk(
            f"{their_items}?bbox={bbox}&limit=100&f=json", args.seconds, args.connections, {}, args.timeout
        )
        steps.update()
        script = WRK_RANDOM_ID.format(ids=ids, prefix="/collections/incidents/items/", suffix="?f=json")
        results["pygeoapi item by id"] = wrk(
            f"http://127.0.0.1:{theirs}", args.seconds, args.connections, {}, args.timeout, script
        )
        steps.update()
    steps.close()

    print(f"\n{args.incidents:,} incidents, {args.workers} gunicorn workers each, wrk {args.seconds} s, "
          f"{args.connections} connections unless noted; bbox {bbox}; tile {z}/{tx}/{ty}")  # fmt: skip
    print(f"wrk timeout {args.timeout:g} s; req/s counts 2xx answers, latencies the answered requests")
    print(f"{'measurement':45} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  errors")
    for name, figures in results.items():
        p50, p95, p99 = figures["p50_ms"], figures["p95_ms"], figures["p99_ms"]
        errors = errors_text(figures) if "socket_errors" in figures else "-"
        print(f"{name:45} {figures['rps']:9.1f} {p50:8.1f} {p95:8.1f} {p99:8.1f}  {errors}")
    bbox_ratio = results["geo_app bbox page"]["rps"] / results["pygeoapi bbox page"]["rps"]
    item_ratio = results["geo_app item by id"]["rps"] / results["pygeoapi item by id"]["rps"]
    tile_p95 = results["geo_app z14 tile (1 connection)"]["p95_ms"]
    cold_p95 = results["geo_app z14 tile, cold (built each time)"]["p95_ms"]
    for what, ratio, target in (("bbox page", bbox_ratio, 20), ("item by id", item_ratio, 2)):
        sides = {side: errors_text(results[f"{side} {what}"]) for side in ("geo_app", "pygeoapi")}
        print(
            f"{what}: {ratio:.1f}x pygeoapi (target >= {target}x)  {'OK' if ratio >= target else 'MISSED'}"
            f"  errors: geo_app {sides['geo_app']}, pygeoapi {sides['pygeoapi']}"
        )
    print(
        f"z14 tile p95 over HTTP: {tile_p95:.1f} ms (target <= 50 ms)  {'OK' if tile_p95 <= 50 else 'MISSED'}"
    )
    print(f"z14 tile p95 without the tile cache: {cold_p95:.1f} ms  {'OK' if cold_p95 <= 50 else 'MISSED'}")


if __name__ == "__main__":
    main()
