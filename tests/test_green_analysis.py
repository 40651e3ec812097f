"""RTH statistics, access and change against figures worked out by hand (see tests/green_city.py)."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import shapely
from green_city import AFTER, BEFORE, GREEN_CITY, build_green_city, code

from geo_app.analysis import green as green_analysis
from geo_app.db import connect
from geo_app.store import green as green_store

# 32 segments per quarter circle: the buffer's circle part is a 128-gon inscribed in the true circle.
ARC_128 = 64 * math.sin(2 * math.pi / 128)  # area factor replacing pi
REL = 1e-3


@pytest.fixture(scope="module")
def green_ids(database_url):
    return build_green_city(database_url)


@pytest.fixture
def db(database_url, green_ids):
    with connect(database_url) as conn:
        yield conn


def statistics(db, at) -> pd.DataFrame:
    return green_analysis.load_rth_statistics(db, GREEN_CITY, "Kota Uji Hijau", at).set_index("code")


def test_city_with_25_percent_public_and_4_percent_private(db):
    city = statistics(db, AFTER + timedelta(days=1)).loc[GREEN_CITY]
    assert city["area_ha"] == pytest.approx(400, rel=1e-6)
    assert city["public_ha"] == pytest.approx(100, rel=1e-6)
    assert city["private_ha"] == pytest.approx(16, rel=1e-6)
    assert city["green_ha"] == pytest.approx(116, rel=1e-6)
    assert city["green_share"] == pytest.approx(0.29, rel=1e-6)
    assert not city["green_meets_target"]
    assert city["public_meets_target"]
    assert not city["private_meets_target"]
    assert city["green_deficit_ha"] == pytest.approx(4, rel=1e-5)
    assert city["public_deficit_ha"] == 0
    assert city["private_deficit_ha"] == pytest.approx(24, rel=1e-6)
    assert city["green_m2_per_resident"] == pytest.approx(1_160_000 / 18_000, rel=1e-6)


def test_overlaps_count_once_and_polygons_are_split_between_kelurahan(db):
    stats = statistics(db, AFTER + timedelta(days=1))
    # A1: P1 and P2 overlap by 25 ha, Q2 (private) lies inside P1: 75 ha, all public.
    assert stats.loc[code("A1"), ["green_ha", "public_ha", "private_ha"]].tolist() == pytest.approx(
        [75, 75, 0], abs=1e-9
    )
    assert stats.loc[code("A1"), "green_m2_per_resident"] == pytest.approx(750_000 / 10_000)
    # P3 straddles A2 and B2: 12.5 ha in each.
    assert stats.loc[code("A2"), "public_ha"] == pytest.approx(12.5, rel=1e-6)
    assert stats.loc[code("B2"), "public_ha"] == pytest.approx(12.5, rel=1e-6)
    assert stats.loc[code("B1"), ["public_ha", "private_ha"]].tolist() == pytest.approx([0, 16], abs=1e-9)
    kec_b = stats.loc["99.05.02"]
    assert kec_b["level"] == "kecamatan"
    assert kec_b["green_ha"] == pytest.approx(28.5, rel=1e-6)
    assert kec_b["green_share"] == pytest.approx(28.5 / 200, rel=1e-6)
    assert kec_b["public_deficit_ha"] == pytest.approx(40 - 12.5, rel=1e-6)


def test_as_of_shows_the_earlier_state(db):
    city = statistics(db, BEFORE + timedelta(days=1)).loc[GREEN_CITY]
    assert city["green_ha"] == pytest.approx(1 + 0.49 + 1, rel=1e-6)
    assert statistics(db, BEFORE - timedelta(days=1)).loc[GREEN_CITY, "green_ha"] == 0


def test_union_area_by_group_matches_a_full_union_per_group():
    rng = np.random.default_rng(3)
    centres = rng.uniform(0, 1000, size=(400, 2))
    polygons = shapely.buffer(shapely.points(centres), rng.uniform(5, 60, size=400), quad_segs=4)
    groups = rng.choice(["a", "b", "c"], size=400)
    subset = rng.random(400) < 0.6
    everything, some = green_analysis.union_area_by_group(polygons, groups, np.ones(400, dtype=bool), subset)
    for group in "abc":
        assert everything[group] == pytest.approx(shapely.union_all(polygons[groups == group]).area, rel=1e-9)
        reference = shapely.union_all(polygons[(groups == group) & subset]).area
        assert some[group] == pytest.approx(reference, rel=1e-9)
    assert green_analysis.union_area_by_group(np.array([], dtype=object), np.array([])) == [{}]


def access(db, at, min_ha, radius=300.0) -> pd.DataFrame:
    stats, _ = green_analysis.load_access(db, GREEN_CITY, "Kota Uji Hijau", radius, min_ha, at)
    return stats.set_index("code")


def test_access_one_park_in_the_middle_of_a_square_kelurahan(db):
    stats = access(db, BEFORE + timedelta(days=1), min_ha=0.5)
    # S: 100 m square, 300 m reach, wholly inside A1: square + four 100x300 strips + the rounded corners.
    covered_a1 = 100**2 + 4 * 100 * 300 + ARC_128 * 300**2
    assert stats.loc[code("A1"), "covered_ha"] == pytest.approx(covered_a1 / 1e4, rel=REL)
    assert covered_a1 / 1e4 == pytest.approx(41.2743, rel=1e-3)  # the same with a true circle
    assert stats.loc[code("A1"), "residents_covered"] == pytest.approx(10_000 * covered_a1 / 1e6, rel=REL)
    # U sits in B1's (and the city's) corner: only the quadrant inside counts.
    covered_b1 = 400 * 400 - (300 * 300 - ARC_128 / 4 * 300**2)
    assert stats.loc[code("B1"), "covered_ha"] == pytest.approx(covered_b1 / 1e4, rel=REL)
    # T is 0.49 ha: it does not count at 0.5 ha, so B2 has nobody within reach.
    assert stats.loc[code("B2"), "covered_ha"] == pytest.approx(0, abs=1e-9)
    assert stats.loc[code("A2"), "residents_share_covered"] == pytest.approx(0, abs=1e-9)
    city = stats.loc[GREEN_CITY]
    expected = (10_000 * covered_a1 / 1e6 + 2_000 * covered_b1 / 1e6) / 18_000
    assert city["residents_share_covered"] == pytest.approx(expected, rel=REL)


def test_a_049_ha_park_counts_when_the_threshold_is_lower(db):
    stats = access(db, BEFORE + timedelta(days=1), min_ha=0.4)
    covered_b2 = 70**2 + 4 * 70 * 300 + ARC_128 * 300**2
    assert stats.loc[code("B2"), "covered_ha"] == pytest.approx(covered_b2 / 1e4, rel=REL)


def test_access_gaps_are_the_kelurahan_minus_the_reach(db):
    stats, gaps = green_analysis.load_access(db, GREEN_CITY, "Kota Uji Hijau", 300, 0.5, BEFORE)
    # A1's gap is the square with a hole where the park's reach is; A2 is beyond reach altogether.
    assert gaps[code("A1")].geom_type == "Polygon" and len(gaps[code("A1")].interiors) == 1
    assert gaps[code("A1")].area / 1e4 == pytest.approx(
        100 - stats.set_index("code").loc[code("A1"), "covered_ha"]
    )
    assert gaps[code("A2")].area == pytest.approx(1e6)


def test_change_report_per_kelurahan(db):
    table, shapes = green_analysis.load_change(db, GREEN_CITY, "Kota Uji Hijau", BEFORE, AFTER, geometry=True)
    change = table.set_index("code")
    expected = {"A1": (74, 0), "A2": (12.5, 0), "B1": (16, 1), "B2": (12.5, 0.49)}
    for short, (gained, lost) in expected.items():
        assert change.loc[code(short), ["gained_ha", "lost_ha"]].tolist() == pytest.approx(
            [gained, lost], abs=1e-6
        )
    assert change.loc[GREEN_CITY, "net_ha"] == pytest.approx(115 - 1.49, abs=1e-6)
    assert change.loc[GREEN_CITY, "green_after_ha"] == pytest.approx(116, abs=1e-6)
    lost = {shape["code"]: shape["area_ha"] for shape in shapes if shape["change"] == "lost"}
    assert lost == pytest.approx({code("B1"): 1, code("B2"): 0.49})
    gained_a1 = next(s for s in shapes if s["code"] == code("A1") and s["change"] == "gained")
    assert gained_a1["geometry"].area == pytest.approx(740_000)


def test_change_report_names_the_polygons(db, green_ids):
    rows = green_store.changed_polygons(db, GREEN_CITY, BEFORE, AFTER)
    by_key = {(row["kelurahan_code"], row["id"]): row for row in rows}
    reshaped = by_key[(code("A1"), green_ids["S"])]
    assert reshaped["change"] == "modified"
    # S [450,550]^2 became P1 [0,1000]x[0,500]: P1 minus S is 49.5 ha, S's top 0.5 ha strip left P1
    # (it lies in P2, so the kelurahan as a whole lost nothing: see the report per kelurahan).
    assert [reshaped["gained_ha"], reshaped["lost_ha"]] == pytest.approx([49.5, 0.5], abs=1e-6)
    removed = by_key[(code("B2"), green_ids["T"])]
    assert removed["change"] == "removed"
    assert removed["lost_ha"] == pytest.approx(0.49, abs=1e-6)
    crossing = [row for row in rows if row["id"] == green_ids["P3"]]
    assert {row["kelurahan_code"] for row in crossing} == {code("A2"), code("B2")}
    assert all(row["gained_ha"] == pytest.approx(12.5, abs=1e-6) for row in crossing)


def test_sample_city_matches_a_geopandas_overlay(database_url, sample_city):
    """Independent reference on irregular kelurahan: geopandas overlay, dissolve per kelurahan, area."""
    import geopandas as gpd

    def frame(conn, sql: str) -> gpd.GeoDataFrame:
        rows = pd.DataFrame(conn.execute(sql, (sample_city,)).fetchall())
        return gpd.GeoDataFrame(rows.drop(columns="wkb"), geometry=shapely.from_wkb(rows["wkb"]), crs=4326)

    with connect(database_url) as conn:
        stats = green_analysis.load_rth_statistics(conn, sample_city, "Kota Cilegon").set_index("code")
        kelurahan = frame(
            conn,
            "SELECT code, ST_AsBinary(geom) AS wkb FROM admin_areas "
            "WHERE city_code = %s AND level = 'kelurahan'",
        )
        green = frame(
            conn,
            "SELECT is_public, ST_AsBinary(geom) AS wkb FROM green_areas "
            "WHERE city_code = %s AND valid_to IS NULL",
        )
    assert len(green) > 100
    pieces = gpd.overlay(
        green.to_crs(32748), kelurahan.to_crs(32748), how="intersection", keep_geom_type=True
    )
    kel = stats[stats["level"] == "kelurahan"]
    for column, subset in (("green_ha", pieces), ("public_ha", pieces[pieces["is_public"]])):
        reference = (subset.dissolve(by="code").area / 1e4).reindex(kel.index, fill_value=0)
        assert kel[column].to_numpy() == pytest.approx(reference.to_numpy(), rel=1e-6, abs=1e-6)
