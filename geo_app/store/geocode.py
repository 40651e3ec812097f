"""SQL for the offline geocoder: pg_trgm matches against admin area names and the gazetteer, and reverse.

Both sides of every comparison go through the database function ``geocode_normalise`` (migration
0003_incidents), so "Jl. K.H. Wasyid" and "jalan kyai haji wasyid" compare equal.
"""

from __future__ import annotations

import psycopg

# Similarity of the whole name, or of the query as a word run inside a longer name ("sudirman" in
# "jenderal sudirman"), whichever is higher.
NAME_SCORE = (
    "greatest(similarity(geocode_normalise({name}), geocode_normalise(%(q)s)), "
    "word_similarity(geocode_normalise(%(q)s), geocode_normalise({name})))"
)


def match_area(
    conn: psycopg.Connection, city_code: str, level: str, text: str, parent_code: str | None = None
) -> dict | None:
    """The best-matching kecamatan or kelurahan by name or spelling variant, with its score."""
    return conn.execute(
        f"""
        SELECT a.code, a.name, a.parent_code, ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat,
               greatest({NAME_SCORE.format(name="a.name")},
                        (SELECT max({NAME_SCORE.format(name="v")}) FROM unnest(a.name_variants) v)) AS score
        FROM admin_areas a CROSS JOIN LATERAL (SELECT ST_PointOnSurface(a.geom) AS geom) p
        WHERE a.city_code = %(city)s AND a.level = %(level)s
          AND (%(parent)s::text IS NULL OR a.parent_code = %(parent)s)
        ORDER BY score DESC, a.code LIMIT 1
        """,
        {"q": text, "city": city_code, "level": level, "parent": parent_code},
    ).fetchone()


def match_gazetteer(
    conn: psycopg.Connection, city_code: str, kind: str, text: str, kelurahan_code: str | None = None
) -> dict | None:
    """The best street or landmark by name; within a kelurahan when one is known.

    A street's point is a point on the part of the street inside that kelurahan (or on the street).
    """
    return conn.execute(
        f"""
        WITH best AS (
            SELECT g.id, g.name, g.kelurahan_code, g.geom, {NAME_SCORE.format(name="g.name")} AS score
            FROM gazetteer g
            WHERE g.city_code = %(city)s AND g.kind = %(kind)s
              AND (%(kelurahan)s::text IS NULL OR g.kelurahan_code = %(kelurahan)s
                   OR ST_Intersects(g.geom, (SELECT geom FROM admin_areas WHERE code = %(kelurahan)s)))
            ORDER BY score DESC, g.id LIMIT 1
        )
        SELECT b.id, b.name, b.score,
               CASE WHEN ST_Intersects(b.geom, k.geom) THEN k.code ELSE b.kelurahan_code END
                   AS kelurahan_code,
               ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat
        FROM best b
        LEFT JOIN admin_areas k ON k.code = %(kelurahan)s
        CROSS JOIN LATERAL (SELECT ST_PointOnSurface(CASE
            WHEN k.geom IS NOT NULL AND ST_Intersects(b.geom, k.geom)
            THEN ST_Intersection(b.geom, k.geom) ELSE b.geom END) AS geom) p
        """,
        {"q": text, "city": city_code, "kind": kind, "kelurahan": kelurahan_code},
    ).fetchone()


def reverse(conn: psycopg.Connection, city_code: str, lon: float, lat: float) -> dict:
    """Kelurahan, kecamatan and the nearest named street (metres) of a point."""
    row = conn.execute(
        """
        WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS geom)
        SELECT kel.code AS kelurahan_code, kel.name AS kelurahan_name,
               kec.code AS kecamatan_code, kec.name AS kecamatan_name,
               street.name AS street_name, street.distance_m AS street_distance_m
        FROM p
        LEFT JOIN admin_areas kel ON kel.city_code = %(city)s AND kel.level = 'kelurahan'
             AND ST_Intersects(kel.geom, p.geom)
        LEFT JOIN admin_areas kec ON kec.code = kel.parent_code
        LEFT JOIN LATERAL (
            SELECT g.name, round(ST_Distance(g.geom::geography, p.geom::geography)::numeric, 1)
                       AS distance_m
            FROM gazetteer g WHERE g.city_code = %(city)s AND g.kind = 'street'
            ORDER BY g.geom <-> p.geom LIMIT 1
        ) street ON true
        ORDER BY kel.code LIMIT 1
        """,
        {"lon": lon, "lat": lat, "city": city_code},
    ).fetchone()
    return row
