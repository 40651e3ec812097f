"""OGC API – Features (Parts 1, 2 and 3) answered from the collection registry, framework-neutral.

Each public method takes the absolute base URL of the API (``http://host/ogc``), the query arguments
and a database connection, and returns an :class:`Answer`; the web adapter only turns it into an HTTP
response. Errors are :class:`OgcError` with a detail that says what to fix.

Limits, documented in the README: ``limit`` defaults to 10 and is clamped to 10,000; ``numberMatched``
is exact up to 20,000 matches (counting stops there) and above that the planner's estimate, so a page of a
big match stays cheap (scripts/bench/number_matched.py measures both on 1,000,000 incidents) while QGIS
still learns a feature count before it downloads anything.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import psycopg

from geo_app.crs import CRS84, SUPPORTED, Crs, OutsideCrs, check_box, parse_crs
from geo_app.dates import DateOutOfRange, check_in_range
from geo_app.ogc import cql2
from geo_app.published import Collection
from geo_app.store import cql2 as cql2_sql
from geo_app.store import features as store
from geo_app.store.features import ItemQuery, TimeFilter

DEFAULT_LIMIT = 10
MAX_LIMIT = 10_000
NUMBER_MATCHED_EXACT_MAX = 20_000
EXTENT_CACHE_SECONDS = 300

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
SCHEMA_JSON = "application/schema+json"
MVT = "application/vnd.mapbox-vector-tile"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
    "http://www.opengis.net/spec/cql2/1.0/conf/arithmetic",
]

SIGN_IN_HINT = (
    "Sign in to read this collection: an API token (geo-app users token USERNAME) as "
    "'Authorization: Bearer <token>', or HTTP Basic with the user name and the token as password."
)

PAGING_PARAMETERS = {"limit", "offset", "cursor"}
ITEMS_PARAMETERS = PAGING_PARAMETERS | {
    "bbox", "bbox-crs", "datetime", "sortby", "filter", "filter-lang", "filter-crs", "crs", "f",
}  # fmt: skip


class OgcError(Exception):
    def __init__(self, status: int, title: str, detail: str):
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


def bad_request(detail: str) -> OgcError:
    return OgcError(400, "Invalid parameter", detail)


@dataclass
class Answer:
    """A response: a JSON-able dict or pre-rendered JSON text, with media type and headers."""

    body: dict | str
    media_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)

    def document(self) -> dict:
        return json.loads(self.body) if isinstance(self.body, str) else self.body


def link(href: str, rel: str, media_type: str, title: str = "", **extra) -> dict:
    entry = {"href": href, "rel": rel, "type": media_type}
    if title:
        entry["title"] = title
    return {**entry, **extra}


def with_query(url: str, args: list[tuple[str, str]]) -> str:
    return f"{url}?{urlencode(args)}" if args else url


class OgcApi:
    """The API over one city's collections; ``base`` arguments are absolute URLs without a slash."""

    def __init__(
        self,
        collections: dict[str, Collection],
        city_code: str,
        is_public: Callable[[str], bool] = lambda collection_id: True,
        exact_count_max: int = NUMBER_MATCHED_EXACT_MAX,
    ):
        self.collections = collections
        self.city_code = city_code
        self.is_public = is_public
        self.exact_count_max = exact_count_max
        self._extents: dict[str, tuple[float, dict]] = {}

    # -- resources --------------------------------------------------------------------------------
    def landing(self, base: str, site: str) -> Answer:
        return Answer(
            {
                "title": "geo_app OGC API – Features",
                "description": "City layers (admin areas, assets, public 112 incidents, green open space) "
                "for QGIS, GDAL and OWSLib.",
                "links": [
                    link(base, "self", JSON, "This document"),
                    link(f"{base}?f=html", "alternate", HTML, "This document as HTML"),
                    link(f"{site}/openapi.json", "service-desc", OPENAPI, "The API definition"),
                    link(f"{site}/docs", "service-doc", HTML, "The API documentation"),
                    link(f"{base}/conformance", "conformance", JSON, "Conformance classes"),
                    link(f"{base}/collections", "data", JSON, "Collections"),
                ],
            }
        )

    def conformance(self) -> Answer:
        return Answer({"conformsTo": CONFORMANCE})

    def collection_list(self, base: str, conn: psycopg.Connection, visible: Callable[[str], bool]) -> Answer:
        """The collections ``visible(id)`` lets the caller read (clients then open only layers they may),
        and under ``restrictedCollections`` the others, so a client can tell the caller to sign in.

        Collections of mixed geometry types are named under ``mixedGeometryCollections`` only: a client
        that types a layer from its first features (QGIS) would draw the lines of ``assets`` as points;
        the per-type collections hold one geometry type each."""
        shown = [c for c in self.collections.values() if visible(c.id) and not c.is_mixed]
        mixed = [c for c in self.collections.values() if visible(c.id) and c.is_mixed]
        hidden = [c for c in self.collections.values() if not visible(c.id)]
        body = {
            "links": [
                link(f"{base}/collections", "self", JSON, "Collections"),
                link(f"{base}/collections?f=html", "alternate", HTML, "Collections as HTML"),
            ],
            "collections": [self._describe(base, c, conn) for c in shown],
            "crs": [crs.uri for crs in SUPPORTED],
        }
        if mixed:
            body["mixedGeometryCollections"] = [
                {
                    "id": c.id,
                    "title": c.title,
                    "geometryType": c.geometry_type,
                    "description": c.description,
                    "links": [link(f"{base}/collections/{c.id}", "self", JSON, c.title)],
                }
                for c in mixed
            ]
        if hidden:
            body["restrictedCollections"] = [
                {"id": c.id, "title": c.title, "signInRequired": True, "description": SIGN_IN_HINT}
                for c in hidden
            ]
        return Answer(body)

    def collection(self, base: str, collection_id: str, conn: psycopg.Connection) -> Answer:
        return Answer(self._describe(base, self.find(collection_id), conn))

    def queryables(self, base: str, collection_id: str) -> Answer:
        """Properties usable in filters (Part 3), as JSON Schema."""
        collection = self.find(collection_id)
        return Answer(
            self._json_schema(collection, f"{base}/collections/{collection.id}/queryables"), SCHEMA_JSON
        )

    def schema(self, base: str, collection_id: str) -> Answer:
        """The features' schema (Part 5): every property with its type, the id and the geometry marked,
        so clients type columns that are empty in the first features (GDAL reads it as ``describedby``)."""
        collection = self.find(collection_id)
        schema = self._json_schema(collection, f"{base}/collections/{collection.id}/schema")
        schema["properties"][collection.id_column]["x-ogc-role"] = "id"
        return Answer(schema, SCHEMA_JSON)

    def feature_schema(self, base: str, collection_id: str) -> Answer:
        """JSON Schema of one GeoJSON feature of the collection, its attributes under ``properties``: the
        shape GDAL's OAPIF driver reads from the collection's ``describedby`` link to type its fields.

        A property named ``id`` is left out of the attributes there: GDAL makes that field from the
        features' own ``id`` member and would list it twice."""
        collection = self.find(collection_id)
        attributes = self.schema(base, collection_id).body
        geometry = attributes["properties"].pop("geometry")
        feature_id = attributes["properties"][collection.id_column]
        attributes["properties"].pop("id", None)
        return Answer(
            {
                "$schema": attributes["$schema"],
                "$id": f"{base}/collections/{collection.id}/feature-schema",
                "title": f"{collection.title} (GeoJSON feature)",
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": ["Feature"]},
                    "id": feature_id,
                    "geometry": geometry,
                    "properties": {key: value for key, value in attributes.items() if key != "$schema"},
                },
                "required": ["type", "geometry", "properties"],
            },
            SCHEMA_JSON,
        )

    @staticmethod
    def _json_schema(collection: Collection, schema_id: str) -> dict:
        geometry_format = (
            "geometry-any" if collection.is_mixed else f"geometry-{collection.geometry_type.lower()}"
        )
        properties = {
            "geometry": {"title": "Geometry", "format": geometry_format, "x-ogc-role": "primary-geometry"}
        }
        for prop in collection.properties:
            schema: dict = {"title": prop.description or prop.name}
            if prop.type in ("date-time", "date"):
                schema.update(type="string", format=prop.type)
            else:
                schema["type"] = prop.type
            if prop.enum:
                schema["enum"] = list(prop.enum)
            properties[prop.name] = schema
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": schema_id,
            "type": "object",
            "title": collection.title,
            "properties": properties,
            "additionalProperties": False,
        }

    def items(
        self, base: str, collection_id: str, args: Mapping[str, str], conn: psycopg.Connection
    ) -> Answer:
        collection = self.find(collection_id)
        query, sortby = self.parse_items_query(collection, args)
        try:
            page = store.fetch_page(conn, collection, self.city_code, query)
            first_page = query.after is None and query.offset == 0
            if first_page and not page.more:
                matched = len(page.features)
            else:
                count_query = ItemQuery(**{**query.__dict__, "after": None, "offset": 0})
                matched = self.number_matched(conn, collection, count_query)
        except store.InvalidValue as exc:
            raise bad_request(f"a value does not fit its property: {exc}") from None
        url = f"{base}/collections/{collection.id}/items"
        kept = [(k, v) for k, v in args.items() if k not in PAGING_PARAMETERS and k != "f"]
        limit_arg = [("limit", str(query.limit))]
        links = [
            link(with_query(url, list(args.items())), "self", GEOJSON, "This page"),
            link(with_query(url, [*kept, *limit_arg, ("f", "html")]), "alternate", HTML, "This page as HTML"),
            link(f"{base}/collections/{collection.id}", "collection", JSON, collection.title),
        ]
        has_next = page.more if not query.backwards else page.last_keys is not None
        has_prev = page.more if query.backwards else (query.after is not None or query.offset > 0)
        if has_next and page.last_keys is not None:
            cursor = encode_cursor(page.last_keys, sortby, backwards=False)
            links.append(
                link(with_query(url, [*kept, *limit_arg, ("cursor", cursor)]), "next", GEOJSON, "Next")
            )
        if has_prev and page.first_keys is not None:
            cursor = encode_cursor(page.first_keys, sortby, backwards=True)
            links.append(
                link(with_query(url, [*kept, *limit_arg, ("cursor", cursor)]), "prev", GEOJSON, "Previous")
            )
        members: dict = {"numberMatched": matched}
        members["numberReturned"] = len(page.features)
        members["timeStamp"] = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        members["links"] = links
        body = (
            '{"type": "FeatureCollection", "features": ['
            + ", ".join(page.features)
            + "], "
            + json.dumps(members, ensure_ascii=False)[1:]
        )
        return Answer(body, GEOJSON, {"Content-Crs": query.crs.header})

    def item(
        self,
        base: str,
        collection_id: str,
        feature_id: str,
        args: Mapping[str, str],
        conn: psycopg.Connection,
    ) -> Answer:
        collection = self.find(collection_id)
        crs = self.parse_crs_arg(args.get("crs"), "crs")
        key = self.parse_feature_id(collection, feature_id)
        feature = None if key is None else store.fetch_item(conn, collection, self.city_code, key, crs)
        if feature is None:
            raise OgcError(
                404,
                "Feature not found",
                f"Collection {collection.id} has no feature {feature_id!r}; list them at "
                f"{base}/collections/{collection.id}/items.",
            )
        url = f"{base}/collections/{collection.id}/items/{feature_id}"
        links = [
            link(url, "self", GEOJSON, "This feature"),
            link(f"{url}?f=html", "alternate", HTML, "This feature as HTML"),
            link(f"{base}/collections/{collection.id}", "collection", JSON, collection.title),
        ]
        body = feature[:-1] + ', "links": ' + json.dumps(links, ensure_ascii=False) + "}"
        return Answer(body, GEOJSON, {"Content-Crs": crs.header})

    # -- helpers ----------------------------------------------------------------------------------
    def number_matched(self, conn: psycopg.Connection, collection: Collection, query: ItemQuery) -> int:
        """Exact up to ``exact_count_max``, the planner's estimate above (never below the count it has
        gone past): counting every match of a million-row query would cost many times the page."""
        exact = store.count_matching(conn, collection, self.city_code, query, self.exact_count_max)
        if exact is not None:
            return exact
        estimate = store.estimate_matching(conn, collection, self.city_code, query)
        return max(estimate, self.exact_count_max + 1)

    def find(self, collection_id: str) -> Collection:
        collection = self.collections.get(collection_id)
        if collection is None:
            raise OgcError(
                404,
                "Collection not found",
                f"No collection {collection_id!r}. Collections: {', '.join(self.collections)}.",
            )
        return collection

    def extent(self, collection: Collection, conn: psycopg.Connection) -> dict:
        """The collection's extent, recomputed at most every EXTENT_CACHE_SECONDS per process."""
        cached = self._extents.get(collection.id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        value = store.extent(conn, collection, self.city_code)
        self._extents[collection.id] = (time.monotonic() + EXTENT_CACHE_SECONDS, value)
        return value

    def _describe(self, base: str, collection: Collection, conn: psycopg.Connection) -> dict:
        url = f"{base}/collections/{collection.id}"
        site = base.rsplit("/", 1)[0]
        description = {
            "id": collection.id,
            "title": collection.title,
            "description": collection.description,
            "keywords": list(collection.keywords),
            "itemType": "feature",
            "geometryType": collection.geometry_type,
            "crs": [crs.uri for crs in SUPPORTED],
            "storageCrs": CRS84.uri,
            "signInRequired": not self.is_public(collection.id),
        }
        extent = self.extent(collection, conn)
        if extent["bbox"] is not None:
            description["extent"] = {"spatial": {"bbox": [extent["bbox"]], "crs": CRS84.uri}}
            if extent["interval"] is not None:
                start, end = (rfc3339(t) for t in extent["interval"])
                if collection.validity:
                    end = None  # current versions stay valid
                description["extent"]["temporal"] = {"interval": [[start, end]], "trs": GREGORIAN}
        description["links"] = [
            link(url, "self", JSON, collection.title),
            link(f"{url}?f=html", "alternate", HTML, f"{collection.title} as HTML"),
            link(f"{url}/items", "items", GEOJSON, "Features"),
            link(f"{url}/items?f=html", "items", HTML, "Features as HTML"),
            link(f"{url}/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables", SCHEMA_JSON,
                 "Queryable properties"),
            link(f"{url}/schema", "http://www.opengis.net/def/rel/ogc/1.0/schema", SCHEMA_JSON,
                 "Schema of the features"),
            link(f"{url}/feature-schema", "describedby", SCHEMA_JSON, "Schema of a GeoJSON feature"),
            link(f"{site}/tiles/{collection.id}/{{z}}/{{x}}/{{y}}.mvt", "item", MVT, "Vector tiles",
                 templated=True),
        ]  # fmt: skip
        return description

    def parse_items_query(self, collection: Collection, args: Mapping[str, str]) -> tuple[ItemQuery, str]:
        allowed = ITEMS_PARAMETERS | set(collection.property_by_name)
        unknown = sorted(set(args) - allowed)
        if unknown:
            raise bad_request(
                f"Unknown parameter(s): {', '.join(unknown)}. Allowed: {', '.join(sorted(ITEMS_PARAMETERS))} "
                f"and the queryables of {collection.id}: {', '.join(collection.property_by_name)}."
            )
        query = ItemQuery()
        query.limit = min(parse_int(args.get("limit", str(DEFAULT_LIMIT)), "limit", minimum=1), MAX_LIMIT)
        query.offset = parse_int(args.get("offset", "0"), "offset", minimum=0)
        query.crs = self.parse_crs_arg(args.get("crs"), "crs")
        if "bbox" in args:
            query.bbox_crs = self.parse_crs_arg(args.get("bbox-crs"), "bbox-crs")
            query.bbox = parse_bbox(args["bbox"], query.bbox_crs)
        elif "bbox-crs" in args:
            raise bad_request("bbox-crs needs a bbox.")
        if "datetime" in args:
            query.time = parse_datetime(args["datetime"], collection)
        query.equals = {name: args[name] for name in collection.property_by_name if name in args}
        sortby = args.get("sortby", "")
        query.sort = parse_sortby(sortby, collection)
        if "filter" in args:
            if args.get("filter-lang", "cql2-text") != "cql2-text":
                raise bad_request("filter-lang: only cql2-text is offered.")
            filter_crs = self.parse_crs_arg(args.get("filter-crs"), "filter-crs")
            try:
                query.filter = cql2_sql.to_sql(cql2.parse(args["filter"]), collection, filter_crs)
            except (cql2.FilterSyntaxError, cql2_sql.UnsupportedFilter) as exc:
                raise bad_request(f"filter: {exc}") from None
        if "cursor" in args:
            if "offset" in args:
                raise bad_request("Use either cursor (from a next/prev link) or offset, not both.")
            query.after, query.backwards = decode_cursor(args["cursor"], sortby)
        return query, sortby

    @staticmethod
    def parse_crs_arg(value: str | None, name: str) -> Crs:
        if value is None:
            return CRS84
        crs = parse_crs(value)
        if crs is None:
            raise bad_request(
                f"{name}={value!r} is not offered; use one of {', '.join(c.uri for c in SUPPORTED)}."
            )
        return crs

    @staticmethod
    def parse_feature_id(collection: Collection, feature_id: str) -> object | None:
        if collection.id_type == "string":
            return feature_id
        if feature_id.isascii() and feature_id.isdigit() and int(feature_id) < 2**63:
            return int(feature_id)
        return None


def parse_int(value: str, name: str, minimum: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise bad_request(f"{name}={value!r}: expected a whole number.") from None
    if number < minimum:
        raise bad_request(f"{name}={value!r}: must be at least {minimum}.")
    return number


def parse_bbox(value: str, crs: Crs) -> tuple[float, float, float, float]:
    """bbox as (minx, miny, maxx, maxy) in x/y order; EPSG:4326 comes latitude first and is swapped."""
    try:
        numbers = [float(part) for part in value.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) not in (4, 6) or not all(math.isfinite(n) for n in numbers):
        raise bad_request(f"bbox={value!r}: expected 4 (or 6) comma-separated numbers minx,miny,maxx,maxy.")
    corners = numbers[:2] + numbers[3:5] if len(numbers) == 6 else numbers
    if crs.lat_first:
        corners = [corners[1], corners[0], corners[3], corners[2]]
    try:
        check_box(corners, crs)
    except OutsideCrs as exc:
        raise bad_request(f"bbox={value!r}: {exc}.") from None
    return corners[0], corners[1], corners[2], corners[3]


def _parse_instant(value: str, end_of_day: bool) -> datetime:
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            check_in_range(day, "datetime")
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1, microseconds=-1) if end_of_day else start
        moment = datetime.fromisoformat(value)
        check_in_range(moment, "datetime")
    except DateOutOfRange as exc:
        raise bad_request(f"{exc} (an open end is written ..).") from None
    except ValueError:
        raise bad_request(
            f"datetime: {value!r} is not an RFC 3339 date-time such as 2024-05-01T08:00:00Z."
        ) from None
    if moment.tzinfo is None:
        raise bad_request(f"datetime: {value!r} has no time zone; add Z or an offset such as +07:00.")
    return moment


def parse_datetime(value: str, collection: Collection) -> TimeFilter:
    """RFC 3339 instant, or interval ``start/end`` with ``..`` (or empty) for an open end."""
    if collection.time_column is None:
        raise bad_request(f"Collection {collection.id} has no time dimension; leave out datetime.")
    if "/" not in value:
        if len(value) == 10 and not collection.validity:
            return TimeFilter(_parse_instant(value, False), _parse_instant(value, True))
        moment = _parse_instant(value, False)
        return TimeFilter(moment, moment)
    if collection.validity:
        raise bad_request(
            f"Collection {collection.id} keeps versions: datetime selects its state at one instant, "
            "e.g. datetime=2024-01-01T00:00:00Z; intervals are not offered."
        )
    start_text, _, end_text = value.partition("/")
    start = None if start_text in ("", "..") else _parse_instant(start_text, False)
    end = None if end_text in ("", "..") else _parse_instant(end_text, True)
    if start is None and end is None:
        raise bad_request("datetime: an interval needs at least one end (e.g. 2024-01-01T00:00:00Z/..).")
    if start is not None and end is not None and start > end:
        raise bad_request(f"datetime={value!r}: the start is after the end.")
    return TimeFilter(start, end)


def parse_sortby(value: str, collection: Collection) -> list[tuple[str, bool]]:
    keys = []
    for part in filter(None, (p.strip() for p in value.split(","))):
        desc = part.startswith("-")
        name = part.lstrip("+-")
        if name not in collection.property_by_name:
            raise bad_request(
                f"sortby: {name!r} is not a property of {collection.id}; use "
                f"{', '.join(collection.property_by_name)} with + or - in front."
            )
        keys.append((name, desc))
    return keys


def rfc3339(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# -- cursors: opaque to clients, typed so keys compare in their own SQL type ---------------------------
def _encode_key(value):
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    return value


def _decode_key(value):
    if isinstance(value, dict) and len(value) == 1:
        ((tag, text),) = value.items()
        decoders = {"t": datetime.fromisoformat, "d": date.fromisoformat, "n": Decimal}
        return decoders[tag](text)
    if isinstance(value, list | dict):
        raise ValueError("nested key")
    return value


def encode_cursor(keys: list, sortby: str, backwards: bool) -> str:
    payload = json.dumps(
        {"k": [_encode_key(k) for k in keys], "s": sortby, "b": backwards}, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sortby: str) -> tuple[list, bool]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        keys = [_decode_key(k) for k in payload["k"]]
        cursor_sortby, backwards = payload["s"], bool(payload["b"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise bad_request(
            "cursor: not a cursor from a next/prev link; start again from the first page."
        ) from None
    if cursor_sortby != sortby:
        raise bad_request(
            "cursor: it belongs to another sortby; keep sortby as it was in the next/prev link."
        )
    return keys, backwards
