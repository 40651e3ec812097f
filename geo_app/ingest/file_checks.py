"""What a vector file must be before GDAL opens it: the format its name claims, and nothing that reaches out.

GDAL picks a driver by a file's content, not its name, and some formats follow what the file says: a VRT
reads any path or URL written in it, a GeoPackage can hold SpatiaLite virtual tables that read files of
the server, a GeoJSON ``"crs"`` of type ``link`` is fetched over HTTP. So the readers open a file only
after :func:`local_dataset` has checked it here: its first bytes must be those of the claimed format, a
.zip is unpacked within size limits into plain files that are checked the same way (a .kmz is checked
member by member), and a GeoPackage may hold nothing but plain tables and its spatial index.

Problems raise :class:`ContentError`, whose message never names a server path (the reader prefixes the
name the person gave the file).
"""

from __future__ import annotations

import json
import re
import sqlite3
import zipfile
from contextlib import closing
from pathlib import Path

SHAPEFILE_MAGIC = b"\x00\x00\x27\x0a"
SQLITE_MAGIC = b"SQLite format 3\x00"
ZIP_MAGIC = b"PK\x03\x04"
UTF8_BOM = b"\xef\xbb\xbf"
# The root element of a KML document, after an XML declaration, comments or processing instructions (a
# DOCTYPE, which could declare entities, is not let through).
KML_ROOT = re.compile(rb"(?:\s|<\?.*?\?>|<!--.*?-->)*<(?:[\w.-]+:)?kml[\s/>]", re.DOTALL)
KML_HEAD_BYTES = 64 * 1024
NETWORK_LINK = re.compile(
    rb"<(?:[\w.-]+:)?NetworkLink\b.*?<(?:[\w.-]+:)?href>\s*(.*?)\s*</(?:[\w.-]+:)?href>", re.DOTALL
)

# Vector files a .zip may carry, by the format GDAL reads them as.
ZIP_MEMBER_FORMATS = {
    ".shp": "Shapefile",
    ".gpkg": "GeoPackage",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".kml": "KML",
}
# The files of a Shapefile that are read besides the .shp.
SHAPEFILE_PARTS = (".shx", ".dbf", ".prj", ".cpg")
MAX_ZIP_RATIO = 200
"""Unpacked bytes per packed byte; Shapefiles pack 3 to 30 times, zip bombs thousands of times."""


class ContentError(ValueError):
    """The file is not what its name says, or holds something the readers do not open."""


def local_dataset(path: Path, fmt: str, folder: Path, max_unzipped_bytes: int) -> tuple[Path, str]:
    """What GDAL may open for ``path`` (whose name claims ``fmt``), and the format it is read as.

    A .zip is unpacked into ``folder`` (an empty folder of the caller's) and the path returned is the
    vector file inside it, or a folder of Shapefiles; a .kmz is checked member by member and read whole.
    """
    if fmt == "zipped Shapefile":
        return _unpack(path, folder, max_unzipped_bytes)
    if fmt == "KMZ":
        _check_kmz(path, max_unzipped_bytes)
        return path, "KML"
    check_content(path, fmt)
    return path, fmt


def check_content(path: Path, fmt: str) -> None:
    """Raise :class:`ContentError` unless the file's content is of the format ``fmt``."""
    if fmt == "Shapefile":
        _check_magic(path, SHAPEFILE_MAGIC, "a Shapefile (.shp)")
    elif fmt == "GeoPackage":
        _check_magic(path, SQLITE_MAGIC, "a GeoPackage")
        _check_geopackage_tables(path)
    elif fmt == "GeoJSON":
        _check_geojson(path.read_bytes())
    elif fmt == "KML":
        _check_kml(path.read_bytes(), archive_members=set())
    else:
        raise ContentError(f"{fmt} is not read through GDAL")


def _check_kml(document: bytes, archive_members: set[str]) -> None:
    """KML, and no NetworkLink other than to a document inside the same .kmz: links are never fetched,
    so what they point to would silently be missing."""
    if not KML_ROOT.match(document[:KML_HEAD_BYTES].removeprefix(UTF8_BOM)):
        raise ContentError("not a KML document (XML whose root element is <kml>)")
    outside = [
        href.decode("utf-8", errors="replace")
        for href in NETWORK_LINK.findall(document)
        if href.decode("utf-8", errors="replace") not in archive_members
    ]
    if outside:
        raise ContentError(
            f"not self-contained: it links {', '.join(outside[:3])} by NetworkLink, which is not fetched; "
            "save the linked data into the file itself and upload that"
        )


def _check_magic(path: Path, magic: bytes, what: str) -> None:
    with path.open("rb") as file:
        if file.read(len(magic)) != magic:
            raise ContentError(f"not {what} (its first bytes are not those of one)")


def _check_geojson(data: bytes) -> None:
    text = data.removeprefix(UTF8_BOM).decode("utf-8", errors="replace")
    if not text.lstrip().startswith("{"):
        raise ContentError("not GeoJSON: its content does not start with '{'")
    if _may_link_crs(text):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ContentError(f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
        crs = {key.lower(): value for key, value in document.items()}.get("crs")
        if isinstance(crs, dict) and str(crs.get("type", "")).lower() == "link":
            raise ContentError(
                'its "crs" is a link to fetch, which is not followed; give the CRS by name '
                '("crs": {"type": "name", "properties": {"name": "EPSG:32750"}}) or use longitude/latitude'
            )


def _may_link_crs(text: str) -> bool:
    """Whether a "crs" member and a "link" value both occur (also when written with \\u escapes)."""
    if "\\u" in text:
        text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda match: chr(int(match.group(1), 16)), text)
    lowered = text.lower()
    return '"crs"' in lowered and '"link"' in lowered


def _check_geopackage_tables(path: Path) -> None:
    """A GeoPackage holds plain tables; views, virtual tables (but the R-tree index) and generated
    columns run SQL on read, and SpatiaLite's VirtualText or VirtualShape read any file of the server."""
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)) as db:
            schema = db.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
            if not any(kind == "table" and name == "gpkg_contents" for kind, name, _ in schema):
                raise ContentError("not a GeoPackage: a SQLite database without the gpkg_contents table")
            refused = []
            for kind, name, sql in schema:
                module = re.match(r"\s*create\s+virtual\s+table\s.*?\busing\s+(\w+)", sql or "", re.I | re.S)
                if kind == "view" or (module and module.group(1).lower() != "rtree"):
                    refused.append(f"{name} ({'view' if kind == 'view' else 'virtual table'})")
                elif kind == "table" and not module and _has_generated_columns(db, name):
                    refused.append(f"{name} (generated columns)")
    except sqlite3.DatabaseError:
        raise ContentError("not a readable GeoPackage (the SQLite database is damaged)") from None
    if refused:
        raise ContentError(
            f"the GeoPackage holds {', '.join(refused)}, which run SQL when read; "
            "save the layers as plain tables (e.g. QGIS Export > Save Features As) and upload that"
        )


def _has_generated_columns(db: sqlite3.Connection, table: str) -> bool:
    quoted = table.replace('"', '""')
    return any(row[6] in (2, 3) for row in db.execute(f'PRAGMA table_xinfo("{quoted}")'))


# --- archives -------------------------------------------------------------------------------------------


def _open_zip(path: Path) -> zipfile.ZipFile:
    with path.open("rb") as file:
        if file.read(len(ZIP_MAGIC)) != ZIP_MAGIC:
            raise ContentError("not a readable .zip archive (its first bytes are not those of one)")
    return zipfile.ZipFile(path)


def _unpack(archive_path: Path, folder: Path, max_bytes: int) -> tuple[Path, str]:
    """The dataset of a .zip as plain files in ``folder``: one vector file, or a folder of Shapefiles."""
    try:
        with _open_zip(archive_path) as archive:
            members, fmt = _zip_members(archive)
            _check_sizes(members, max_bytes)
            written = [_extract(archive, member, folder) for member in members]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError):
        raise ContentError("not a readable .zip archive") from None
    except RuntimeError:  # zipfile's word for a password-protected member
        raise ContentError("the .zip is password-protected; upload it without a password") from None
    datasets = [path for path in written if path.suffix.lower() in ZIP_MEMBER_FORMATS]
    for path in datasets:
        try:
            check_content(path, fmt)
        except ContentError as exc:
            raise ContentError(f"its {path.name} is {exc}") from None
    return (datasets[0] if len(datasets) == 1 else folder), fmt


def _check_kmz(path: Path, max_bytes: int) -> None:
    """A .kmz is read whole by LIBKML, which reads doc.kml and the KML documents it links inside the
    archive (never a file or URL outside it); every .kml inside must be KML, the archive within limits."""
    try:
        with _open_zip(path) as archive:
            members = _visible(archive)
            documents = [member for member in members if member.filename.lower().endswith(".kml")]
            if not documents:
                raise ContentError("the .kmz holds no .kml document")
            _check_sizes(members, max_bytes)
            names = {member.filename for member in members}
            for member in documents:
                try:
                    _check_kml(archive.read(member), names)
                except ContentError as exc:
                    raise ContentError(f"its {member.filename} is {exc}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError):
        raise ContentError("not a readable .kmz (zip) archive") from None
    except RuntimeError:
        raise ContentError("the .kmz is password-protected; upload it without a password") from None


def _visible(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    return [
        member
        for member in archive.infolist()
        if not member.is_dir() and not Path(member.filename).name.startswith(".")
    ]


def _zip_members(archive: zipfile.ZipFile) -> tuple[list[zipfile.ZipInfo], str]:
    """The members that make the one dataset of a .zip: one vector file, or Shapefiles of one folder."""
    members = _visible(archive)
    datasets = [member for member in members if Path(member.filename).suffix.lower() in ZIP_MEMBER_FORMATS]
    if not datasets:
        raise ContentError("the .zip holds no .shp (or .gpkg/.geojson/.kml) file")
    formats = {ZIP_MEMBER_FORMATS[Path(member.filename).suffix.lower()] for member in datasets}
    folders = {Path(member.filename).parent for member in datasets}
    if len(datasets) > 1 and (formats != {"Shapefile"} or len(folders) > 1):
        names = ", ".join(member.filename for member in datasets)
        raise ContentError(f"the .zip holds several datasets ({names}); zip only the one to import")
    fmt = formats.pop()
    if fmt != "Shapefile":
        return datasets, fmt
    stems = {Path(member.filename).with_suffix("").as_posix().lower() for member in datasets}
    parts = [
        member
        for member in members
        if Path(member.filename).suffix.lower() in SHAPEFILE_PARTS
        and Path(member.filename).with_suffix("").as_posix().lower() in stems
    ]
    return datasets + parts, fmt


def _check_sizes(members: list[zipfile.ZipInfo], max_bytes: int) -> None:
    unpacked = sum(member.file_size for member in members)
    packed = sum(member.compress_size for member in members)
    if unpacked > max_bytes:
        raise ContentError(
            f"unpacked it would be {unpacked / 2**20:,.0f} MB; at most {max_bytes / 2**20:,.0f} MB is read "
            "(split the data, or import it with the geo-app command line)"
        )
    if unpacked > MAX_ZIP_RATIO * max(packed, 1):
        raise ContentError(
            f"it unpacks {unpacked // max(packed, 1):,} times larger than it is packed, as zip bombs do; "
            "zip the files again with ordinary compression"
        )


def _extract(archive: zipfile.ZipFile, member: zipfile.ZipInfo, folder: Path) -> Path:
    """The member as a plain file in ``folder`` under its own base name (no folders, no '..')."""
    target = folder / Path(member.filename).name
    with archive.open(member) as source:
        data = source.read(member.file_size + 1)
    if len(data) != member.file_size:
        raise ContentError("not a readable .zip archive: a member is not the size its header says")
    target.write_bytes(data)
    return target
