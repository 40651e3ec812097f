"""Users belong to a city, or to the national office.

``users.city_code`` is the city whose data the user works with: every request for another city answers
404 (geo_app.web.access). NULL is a national account, which reads every city and writes none. Users made
before this revision worked for the deployment's one city (``CITY_CODE``, 36.72 unless set), so they are
given that city when it is in the database; otherwise they stay without one and are national, read-only,
until an administrator gives them a city (``geo-app users city USERNAME CODE``).

Revision ID: 0012_city_users
Revises: 0010
"""

import os

import sqlalchemy as sa
from alembic import op

revision = "0012_city_users"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        r"""
        ALTER TABLE users ADD COLUMN city_code text CHECK (city_code ~ '^\d{2}\.\d{2}$');
        CREATE INDEX users_city_code_idx ON users (city_code);
        """
    )
    op.get_bind().execute(
        sa.text("UPDATE users SET city_code = :city WHERE EXISTS (SELECT 1 FROM cities WHERE code = :city)"),
        {"city": os.environ.get("CITY_CODE") or "36.72"},
    )


def downgrade() -> None:
    op.execute("ALTER TABLE users DROP COLUMN city_code")
