"""The collection registry: every layer published through /ogc, /tiles and the OWS services, declared,
not coded (it sits below geo_app.store and geo_app.ogc, which both read it).

A :class:`Collection` names its source table, id column, the properties it publishes, its time
dimension and the fixed restrictions that make it safe to publish. Only the properties listed here ever
leave the database, and only rows matching ``restrictions`` are ever served (items, item by id, tiles
and extents alike), so a public view is defined once. Every source table carries ``city_code``; the
queries always restrict to the city the service answers for.

112 incidents (collection ``incidents``, for the roles that see exact points): only call type ``darurat``
with a location, and only fields every one of those roles may see (geo_app.auth.privacy, checked when the
registry is built): ``incident_callers`` is never read, and ``description``, ``address`` and
``external_id`` are left out because call-takers type names, phone numbers and house addresses into them
and the call-centre number links back to the caller's record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

from geo_app.auth.privacy import incident_fields_for_all
from geo_app.auth.roles import INCIDENT_READERS
from geo_app.catalog import Catalog, RoadClass

PropertyType = Literal["string", "integer", "number", "boolean", "date-time", "date"]

# PostgreSQL type of each property type: literals in filters are cast to it, so a wrong value is a
# clear 400 instead of a silent string comparison.
PG_TYPES: dict[str, str] = {
    "string": "text",
    "integer": "bigint",
    "number": "double precision",
    "boolean": "boolean",
    "date-time": "timestamptz",
    "date": "date",
}

GeometryType = Literal["Point", "LineString", "Polygon", "MultiPolygon", "Geometry"]
MIXED = "Geometry"
"""The geometry type of a collection whose features are not all of one type (points and lines...)."""

PUBLIC_CALL_TYPES = ("darurat",)  # the partial indexes of migration 0006 assume this


@dataclass(frozen=True)
class Property:
    """One published attribute: its API name, source column and type."""

    name: str
    column: str
    type: PropertyType
    description: str = ""
    enum: tuple[str, ...] = ()
    in_tiles: bool = False

    @property
    def pg_type(self) -> str:
        return PG_TYPES[self.type]


@dataclass(frozen=True)
class Collection:
    """One OGC API collection (and vector-tile layer) over a table, with its public restrictions.

    ``restrictions`` are ``(column, allowed values)`` pairs always applied. ``temporal`` is the column of
    an event time (``datetime`` selects by it); ``validity`` the ``(valid_from, valid_to)`` columns of a
    versioned table, whose current rows have ``valid_to`` NULL and whose past state ``datetime`` selects.
    ``tile_zoom_by`` is ``(column, ((value, zoom), ...))``: tiles hold rows of a listed value from that zoom
    on only (side streets appear when zoomed in, as on any street map). ``geometry_type`` is declared, so
    clients never guess it from the first features; ``Geometry`` (mixed) collections stay out of the
    default collection list, since QGIS would give the whole layer the type of its first feature.
    """

    id: str
    title: str
    description: str
    table: str
    properties: tuple[Property, ...]
    geometry_type: GeometryType
    id_column: str = "id"
    id_type: Literal["integer", "string"] = "integer"
    restrictions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    require_geometry: bool = False
    temporal: str | None = None
    validity: tuple[str, str] | None = None
    keywords: tuple[str, ...] = ()
    tile_min_zoom: int = 0
    tile_zoom_by: tuple[str, tuple[tuple[str, int], ...]] | None = None
    cluster_below_zoom: int | None = None
    cache_seconds: int = 300
    property_by_name: dict[str, Property] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if "." in self.id:
            raise ValueError(f"collection id {self.id!r}: dots break OGC API clients")
        object.__setattr__(self, "property_by_name", {p.name: p for p in self.properties})

    @property
    def is_mixed(self) -> bool:
        return self.geometry_type == MIXED

    @property
    def tile_properties(self) -> tuple[Property, ...]:
        return tuple(p for p in self.properties if p.in_tiles)

    @property
    def time_column(self) -> str | None:
        return self.temporal or (self.validity[0] if self.validity else None)


ID_DESCRIPTION = "Feature id (also the feature's id member, so clients that renumber features keep it)"


def _id_property(name: str, value_type: PropertyType) -> Property:
    """The id as a property too: QGIS numbers features 1..N by itself and shows only properties."""
    return Property(name, name, value_type, ID_DESCRIPTION)


def _area_properties() -> tuple[Property, ...]:
    return (
        _id_property("code", "string"),
        Property("name", "name", "string", "Official name", in_tiles=True),
        Property("level", "level", "string", "kecamatan or kelurahan"),
        Property("parent_code", "parent_code", "string", "Kemendagri code of the parent area"),
        Property("population", "population", "integer", "Residents", in_tiles=True),
        Property("population_year", "population_year", "integer", "Year of the population figure"),
        Property("population_source", "population_source", "string", "Where the population comes from"),
        Property("population_is_estimate", "population_is_estimate", "boolean", "Population is estimated"),
        Property("official_area_km2", "official_area_km2", "number", "Official area in km²"),
        Property("boundary_source", "boundary_source", "string", "Where the boundary comes from"),
    )


def _asset_properties(catalog: Catalog) -> tuple[Property, ...]:
    return (
        _id_property("id", "integer"),
        Property("name", "name", "string", "Asset name", in_tiles=True),
        Property(
            "asset_type",
            "asset_type",
            "string",
            "Asset type (layer catalog)",
            tuple(catalog.asset_types),
            in_tiles=True,
        ),
        Property("status", "status", "string", "planned, active, maintenance or inactive", in_tiles=True),
        Property("owner_opd", "owner_opd", "string", "Responsible OPD"),
        Property("dimension", "dimension", "string", "Smart-city dimension"),
        Property("roadmap_phase", "roadmap_phase", "string", "Roadmap phase"),
        Property("kelurahan_code", "kelurahan_code", "string", "Kelurahan the asset lies in"),
        Property("coverage_radius_m", "coverage_radius_m", "number", "Service radius in metres"),
        Property("source", "source", "string", "Dataset the asset comes from"),
        Property("updated_at", "updated_at", "date-time", "Last change"),
    )


def _incident_properties(catalog: Catalog) -> tuple[Property, ...]:
    return (
        _id_property("id", "integer"),
        Property(
            "category",
            "category",
            "string",
            "112 incident category",
            tuple(catalog.incident_categories),
            in_tiles=True,
        ),
        Property(
            "status", "status", "string", "received, dispatched, on_scene, closed or cancelled", in_tiles=True
        ),
        Property("received_at", "received_at", "date-time", "Call received", in_tiles=True),
        Property("dispatched_at", "dispatched_at", "date-time", "Responders dispatched"),
        Property("arrived_at", "arrived_at", "date-time", "Responders on scene"),
        Property("closed_at", "closed_at", "date-time", "Incident closed"),
        Property("responding_opd", "responding_opd", "string", "Responding OPD"),
        Property("kelurahan_code", "kelurahan_code", "string", "Kelurahan of the location"),
        Property("kecamatan_code", "kecamatan_code", "string", "Kecamatan of the location"),
        Property("geocode_precision", "geocode_precision", "string", "exact, street or kelurahan"),
    )


def _green_properties(catalog: Catalog) -> tuple[Property, ...]:
    return (
        _id_property("id", "integer"),
        Property("name", "name", "string", "Name", in_tiles=True),
        Property(
            "green_type",
            "green_type",
            "string",
            "RTH type (layer catalog)",
            tuple(catalog.green_types),
            in_tiles=True,
        ),
        Property("is_public", "is_public", "boolean", "Public (RTH publik) or private", in_tiles=True),
        Property("managing_opd", "managing_opd", "string", "Managing OPD"),
        Property("survey_date", "survey_date", "date", "Survey date"),
        Property("source", "source", "string", "Dataset the area comes from"),
        Property("area_ha", "area_ha", "number", "Area in hectares (in the city's UTM zone)", in_tiles=True),
        Property("valid_from", "valid_from", "date-time", "This version is valid from"),
        Property("valid_to", "valid_to", "date-time", "This version is valid until (empty: current)"),
    )


ROAD_CLASSES = get_args(RoadClass)
# Zoom from which each road class is in the tiles (a whole city is about zoom 11-12 on a screen).
ROAD_TILE_ZOOMS = (("kolektor", 10), ("lokal", 12), ("lingkungan", 14))


def _road_properties() -> tuple[Property, ...]:
    return (
        _id_property("id", "integer"),
        Property("name", "name", "string", "Street name (empty: unnamed road)", in_tiles=True),
        Property("road_class", "road_class", "string", "Road class", ROAD_CLASSES, in_tiles=True),
        Property("speed_kmh", "speed_kmh", "number", "Travel speed in km/h (maxspeed or the class default)"),
        Property("length_m", "length_m", "number", "Length in metres (in the city's UTM zone)"),
        Property("cost_s", "cost_s", "number", "Seconds from source to target (negative: not allowed)"),
        Property("reverse_cost_s", "reverse_cost_s", "number", "Seconds back (negative: one-way)"),
    )


def _place_properties() -> tuple[Property, ...]:
    return (
        _id_property("id", "integer"),
        Property("name", "name", "string", "Name", in_tiles=True),
        Property("category", "category", "string", "OSM place: suburb, village, hamlet ...", in_tiles=True),
        Property("kelurahan_code", "kelurahan_code", "string", "Kelurahan the place lies in"),
    )


def build_collections(catalog: Catalog) -> dict[str, Collection]:
    """Every published collection, keyed by id, in the order the landing page lists them."""
    collections = [
        Collection(
            id=level,
            title=f"{level.capitalize()} boundaries",
            description=f"Administrative areas of level {level} with population.",
            table="admin_areas",
            id_column="code",
            id_type="string",
            properties=_area_properties(),
            geometry_type="MultiPolygon",
            restrictions=(("level", (level,)),),
            keywords=("admin areas", level),
            cache_seconds=3600,
        )
        for level in ("kecamatan", "kelurahan")
    ]
    asset_properties = _asset_properties(catalog)
    asset_geometry_types = {asset_type.geometry_type for asset_type in catalog.asset_types.values()} or {
        MIXED
    }
    collections.append(
        Collection(
            id="assets",
            title="Smart-city assets",
            description="Every infrastructure asset of every type in the layer catalog, points and lines "
            "together; the assets_<type> collections hold one geometry type each.",
            table="assets",
            properties=asset_properties,
            geometry_type=MIXED if len(asset_geometry_types) > 1 else next(iter(asset_geometry_types)),
            restrictions=(("asset_type", tuple(catalog.asset_types)),),  # a city's unused types stay out
            keywords=("assets",),
        )
    )
    collections.extend(
        Collection(
            id=f"assets_{asset_type.id}",
            title=asset_type.label,
            description=f"Assets of type {asset_type.id} ({asset_type.geometry_type}), "
            f"usually run by {asset_type.owner_opd}.",
            table="assets",
            properties=asset_properties,
            restrictions=(("asset_type", (asset_type.id,)),),
            geometry_type=asset_type.geometry_type,
            keywords=("assets", asset_type.id),
        )
        for asset_type in catalog.asset_types.values()
    )
    collections.append(
        Collection(
            id="incidents",
            title="112 emergency incidents (public)",
            description="Geocoded 112 emergency calls (call type darurat) without any personal data: "
            "no caller, description, address or call-centre number.",
            table="incidents",
            properties=_incident_properties(catalog),
            geometry_type="Point",
            restrictions=(("call_type", PUBLIC_CALL_TYPES),),
            require_geometry=True,
            temporal="received_at",
            keywords=("112", "incidents"),
            tile_min_zoom=10,
            cluster_below_zoom=16,
            cache_seconds=60,
        )
    )
    collections.append(
        Collection(
            id="green_areas",
            title="Green open space (RTH)",
            description="Current green open space; datetime=<instant> gives the state at that time.",
            table="green_areas",
            properties=_green_properties(catalog),
            geometry_type="MultiPolygon",
            validity=("valid_from", "valid_to"),
            keywords=("RTH", "green open space"),
        )
    )
    collections.append(
        Collection(
            id="roads",
            title="Road network",
            description="Roads of the travel-time network (from OpenStreetMap, or the sample city's) with "
            "class, speed and costs both ways; side streets are in the tiles from zoom 12 and 14 on.",
            table="roads",
            properties=_road_properties(),
            geometry_type="LineString",
            keywords=("roads", "OpenStreetMap"),
            tile_zoom_by=("road_class", ROAD_TILE_ZOOMS),
            cache_seconds=3600,
        )
    )
    collections.append(
        Collection(
            id="places",
            title="Places",
            description="Named places (OpenStreetMap place=*): kecamatan and kelurahan names, kampung, "
            "dusun, neighbourhoods.",
            table="gazetteer",
            properties=_place_properties(),
            geometry_type=MIXED,  # OpenStreetMap places are nodes or areas
            restrictions=(("kind", ("place",)),),
            keywords=("places", "gazetteer", "OpenStreetMap"),
            cache_seconds=3600,
        )
    )
    for collection in collections:
        if collection.table == "incidents":
            check_incident_properties(collection)
        if not any(p.column == collection.id_column for p in collection.properties):
            raise ValueError(f"collection {collection.id} does not publish its id {collection.id_column!r}")
    return {collection.id: collection for collection in collections}


def check_incident_properties(collection: Collection) -> None:
    """An incident collection (items, tiles, filters) publishes no field one of its readers may not see.

    Its answers are the same for every reader (and tiles are cached across them), so each property must
    be one every role of INCIDENT_READERS may see (the permission table opens incidents* to those roles).
    """
    shown = incident_fields_for_all(INCIDENT_READERS)
    published = [collection.id_column, *(p.column for p in collection.properties)]
    hidden = [column for column in published if column not in shown]
    if hidden:
        raise ValueError(
            f"collection {collection.id!r} publishes {', '.join(hidden)}, which not every role reading "
            "incidents may see (geo_app.auth.privacy.INCIDENT_FIELD_ROLES)"
        )
