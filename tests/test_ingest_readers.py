"""The vector readers: every format, CRS handling checked against pyproj by hand, and the error messages."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from pyproj import Transformer
from shapely import Point, Polygon

from geo_app.ingest.readers import (
    ReadError,
    list_layers,
    parse_number,
    read_vector,
    read_vector_bytes,
    source_info,
)

# Two small kelurahan-like squares in Cilegon, lon/lat.
SQUARES = [
    Polygon([(106.00, -6.00), (106.01, -6.00), (106.01, -6.01), (106.00, -6.01)]),
    Polygon([(106.02, -6.00), (106.03, -6.00), (106.03, -6.01), (106.02, -6.01)]),
]
UTM_TO_LONLAT = Transformer.from_crs(32748, 4326, always_xy=True)


@pytest.fixture
def squares() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"kode": ["99.01.01.1001", "99.01.01.1002"], "nama": ["Alpha", "Beta"]}, geometry=SQUARES, crs=4326
    )


def utm_squares() -> gpd.GeoDataFrame:
    """Squares given in UTM 48S metres, as a surveyor's GeoPackage would have them."""
    polygons = [
        shapely.box(615_000, 9_336_000, 616_000, 9_337_000),
        shapely.box(617_000, 9_336_000, 618_000, 9_337_500),
    ]
    return gpd.GeoDataFrame({"nama": ["Alpha", "Beta"]}, geometry=polygons, crs=32748)


def by_hand(polygon: Polygon) -> Polygon:
    """Reproject a UTM polygon vertex by vertex with pyproj, independently of geopandas."""
    xs, ys = polygon.exterior.coords.xy
    lons, lats = UTM_TO_LONLAT.transform(list(xs), list(ys))
    return Polygon(zip(lons, lats, strict=True))


def zip_folder(folder: Path, archive: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(archive, "w") as out:
        for file in sorted(folder.iterdir()):
            out.write(file, prefix + file.name)
    return archive


def assert_same_shapes(frame: gpd.GeoDataFrame, expected: list[Polygon], tolerance: float = 1e-9) -> None:
    assert len(frame) == len(expected)
    for got, want in zip(frame.geometry, expected, strict=True):
        assert shapely.equals_exact(shapely.normalize(got), shapely.normalize(want), tolerance=tolerance), (
            got,
            want,
        )


def test_geojson(tmp_path, squares):
    squares.to_file(tmp_path / "kel.geojson", driver="GeoJSON")
    frame = read_vector(tmp_path / "kel.geojson")
    assert frame.crs.to_epsg() == 4326
    assert list(frame["nama"]) == ["Alpha", "Beta"]
    assert_same_shapes(frame, SQUARES)
    info = source_info(frame)
    assert (info.format, info.crs, info.crs_assumed, info.row_problems) == ("GeoJSON", "EPSG:4326", False, {})


def test_geopackage_in_utm_is_reprojected_like_pyproj_by_hand(tmp_path):
    source = utm_squares()
    source.to_file(tmp_path / "kel.gpkg", layer="batas_kelurahan")
    frame = read_vector(tmp_path / "kel.gpkg")
    assert frame.crs.to_epsg() == 4326
    assert source_info(frame).crs == "EPSG:32748"
    assert_same_shapes(frame, [by_hand(p) for p in source.geometry], tolerance=1e-9)
    lon, lat = frame.geometry.iloc[0].exterior.coords[0]
    assert 106.0 < lon < 106.1 and -6.1 < lat < -5.9


def test_geopackage_layers_chosen_by_name_or_listed_when_ambiguous(tmp_path, squares):
    path = tmp_path / "two.gpkg"
    squares.to_file(path, layer="kelurahan")
    utm_squares().to_file(path, layer="kecamatan")
    assert sorted(list_layers(path)) == ["kecamatan", "kelurahan"]
    with pytest.raises(ReadError, match=r"several layers; choose one with --layer \(layers: .*kelurahan"):
        read_vector(path)
    assert source_info(read_vector(path, layer="KELURAHAN")).layer == "kelurahan"
    with pytest.raises(ReadError, match="no layer 'desa'; its layers are: "):
        read_vector(path, layer="desa")


def test_zipped_shapefile_at_the_root_or_in_a_folder(tmp_path, squares):
    folder = tmp_path / "shp"
    folder.mkdir()
    squares.to_crs(32748).to_file(folder / "batas.shp")
    for name, prefix in (("root.zip", ""), ("nested.zip", "data/batas/")):
        frame = read_vector(zip_folder(folder, tmp_path / name, prefix))
        assert source_info(frame).format == "zipped Shapefile"
        assert source_info(frame).crs == "EPSG:32748"
        assert list(frame["nama"]) == ["Alpha", "Beta"]
        assert_same_shapes(frame, SQUARES, tolerance=1e-7)


def test_zip_with_two_shapefiles_needs_a_layer(tmp_path, squares):
    folder = tmp_path / "shp"
    folder.mkdir()
    squares.to_file(folder / "kelurahan.shp")
    squares.iloc[:1].to_file(folder / "kecamatan.shp")
    archive = zip_folder(folder, tmp_path / "both.zip")
    with pytest.raises(ReadError, match="choose one with --layer"):
        read_vector(archive)
    assert len(read_vector(archive, layer="kecamatan")) == 1


@pytest.mark.parametrize("suffix", [".kml", ".kmz"])
def test_kml_and_kmz_are_read_in_two_dimensions(tmp_path, squares, suffix):
    squares.to_file(tmp_path / f"kel{suffix}", driver="LIBKML")
    frame = read_vector(tmp_path / f"kel{suffix}")
    assert source_info(frame).format == suffix[1:].upper()
    assert list(frame["kode"]) == ["99.01.01.1001", "99.01.01.1002"]
    assert not frame.geometry.has_z.any()
    assert_same_shapes(frame, SQUARES, tolerance=1e-7)


def test_csv_with_comma_decimals_and_semicolons(tmp_path):
    path = tmp_path / "cctv.csv"
    path.write_text(
        "nama;Longitude;Latitude\nSimpang Tiga;106,043293;-6,017712\nAlun-alun;106.0512;-6.0151\n"
        "Tanpa titik;;\nRusak;abc;-6,0\n",
        encoding="utf-8",
    )
    frame = read_vector(path)
    assert frame.geometry.iloc[0].equals(Point(106.043293, -6.017712))
    assert frame.geometry.iloc[1].equals(Point(106.0512, -6.0151))
    assert frame.geometry.iloc[2] is None and frame.geometry.iloc[3] is None
    info = source_info(frame)
    assert info.crs_assumed and info.crs == "EPSG:4326"
    assert "empty" in info.row_problems[2]
    assert "not numbers" in info.row_problems[3] and "'abc'" in info.row_problems[3]


def test_csv_quoted_comma_decimals_with_comma_delimiter(tmp_path):
    path = tmp_path / "wifi.csv"
    path.write_text('name,lat,lon\n"Taman Kota","-6,0123","106,0456"\n', encoding="utf-8")
    assert read_vector(path).geometry.iloc[0].equals(Point(106.0456, -6.0123))


def test_csv_xy_in_utm_needs_the_crs_and_is_reprojected(tmp_path):
    path = tmp_path / "posts.csv"
    path.write_text('name,x,y\nPos A,"600.123,5",9330000\n', encoding="utf-8")
    with pytest.raises(ReadError, match="--crs"):
        read_vector(path)
    frame = read_vector(path, crs="EPSG:32748")
    lon, lat = UTM_TO_LONLAT.transform(600_123.5, 9_330_000)
    assert frame.geometry.iloc[0].x == pytest.approx(lon, abs=1e-9)
    assert frame.geometry.iloc[0].y == pytest.approx(lat, abs=1e-9)
    assert read_vector(path, crs="32748").geometry.iloc[0].equals(frame.geometry.iloc[0])


def test_csv_lonlat_rows_with_a_swap_are_left_to_the_importer(tmp_path):
    path = tmp_path / "swap.csv"
    path.write_text("lon,lat\n106.05,-6.01\n-6.02,106.04\n", encoding="utf-8")
    frame = read_vector(path)
    assert frame.geometry.iloc[1].equals(Point(-6.02, 106.04))


def test_csv_without_coordinate_columns_names_what_it_found(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("nama,alamat\nA,Jl. Raya\n", encoding="utf-8")
    with pytest.raises(ReadError, match=r"no coordinate columns.*columns found: nama, alamat"):
        read_vector(path)


def test_shapefile_without_prj(tmp_path, squares):
    folder = tmp_path / "shp"
    folder.mkdir()
    utm_squares().to_file(folder / "utm.shp")
    squares.to_file(folder / "lonlat.shp")
    for name in ("utm.prj", "lonlat.prj"):
        (folder / name).unlink()
    with pytest.raises(ReadError, match=r"does not say which coordinate reference system.*--crs"):
        read_vector(folder / "utm.shp")
    assert_same_shapes(
        read_vector(folder / "utm.shp", crs="EPSG:32748"), [by_hand(p) for p in utm_squares().geometry]
    )
    frame = read_vector(folder / "lonlat.shp")
    assert source_info(frame).crs_assumed
    assert_same_shapes(frame, SQUARES)


def test_a_crs_that_contradicts_the_file_is_refused(tmp_path):
    utm_squares().to_file(tmp_path / "kel.gpkg")
    with pytest.raises(ReadError, match="declares EPSG:32748 but EPSG:4326 was given"):
        read_vector(tmp_path / "kel.gpkg", crs="EPSG:4326")
    with pytest.raises(ReadError, match="unknown coordinate reference system"):
        read_vector(tmp_path / "kel.gpkg", crs="EPSG:not-a-code")


def test_unsupported_unreadable_and_missing_files(tmp_path):
    (tmp_path / "data.xlsx").write_bytes(b"PK")
    with pytest.raises(ReadError, match=r"unsupported file type \.xlsx; use GeoJSON"):
        read_vector(tmp_path / "data.xlsx")
    (tmp_path / "broken.geojson").write_text("{not json", encoding="utf-8")
    with pytest.raises(ReadError, match="broken.geojson: cannot open the file"):
        read_vector(tmp_path / "broken.geojson")
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    with pytest.raises(ReadError, match="not a readable .zip"):
        read_vector(tmp_path / "broken.zip")
    with pytest.raises(ReadError, match="no such file"):
        read_vector(tmp_path / "absent.gpkg")


def test_geopackage_table_without_geometry(tmp_path):
    gpd.pd.DataFrame({"nama": ["A"]}).pipe(lambda df: gpd.GeoDataFrame(df)).to_file(
        tmp_path / "t.gpkg", layer="t"
    )
    with pytest.raises(ReadError, match="has no geometry"):
        read_vector(tmp_path / "t.gpkg")


def test_uploaded_bytes(tmp_path, squares):
    utm_squares().to_file(tmp_path / "kel.gpkg")
    frame = read_vector_bytes("survey.gpkg", (tmp_path / "kel.gpkg").read_bytes())
    assert source_info(frame).name == "survey.gpkg"
    assert_same_shapes(frame, [by_hand(p) for p in utm_squares().geometry])
    csv = read_vector_bytes("titik.csv", b"lon;lat\n106,1;-6,2\n")
    assert csv.geometry.iloc[0].equals(Point(106.1, -6.2))
    folder = tmp_path / "shp"
    folder.mkdir()
    squares.to_file(folder / "kel.shp")
    assert len(read_vector_bytes("kel.zip", zip_folder(folder, tmp_path / "kel.zip").read_bytes())) == 2
    with pytest.raises(ReadError, match=r"upload a Shapefile as one \.zip"):
        read_vector_bytes("kel.shp", (folder / "kel.shp").read_bytes())
    with pytest.raises(ReadError, match="the file is empty"):
        read_vector_bytes("kel.geojson", b"")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("106.043293", 106.043293),
        ("106,043293", 106.043293),
        ("-6,5", -6.5),
        (" 9.334.567,8 ", 9334567.8),
        ("12", 12.0),
        ("", None),
        ("1,2,3", None),
        ("abc", None),
    ],
)
def test_parse_number(text, value):
    assert parse_number(text) == value
