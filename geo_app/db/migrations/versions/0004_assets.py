"""Assets: indexes for the API filters and keyset paging, and updated_at kept by PostgreSQL.

The list endpoint pages by id within a city (``id > after ORDER BY id``) and filters by status, kelurahan
and owner OPD; the foreign key to admin_areas needs an index so deleting an area does not scan assets.

Revision ID: 0004_assets
Revises: 0001
"""

from alembic import op

revision = "0004_assets"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE INDEX assets_city_id_idx ON assets (city_code, id);
CREATE INDEX assets_kelurahan_idx ON assets (kelurahan_code);
CREATE INDEX assets_city_status_idx ON assets (city_code, status);

CREATE FUNCTION assets_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER assets_touch_updated_at BEFORE UPDATE ON assets
    FOR EACH ROW EXECUTE FUNCTION assets_touch_updated_at();
"""

DOWNGRADE = """
DROP TRIGGER IF EXISTS assets_touch_updated_at ON assets;
DROP FUNCTION IF EXISTS assets_touch_updated_at();
DROP INDEX IF EXISTS assets_city_status_idx;
DROP INDEX IF EXISTS assets_kelurahan_idx;
DROP INDEX IF EXISTS assets_city_id_idx;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
