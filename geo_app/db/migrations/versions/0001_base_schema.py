"""Base schema: cities, admin areas, assets, incidents, green areas, roads, gazetteer, dataset loads.

Every table carries the city code so one database can serve many cities. Geometries are stored in
EPSG:4326 with type/SRID typmods, validity checks and GiST indexes; metric work happens in EPSG:32748.

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS pgrouting;

CREATE TABLE cities (
    code text PRIMARY KEY CHECK (code ~ '^[0-9]{2}\.[0-9]{2}$'),
    name text NOT NULL,
    timezone text NOT NULL DEFAULT 'Asia/Jakarta',
    metric_srid integer NOT NULL DEFAULT 32748,
    official_area_km2 numeric CHECK (official_area_km2 > 0),
    official_area_source text
);

CREATE TABLE admin_areas (
    code text PRIMARY KEY,
    city_code text NOT NULL REFERENCES cities (code) ON DELETE CASCADE,
    level text NOT NULL CHECK (level IN ('kota', 'kecamatan', 'kelurahan')),
    name text NOT NULL,
    name_variants text[] NOT NULL DEFAULT '{}',
    parent_code text REFERENCES admin_areas (code) DEFERRABLE INITIALLY DEFERRED,
    population integer CHECK (population >= 0),
    population_source text,
    population_year integer CHECK (population_year BETWEEN 1900 AND 2200),
    population_is_estimate boolean NOT NULL DEFAULT false,
    official_area_km2 numeric CHECK (official_area_km2 > 0),
    boundary_source text NOT NULL,
    geom geometry(MultiPolygon, 4326) NOT NULL
        CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    CHECK (level = 'kota' OR parent_code IS NOT NULL),
    CHECK (code LIKE city_code || '%')
);
CREATE INDEX admin_areas_geom_idx ON admin_areas USING gist (geom);
CREATE INDEX admin_areas_city_level_idx ON admin_areas (city_code, level);

CREATE TABLE assets (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    city_code text NOT NULL REFERENCES cities (code) ON DELETE CASCADE,
    asset_type text NOT NULL,
    name text NOT NULL,
    status text NOT NULL DEFAULT 'active'
        CHECK (status IN ('planned', 'active', 'maintenance', 'inactive')),
    owner_opd text NOT NULL,
    dimension text NOT NULL
        CHECK (dimension IN ('governance', 'economy', 'society', 'living', 'environment',
                             'branding')),
    roadmap_phase text CHECK (roadmap_phase IN ('quick_win', 'short', 'medium', 'long')),
    kelurahan_code text REFERENCES admin_areas (code) ON DELETE SET NULL,
    coverage_radius_m double precision CHECK (coverage_radius_m > 0),
    properties jsonb NOT NULL DEFAULT '{}',
    source text,
    geom geometry(Geometry, 4326) NOT NULL CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assets_geom_idx ON assets USING gist (geom);
CREATE INDEX assets_city_type_idx ON assets (city_code, asset_type, id);

CREATE TABLE incidents (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    city_code text NOT NULL REFERENCES cities (code) ON DELETE CASCADE,
    external_id text NOT NULL,
    call_type text NOT NULL
        CHECK (call_type IN ('darurat', 'informasi', 'prank', 'ghost', 'dropped')),
    category text,
    description text,
    address text,
    geom geometry(Point, 4326) CHECK (geom IS NULL OR ST_IsValid(geom)),
    geocode_precision text NOT NULL DEFAULT 'none'
        CHECK (geocode_precision IN ('exact', 'street', 'kelurahan', 'none')),
    geocode_source text,
    geocode_score real,
    kelurahan_code text REFERENCES admin_areas (code) ON DELETE SET NULL,
    kecamatan_code text REFERENCES admin_areas (code) ON DELETE SET NULL,
    received_at timestamptz NOT NULL,
    dispatched_at timestamptz,
    arrived_at timestamptz,
    closed_at timestamptz,
    status text NOT NULL DEFAULT 'received'
        CHECK (status IN ('received', 'dispatched', 'on_scene', 'closed', 'cancelled')),
    responding_opd text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (city_code, external_id),
    CHECK ((geom IS NULL) = (geocode_precision = 'none')),
    CHECK (dispatched_at IS NULL OR dispatched_at >= received_at),
    CHECK (arrived_at IS NULL OR arrived_at >= coalesce(dispatched_at, received_at)),
    CHECK (closed_at IS NULL OR closed_at >= received_at)
);
CREATE INDEX incidents_geom_idx ON incidents USING gist (geom);
CREATE INDEX incidents_city_received_idx ON incidents (city_code, received_at);

-- Personal data of callers: kept apart so maps, tiles and exports cannot select it by accident.
CREATE TABLE incident_callers (
    incident_id bigint PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
    caller_name text,
    caller_phone text
);

-- Green open space with history: one row per version; the current version has valid_to NULL.
CREATE SEQUENCE green_area_feature_id_seq;
CREATE TABLE green_areas (
    version_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id bigint NOT NULL DEFAULT nextval('green_area_feature_id_seq'),
    city_code text NOT NULL REFERENCES cities (code) ON DELETE CASCADE,
    green_type text NOT NULL,
    is_public boolean NOT NULL,
    managing_opd text,
    name text,
    survey_date date,
    source text,
    geom geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    area_ha double precision GENERATED ALWAYS AS (ST_Area(ST_Transform(geom, 32748)) / 10000.0)
        STORED,
    valid_from timestamptz NOT NULL DEFAULT now(),
    valid_to timestamptz,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE UNIQUE INDEX green_areas_current_id_idx ON green_areas (id) WHERE valid_to IS NULL;
CREATE INDEX green_areas_geom_idx ON green_areas USING gist (geom);
CREATE INDEX green_areas_validity_idx ON green_areas (city_code, valid_from, valid_to);

-- Road graph for travel-time analyses (pgRouting: source/target node ids, costs in seconds).
CREATE TABLE road_nodes (
    id bigint PRIMARY KEY,
    city_code text NOT NULL REFERENCES cities (code) ON DELETE CASCADE,
    geom geometry(Point, 4326) NOT NULL
);
CREATE INDEX road_nodes_geom_idx ON road_nodes USING gist (geom);
CREATE TABLE roads (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    city_code text NOT NULL REFERENCES cities (code) ON DELETE CASCADE,
    name text,
    road_class text NOT NULL CHECK (road_class IN ('arteri', 'kolektor', 'lokal')),
    speed_kmh double precision NOT NULL CHECK (speed_kmh > 0),
    source bigint NOT NULL REFERENCES road_nodes (id),
    target bigint NOT NULL REFERENCES road_nodes (id),
    length_m double precision NOT NULL CHECK (length_m >= 0),
    cost_s double precision NOT NULL,
    reverse_cost_s double precision NOT NULL,
    geom geometry(LineString, 4326) NOT NULL CHECK (ST_IsValid(geom))
);
CREATE INDEX roads_geom_idx ON roads USING gist (geom);

-- Gazetteer for offline geocoding: street names and landmarks with their kelurahan.
CREATE TABLE gazetteer (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    city_code text NOT NULL REFERENCES cities (code) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('street', 'landmark')),
    name text NOT NULL,
    kelurahan_code text REFERENCES admin_areas (code) ON DELETE SET NULL,
    geom geometry(Geometry, 4326) NOT NULL
);
CREATE INDEX gazetteer_geom_idx ON gazetteer USING gist (geom);
CREATE INDEX gazetteer_name_trgm_idx ON gazetteer USING gin (lower(name) gin_trgm_ops);

-- Where each layer's rows came from, and whether they are generated sample data.
CREATE TABLE dataset_loads (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    city_code text NOT NULL REFERENCES cities (code) ON DELETE CASCADE,
    layer text NOT NULL,
    source text NOT NULL,
    is_sample boolean NOT NULL,
    row_count integer NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);
"""

DOWNGRADE = """
DROP TABLE IF EXISTS dataset_loads, gazetteer, roads, road_nodes, green_areas, incident_callers,
    incidents, assets, admin_areas, cities CASCADE;
DROP SEQUENCE IF EXISTS green_area_feature_id_seq;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
