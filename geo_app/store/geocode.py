"""SQL for the offline geocoder: pg_trgm matches against admin area names and the gazetteer, and reverse.

Both sides of every comparison go through the database function ``geocode_normalise`` (migration
0003_incidents), so "Jl. K.H. Wasyid" and "jalan kyai haji wasyid" compare equal.
"""

from __future__ import annotations

import psycopg

# Rows of one name closer than this are one place (a street cut at a kelurahan boundary, a building's
# two entrances); farther apart they are different places that share a name.
PLACE_GAP_M = 60.0

# Similarity of the whole name, or of the query as a word run inside a longer name ("sudirman" in
# "jenderal sudirman"), whichever is higher.
NAME_SCORE = (
    "greatest(similarity(geocode_normalise({name}), geocode_normalise(%(q)s)), "
    "word_similarity(geocode_normalise(%(q)s), geocode_normalise({name})))"
)


def area_names(conn: psycopg.Connection, city_code: str) -> list[dict]:
    """Every area of the city with its name variants and a point inside it (for answers at area level)."""
    return conn.execute(
        """
        SELECT a.code, a.level, a.name, a.name_variants, a.parent_code,
               ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat
        FROM admin_areas a CROSS JOIN LATERAL (SELECT ST_PointOnSurface(a.geom) AS geom) p
        WHERE a.city_code = %s ORDER BY a.code
        """,
        (city_code,),
    ).fetchall()


def common_street_words(conn: psycopg.Connection, city_code: str) -> set[str]:
    """Words that at least 5 % of the city's street names (and 3 or more) share, such as "raya"."""
    rows = conn.execute(
        """
        WITH names AS (
            SELECT DISTINCT geocode_normalise(name) AS name FROM gazetteer
            WHERE city_code = %(city)s AND kind = 'street'
        )
        SELECT word FROM names CROSS JOIN LATERAL regexp_split_to_table(names.name, ' ') AS word
        GROUP BY word HAVING count(*) >= greatest(3, 0.05 * (SELECT count(*) FROM names))
        """,
        {"city": city_code},
    ).fetchall()
    return {row["word"] for row in rows}


def named_places(
    conn: psycopg.Connection,
    city_code: str,
    kind: str,
    text: str,
    kelurahan_codes: list[str] | None,
    min_score: float,
) -> list[dict]:
    """The places bearing the best-matching street or landmark name (or one of its variants: "SDN 2" for
    "SD Negeri 2", OSM alt names; geo_app.ingest.osm), inside the given kelurahan only.

    Streets share a name when their normalised names are equal ("Jalan Melati", "Jl. Melati"), landmarks
    only when spelt alike ("Kantor Kelurahan X" and "Kantor Kecamatan X" normalise alike). Rows of one
    name that touch or lie within ``PLACE_GAP_M`` of each other are one place (one street cut by
    kelurahan boundaries); each place is answered by the point of its longest row nearest that row's
    centre, with that row's kelurahan. Empty when no name in the area scores ``min_score``.
    """
    return conn.execute(
        f"""
        WITH scored AS (
            SELECT g.id, g.name, g.kelurahan_code, g.geom,
                   greatest({NAME_SCORE.format(name="g.name")},
                            (SELECT max({NAME_SCORE.format(name="v")})
                             FROM unnest(g.name_variants) v)) AS score
            FROM gazetteer g
            WHERE g.city_code = %(city)s AND g.kind = %(kind)s
              AND (%(codes)s::text[] IS NULL OR g.kelurahan_code = ANY(%(codes)s::text[]))
        ), best AS (
            SELECT geocode_normalise(name) AS key, name, score FROM scored WHERE score >= %(min_score)s
            ORDER BY score DESC, similarity(lower(name), lower(%(q)s)) DESC, name LIMIT 1
        ), same AS (
            SELECT s.*, ST_ClusterDBSCAN(ST_Transform(s.geom, c.metric_srid), %(gap)s, 1) OVER () AS place
            FROM scored s JOIN best b ON geocode_normalise(s.name) = b.key
                 AND (s.name = b.name OR %(kind)s = 'street')
            JOIN cities c ON c.code = %(city)s
        )
        SELECT DISTINCT ON (place) place, name, score, kelurahan_code,
               ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat
        FROM same CROSS JOIN LATERAL (SELECT ST_ClosestPoint(same.geom, ST_Centroid(same.geom)) AS geom) p
        ORDER BY place, ST_Length(same.geom::geography) DESC, id
        """,
        {
            "q": text,
            "city": city_code,
            "kind": kind,
            "codes": kelurahan_codes,
            "min_score": min_score,
            "gap": PLACE_GAP_M,
        },
    ).fetchall()


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


def places_at(conn: psycopg.Connection, city_code: str, lons: list[float], lats: list[float]) -> list[dict]:
    """Kelurahan and kecamatan name of each point, in order: the kelurahan holding it, else the nearest
    one (a cell centre just off the coast)."""
    return conn.execute(
        """
        SELECT kel.name AS kelurahan, kec.name AS kecamatan
        FROM unnest(%(lons)s::float8[], %(lats)s::float8[]) WITH ORDINALITY AS p(lon, lat, k)
        CROSS JOIN LATERAL (
            SELECT a.name, a.parent_code FROM admin_areas a
            WHERE a.city_code = %(city)s AND a.level = 'kelurahan'
            ORDER BY a.geom <-> ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326), a.code LIMIT 1
        ) kel
        LEFT JOIN admin_areas kec ON kec.code = kel.parent_code
        ORDER BY p.k
        """,
        {"lons": list(lons), "lats": list(lats), "city": city_code},
    ).fetchall()
