#!/usr/bin/env python3
"""Load: 100 concurrent clients for 60 s on the main read endpoints and map pages, under gunicorn.

    .venv/bin/python scripts/bench/load.py [--seconds 60] [--connections 100] [--workers 4]

Steps (each shows progress): a bench database (BENCH_DATABASE_URL, default
postgresql://postgres@127.0.0.1:5432/geo_app_bench_load) is migrated and given the sample city when
empty; a supervisor_112 user gets an API token; gunicorn serves geo_app on a free 127.0.0.1 port with the
worker count of scripts/run; every path is fetched once (it must answer 200); then wrk keeps
``--connections`` connections busy for ``--seconds`` on a mix of public requests (anonymous: the public
view) and signed-in requests (Bearer token: the 112 pages and the incident list), and finally each path
alone (10 connections, 10 s) once the server is idle again. Any non-2xx answer or socket error counts
as an error; the run fails on any.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from sample_database import SAMPLE_CITY
from tqdm import tqdm

from geo_app.auth.users import UserError, add_user, issue_token
from geo_app.db import bootstrap, connect, migrate
from geo_app.settings import REPO_DIR

CENTRE = (106.05, -6.0)  # Cilegon
BENCH_USER = "bench-supervisor"
LUA = """
paths = {{{paths}}}
signed = {{{signed}}}
counter = 0
request = function()
  counter = counter + 1
  local i = (counter % #paths) + 1
  if signed[i] then
    return wrk.format("GET", paths[i], {{["Authorization"] = "Bearer {token}"}})
  end
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout))
end
"""


def say(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def tile_of(lon: float, lat: float, zoom: int) -> tuple[int, int]:
    n = 2**zoom
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


def workload() -> list[tuple[str, bool]]:
    """(path, signed in) — the public view anonymously, the 112 pages with the supervisor's token."""
    x, y = tile_of(*CENTRE, 14)
    return [
        ("/", False),
        ("/api/areas", False),
        ("/api/areas?level=kecamatan", False),
        ("/api/assets?limit=100", False),
        ("/api/green-areas?limit=100", False),
        ("/api/incidents/counts", False),
        ("/api/analysis/green", False),
        ("/ogc/collections", False),
        ("/ogc/collections/assets/items?limit=100", False),
        (f"/tiles/assets/14/{x}/{y}.mvt", False),
        ("/maps/areas", False),
        ("/maps/coverage", False),
        ("/maps/green", False),
        ("/api/incidents?limit=100", True),
        ("/maps/incidents", True),
        ("/maps/hotspots", True),
    ]


def prepare_database(url: str) -> str:
    say(f"bench database {bootstrap.database_name(url)}")
    bootstrap.ensure_database(url)
    bootstrap.ensure_extensions(url)
    migrate.upgrade(url)
    with connect(url) as conn:
        loaded = conn.execute("SELECT count(*) AS n FROM incidents").fetchone()["n"]
    if not loaded:
        from geo_app.sample import load_sample_city

        load_sample_city(url, progress=True)
    with connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")  # planner statistics of freshly loaded tables, as autovacuum would give them
    with contextlib.suppress(UserError):  # the user exists from an earlier run
        add_user(url, BENCH_USER, "supervisor_112", None, city_code=SAMPLE_CITY)
    token, _ = issue_token(url, BENCH_USER, days=1, label="load benchmark")
    return token


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(url: str, port: int, workers: int, timeout: int = 60) -> subprocess.Popen:
    say(f"gunicorn with {workers} workers on 127.0.0.1:{port}, worker timeout {timeout} s")
    # a deployment's own signing secret, as scripts/run makes one (the app refuses to start without it)
    secret = os.environ.get("SECRET_KEY") or secrets.token_urlsafe(48)
    env = {**os.environ, "DATABASE_URL": url, "GEO_APP_ENV": "development", "SECRET_KEY": secret}
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            str(timeout),
            "--log-level",
            "warning",
            "geo_app.wsgi:app",
        ],
        cwd=REPO_DIR,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("gunicorn did not become ready in 60 s")


def check_paths(base: str, paths: list[tuple[str, bool]], token: str) -> None:
    for path, signed in tqdm(paths, desc="first fetch of each path", unit="path"):
        request = urllib.request.Request(base + path)
        if signed:
            request.add_header("Authorization", f"Bearer {token}")
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as response:
            size = len(response.read())
            if response.status != 200:
                raise SystemExit(f"{path}: {response.status}")
        tqdm.write(f"    {path:<45} {size / 1024:8.1f} KiB  {1000 * (time.perf_counter() - started):7.0f} ms")


def run_wrk(base: str, paths: list[tuple[str, bool]], token: str, seconds: int, connections: int) -> dict:
    script = LUA.format(
        paths=", ".join(f'"{path}"' for path, _ in paths),
        signed=", ".join("true" if signed else "false" for _, signed in paths),
        token=token,
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    threads = min(4, os.cpu_count() or 2)
    command = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        "30s",
        "-s",
        handle.name,
        base,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    os.unlink(handle.name)
    numbers = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", output)
    requests, duration_us, p50, p95, p99, status_errors, socket_errors = map(int, numbers.groups())
    return {
        "requests": requests,
        "rps": requests / (duration_us / 1e6),
        "p50_ms": p50 / 1000,
        "p95_ms": p95 / 1000,
        "p99_ms": p99 / 1000,
        "errors": status_errors + socket_errors,
    }


def wait_until_idle(base: str, seconds: float = 120) -> None:
    """Requests still queued from the previous run must not be counted against the next one."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        with urllib.request.urlopen(base + "/healthz", timeout=seconds) as response:
            response.read()
        if time.perf_counter() - started < 0.05:
            return
        time.sleep(0.5)


def show(label: str, result: dict) -> None:
    print(
        f"{label:<47} {result['requests']:>8} req {result['rps']:>8.1f} req/s"
        f"  p50 {result['p50_ms']:>7.1f} ms  p95 {result['p95_ms']:>7.1f} ms"
        f"  p99 {result['p99_ms']:>7.1f} ms  errors {result['errors']}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 4)))
    parser.add_argument("--each-seconds", type=int, default=10, help="seconds per path alone (0: skip)")
    parser.add_argument("--each-connections", type=int, default=10, help="connections per path alone")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    url = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/geo_app_bench_load")
    token = prepare_database(url)
    port = free_port()
    server = start_gunicorn(url, port, args.workers)
    base = f"http://127.0.0.1:{port}"
    paths = workload()
    try:
        check_paths(base, paths, token)
        say(f"wrk: {args.connections} connections for {args.seconds} s on the mix of {len(paths)} paths")
        mixed = run_wrk(base, paths, token, args.seconds, args.connections)
        show("mix (public + signed-in)", mixed)
        failures = mixed["errors"]
        if args.each_seconds:
            for path, signed in tqdm(paths, desc="each path alone", unit="path"):
                wait_until_idle(base)
                alone = run_wrk(base, [(path, signed)], token, args.each_seconds, args.each_connections)
                tqdm.write("")
                show(path, alone)
                failures += alone["errors"] + (alone["requests"] == 0)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    if failures:
        raise SystemExit(f"{failures} requests failed")


if __name__ == "__main__":
    main()
