"""Greedy maximal covering against spopt's exact MCLP (PuLP/CBC), and the siting API on the square city."""

from __future__ import annotations

import math

import numpy as np
import pulp
import pytest
from conftest import execute
from coverage_city import CITY, ensure_city, lonlat
from scipy.spatial.distance import cdist
from spopt.locate import MCLP

from geo_app import create_app
from geo_app.analysis.siting import cover_matrix, greedy_max_cover
from geo_app.settings import Settings

E_BOUND = 1 - 1 / math.e


def mclp_optimum(demand, weights, candidates, radius, p, predefined=None) -> float:
    """Covered weight of spopt's exact MCLP solution (predefined facilities are forced in)."""
    cost = cdist(demand, candidates)
    kwargs = {"predefined_facilities_arr": predefined} if predefined is not None else {}
    model = MCLP.from_cost_matrix(cost, weights, radius, p_facilities=p, **kwargs)
    model.solve(pulp.PULP_CBC_CMD(msg=False))
    covered = np.zeros(len(demand), dtype=bool)
    for clients in model.fac2cli:
        covered[list(clients)] = True
    return float(np.asarray(weights)[covered].sum())


def weight_covered(cover, weights, picks, already=None) -> float:
    covered = np.zeros(cover.shape[1], dtype=bool) if already is None else already.copy()
    for pick in picks:
        covered[cover[pick.candidate].indices] = True
    return float(weights[covered].sum())


@pytest.mark.parametrize("seed", range(6))
def test_greedy_reaches_the_bound_of_the_exact_mclp(seed):
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0, 10, size=(40, 2))
    weights = rng.integers(1, 100, size=40).astype(float)
    candidates = rng.uniform(0, 10, size=(12, 2))
    radius, p = 2.5, 3
    cover = cover_matrix(candidates, demand, radius)
    picks = greedy_max_cover(cover, weights, p)
    greedy = weight_covered(cover, weights, picks)
    optimum = mclp_optimum(demand, weights, candidates, radius, p)
    assert E_BOUND * optimum - 1e-9 <= greedy <= optimum + 1e-9
    # The reported marginal gains add up to what the picks cover, counted independently.
    assert sum(pick.gain for pick in picks) == pytest.approx(greedy)


def test_existing_facilities_count_as_covering():
    rng = np.random.default_rng(42)
    demand = rng.uniform(0, 10, size=(40, 2))
    weights = rng.integers(1, 100, size=40).astype(float)
    candidates = rng.uniform(0, 10, size=(12, 2))
    existing = [0, 1]  # candidates 0 and 1 stand for assets already built
    radius, p_new = 2.5, 2
    cover = cover_matrix(candidates, demand, radius)
    already = np.asarray(cover[existing].sum(axis=0)).ravel() > 0
    picks = greedy_max_cover(cover, weights, p_new, covered=already)
    assert all(pick.gain > 0 for pick in picks)
    greedy = weight_covered(cover, weights, picks, already)
    predefined = np.zeros(len(candidates), dtype=bool)
    predefined[existing] = True
    optimum = mclp_optimum(demand, weights, candidates, radius, len(existing) + p_new, predefined)
    baseline = float(weights[already].sum())
    # The bound applies to what the new sites add on top of the existing ones.
    assert greedy - baseline >= E_BOUND * (optimum - baseline) - 1e-9
    assert greedy <= optimum + 1e-9


def test_greedy_stops_when_nothing_is_left_to_cover():
    cover = cover_matrix(np.array([[0.0, 0.0], [100.0, 0.0]]), np.array([[0.0, 0.0]]), 1.0)
    picks = greedy_max_cover(cover, np.array([5.0]), 2)
    assert [(pick.candidate, pick.gain) for pick in picks] == [(0, 5.0)]


@pytest.fixture(scope="module")
def client(database_url, tokens):
    ensure_city(database_url)
    application = create_app(Settings.from_env(database_url=database_url, env="test", city_code=CITY))
    test_client = application.test_client()
    test_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens.of(CITY)['admin']}"
    yield test_client
    application.extensions["db_pool"].close()


def test_siting_api_prefers_the_crowded_kelurahan(client, database_url):
    execute(database_url, "DELETE FROM assets WHERE city_code = %s", (CITY,))
    # Densities: A1 and B1 1,000 people/km², A2 500. Candidates: in A2 (a whole disc: 1,571 people), in B1
    # (a whole disc: 3,142) and in A1 500 m from the city edge (the disc loses a 0.614 km² segment: 2,527).
    given = ";".join(
        f"{lon},{lat}" for lon, lat in (lonlat(3000, 1000), lonlat(2000, 3000), lonlat(500, 1000))
    )
    body = client.get(
        f"/api/analysis/siting?type=pos_damkar&count=2&radius_m=1000&candidates={given}"
    ).get_json()
    sites = body["sites"]
    assert [site["kelurahan"] for site in sites] == ["B1", "A1"]
    disc_people_b1 = 8000 * math.pi * 1000**2 / (4000 * 2000)
    assert sites[0]["population_gain"] == pytest.approx(disc_people_b1, rel=0.05)
    assert sites[1]["population_covered"] == pytest.approx(sum(site["population_gain"] for site in sites))

    # An existing fire post in B1 covers that demand: the first pick moves elsewhere.
    execute(
        database_url,
        "INSERT INTO assets (city_code, asset_type, name, owner_opd, dimension, coverage_radius_m, geom) "
        "VALUES (%s, 'pos_damkar', 'Pos B1', 'Damkar', 'living', 1000, "
        "ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
        (CITY, *lonlat(2000, 3000)),
    )
    body = client.get(
        f"/api/analysis/siting?type=pos_damkar&count=1&radius_m=1000&candidates={given}"
    ).get_json()
    assert body["population_covered_before"] == pytest.approx(disc_people_b1, rel=0.05)
    assert body["sites"][0]["kelurahan"] == "A1"

    grid = client.get("/api/analysis/siting?type=pos_damkar&count=3&format=geojson&spacing_m=1000")
    assert grid.status_code == 200 and len(grid.get_json()["features"]) == 3
    assert client.get("/api/analysis/siting?type=pos_damkar&candidates=1,2,3").status_code == 400
