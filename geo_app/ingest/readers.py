"""Read the vector files people bring (GeoJSON, GeoPackage, zipped Shapefile, KML, CSV) into GeoDataFrames.

Every reader returns a GeoDataFrame in EPSG:4326 with 2-D geometries, whatever CRS the file was in, so the
importers (admin areas, assets, green areas) validate one shape of data. Problems a person can fix (wrong
format, no CRS, several layers, no coordinates) raise :class:`ReadError` with a message that says what to do.

What the reader learned about the file (format, layer, source CRS, whether the CRS was assumed, rows without
a usable geometry and why) is in ``frame.attrs["source"]`` as a :class:`SourceInfo`; use :func:`source_info`.

GDAL sees a file only after :mod:`geo_app.ingest.file_checks` found it to be the format its name claims,
as a plain local file, with only the drivers of the accepted formats loaded (see :func:`_lock_down_gdal`).
Uploads are held to :data:`UPLOAD_LIMITS` (features, unpacked size) before they are read.

Examples
--------
>>> frame = read_vector("kelurahan.gpkg", layer="batas_kelurahan")          # doctest: +SKIP
>>> frame = read_vector("cctv.csv", crs="EPSG:32750")                       # doctest: +SKIP
>>> frame = read_vector_bytes(upload.filename, upload.read())               # doctest: +SKIP
>>> source_info(frame).row_problems                                         # doctest: +SKIP
{3: "no coordinates: 'lon' and 'lat' are empty"}
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyogrio._ogr import _register_drivers
from pyproj import CRS
from pyproj.exceptions import CRSError

from geo_app.csv_cells import restore_formulas
from geo_app.ingest import file_checks, geometry_limits

WGS84 = CRS.from_epsg(4326)

FORMAT_NAMES = {
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".gpkg": "GeoPackage",
    ".zip": "zipped Shapefile",
    ".shp": "Shapefile",
    ".kml": "KML",
    ".kmz": "KMZ",
    ".csv": "CSV",
}
SUPPORTED = "GeoJSON (.geojson/.json), GeoPackage (.gpkg), zipped Shapefile (.zip), KML (.kml/.kmz) or CSV"
# The one GDAL driver that reads each format (a .zip or .kmz is unpacked first). LIBKML reads KML because
# the plain KML driver drops ExtendedData attributes; it follows no NetworkLink, style or schema URL.
GDAL_DRIVERS = {"GeoJSON": "GeoJSON", "GeoPackage": "GPKG", "Shapefile": "ESRI Shapefile", "KML": "LIBKML"}
# A /vsicurl/ name no URL has: CPL_VSIL_CURL_ALLOWED_FILENAME set to it refuses every network file system.
NO_NETWORK_FILENAME = "/vsicurl/network-access-is-off"

# CSV headers, compared lower-case with spaces, dots and hyphens as underscores.
LONGITUDE_HEADERS = ("lon", "lng", "long", "longitude", "bujur", "x_lon", "koordinat_x_lon")
LATITUDE_HEADERS = ("lat", "latitude", "lintang", "y_lat", "koordinat_y_lat")
X_HEADERS = ("x", "easting", "koordinat_x", "x_coord", "coord_x")
Y_HEADERS = ("y", "northing", "koordinat_y", "y_coord", "coord_y")
WKT_HEADERS = ("wkt", "geometry", "geom", "the_geom", "geometri")


def _lock_down_gdal() -> None:
    """Leave GDAL, for the whole process, only the drivers of GDAL_DRIVERS and no network file systems.

    pyogrio cannot name the driver that opens a file, and GDAL tries every driver it has: the VRT driver
    reads any path or URL written in a file, GDALG runs pipelines, WFS, HTTP and the like fetch. GDAL_SKIP
    (comma-separated: some names hold spaces) unloads every other driver when the drivers are registered
    again; KML stays to write the asset export, MEM because GDAL uses it inside. GDAL has no switch that
    turns its network file systems (/vsicurl/, /vsis3/, /vsigs/, /vsiaz/...) off, but they all refuse a
    name other than CPL_VSIL_CURL_ALLOWED_FILENAME. LIBKML's style fetching is off by default; kept so.
    """
    kept = {*GDAL_DRIVERS.values(), "KML", "MEM"}
    skipped = [name for name in pyogrio.list_drivers() if name not in kept]
    pyogrio.set_gdal_config_options(
        {
            "GDAL_SKIP": ",".join(skipped),
            "CPL_VSIL_CURL_ALLOWED_FILENAME": NO_NETWORK_FILENAME,
            "LIBKML_RESOLVE_STYLE": "NO",
            "LIBKML_EXTERNAL_STYLE": "NO",
        }
    )
    if skipped:
        _register_drivers()


_lock_down_gdal()


class ReadError(ValueError):
    """The file cannot be read as features; ``str()`` tells the person what to change."""


@dataclass(frozen=True)
class ReadLimits:
    """How much a file may hold before it is read at all (the work of reading it grows with both)."""

    max_features: int | None
    max_unzipped_bytes: int


UPLOAD_LIMITS = ReadLimits(max_features=50_000, max_unzipped_bytes=200 * 2**20)
"""Web uploads: a request answers in seconds; larger files go through the geo-app command line."""
FILE_LIMITS = ReadLimits(max_features=None, max_unzipped_bytes=4 * 2**30)
"""Files named on the command line: any number of features, a .zip unpacked up to 4 GB."""


@dataclass(frozen=True)
class SourceInfo:
    """Where a GeoDataFrame came from and what the reader had to decide on the way."""

    name: str
    format: str
    layer: str | None
    crs: str
    crs_assumed: bool = False
    row_problems: dict[int, str] = field(default_factory=dict)


def source_info(frame: gpd.GeoDataFrame) -> SourceInfo:
    return frame.attrs["source"]


def parse_crs(value: str | int | CRS) -> CRS:
    """A CRS from what people type: ``EPSG:32750``, ``32750``, a WKT or PROJ string."""
    if isinstance(value, CRS):
        return value
    text = str(value).strip()
    if text.isdigit():
        text = f"EPSG:{text}"
    try:
        return CRS.from_user_input(text)
    except CRSError:
        raise ReadError(
            f"unknown coordinate reference system {value!r}; use e.g. EPSG:32750 (UTM zone 50S)"
        ) from None


def crs_label(crs: CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.name


def file_format(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    if suffix not in FORMAT_NAMES:
        shown = suffix or "without an extension"
        raise ReadError(f"{Path(filename).name}: unsupported file type {shown}; use {SUPPORTED}")
    return FORMAT_NAMES[suffix]


def list_layers(path: str | Path) -> list[str]:
    """The layer names a file offers (one for GeoJSON and CSV; GeoPackage and KML may hold several)."""
    path = Path(path)
    fmt = file_format(path.name)
    if fmt == "CSV":
        return [path.stem]
    with _opened(path, path.name, fmt, FILE_LIMITS) as dataset:
        return [str(name) for name, _ in _layers(dataset, path.name)]


def read_vector(
    path: str | Path,
    *,
    layer: str | None = None,
    crs: str | int | CRS | None = None,
    limits: ReadLimits = FILE_LIMITS,
):
    """Read a vector file into a GeoDataFrame in EPSG:4326.

    ``layer`` picks a layer of a GeoPackage, KML or multi-Shapefile zip (needed only when there are several).
    ``crs`` is the CRS of the coordinates when the file does not declare one (CSV, a Shapefile without .prj);
    without it, coordinates that fit longitude/latitude ranges are taken as EPSG:4326 and others are refused.
    """
    path = Path(path)
    fmt = file_format(path.name)
    if not path.is_file():
        raise ReadError(f"{path}: no such file")
    return _read(path, path.name, fmt, layer, crs, limits)


def read_vector_bytes(
    filename: str,
    data: bytes,
    *,
    layer: str | None = None,
    crs: str | int | CRS | None = None,
    limits: ReadLimits = UPLOAD_LIMITS,
):
    """:func:`read_vector` for an uploaded file: its name (for the format) and its content.

    The content is written to a temporary file of a fixed name; messages name the file as uploaded.
    """
    name = Path(filename or "").name
    fmt = file_format(name)
    if fmt == "Shapefile":
        raise ReadError(f"{name}: upload a Shapefile as one .zip holding its .shp, .shx, .dbf and .prj files")
    if not data:
        raise ReadError(f"{name}: the file is empty")
    with tempfile.TemporaryDirectory(prefix="geo_app_upload_") as folder:
        path = Path(folder) / f"upload{Path(name).suffix.lower()}"
        path.write_bytes(data)
        return _read(path, name, fmt, layer, crs, limits)


def _read(
    path: Path, name: str, fmt: str, layer: str | None, crs: str | int | CRS | None, limits: ReadLimits
) -> gpd.GeoDataFrame:
    given_crs = parse_crs(crs) if crs is not None else None
    if fmt == "CSV":
        frame = _read_csv(path.read_bytes(), name, given_crs)
        _check_feature_count(len(frame), name, limits)
        return frame
    with _opened(path, name, fmt, limits) as dataset:
        return _read_ogr(dataset, name, fmt, layer, given_crs, limits)


# --- GDAL formats --------------------------------------------------------------------------------------


@contextmanager
def _opened(path: Path, name: str, fmt: str, limits: ReadLimits) -> Iterator[_Dataset]:
    """The checked plain local file (or folder of Shapefiles) that GDAL may open for ``path``.

    A .zip or .kmz is unpacked into a temporary folder, removed when the block is left.
    """
    with tempfile.TemporaryDirectory(prefix="geo_app_read_") as folder:
        try:
            local, content_format = file_checks.local_dataset(
                path.resolve(), fmt, Path(folder), limits.max_unzipped_bytes
            )
        except file_checks.ContentError as exc:
            raise ReadError(f"{name}: {exc}") from None
        yield _Dataset(str(local), GDAL_DRIVERS[content_format], name, (str(path.resolve()), folder))


@dataclass(frozen=True)
class _Dataset:
    """A path GDAL opens, the driver that must open it, and what messages show instead of server paths."""

    path: str
    driver: str
    name: str
    server_paths: tuple[str, ...]

    def message(self, exc: Exception) -> str:
        """GDAL's message without its advice, the file named as the person named it."""
        text = str(exc).split("; It might help")[0].strip()
        for server_path in (self.path, *self.server_paths):
            text = text.replace(server_path, self.name)
        return text


def _layers(dataset: _Dataset, name: str) -> list[tuple[str, str | None]]:
    try:
        return [(str(layer), geometry) for layer, geometry in pyogrio.list_layers(dataset.path)]
    except (pyogrio.errors.DataSourceError, RuntimeError) as exc:
        raise ReadError(f"{name}: cannot open the file ({dataset.message(exc)})") from None


def _choose_layer(layers: list[tuple[str, str | None]], requested: str | None, name: str) -> str:
    names = [layer for layer, _ in layers]
    if requested is not None:
        for layer in names:
            if layer.lower() == requested.lower():
                return layer
        raise ReadError(f"{name}: no layer {requested!r}; its layers are: {', '.join(names)}")
    spatial = [layer for layer, geometry in layers if geometry is not None]
    if len(names) == 1:
        return names[0]
    if len(spatial) == 1:
        return spatial[0]
    raise ReadError(f"{name} holds several layers; choose one with --layer (layers: {', '.join(names)})")


def _check_feature_count(count: int, name: str, limits: ReadLimits) -> None:
    if limits.max_features is not None and count > limits.max_features:
        raise ReadError(
            f"{name} holds {count:,} features; an upload may hold at most {limits.max_features:,}. "
            "Split the file, or import it with the geo-app command line (import-assets, import-green), "
            "which has no such limit"
        )


def _read_ogr(
    dataset: _Dataset, name: str, fmt: str, layer: str | None, given_crs: CRS | None, limits: ReadLimits
) -> gpd.GeoDataFrame:
    chosen = _choose_layer(_layers(dataset, name), layer, name)
    try:
        info = pyogrio.read_info(dataset.path, layer=chosen, force_feature_count=True)
        if info["driver"] != dataset.driver:
            raise ReadError(f"{name}: cannot read it as {fmt} (GDAL took it for {info['driver']})")
        _check_feature_count(int(info["features"]), name, limits)
        frame = pyogrio.read_dataframe(dataset.path, layer=chosen)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, RuntimeError) as exc:
        raise ReadError(f"{name}: cannot read it as {fmt} ({dataset.message(exc)})") from None
    if not isinstance(frame, gpd.GeoDataFrame):
        raise ReadError(f"{name}: layer {chosen!r} has no geometry (columns: {_columns(frame)})")
    frame = frame.reset_index(drop=True)
    problems = {
        int(i): "no geometry" for i in np.flatnonzero(frame.geometry.isna() | frame.geometry.is_empty)
    }
    source_crs, assumed = _source_crs(frame, given_crs, name)
    frame = frame.set_crs(source_crs, allow_override=True)
    return _finish(frame, SourceInfo(name, fmt, chosen, crs_label(source_crs), assumed, problems))


def _source_crs(frame: gpd.GeoDataFrame, given: CRS | None, name: str) -> tuple[CRS, bool]:
    declared = frame.crs
    if declared is not None:
        if given is not None and not CRS(declared).equals(given, ignore_axis_order=True):
            raise ReadError(
                f"{name} declares {crs_label(CRS(declared))} but {crs_label(given)} was given; "
                "leave out the CRS option (the file's own CRS is used) or correct the file"
            )
        return CRS(declared), False
    if given is not None:
        return given, False
    if _fits_lon_lat(frame.geometry):
        return WGS84, True
    xmin, ymin, xmax, ymax = frame.geometry.total_bounds
    raise ReadError(
        f"{name} does not say which coordinate reference system it uses, and its coordinates "
        f"(x {xmin:.0f}..{xmax:.0f}, y {ymin:.0f}..{ymax:.0f}) are not longitude/latitude; "
        "name it with --crs (e.g. --crs EPSG:32750 for UTM zone 50S)"
    )


def _fits_lon_lat(geometry: gpd.GeoSeries) -> bool:
    present = geometry[geometry.notna() & ~geometry.is_empty]
    if present.empty:
        return True
    xmin, ymin, xmax, ymax = present.total_bounds
    return xmin >= -180 and xmax <= 180 and ymin >= -90 and ymax <= 90


def _columns(frame: pd.DataFrame) -> str:
    return ", ".join(str(column) for column in frame.columns) or "none"


def _finish(frame: gpd.GeoDataFrame, info: SourceInfo) -> gpd.GeoDataFrame:
    """EPSG:4326, 2-D, a plain 0..n-1 index (row numbers in reports), the source info attached."""
    if not CRS(frame.crs).equals(WGS84):
        frame = frame.to_crs(WGS84)
    frame = frame.set_geometry(shapely.force_2d(frame.geometry.values)).set_crs(WGS84, allow_override=True)
    over_limits = geometry_limits.rows_over_limits(frame.geometry.values)
    if over_limits:  # such rows are reported like rows without geometry, and never parsed further
        info.row_problems.update(over_limits)
        frame.loc[list(over_limits), frame.geometry.name] = None
    frame.attrs["source"] = info
    return frame


# --- CSV --------------------------------------------------------------------------------------------------

NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
COMMA_DECIMAL = re.compile(r"^[+-]?\d+,\d+$")
DOTTED_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$")


def parse_number(text: str) -> float | None:
    """A coordinate as written in Indonesian spreadsheets too: ``106.04``, ``106,043293``, ``9.334.567,8``."""
    value = str(text).strip().replace(" ", "")
    if NUMBER.match(value):
        return float(value)
    if COMMA_DECIMAL.match(value):
        return float(value.replace(",", "."))
    if DOTTED_THOUSANDS.match(value):
        return float(value.replace(".", "").replace(",", "."))
    return None


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) as most tools write it, else the Windows code page Excel uses."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _header_key(header: str) -> str:
    return re.sub(r"[\s.\-/()]+", "_", str(header).strip().lower()).strip("_")


def _find(headers: dict[str, str], candidates: tuple[str, ...]) -> str | None:
    return next((headers[key] for key in candidates if key in headers), None)


def _read_csv(data: bytes, name: str, given_crs: CRS | None) -> gpd.GeoDataFrame:
    text = _decode(data)
    if "\x00" in text:
        raise ReadError(
            f"{name}: the file holds NUL characters, so it is not a text CSV; save it as CSV again"
        )
    try:
        delimiter = csv.Sniffer().sniff(text[:20000], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    try:
        table = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ReadError(f"{name}: cannot read it as CSV ({exc})") from None
    table = restore_formulas(table)
    headers = {_header_key(column): column for column in table.columns}
    lon, lat = _find(headers, LONGITUDE_HEADERS), _find(headers, LATITUDE_HEADERS)
    x, y = _find(headers, X_HEADERS), _find(headers, Y_HEADERS)
    wkt = _find(headers, WKT_HEADERS)
    if lon and lat:
        geometry, problems = _points(table, lon, lat)
        geographic_names = True
    elif x and y:
        geometry, problems = _points(table, x, y)
        geographic_names = False
    elif wkt:
        geometry, problems = _wkt(table, wkt)
        geographic_names = False
    else:
        raise ReadError(
            f"{name}: no coordinate columns; name them lon and lat (or longitude/latitude, bujur/lintang), "
            f"x and y with --crs, or give a WKT column (columns found: {_columns(table)})"
        )
    frame = gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geometry))
    source_crs, assumed = _csv_crs(frame.geometry, given_crs, geographic_names, name)
    frame = frame.set_crs(source_crs)
    return _finish(frame, SourceInfo(name, "CSV", None, crs_label(source_crs), assumed, problems))


def _points(table: pd.DataFrame, x_column: str, y_column: str) -> tuple[list, dict[int, str]]:
    geometry, problems = [], {}
    for row, (x_text, y_text) in enumerate(zip(table[x_column], table[y_column], strict=True)):
        x, y = parse_number(x_text), parse_number(y_text)
        if x is None or y is None:
            geometry.append(None)
            if not str(x_text).strip() and not str(y_text).strip():
                problems[row] = f"no coordinates: {x_column!r} and {y_column!r} are empty"
            else:
                problems[row] = f"coordinates are not numbers: {x_column}={x_text!r}, {y_column}={y_text!r}"
        else:
            geometry.append(shapely.Point(x, y))
    return geometry, problems


def _wkt(table: pd.DataFrame, column: str) -> tuple[list, dict[int, str]]:
    geometry, problems = [], {}
    for row, text in enumerate(table[column]):
        shape = shapely.from_wkt(text, on_invalid="ignore") if str(text).strip() else None
        geometry.append(shape)
        if shape is None:
            problems[row] = f"{column} is not a WKT geometry: {str(text)[:40]!r}"
    return geometry, problems


def _csv_crs(
    geometry: gpd.GeoSeries, given: CRS | None, geographic_names: bool, name: str
) -> tuple[CRS, bool]:
    """lon/lat headers declare degrees (single swapped rows are the importer's to report); x/y need proof."""
    if given is not None:
        return given, False
    present = geometry[geometry.notna()]
    if geographic_names:
        inside = present.x.between(-180, 180) & present.y.between(-90, 90)
        if present.empty or inside.any():
            return WGS84, True
        raise ReadError(
            f"{name}: the lon/lat columns hold no longitude/latitude values; if they are projected "
            "coordinates, name the CRS with --crs (e.g. --crs EPSG:32750 for UTM zone 50S)"
        )
    if _fits_lon_lat(present):
        return WGS84, True
    raise ReadError(
        f"{name}: the coordinates are not longitude/latitude and the CSV cannot say its CRS; "
        "name it with --crs (e.g. --crs EPSG:32750 for UTM zone 50S)"
    )
