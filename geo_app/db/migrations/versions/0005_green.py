"""Green areas: history integrity and indexes for current-state and as-of queries.

Versions of one feature may never overlap in time (an exclusion constraint on id and validity range),
so an as-of query finds at most one version of each feature. Partial indexes serve the common
"current state" queries (valid_to IS NULL).

Revision ID: 0005_green
Revises: 0001
"""

from alembic import op

revision = "0005_green"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;

ALTER TABLE green_areas ADD CONSTRAINT green_areas_versions_do_not_overlap
    EXCLUDE USING gist (id WITH =, tstzrange(valid_from, valid_to) WITH &&);

CREATE INDEX green_areas_current_geom_idx ON green_areas USING gist (geom) WHERE valid_to IS NULL;
CREATE INDEX green_areas_current_city_idx ON green_areas (city_code, id) WHERE valid_to IS NULL;
"""

DOWNGRADE = """
DROP INDEX IF EXISTS green_areas_current_city_idx;
DROP INDEX IF EXISTS green_areas_current_geom_idx;
ALTER TABLE green_areas DROP CONSTRAINT IF EXISTS green_areas_versions_do_not_overlap;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
