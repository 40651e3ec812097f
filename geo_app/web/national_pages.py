"""/nasional: the national dashboard of the latest run in NATIONAL_OUTPUT_DIR (admins)."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
from flask import Blueprint, Response

from geo_app.maps.national import FIGURES, build_national_map, shown
from geo_app.national.run import latest_run
from geo_app.web import deps
from geo_app.web.errors import Problem
from geo_app.web.params import choice, reject_unknown

blueprint = Blueprint("national_pages", __name__)

FIGURE_COLUMNS = ["code", "name", "population", "timezone", "metric_srid"]


def _latest_cities() -> tuple[str, gpd.GeoDataFrame]:
    out_dir = deps.settings().national_output_dir
    run_dir = latest_run(out_dir)
    if run_dir is None:
        raise Problem(
            404,
            "No national run",
            f"No national run in {out_dir}: run `geo-app national COLLECTION` (NATIONAL_OUTPUT_DIR).",
        )
    return run_dir.name, gpd.read_parquet(run_dir / "cities.parquet").sort_values("code", ignore_index=True)


def _figure() -> str:
    return choice("figure", tuple(FIGURES), default="emergencies_per_1000")


@blueprint.get("/nasional")
def national_page():
    """The league table and a map of the cities coloured by one league figure."""
    reject_unknown({"figure"})
    figure = _figure()
    run_name, cities = _latest_cities()
    west, south, east, north = cities.total_bounds
    league = pd.DataFrame(cities.drop(columns="geometry"))
    html = build_national_map(deps.settings(), league, figure, run_name, ((south, west), (north, east)))
    return Response(html, mimetype="text/html")


@blueprint.get("/nasional/cities.geojson")
def national_cities():
    """The run's city outlines with their league figures and ``value``, the figure the map colours by."""
    reject_unknown({"figure"})
    figure = _figure()
    _, cities = _latest_cities()
    values = shown(cities, figure)
    frame = cities[[*FIGURE_COLUMNS, "geometry"]].assign(value=values.where(values.notna(), None))
    body = json.loads(frame.to_json(na="null", drop_id=True))
    return body, 200, {"Content-Type": "application/geo+json"}
