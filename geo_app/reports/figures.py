"""Images for the printed reports, drawn on the server with matplotlib (no browser, no tile server):
kelurahan polygons coloured by a figure, and ranked bar charts. Each returns a PNG as a data URI."""

from __future__ import annotations

import base64
import io

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")  # no display on a server
import matplotlib.pyplot as plt  # noqa: E402

DPI = 120


def _data_uri(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def kelurahan_map(
    collection: dict, values: dict[str, float], metric_srid: int, legend: str, cmap: str
) -> str:
    """Kelurahan (a GeoJSON FeatureCollection with ``id`` = code) coloured by ``values``; grey = no value."""
    frame = gpd.GeoDataFrame.from_features(collection["features"], crs=4326).to_crs(metric_srid)
    frame["value"] = [values.get(feature["id"]) for feature in collection["features"]]
    figure, axes = plt.subplots(figsize=(6.5, 5.2))
    frame.plot(ax=axes, color="#dddddd", edgecolor="#555555", linewidth=0.4)  # kelurahan without a value
    valued = frame[frame["value"].notna()]
    if len(valued):
        valued.plot(
            column="value",
            cmap=cmap,
            ax=axes,
            edgecolor="#555555",
            linewidth=0.4,
            legend=True,
            legend_kwds={"label": legend, "shrink": 0.7},
        )
    axes.set_axis_off()
    return _data_uri(figure)


def bar_chart(labels: list[str], values: list[float], axis_label: str) -> str:
    """Horizontal bars in the given order, top to bottom."""
    figure, axes = plt.subplots(figsize=(6.5, 0.3 * len(labels) + 0.8))
    axes.barh(labels[::-1], values[::-1], color="#0b5e7a")
    axes.set_xlabel(axis_label)
    axes.spines[["top", "right"]].set_visible(False)
    return _data_uri(figure)
