"""WMS and WFS answered by MapServer (Debian's python3-mapscript) inside the app process.

The map is written once per process from the catalog and the data (geo_app.ows.mapfile) and rewritten when
it is older than ``MAP_MAX_AGE_SECONDS`` (time extents grow with the data). Each request works on its own
copy of the map, so requests in threads never share MapServer state; MapServer's output buffer is per
thread. Two maps exist: the public one, and one that adds the incident points for the roles that may see
them; which one a request gets is decided by the access rules, never by the request.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import mapscript
import psycopg
from lxml import etree
from psycopg import sql

from geo_app.catalog import Catalog
from geo_app.city import require_city
from geo_app.ows import mapfile, metadata
from geo_app.published import Collection
from geo_app.store.features import Fragment

MAP_MAX_AGE_SECONDS = 3600
TITLE = "Simpul Jaringan Informasi Geospasial Kota"
ABSTRACT = (
    "Layanan WMS dan WFS data geospasial kota: batas administrasi, aset kota cerdas, ruang terbuka hijau dan "
    "jumlah insiden 112 per kelurahan. Data yang sama dengan OGC API – Features di /ogc."
)


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes


@dataclass
class OwsService:
    """The maps of one city, and how to answer an OWS request with one of them."""

    catalog: Catalog
    collections: dict[str, Collection]
    city_code: str
    database_url: str
    min_cell_count: int
    _maps: dict[bool, tuple[float, str, list[mapfile.MapLayer]]] = field(default_factory=dict)
    _facts: tuple[float, list[tuple[mapfile.MapLayer, metadata.LayerFacts]]] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def facts(self, conn: psycopg.Connection) -> mapfile.CityFacts:
        city = require_city(conn, self.city_code)
        zone = city.timezone_name
        row = conn.execute(
            """
            SELECT (SELECT ST_Extent(geom) FROM admin_areas WHERE city_code = %(c)s) AS extent,
                   (SELECT min(received_at) FROM incidents WHERE city_code = %(c)s) AS first_call,
                   (SELECT max(received_at) FROM incidents WHERE city_code = %(c)s) AS last_call,
                   (SELECT min(valid_from) FROM green_areas WHERE city_code = %(c)s) AS first_green,
                   (SELECT greatest(max(valid_from), max(valid_to)) FROM green_areas
                    WHERE city_code = %(c)s) AS last_green,
                   to_char(date_trunc('month', now() AT TIME ZONE %(z)s) - interval '1 month', 'YYYY-MM')
                     AS last_month
            """,
            {"c": self.city_code, "z": zone},
        ).fetchone()
        box = row["extent"]
        extent = (95.0, -11.0, 141.0, 6.0)  # Indonesia, for a city without areas yet
        if box is not None:
            corners = box.removeprefix("BOX(").removesuffix(")").replace(",", " ").split()
            extent = tuple(float(v) for v in corners)
        months = None
        if row["first_call"] is not None:
            first = row["first_call"].astimezone(ZoneInfo(zone)).strftime("%Y-%m")
            if first <= row["last_month"]:
                months = (first, row["last_month"])
        calls = (row["first_call"], row["last_call"]) if row["first_call"] is not None else None
        green = (row["first_green"], row["last_green"]) if row["first_green"] is not None else None
        return mapfile.CityFacts(extent, zone, city.metric_srid, months, calls, green)

    def map_for(
        self, with_incident_points: bool, conn: psycopg.Connection
    ) -> tuple[str, list[mapfile.MapLayer]]:
        """The mapfile text and layers for the public (False) or the incident readers' (True) map."""
        with self._lock:
            cached = self._maps.get(with_incident_points)
            if cached and cached[0] > time.monotonic():
                return cached[1], cached[2]
            facts = self.facts(conn)
            layers = mapfile.build_layers(
                self.catalog, self.collections, self.city_code, self.min_cell_count, facts
            )
            layers = [layer for layer in layers if with_incident_points or not layer.restricted]
            text = mapfile.mapfile(layers, self.database_url, facts, TITLE, ABSTRACT)
            self._maps[with_incident_points] = (time.monotonic() + MAP_MAX_AGE_SECONDS, text, layers)
            return text, layers

    def described_layers(
        self, conn: psycopg.Connection
    ) -> list[tuple[mapfile.MapLayer, metadata.LayerFacts]]:
        """The public layers with what their data says (extent, update, sources), for their metadata."""
        _, layers = self.map_for(False, conn)
        with self._lock:
            if self._facts is None or self._facts[0] <= time.monotonic():
                described = [
                    (layer, metadata.layer_facts(conn, layer, metadata.NODE_OPD)) for layer in layers
                ]
                self._facts = (time.monotonic() + MAP_MAX_AGE_SECONDS, described)
            return self._facts[1]

    def iso_records(self, conn: psycopg.Connection, site: str) -> dict[str, bytes]:
        """The ISO 19139 record of every public layer as XML, by file identifier; links start at ``site``."""
        return {
            metadata.file_identifier(self.city_code, layer): etree.tostring(
                metadata.iso_record(layer, facts, self.city_code, site),
                xml_declaration=True,
                encoding="UTF-8",
                pretty_print=True,
            )
            for layer, facts in self.described_layers(conn)
        }

    def dispatch(
        self, query: str, online_resource: str, with_incident_points: bool, conn: psycopg.Connection
    ) -> Answer:
        """Answer one OWS request (its query string) with MapServer."""
        text, layers = self.map_for(with_incident_points, conn)
        map_object = mapscript.msLoadMapFromString(text, None)
        map_object.web.metadata.set("ows_onlineresource", online_resource)
        site = online_resource.rsplit("/", 1)[0]
        for layer in (layer for layer in layers if not layer.restricted):  # records describe public layers
            described = map_object.getLayerByName(layer.name).metadata
            described.set(
                "ows_metadataurl_href",
                f"{site}/metadata/{metadata.file_identifier(self.city_code, layer)}.xml",
            )
            described.set("ows_metadataurl_format", "text/xml")
            described.set("ows_metadataurl_type", "ISO19115:2003")
        params = latitude_first_bbox(parse_qsl(query, keep_blank_values=True))
        as_of = _versioned_instant(params)
        if as_of is not None:
            for layer in layers:
                if layer.versioned:
                    _select_versions(map_object, layer, self, as_of)
        request = mapscript.OWSRequest()
        for name, value in params:
            request.setParameter(name, value)
        mapscript.msIO_installStdoutToBuffer()
        try:
            try:
                map_object.OWSDispatch(request)
            except mapscript.MapServerError:
                pass  # MapServer has written the OGC exception report into the buffer already
            finally:
                mapscript.msResetErrorList()
            output = bytes(mapscript.msIO_getStdoutBufferBytes())
        finally:
            mapscript.msIO_resetHandlers()
        headers, _, body = output.partition(b"\r\n\r\n")
        content_type = next(
            (line.split(b":", 1)[1].strip().decode() for line in headers.split(b"\r\n")
             if line.lower().startswith(b"content-type:")),
            "application/octet-stream",
        )  # fmt: skip
        status = 400 if b"ServiceException" in body[:2000] or b"ExceptionReport" in body[:2000] else 200
        return Answer(status, content_type, body)


LATITUDE_FIRST_UNKNOWN_TO_MAPSERVER = {"EPSG:9470"}


def latitude_first_bbox(params: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """WMS 1.3.0 BBOX in a latitude-first CRS MapServer 8.0 takes for longitude-first, put in its order."""
    names = {k.upper(): v for k, v in params}
    if (
        names.get("VERSION") != "1.3.0"
        or names.get("CRS", "").upper() not in LATITUDE_FIRST_UNKNOWN_TO_MAPSERVER
    ):
        return params
    swapped = []
    for name, value in params:
        parts = value.split(",")
        if name.upper() == "BBOX" and len(parts) == 4:
            value = ",".join((parts[1], parts[0], parts[3], parts[2]))
        swapped.append((name, value))
    return swapped


def _versioned_instant(params: list[tuple[str, str]]) -> datetime | None:
    """The instant of a TIME parameter for versioned layers (green areas), None without TIME."""
    value = next((v for k, v in params if k.upper() == "TIME"), None)
    if not value:
        return None
    instant = value.split("/")[0]
    try:
        moment = datetime.fromisoformat(instant.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _select_versions(map_object, layer: mapfile.MapLayer, service: OwsService, as_of: datetime) -> None:
    """Point a versioned layer at the versions valid at ``as_of`` (the only per-request change of SQL)."""
    green_type = layer.name.removeprefix("rth_")
    subquery = mapfile.collection_subquery(
        service.collections["green_areas"],
        service.city_code,
        Fragment(sql.SQL("t.green_type = %s"), (green_type,)),
        as_of=as_of,
    )
    map_object.getLayerByName(
        layer.name
    ).data = f"geom FROM ({subquery}) AS t USING UNIQUE {layer.id_column} USING SRID=4326"
