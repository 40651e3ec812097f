"""OGC API and vector tiles: tile-key functions and indexes for the public incident points.

Incidents arrive in time order, so the points of one area lie on pages all over the table and a dense
tile or bbox visits most of the heap. Three partial indexes cover the public collection (call type
darurat with a location, as geo_app.published publishes it):

- ``incidents_public_geom_idx``: GiST on the geometry, for bbox counts and filters;
- ``incidents_public_id_idx``: ids in order with the geometry included, so a bbox page scans ids past
  the points outside the bbox without reading the table;
- ``incidents_public_tile_idx``: the zoom-14 tile of each point (``ogc_tile_x``/``ogc_tile_y``) with the
  geometry included, so a tile is one index-only range scan.

Revision ID: 0006_ogc
Revises: 0001
"""

from alembic import op

revision = "0006_ogc"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = r"""
-- Column and row of the Web Mercator tile at zoom z that holds a point (lon/lat, EPSG:4326).
CREATE FUNCTION ogc_tile_x(g geometry, z integer) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT floor((ST_X(g) + 180) / 360 * (1 << z))::integer
$$;
CREATE FUNCTION ogc_tile_y(g geometry, z integer) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT floor((1 - asinh(tan(radians(ST_Y(g)))) / pi()) / 2 * (1 << z))::integer
$$;

CREATE INDEX incidents_public_geom_idx ON incidents USING gist (geom)
    WHERE call_type = 'darurat' AND geom IS NOT NULL;
CREATE INDEX incidents_public_id_idx ON incidents (city_code, id) INCLUDE (geom)
    WHERE call_type = 'darurat' AND geom IS NOT NULL;
CREATE INDEX incidents_public_tile_idx ON incidents
    (city_code, ogc_tile_x(geom, 14), ogc_tile_y(geom, 14)) INCLUDE (geom)
    WHERE call_type = 'darurat' AND geom IS NOT NULL;
"""

DOWNGRADE = """
DROP INDEX IF EXISTS incidents_public_tile_idx;
DROP INDEX IF EXISTS incidents_public_id_idx;
DROP INDEX IF EXISTS incidents_public_geom_idx;
DROP FUNCTION IF EXISTS ogc_tile_y(geometry, integer);
DROP FUNCTION IF EXISTS ogc_tile_x(geometry, integer);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
