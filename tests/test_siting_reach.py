"""Siting in the mode of the coverage shown: the travel-time cover matrix against a networkx + shapely
reference built the way coverage draws service areas, and on the sample city the cumulative figures of the
suggested sites against the coverage recomputed with those sites built."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely
from shapely.ops import substring

from geo_app.analysis import coverage, limits, siting
from geo_app.catalog import load_catalog

FIRE = coverage.FIRE_ASSET_TYPE


def reference_cover(edges, start_node, start_cost, candidate, demand, budget, access_m, reach_m):
    """Demand indices a candidate covers, built like coverage.network_shapes: networkx shortest times from
    its node, the reached part of every edge from each end, a buffer of ``access_m`` around them, clipped
    by the straight-line reach."""
    graph = nx.DiGraph()
    for source, target, cost, reverse_cost, _ in edges:
        for tail, head, seconds in ((source, target, cost), (target, source, reverse_cost)):
            if seconds >= 0 and (not graph.has_edge(tail, head) or graph[tail][head]["s"] > seconds):
                graph.add_edge(tail, head, s=seconds)
    times = nx.single_source_dijkstra_path_length(graph, start_node, weight="s")
    pieces = []
    for source, target, cost, reverse_cost, line in edges:
        for end, seconds, forward in ((source, cost, True), (target, reverse_cost, False)):
            remaining = budget - start_cost - times.get(end, np.inf)
            if seconds < 0 or remaining <= 0:
                continue
            fraction = 1.0 if seconds == 0 else min(1.0, remaining / seconds)
            span = (0.0, fraction) if forward else (1.0 - fraction, 1.0)
            pieces.append(substring(line, *span, normalized=True))
    if not pieces:
        return set()
    reached = shapely.union_all([piece.buffer(access_m, quad_segs=32) for piece in pieces])
    reached = reached.intersection(shapely.Point(candidate).buffer(reach_m, quad_segs=64))
    return {j for j, point in enumerate(demand) if reached.contains(shapely.Point(point))}


def grid_roads(rng: np.random.Generator, size: int = 5, step: float = 400.0):
    """A street grid (some streets bent) with random travel times, a few one-way streets and one free
    (zero-cost) link."""
    edges = []
    node = lambda i, j: i * size + j  # noqa: E731
    for i in range(size):
        for j in range(size):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < size and j + dj < size:
                    a, b = node(i, j), node(i + di, j + dj)
                    ends = [(i * step, j * step), ((i + di) * step, (j + dj) * step)]
                    bend = rng.uniform(-80, 80) if rng.random() < 0.4 else 0.0  # some streets bend
                    middle = (
                        (ends[0][0] + ends[1][0]) / 2 + bend * dj,
                        (ends[0][1] + ends[1][1]) / 2 + bend * di,
                    )
                    line = shapely.LineString([ends[0], middle, ends[1]])
                    cost = float(rng.uniform(20, 90))
                    reverse = -1.0 if rng.random() < 0.2 else float(rng.uniform(20, 90))
                    edges.append((a, b, cost, reverse, line))
    a, b = node(0, 0), node(0, 1)
    edges.append((a, b, 0.0, 0.0, shapely.LineString([(0, 0), (0, step)])))
    return edges


@pytest.mark.parametrize("seed", range(3))
def test_network_cover_matrix_matches_a_networkx_reference(seed):
    rng = np.random.default_rng(seed)
    edges = grid_roads(rng)
    roads = siting.road_graph(
        [
            {"source": s, "target": t, "cost_s": c, "reverse_cost_s": r, "wkb": line.wkb}
            for s, t, c, r, line in edges
        ]
    )
    demand = rng.uniform(-200, 1800, size=(400, 2))
    candidates = rng.uniform(0, 1600, size=(6, 2))
    nodes = np.array([round(x / 400) * 5 + round(y / 400) for x, y in candidates])
    start_costs = rng.uniform(0, 30, size=len(candidates))
    budget, access_m, reach_m = 150.0, 120.0, 900.0
    cover = siting.network_cover_matrix(
        roads, roads.index_of(nodes), start_costs, candidates, demand, budget, access_m, reach_m
    )
    assert cover.nnz > 50  # the case is not trivially empty
    for i, candidate in enumerate(candidates):
        expected = reference_cover(
            edges, nodes[i], start_costs[i], candidate, demand, budget, access_m, reach_m
        )
        found = set(cover[i].indices.tolist())
        # Points within a metre of a service-area edge may fall either way (polygonal buffers).
        unsure = {
            j
            for j in expected ^ found
            if abs(min(shapely.distance(shapely.Point(demand[j]), line) for *_, line in edges) - access_m) < 1
        }
        assert found ^ expected <= unsure


def test_travel_time_siting_advises_a_spacing_within_the_limits():
    with pytest.raises(limits.TooMuchWork) as refused:
        limits.check_network_candidates(64_848, 50.0)
    assert refused.value.parameter == "spacing_m"
    assert 64_848 * (50.0 / refused.value.allowed) ** 2 <= limits.MAX_NETWORK_CANDIDATES
    # pairs found by the first 100 of 2,500 candidates, extrapolated to all of them
    with pytest.raises(limits.TooMuchWork) as refused:
        limits.check_network_cover(limits.MAX_COVER_PAIRS + 1, 100, 2_500, 250.0)
    expected = (limits.MAX_COVER_PAIRS + 1) / 100 * 2_500
    assert expected * (250.0 / refused.value.allowed) ** 2 <= limits.MAX_COVER_PAIRS
    limits.check_network_cover(limits.MAX_COVER_PAIRS, 2_500, 2_500, 250.0)  # at the limit: accepted


@pytest.fixture(scope="module")
def catalog(settings):
    return load_catalog(settings.layers_dir)


def add_sites(conn, city_code, sites, radius_m=None):
    for site in sites:
        conn.execute(
            "INSERT INTO assets (city_code, asset_type, name, owner_opd, dimension, status, "
            "coverage_radius_m, geom) VALUES (%s, %s, 'usulan', 'Damkar', 'living', 'active', %s, "
            "ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
            (city_code, FIRE, radius_m, site["lon"], site["lat"]),
        )


@pytest.mark.parametrize("minutes", [5.0, 10.0])
def test_travel_time_sites_match_the_coverage_recomputed_with_them(conn, sample_city, catalog, minutes):
    request = coverage.CoverageRequest((FIRE,), "travel_time", minutes=minutes, access_m=250.0)
    today = coverage.compute_coverage(conn, sample_city, catalog, request)
    result = siting.suggest_sites(conn, sample_city, catalog, today, FIRE, 3)
    assert result["population_covered_before_pct"] == pytest.approx(today.city["population_covered_pct"])
    sites = result["sites"]
    assert len(sites) == 3
    # The first site is not in a place the fire posts already reach in time (the straight-line suggestion
    # used to sit in an already covered kelurahan).
    first = shapely.Point(
        *siting.transformers(conn, sample_city)[0].transform(sites[0]["lon"], sites[0]["lat"])
    )
    assert not shapely.union_all(today.covered).contains(first)
    shares = [result["population_covered_before_pct"]] + [site["population_covered_pct"] for site in sites]
    assert shares == sorted(shares) and shares[1] > shares[0]
    for built, site in enumerate(sites, start=1):
        add_sites(conn, sample_city, [site])
        recomputed = coverage.compute_coverage(conn, sample_city, catalog, request)
        assert site["population_covered_pct"] == pytest.approx(
            recomputed.city["population_covered_pct"], abs=0.02
        ), f"site {built}"


def test_radius_sites_match_the_coverage_recomputed_with_them(conn, sample_city, catalog):
    request = coverage.CoverageRequest((FIRE,), "radius", radius_m=1500.0)
    today = coverage.compute_coverage(conn, sample_city, catalog, request)
    result = siting.suggest_sites(conn, sample_city, catalog, today, FIRE, 2)
    assert result["radius_m"] == 1500.0
    add_sites(conn, sample_city, result["sites"], radius_m=1500.0)
    recomputed = coverage.compute_coverage(conn, sample_city, catalog, request)
    # Discs are 32-gons of the circle's area on the map, exact circles in the cover matrix.
    assert result["sites"][-1]["population_covered_pct"] == pytest.approx(
        recomputed.city["population_covered_pct"], abs=0.1
    )


def test_siting_api_starts_from_the_coverage_shown(client, sample_city):
    query = "type=pos_damkar&mode=travel_time&minutes=10"
    shown = client.get(f"/api/analysis/coverage?{query}").get_json()["city"]
    body = client.get(f"/api/analysis/siting?{query}&count=4").get_json()
    assert body["mode"] == "travel_time" and body["minutes"] == 10
    assert body["population_covered_before_pct"] == pytest.approx(shown["population_covered_pct"], abs=1e-3)
    assert [site["rank"] for site in body["sites"]] == [1, 2, 3, 4]
    running = shown["population_covered"]
    for site in body["sites"]:
        running += site["population_gain"]
        assert site["population_covered"] == pytest.approx(running, abs=0.01)
    assert client.get(f"/api/analysis/siting?{query}").get_json()["sites"].__len__() == 3  # default count
    too_many = client.get(f"/api/analysis/siting?{query}&count=101")
    assert too_many.status_code == 400 and "count" in too_many.get_json()["detail"]
    wrong = client.get("/api/analysis/siting?type=pos_damkar&mode=radius&minutes=10")
    assert wrong.status_code == 400
