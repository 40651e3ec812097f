"""Arrow columns as PostgreSQL binary COPY data, built column by column without a loop over rows.

The server stores binary COPY rows without parsing text: for a million incidents that is about 40 %
less server time than CSV (timestamps, integers and hex geometries are the expensive part to parse).

Each Arrow type maps to one PostgreSQL type: string to ``text``, binary to a type whose binary input
reads the raw bytes (``geometry`` reads EWKB), int64 to ``bigint``, float64 to ``double precision``
and UTC timestamps to ``timestamptz``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" * 2  # magic, flags, no header extension
NULL_FIELD = b"\xff\xff\xff\xff"  # field length -1
POSTGRES_EPOCH_US = 946_684_800 * 1_000_000  # 2000-01-01 UTC, the zero of PostgreSQL timestamps


def _as_binary(records: np.ndarray) -> pa.Array:
    """Each element of a numpy array as a binary value of its bytes."""
    raw = pa.py_buffer(records.tobytes())
    return pa.Array.from_buffers(pa.binary(records.itemsize), len(records), [None, raw]).cast(pa.binary())


def _fixed_width_fields(values: np.ndarray) -> pa.Array:
    """Length-prefixed fields of big-endian fixed-width values."""
    record = np.dtype([("length", ">i4"), ("value", values.dtype.newbyteorder(">"))])
    fields = np.empty(len(values), record)
    fields["length"], fields["value"] = values.dtype.itemsize, values
    return _as_binary(fields)


def _fields(column: pa.Array) -> pa.Array:
    """Every value of a column as one binary COPY field (length, then bytes; NULL as length -1)."""
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_binary(kind):
        payload = column.cast(pa.binary())
        lengths = pc.fill_null(pc.binary_length(payload), 0).to_numpy(zero_copy_only=False)
        fields = pc.binary_join_element_wise(_as_binary(lengths.astype(">i4")), payload, b"")
    elif pa.types.is_timestamp(kind):
        micros = column.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
        fields = _fixed_width_fields(pc.fill_null(micros, 0).to_numpy() - POSTGRES_EPOCH_US)
    elif pa.types.is_int64(kind) or pa.types.is_float64(kind):
        fields = _fixed_width_fields(pc.fill_null(column, 0).to_numpy())
    else:
        raise TypeError(f"no binary COPY encoding for {kind}")
    if column.null_count == 0:
        return fields
    return pc.if_else(pc.is_null(column), pa.scalar(NULL_FIELD, pa.binary()), fields)


def binary_copy_rows(table: pa.Table, batch_rows: int = 100_000) -> bytes:
    """The rows of ``table`` (columns in COPY order) as binary COPY data, without the signature that
    opens a COPY (``SIGNATURE``) and the trailer that ends it (psycopg sends that one)."""
    field_count = len(table.column_names).to_bytes(2, "big")
    parts = []
    for batch in table.to_batches(batch_rows):  # 32-bit offsets: batches far below 2 GB
        rows = pc.binary_join_element_wise(
            pa.array([field_count] * batch.num_rows, pa.binary()),
            *(_fields(column) for column in batch.columns),
            b"",
        )
        offsets = np.frombuffer(rows.buffers()[1], np.int32, len(rows) + 1, rows.offset * 4)
        parts.append(rows.buffers()[2][int(offsets[0]) : int(offsets[-1])].to_pybytes())
    return b"".join(parts)
