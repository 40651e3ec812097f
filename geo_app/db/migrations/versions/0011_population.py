"""Population grid: where the people of each kelurahan live, from a population raster (WorldPop, GHSL).

``population_grids`` holds one row per city: which raster (the population model named in every answer),
its year and source, the cell size and the kelurahan whose raster held nobody (their people are spread
evenly). ``population_cells`` are the squares of that grid in the city's metric CRS (centre ``x``, ``y``
and the polygon in EPSG:4326), each in the kelurahan holding its centre, with people scaled so each
kelurahan sums to its official population; ``raster_population`` keeps the raster's own figure, the
pattern new official totals are spread by again. The cells are rewritten whole on every import, so only the
grid row is audited.

Revision ID: 0011_population
Revises: 0007
"""

from alembic import op

revision = "0011_population"
down_revision = "0007"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE population_grids (
    city_code text PRIMARY KEY REFERENCES cities (code) ON DELETE CASCADE,
    model text NOT NULL CHECK (model <> '' AND model <> 'even_by_area'),
    year integer CHECK (year BETWEEN 1900 AND 2200),
    source text NOT NULL,
    cell_size_m double precision NOT NULL CHECK (cell_size_m > 0),
    raster_crs text NOT NULL,
    even_spread_kelurahan text[] NOT NULL DEFAULT '{}',
    imported_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE population_cells (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    city_code text NOT NULL REFERENCES population_grids (city_code) ON DELETE CASCADE,
    kelurahan_code text NOT NULL REFERENCES admin_areas (code) ON DELETE CASCADE,
    population double precision NOT NULL CHECK (population >= 0),
    raster_population double precision NOT NULL CHECK (raster_population >= 0),
    x double precision NOT NULL,
    y double precision NOT NULL,
    geom geometry(Polygon, 4326) NOT NULL
);
CREATE INDEX population_cells_kelurahan_idx ON population_cells (city_code, kelurahan_code);
CREATE INDEX population_cells_geom_idx ON population_cells USING gist (geom);

SELECT audit_enable('population_grids', 'city_code');
"""

DOWNGRADE = """
DROP TABLE IF EXISTS population_cells, population_grids;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
