"""Binary COPY data built from Arrow columns reads back as the same values in PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest
import shapely

from geo_app.db.copy_binary import binary_copy, copy_into

POINT = shapely.to_wkb(shapely.set_srid(shapely.Point(106.05, -6.01), 4326), include_srid=True)
INSTANTS = [
    datetime(2026, 1, 1, tzinfo=UTC),
    None,
    datetime(1999, 12, 31, 23, 59, 59, 123456, tzinfo=UTC),
]
TABLE = pa.table(
    {
        "name": pa.array(["Kebakaran gudang", None, "Jalan Raya Anyer 'Ciwandan' é"]),
        "code": pa.array(["36.72.01", "36.72.02", "36.72.03"]),  # the same length in every row
        "count": pa.array([1, None, -(2**40)], pa.int64()),
        "score": pa.array([0.5, None, -1e-300]),
        "at": pa.array(INSTANTS, pa.timestamp("us", tz="UTC")),
        "geom": pa.array([None, POINT, POINT], pa.binary()),
        "note": pa.nulls(3, pa.string()),
    }
)


@pytest.mark.parametrize(
    "batch_rows",
    [
        1,  # one row a batch: every field has the same length in its batch
        3,  # fields of several lengths, NULL among values, in one batch
    ],
)
def test_every_type_and_null_round_trips(conn, batch_rows):
    conn.execute(
        "CREATE TEMP TABLE copied (name text, code text, count bigint, score float8, at timestamptz, "
        "geom geometry, note text)"
    )
    copy_into(conn, "copied", binary_copy(TABLE, batch_rows=batch_rows))
    rows = conn.execute(
        "SELECT name, code, count, score, at, ST_AsEWKT(geom) AS geom, note FROM copied "
        "ORDER BY count NULLS FIRST"
    ).fetchall()
    ewkt = "SRID=4326;POINT(106.05 -6.01)"
    assert rows == [
        {
            "name": None,
            "code": "36.72.02",
            "count": None,
            "score": None,
            "at": None,
            "geom": ewkt,
            "note": None,
        },
        {
            "name": "Jalan Raya Anyer 'Ciwandan' é",
            "code": "36.72.03",
            "count": -(2**40),
            "score": -1e-300,
            "at": INSTANTS[2],
            "geom": ewkt,
            "note": None,
        },
        {
            "name": "Kebakaran gudang",
            "code": "36.72.01",
            "count": 1,
            "score": 0.5,
            "at": INSTANTS[0],
            "geom": None,
            "note": None,
        },
    ]


def test_a_slice_of_a_table_is_encoded_from_its_own_rows(conn):
    """Arrow slices share their parent's buffers: only the slice's values may be sent."""
    conn.execute("CREATE TEMP TABLE copied (name text, code text, count bigint)")
    copy_into(conn, "copied", binary_copy(TABLE.select(["name", "code", "count"]).slice(1, 2)))
    rows = conn.execute("SELECT name, code, count FROM copied ORDER BY code").fetchall()
    assert rows == [
        {"name": None, "code": "36.72.02", "count": None},
        {"name": "Jalan Raya Anyer 'Ciwandan' é", "code": "36.72.03", "count": -(2**40)},
    ]


def test_fields_of_one_length_in_the_first_batch_only_keep_their_column_order(conn):
    """The column order follows the first batch; a later batch whose values of that column differ in
    length still sends its fields in that order."""
    table = pa.table(
        {
            "note": pa.array(["a", None, "bb", "ccc"]),  # several lengths from the first batch on
            "code": pa.array(["x1", "y2", "z", "wwww"]),  # one length in the first batch only
            "count": pa.array([1, 2, 3, 4], pa.int64()),
        }
    )
    data = binary_copy(table, batch_rows=2)
    assert data.columns == ["code", "count", "note"]  # fixed-width first
    conn.execute("CREATE TEMP TABLE copied (note text, code text, count bigint)")
    copy_into(conn, "copied", data)
    rows = conn.execute("SELECT note, code, count FROM copied ORDER BY count").fetchall()
    assert [tuple(row.values()) for row in rows] == [
        ("a", "x1", 1),
        (None, "y2", 2),
        ("bb", "z", 3),
        ("ccc", "wwww", 4),
    ]
