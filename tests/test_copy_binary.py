"""Binary COPY data built from Arrow columns reads back as the same values in PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import shapely

from geo_app.db.copy_binary import SIGNATURE, binary_copy_rows


def test_every_type_and_null_round_trips(conn):
    point = shapely.to_wkb(shapely.set_srid(shapely.Point(106.05, -6.01), 4326), include_srid=True)
    instants = [
        datetime(2026, 1, 1, tzinfo=UTC),
        None,
        datetime(1999, 12, 31, 23, 59, 59, 123456, tzinfo=UTC),
    ]
    table = pa.table(
        {
            "name": pa.array(["Kebakaran gudang", None, "Jalan Raya Anyer 'Ciwandan' é"]),
            "count": pa.array([1, None, -(2**40)], pa.int64()),
            "score": pa.array([0.5, None, -1e-300]),
            "at": pa.array(instants, pa.timestamp("us", tz="UTC")),
            "geom": pa.array([None, point, point], pa.binary()),
        }
    )
    conn.execute(
        "CREATE TEMP TABLE copied (name text, count bigint, score float8, at timestamptz, geom geometry)"
    )
    with conn.cursor().copy("COPY copied FROM STDIN (FORMAT binary)") as copy:
        copy.write(SIGNATURE)
        copy.write(binary_copy_rows(table.slice(0, 2), batch_rows=1))
        copy.write(binary_copy_rows(table.slice(2)))
    rows = conn.execute(
        "SELECT name, count, score, at, ST_AsEWKT(geom) AS geom FROM copied ORDER BY count NULLS FIRST"
    ).fetchall()
    assert rows == [
        {"name": None, "count": None, "score": None, "at": None, "geom": "SRID=4326;POINT(106.05 -6.01)"},
        {
            "name": "Jalan Raya Anyer 'Ciwandan' é",
            "count": -(2**40),
            "score": -1e-300,
            "at": instants[2],
            "geom": "SRID=4326;POINT(106.05 -6.01)",
        },
        {"name": "Kebakaran gudang", "count": 1, "score": 0.5, "at": instants[0], "geom": None},
    ]
