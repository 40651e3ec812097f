"""Each city's own metric CRS for incident points, and no city's time zone or CRS taken for granted.

Incident points carried their metric coordinates (``metric_x``/``metric_y``, migration 0009) in one fixed
UTM zone. They are now in the zone of the incident's city (``cities.metric_srid``), so hexagons, bands and
DBSCAN distances are metres wherever the city lies; when a city's metric CRS changes, its incidents'
coordinates are recomputed in the same statement. A green area's ``area_ha`` (a generated column in one
fixed zone) is kept by a trigger in the same CRS, so its hectares add up to the RTH statistics, which
measure in the city's CRS too. ``cities.timezone`` and ``cities.metric_srid`` lose
their defaults (a new city states both: ``geo-app add-city`` derives them from its code and outline).

Revision ID: 0011
Revises: 0009
"""

from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE OR REPLACE FUNCTION incidents_metric_point() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    metric geometry;
BEGIN
    IF coalesce(ST_X(NEW.geom) BETWEEN -180 AND 180 AND ST_Y(NEW.geom) BETWEEN -90 AND 90, false) THEN
        metric := ST_Transform(NEW.geom, (SELECT c.metric_srid FROM cities c WHERE c.code = NEW.city_code));
    END IF;
    NEW.metric_x := ST_X(metric);
    NEW.metric_y := ST_Y(metric);
    RETURN NEW;
END
$$;

CREATE FUNCTION green_areas_metric_area() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.area_ha := ST_Area(ST_Transform(NEW.geom,
        (SELECT c.metric_srid FROM cities c WHERE c.code = NEW.city_code))) / 10000.0;
    RETURN NEW;
END
$$;

ALTER TABLE green_areas ALTER COLUMN area_ha DROP EXPRESSION;
CREATE TRIGGER green_areas_metric_area BEFORE INSERT OR UPDATE OF geom, area_ha, city_code ON green_areas
    FOR EACH ROW EXECUTE FUNCTION green_areas_metric_area();

CREATE FUNCTION cities_metric_srid_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- the row triggers recompute them in the new CRS
    UPDATE incidents SET metric_x = NULL WHERE city_code = NEW.code;
    UPDATE green_areas SET area_ha = NULL WHERE city_code = NEW.code;
    RETURN NULL;
END
$$;

CREATE TRIGGER cities_metric_srid_changed AFTER UPDATE OF metric_srid ON cities
    FOR EACH ROW WHEN (OLD.metric_srid IS DISTINCT FROM NEW.metric_srid)
    EXECUTE FUNCTION cities_metric_srid_changed();

ALTER TABLE cities ALTER COLUMN timezone DROP DEFAULT, ALTER COLUMN metric_srid DROP DEFAULT;
"""

DOWNGRADE = """
DROP TRIGGER green_areas_metric_area ON green_areas;
DROP FUNCTION green_areas_metric_area();
ALTER TABLE green_areas DROP COLUMN area_ha;
ALTER TABLE green_areas
    ADD COLUMN area_ha double precision
        GENERATED ALWAYS AS (ST_Area(ST_Transform(geom, 32748)) / 10000.0) STORED;
ALTER TABLE cities ALTER COLUMN timezone SET DEFAULT 'Asia/Jakarta',
    ALTER COLUMN metric_srid SET DEFAULT 32748;
DROP TRIGGER cities_metric_srid_changed ON cities;
DROP FUNCTION cities_metric_srid_changed();
CREATE OR REPLACE FUNCTION incidents_metric_point() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    metric geometry;
BEGIN
    IF coalesce(ST_X(NEW.geom) BETWEEN -180 AND 180 AND ST_Y(NEW.geom) BETWEEN -90 AND 90, false) THEN
        metric := ST_Transform(NEW.geom, 32748);
    END IF;
    NEW.metric_x := ST_X(metric);
    NEW.metric_y := ST_Y(metric);
    RETURN NEW;
END
$$;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
