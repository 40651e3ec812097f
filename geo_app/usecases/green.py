"""RTH use case: green area per kelurahan, kecamatan and city against the 30 / 20 / 10 % targets (the
figures of /api/analysis/green, the RTH map and the monthly RTH report)."""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import psycopg

from geo_app.analysis import green as green_analysis
from geo_app.city import CityContext


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts (NaN as null)."""
    return json.loads(frame.to_json(orient="records", double_precision=6))


def rth_statistics(conn: psycopg.Connection, city: CityContext, at: datetime | None) -> pd.DataFrame:
    """One row per kelurahan, kecamatan and the city (``level``) at ``at`` (default: now)."""
    return green_analysis.load_rth_statistics(conn, city.code, city.name, at)


def targets() -> dict:
    targets_ = green_analysis.Targets()
    return {"total": targets_.total, "public": targets_.public, "private": targets_.private}
