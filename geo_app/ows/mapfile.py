"""The MapServer map of the city, written from the layer catalog and the collection registry.

One layer per admin level, asset type and green-area type, and the incidents: for everyone as monthly
counts per kelurahan built from whole cells (the rules of /api/incidents/counts), and as points only in the
map of the roles that may see them. Every layer reads a subquery that selects the published columns of its
OGC collection and applies that collection's restrictions, so MapServer can never show a column or a row the
OGC API would not (no caller, description, address or call-centre number: they are never selected).
MapServer connects to PostGIS itself with the web app's own database URL (the least-privilege role).

Nothing here is hand-edited: adding an asset type to ``layers/assets.yaml`` adds its WMS/WFS layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from psycopg import sql

from geo_app.catalog import Catalog, Kugi
from geo_app.published import PUBLIC_CALL_TYPES, Collection
from geo_app.store.features import Fragment, TimeFilter, base_conditions

FONTSET = Path(__file__).with_name("fonts.txt")
GLOBAL_SRS = ("EPSG:4326", "EPSG:3857")
SRGI2013 = "EPSG:9470"
"""Geographic WGS 84, Web Mercator, the city's own UTM zone (metres, its analyses) and, for WMS, SRGI2013
(EPSG:9470), the national reference frame of Indonesia's spatial data network. MapServer 8.0's table of
latitude-first CRSs predates EPSG:9470, so geo_app.ows.service swaps its WMS 1.3.0 BBOX axes itself; WFS
would write its coordinates in the wrong order, so WFS does not offer it."""

INCIDENT_COUNT_CLASSES = ((0, 1, "#f7f7f7"), (1, 10, "#fdd49e"), (10, 25, "#fc8d59"), (25, 50, "#d7301f"),
                          (50, None, "#7f0000"))  # fmt: skip
"""Choropleth steps of the monthly incident counts: (from, below, colour)."""


@dataclass(frozen=True)
class CityFacts:
    """What the map needs from the database when it is written: the extent and the time spans."""

    extent: tuple[float, float, float, float]
    timezone: str
    metric_srid: int
    incident_months: tuple[str, str] | None  # first and last complete month with counts, YYYY-MM
    incident_span: tuple[datetime, datetime] | None
    green_span: tuple[datetime, datetime] | None


@dataclass(frozen=True)
class MapLayer:
    """One MapServer layer: a name clients use, Indonesian title and abstract, its SQL and its look."""

    name: str
    title: str
    abstract: str
    keywords: tuple[str, ...]
    geometry_type: str  # POINT, LINE or POLYGON
    subquery: str
    id_column: str
    classes: str
    time_extent: str | None = None
    time_item: str | None = None
    time_default: str | None = None
    restricted: bool = False
    kugi: Kugi | None = None  # the national feature catalogue's feature, where one fits

    @property
    def versioned(self) -> bool:
        """Green areas keep versions: TIME picks the state at an instant, written into the subquery."""
        return self.time_extent is not None and self.time_item is None


def quote(text: str) -> str:
    """A mapfile string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_sql(fragment: Fragment) -> str:
    """A fragment with its parameters as SQL literals: MapServer runs the subquery, not psycopg."""
    composed = sql.SQL(fragment.sql.as_string().replace("%s", "{}")).format(
        *map(sql.Literal, fragment.params)
    )
    return composed.as_string()


def collection_subquery(
    collection: Collection, city_code: str, extra: Fragment | None = None, as_of: datetime | None = None
) -> str:
    """SELECT of the collection's published columns and geometry under its restrictions (and ``extra``);
    for a versioned collection the versions valid at ``as_of``, else the current ones."""
    moment = None if as_of is None else TimeFilter(as_of, as_of)
    conditions = base_conditions(collection, city_code, moment)
    if extra is not None:
        conditions.append(extra)
    columns = [
        collection.id_column,
        *(p.column for p in collection.properties if p.column != collection.id_column),
    ]
    select = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in columns)
    where = render_sql(Fragment.join(conditions))
    return f"SELECT {select.as_string()}, t.geom FROM {collection.table} t WHERE {where}"


def _rgb(colour: str) -> str:
    return " ".join(str(int(colour[i : i + 2], 16)) for i in (1, 3, 5))


def point_class(label: str, colour: str) -> str:
    return (f"CLASS NAME {quote(label)} STYLE SYMBOL \"circle\" SIZE 9 COLOR {_rgb(colour)} "
            "OUTLINECOLOR 255 255 255 WIDTH 1 END END")  # fmt: skip


def line_class(label: str, colour: str) -> str:
    return f"CLASS NAME {quote(label)} STYLE COLOR {_rgb(colour)} WIDTH 3 END END"


def polygon_class(label: str, fill: str | None, outline: str, expression: str | None = None) -> str:
    fill_style = f"COLOR {_rgb(fill)} OPACITY 70 " if fill else ""
    condition = f"EXPRESSION ({expression}) " if expression else ""
    style = f"STYLE {fill_style}OUTLINECOLOR {_rgb(outline)} WIDTH 1 END"
    return f"CLASS NAME {quote(label)} {condition}{style} END"


def incident_counts_subquery(city_code: str, min_count: int, timezone: str) -> str:
    """Monthly darurat counts per kelurahan, each the sum of the cells (kelurahan × month × category × call
    type) holding at least ``min_count`` incidents, over complete months only: the rules of
    /api/incidents/counts (geo_app.store.incident_counts), so no WMS/WFS answer shows a small cell."""
    literal = {name: sql.Literal(value).as_string() for name, value in
               (("city", city_code), ("zone", timezone), ("min", min_count))}  # fmt: skip
    call_types = ", ".join(sql.Literal(t).as_string() for t in PUBLIC_CALL_TYPES)
    return (
        "SELECT replace(a.code, '.', '')::bigint * 1000000 + to_char(c.month, 'YYYYMM')::bigint AS fid, "
        "a.code, a.name, to_char(c.month, 'YYYY-MM') AS month, "
        "c.month AS month_start, c.count::integer AS count, a.geom "
        "FROM (SELECT kelurahan_code, month, sum(n) AS count FROM ("
        " SELECT i.kelurahan_code,"
        f" date_trunc('month', i.received_at AT TIME ZONE {literal['zone']}) AS month,"
        "  count(*) AS n FROM incidents i"
        f"  WHERE i.city_code = {literal['city']} AND i.call_type IN ({call_types})"
        "  AND i.kelurahan_code IS NOT NULL"
        f"  AND i.received_at < date_trunc('month', now() AT TIME ZONE {literal['zone']})"
        f"   AT TIME ZONE {literal['zone']}"
        "  GROUP BY i.kelurahan_code, 2, i.category, i.call_type"
        f"  HAVING count(*) >= {literal['min']}) cells GROUP BY kelurahan_code, month) c "
        "JOIN admin_areas a ON a.code = c.kelurahan_code AND a.level = 'kelurahan' "
        f"WHERE a.city_code = {literal['city']}"
    )


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def build_layers(
    catalog: Catalog, collections: dict[str, Collection], city_code: str, min_count: int, facts: CityFacts
) -> list[MapLayer]:
    """Every layer of the map, public ones first; the incident points last, marked restricted."""
    layers: list[MapLayer] = []
    for level in ("kecamatan", "kelurahan"):
        label = catalog.admin_levels[level].label
        layers.append(
            MapLayer(
                name=f"batas_{level}",
                title=f"Batas administrasi {label.lower()}",
                abstract=f"Batas wilayah {label.lower()} dengan kode Kemendagri, nama dan jumlah penduduk.",
                keywords=("batas administrasi", level, "penduduk"),
                geometry_type="POLYGON",
                subquery=collection_subquery(collections[level], city_code),
                id_column="code",
                classes=polygon_class(label, None, "#444444"),
                kugi=catalog.admin_levels[level].kugi,
            )
        )
    assets = collections["assets"]
    for asset_type in catalog.asset_types.values():
        restriction = Fragment(sql.SQL("t.asset_type = %s"), (asset_type.id,))
        line = asset_type.geometry_type == "LineString"
        layers.append(
            MapLayer(
                name=f"aset_{asset_type.id}",
                title=f"Aset kota: {asset_type.label}",
                abstract=f"Lokasi aset {asset_type.label} kota, dikelola oleh {asset_type.owner_opd}; "
                f"dimensi kota cerdas: {asset_type.dimension}.",
                keywords=("aset", "kota cerdas", asset_type.id),
                geometry_type="LINE" if line else "POINT",
                subquery=collection_subquery(assets, city_code, restriction),
                id_column="id",
                classes=(line_class if line else point_class)(asset_type.label, asset_type.colour),
                kugi=asset_type.kugi,
            )
        )
    green = collections["green_areas"]
    green_extent = None
    if facts.green_span is not None:
        green_extent = f"{iso(facts.green_span[0])}/{iso(facts.green_span[1])}"
    for green_type in catalog.green_types.values():
        kind = "publik" if green_type.is_public else "privat"
        layers.append(
            MapLayer(
                name=f"rth_{green_type.id}",
                title=f"Ruang terbuka hijau: {green_type.label}",
                abstract=f"RTH {kind} jenis {green_type.label}: luas, pengelola dan riwayat (TIME memilih "
                "keadaan pada satu waktu).",
                keywords=("RTH", "ruang terbuka hijau", green_type.id),
                geometry_type="POLYGON",
                subquery=collection_subquery(
                    green, city_code, Fragment(sql.SQL("t.green_type = %s"), (green_type.id,))
                ),  # fmt: skip
                id_column="id",
                classes=polygon_class(green_type.label, green_type.colour, green_type.colour),
                kugi=green_type.kugi,
                time_extent=green_extent,
                time_default=None if facts.green_span is None else iso(facts.green_span[1]),
            )
        )
    month_extent = None
    if facts.incident_months is not None:
        month_extent = f"{facts.incident_months[0]}/{facts.incident_months[1]}/P1M"
    layers.append(
        MapLayer(
            name="insiden_bulanan_kelurahan",
            title="Jumlah insiden 112 per kelurahan per bulan",
            abstract="Panggilan darurat 112 per kelurahan dan bulan. Setiap angka adalah jumlah sel "
            f"(kelurahan × bulan × kategori × jenis panggilan) yang berisi sedikitnya {min_count} insiden; "
            "sel yang lebih kecil tidak dihitung. Hanya bulan yang sudah lengkap.",
            keywords=("112", "insiden", "kedaruratan"),
            geometry_type="POLYGON",
            subquery=incident_counts_subquery(city_code, min_count, facts.timezone),
            id_column="fid",
            classes="\n    ".join(
                polygon_class(
                    f"{low}+" if high is None else f"{low}–{high - 1}",
                    colour,
                    "#666666",
                    f"[count] >= {low}" + ("" if high is None else f" AND [count] < {high}"),
                )
                for low, high, colour in INCIDENT_COUNT_CLASSES
            ),
            time_extent=month_extent,
            time_item="month_start",
            time_default=None if facts.incident_months is None else facts.incident_months[1],
        )
    )
    incidents = collections["incidents"]
    span = facts.incident_span
    layers.append(
        MapLayer(
            name="insiden_112",
            title="Insiden 112 (titik, untuk petugas)",
            abstract="Titik panggilan darurat 112 tanpa data pribadi (tanpa penelepon, uraian, alamat atau "
            "nomor panggilan); hanya untuk peran yang boleh melihat titik insiden.",
            keywords=("112", "insiden"),
            geometry_type="POINT",
            subquery=collection_subquery(incidents, city_code),
            id_column="id",
            classes=point_class("Insiden 112", "#d62728"),
            time_extent=None if span is None else f"{iso(span[0])}/{iso(span[1])}",
            time_item="received_at",
            restricted=True,
        )
    )
    return layers


def served_srs(facts: CityFacts) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The CRSs WFS and WMS answer in: the global ones, the city's UTM zone, and for WMS SRGI2013."""
    wfs = (*GLOBAL_SRS, f"EPSG:{facts.metric_srid}")
    return wfs, (*wfs, SRGI2013)


def layer_block(layer: MapLayer, connection: str, extent: str, facts: CityFacts) -> str:
    wfs_srs, wms_srs = served_srs(facts)
    metadata = {
        "ows_title": layer.title,
        "ows_abstract": layer.abstract,
        "ows_keywordlist": ",".join(layer.keywords),
        "ows_extent": extent,
        "wms_srs": " ".join(wms_srs),
        "wfs_srs": " ".join(wfs_srs),
        "gml_include_items": "all",
        "gml_exclude_items": "month_start" if layer.time_item == "month_start" else "",
        "wms_include_items": "all",
        "gml_featureid": layer.id_column,
        "gml_types": "auto",
        "wfs_getfeature_formatlist": "geojson",
        "wms_enable_request": "*",
        "wfs_enable_request": "*",
    }
    if layer.time_extent:
        metadata["wms_timeextent"] = layer.time_extent
        if layer.time_item:
            metadata["wms_timeitem"] = layer.time_item
        if layer.time_default:
            metadata["wms_timedefault"] = layer.time_default
    metadata_text = "\n".join(f"      {quote(k)} {quote(v)}" for k, v in metadata.items() if v)
    data = f"geom FROM ({layer.subquery}) AS t USING UNIQUE {layer.id_column} USING SRID=4326"
    return f"""
  LAYER
    NAME {quote(layer.name)}
    TYPE {layer.geometry_type}
    STATUS ON
    CONNECTIONTYPE POSTGIS
    CONNECTION {quote(connection)}
    PROCESSING "CLOSE_CONNECTION=DEFER"
    DATA {quote(data)}
    EXTENT {extent}
    PROJECTION "init=epsg:4326" END
    TEMPLATE "ows"
    TOLERANCE 6
    TOLERANCEUNITS pixels
    METADATA
{metadata_text}
    END
    {layer.classes}
  END"""


def mapfile(layers: list[MapLayer], connection: str, facts: CityFacts, title: str, abstract: str) -> str:
    """The whole mapfile text (kept in memory only: it carries the database URL)."""
    extent = " ".join(f"{v:.6f}" for v in facts.extent)
    wfs_srs, wms_srs = served_srs(facts)
    web = {
        "ows_title": title,
        "ows_abstract": abstract,
        "wms_srs": " ".join(wms_srs),
        "wfs_srs": " ".join(wfs_srs),
        "ows_enable_request": "*",
        "ows_keywordlist": "Simpul Jaringan,IDG,JIGN,kota cerdas",
        "ows_fees": "none",
        "ows_accessconstraints": "Lapisan insiden berupa titik hanya untuk pengguna yang masuk.",
        "wms_getmap_formatlist": "image/png,image/jpeg",
        "wms_feature_info_mime_type": "application/vnd.ogc.gml",
        "wfs_getfeature_formatlist": "geojson",
        "wms_title": title,
        "wfs_title": title,
    }
    web_text = "\n".join(f"      {quote(k)} {quote(v)}" for k, v in web.items())
    layer_text = "".join(layer_block(layer, connection, extent, facts) for layer in layers)
    return f"""MAP
  NAME "geo_app"
  STATUS ON
  SIZE 800 600
  MAXSIZE 4096
  EXTENT {extent}
  UNITS DD
  IMAGECOLOR 255 255 255
  FONTSET {quote(str(FONTSET))}
  PROJECTION "init=epsg:4326" END
  OUTPUTFORMAT NAME "png" DRIVER "AGG/PNG" MIMETYPE "image/png" IMAGEMODE RGBA EXTENSION "png"
    TRANSPARENT ON END
  OUTPUTFORMAT NAME "jpeg" DRIVER "AGG/JPEG" MIMETYPE "image/jpeg" IMAGEMODE RGB EXTENSION "jpg" END
  OUTPUTFORMAT NAME "geojson" DRIVER "OGR/GEOJSON" MIMETYPE "application/json; subtype=geojson"
    FORMATOPTION "STORAGE=memory" FORMATOPTION "FORM=SIMPLE" END
  SYMBOL NAME "circle" TYPE ELLIPSE FILLED TRUE POINTS 1 1 END END
  LEGEND
    KEYSIZE 18 12
    LABEL TYPE TRUETYPE FONT "sans" SIZE 8 COLOR 0 0 0 END
  END
  WEB
    METADATA
{web_text}
    END
  END{layer_text}
END
"""
