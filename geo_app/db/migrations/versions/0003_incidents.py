"""112 incidents: metric coordinates for fast aggregation, import batches, text parsing helpers.

``metric_x``/``metric_y`` are the point in EPSG:32748 (the metric CRS of the cities served so far; see
cities.metric_srid), kept by PostgreSQL itself so every writer (imports, the sample data generator, the
live API) fills them. Hot-spot grids then bin a million incidents with arithmetic instead of a spatial
join.

Revision ID: 0003_incidents
Revises: 0001
"""

from alembic import op

revision = "0003_incidents"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE incident_imports (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    city_code text NOT NULL REFERENCES cities (code) ON DELETE CASCADE,
    source text NOT NULL,
    rows_read integer NOT NULL,
    inserted integer NOT NULL,
    updated integer NOT NULL,
    unchanged integer NOT NULL,
    rejected integer NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE incidents
    ADD COLUMN metric_x double precision
        GENERATED ALWAYS AS (ST_X(ST_Transform(geom, 32748))) STORED,
    ADD COLUMN metric_y double precision
        GENERATED ALWAYS AS (ST_Y(ST_Transform(geom, 32748))) STORED,
    ADD COLUMN import_id bigint REFERENCES incident_imports (id) ON DELETE SET NULL;

-- No further indexes on incidents: each one slows every import more than it speeds the analyses,
-- which scan the city's incidents anyway; the list API pages on (city_code, received_at) from 0001.

-- Text to timestamptz without raising: NULL for anything that is not an ISO 8601 date-time (with or
-- without an offset; without one the time is read in ``zone``). A single-expression SQL function, so the
-- planner inlines it and a million-row import validates its timestamps set-based, without exceptions.
CREATE FUNCTION incident_parse_time(value text, zone text) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN value ~ ('^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])'
                              || '[T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$')
        THEN CASE WHEN substr(value, 9, 2)::int <= extract(day from
                      make_date(substr(value, 1, 4)::int, substr(value, 6, 2)::int, 1)
                      + interval '1 month - 1 day')
            THEN CASE WHEN value ~ '(Z|[+-]\d{2}(:?\d{2})?)$' THEN value::timestamptz
                      ELSE value::timestamp AT TIME ZONE zone END
        END
    END
$$;

-- The one normalisation of place names, used on both sides of every pg_trgm comparison: lower case,
-- common Indonesian abbreviations spelt out, street/area prefixes and punctuation dropped.
CREATE FUNCTION geocode_normalise(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT btrim(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
        regexp_replace(lower(value), 'k\.?\s*h\.\s*|\mkh\M', ' kyai haji ', 'g'),
        '\mh\.\s*', ' haji ', 'g'),
        '\mjend\M\.?', ' jenderal ', 'g'),
        '[^a-z0-9]+', ' ', 'g'),
        '\m(jalan|jln|jl|gang|gg|kelurahan|kel|desa|ds|kecamatan|kec|kota)\M', ' ', 'g'),
        '\s+', ' ', 'g'))
$$;
"""

DOWNGRADE = """
ALTER TABLE incidents DROP COLUMN IF EXISTS metric_x, DROP COLUMN IF EXISTS metric_y,
    DROP COLUMN IF EXISTS import_id;
DROP TABLE IF EXISTS incident_imports;
DROP FUNCTION IF EXISTS incident_parse_time(text, text);
DROP FUNCTION IF EXISTS geocode_normalise(text);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
