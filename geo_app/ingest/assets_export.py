"""Asset exports in the formats the importer reads: GeoJSON, CSV, GeoPackage, zipped Shapefile, KML.

Files written here read back through ``geo-app import-assets`` (the Shapefile's short column names are
aliases the importer knows; derived columns such as kelurahan are ignored on the way back in).
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from geo_app.csv_cells import to_csv
from geo_app.db import connect
from geo_app.store import assets as asset_store

EXPORT_FORMATS = {
    "geojson": ("application/geo+json", "geojson"),
    "csv": ("text/csv", "csv"),
    "gpkg": ("application/geopackage+sqlite3", "gpkg"),
    "shp": ("application/zip", "zip"),
    "kml": ("application/vnd.google-earth.kml+xml", "kml"),
}
# Shapefile (dBase) column names are at most 10 characters.
SHAPEFILE_COLUMNS = {"roadmap_phase": "phase", "coverage_radius_m": "radius_m", "kelurahan_code": "kel_code"}


class ExportError(ValueError):
    """The selection cannot be written in the requested format."""


def asset_frame(rows: Sequence[dict]) -> gpd.GeoDataFrame:
    """Rows from ``store.assets.export_rows`` as a GeoDataFrame (free attributes as one JSON column)."""
    records = [
        {
            **{key: value for key, value in row.items() if key not in {"wkb", "properties"}},
            "attributes": json.dumps(row["properties"], ensure_ascii=False) if row["properties"] else None,
        }
        for row in rows
    ]
    geoms = [shapely.from_wkb(row["wkb"]) for row in rows]
    columns = [
        "id",
        "asset_type",
        "name",
        "status",
        "owner_opd",
        "dimension",
        "roadmap_phase",
        "kelurahan_code",
        "kelurahan",
        "coverage_radius_m",
        "attributes",
        "source",
    ]
    return gpd.GeoDataFrame(pd.DataFrame(records, columns=columns), geometry=geoms, crs=4326)


def export_assets(rows: Sequence[dict], fmt: str) -> tuple[bytes, str, str]:
    """The file's bytes, its media type and file extension."""
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
    media_type, extension = EXPORT_FORMATS[fmt]
    frame = asset_frame(rows)
    if fmt == "csv":
        return _csv(frame), media_type, extension
    if fmt == "geojson":
        return frame.to_json(drop_id=True, ensure_ascii=False).encode(), media_type, extension
    if fmt == "shp" and frame.geometry.geom_type.nunique() > 1:
        raise ExportError(
            "a Shapefile holds one geometry type; filter by asset type (type=...) or choose gpkg/geojson"
        )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"assets.{'shp' if fmt == 'shp' else extension}"
        if fmt == "shp":
            frame.rename(columns=SHAPEFILE_COLUMNS).to_file(path, engine="pyogrio", encoding="UTF-8")
            return _zip_folder(Path(folder)), media_type, extension
        if fmt == "kml":
            frame.to_file(path, driver="KML", engine="pyogrio", dataset_options={"NameField": "name"})
        else:
            frame.to_file(path, driver="GPKG", engine="pyogrio", layer="assets")
        return path.read_bytes(), media_type, extension


def _csv(frame: gpd.GeoDataFrame) -> bytes:
    """Points as lon/lat columns; other geometries as WKT (the importer reads the point rows back)."""
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    if (frame.geometry.geom_type == "Point").all():
        table["lon"], table["lat"] = frame.geometry.x.round(7), frame.geometry.y.round(7)
    else:
        table["wkt"] = frame.geometry.to_wkt()
    return to_csv(table).encode()


def _zip_folder(folder: Path) -> bytes:
    archive = folder / "assets.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for part in sorted(folder.glob("assets.*")):
            if part != archive:
                bundle.write(part, part.name)
    return archive.read_bytes()


def export_file(
    database_url: str, city_code: str, out: Path, asset_types: Sequence[str], fmt: str | None = None
) -> int:
    """Write the city's assets (optionally of some types) to ``out``; the number written."""
    fmt = fmt or {".zip": "shp", ".json": "geojson"}.get(out.suffix.lower(), out.suffix.lower().lstrip("."))
    with connect(database_url) as conn:
        rows = asset_store.export_rows(conn, city_code, asset_store.AssetFilter(asset_types=asset_types))
    content, _, _ = export_assets(rows, fmt)
    out.write_bytes(content)
    return len(rows)
