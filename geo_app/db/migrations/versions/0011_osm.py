"""OpenStreetMap road classes and gazetteer entries: toll roads, jalan lingkungan and ferries in the road
network; places (kampung, dusun, neighbourhoods) in the gazetteer, each entry with its kind of place and
the other names people use for it (SDN / SD Negeri, RSUD / Rumah Sakit Umum Daerah, Kp. / Kampung).

Revision ID: 0011_osm
Revises: 0001
"""

from alembic import op

revision = "0011_osm"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = """
ALTER TABLE roads DROP CONSTRAINT roads_road_class_check;
ALTER TABLE roads ADD CONSTRAINT roads_road_class_check
    CHECK (road_class IN ('tol', 'arteri', 'kolektor', 'lokal', 'lingkungan', 'penyeberangan'));
CREATE INDEX roads_city_idx ON roads (city_code);
-- Deleting a city's nodes checks that no road still uses them: without these, once per node over all roads.
CREATE INDEX roads_source_idx ON roads (source);
CREATE INDEX roads_target_idx ON roads (target);

ALTER TABLE gazetteer DROP CONSTRAINT gazetteer_kind_check;
ALTER TABLE gazetteer ADD CONSTRAINT gazetteer_kind_check CHECK (kind IN ('street', 'landmark', 'place'));
ALTER TABLE gazetteer ADD COLUMN category text;
ALTER TABLE gazetteer ADD COLUMN name_variants text[] NOT NULL DEFAULT '{}';
CREATE INDEX gazetteer_city_kind_idx ON gazetteer (city_code, kind);
"""

DOWNGRADE = """
DROP INDEX gazetteer_city_kind_idx;
DELETE FROM gazetteer WHERE kind = 'place';
ALTER TABLE gazetteer DROP COLUMN name_variants;
ALTER TABLE gazetteer DROP COLUMN category;
ALTER TABLE gazetteer DROP CONSTRAINT gazetteer_kind_check;
ALTER TABLE gazetteer ADD CONSTRAINT gazetteer_kind_check CHECK (kind IN ('street', 'landmark'));

DROP INDEX roads_city_idx, roads_source_idx, roads_target_idx;
DELETE FROM roads WHERE road_class NOT IN ('arteri', 'kolektor', 'lokal');
DELETE FROM road_nodes n WHERE NOT EXISTS (SELECT 1 FROM roads r WHERE n.id IN (r.source, r.target));
ALTER TABLE roads DROP CONSTRAINT roads_road_class_check;
ALTER TABLE roads ADD CONSTRAINT roads_road_class_check CHECK (road_class IN ('arteri', 'kolektor', 'lokal'));
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
