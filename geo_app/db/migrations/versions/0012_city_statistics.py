"""Extended statistics on (city, type) pairs, so row estimates hold when a table keeps several cities.

The planner multiplies the selectivities of ``city_code = …`` and ``asset_type = …`` as if they were
independent; with two cities whose types differ (one has all the CCTV) that halved the estimate that
``numberMatched`` reports above its exact-count limit. A most-common-values list over the pair gives the
planner each combination's real share.

Revision ID: 0012_city_statistics
Revises: 0004_assets, 0005_green, 0011
"""

from alembic import op

revision = "0012_city_statistics"
down_revision = ("0004_assets", "0005_green", "0011")
branch_labels = None
depends_on = None

STATISTICS = {
    "assets_city_type_stats": ("assets", "city_code, asset_type"),
    "incidents_city_call_stats": ("incidents", "city_code, call_type, category"),
    "green_areas_city_type_stats": ("green_areas", "city_code, green_type"),
    "admin_areas_city_level_stats": ("admin_areas", "city_code, level"),
}


def upgrade() -> None:
    for name, (table, columns) in STATISTICS.items():
        op.execute(f"CREATE STATISTICS {name} (mcv, dependencies) ON {columns} FROM {table}")
        op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    for name in STATISTICS:
        op.execute(f"DROP STATISTICS {name}")
