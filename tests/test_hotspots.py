"""Gi*, FDR bins, band choice, grids, kernel density and DBSCAN against independent references."""

from __future__ import annotations

import math
import warnings

import esda
import libpysal
import numpy as np
import pytest
from scipy import integrate, stats
from sklearn.cluster import DBSCAN

from geo_app.analysis import density, grids, hotspots
from geo_app.db import connect

warnings.filterwarnings("ignore", category=UserWarning)  # libpysal islands / disconnected warnings

SPEC_XY = np.array([(10, 10), (20, 10), (40, 10), (15, 20), (30, 20), (30, 30)], dtype=float)
SPEC_Y = np.array([2, 3, 3.2, 5, 8, 7])
SPEC_Z = [-1.39727626, -0.28917762, 0.65064964, -0.28917762, 1.23452088, 2.02424331]


def esda_z(values, xy, band):
    weights = libpysal.weights.DistanceBand(xy, threshold=band, binary=True, silence_warnings=True)
    return esda.G_Local(values, weights, transform="B", star=True, permutations=0).Zs


def test_gi_star_matches_the_spec_fixture_and_esda():
    z = hotspots.gi_star(SPEC_Y, SPEC_XY, 15)
    np.testing.assert_allclose(z, SPEC_Z, atol=1e-8)
    np.testing.assert_allclose(z, esda_z(SPEC_Y, SPEC_XY, 15), atol=1e-9)
    weights = libpysal.weights.DistanceBand(SPEC_XY, threshold=15, binary=True, silence_warnings=True)
    reference = esda.G_Local(SPEC_Y, weights, transform="B", star=True, permutations=0)
    np.testing.assert_allclose(hotspots.two_sided_p(z), 2 * reference.p_norm, atol=1e-12)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_gi_star_matches_esda_on_random_cells(seed):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 5000, (300, 2))
    values = rng.poisson(4, 300) + (np.hypot(*(xy - 2500).T) < 800) * 6
    z = hotspots.gi_star(values, xy, 450.0)
    np.testing.assert_allclose(z, esda_z(values, xy, 450.0), atol=1e-9)


def test_isolated_feature_gets_a_finite_z():
    xy = np.vstack([SPEC_XY, [[1000, 1000]]])
    z = hotspots.gi_star(np.append(SPEC_Y, 4.0), xy, 15)
    assert np.isfinite(z).all()
    values = np.append(SPEC_Y, 4.0)
    assert z[-1] == pytest.approx((4.0 - values.mean()) / values.std())


def test_bins_without_and_with_fdr():
    rng = np.random.default_rng(7)
    z = np.concatenate([rng.normal(0, 1, 200), rng.normal(3.2, 0.5, 20), rng.normal(-3.2, 0.5, 10)])
    p = hotspots.two_sided_p(z)
    plain = hotspots.confidence_bins(z, p, fdr=False)
    expected = np.sign(z) * np.select([p <= 0.01, p <= 0.05, p <= 0.10], [3, 2, 1], 0)
    np.testing.assert_array_equal(plain, expected)
    corrected = hotspots.confidence_bins(z, p, fdr=True)
    adjusted = stats.false_discovery_control(p, method="bh")
    expected = np.sign(z) * np.select([adjusted <= 0.01, adjusted <= 0.05, adjusted <= 0.10], [3, 2, 1], 0)
    np.testing.assert_array_equal(corrected, expected)
    assert (np.abs(corrected) <= np.abs(plain)).all()  # FDR never raises a bin
    assert (corrected != 0).any() and (corrected < plain).any()


def test_morans_i_z_matches_esda_normality():
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 1000, (150, 2))
    values = rng.poisson(3, 150) + (xy[:, 0] > 600) * 4
    weights = libpysal.weights.DistanceBand(xy, threshold=160, silence_warnings=True)
    reference = esda.Moran(values, weights, transformation="r", permutations=0).z_norm
    rows, cols, _ = hotspots.neighbour_pairs(xy, 160)
    ours = hotspots.morans_i_z(values, rows, cols)
    assert ours == pytest.approx(reference, abs=1e-9)


def hexagon_lattice(size, columns, rows):
    i, j = np.meshgrid(np.arange(columns), np.arange(rows))
    x, y = grids.hexagon_centre(i.ravel(), j.ravel(), size)
    return np.column_stack([x, y])


def test_band_choice_starts_at_the_spacing_and_is_reported():
    xy = hexagon_lattice(100, 12, 12)
    rng = np.random.default_rng(5)
    values = rng.poisson(2, len(xy)).astype(float)
    centre = xy.mean(axis=0)
    values += 12 * np.exp(-((np.hypot(*(xy - centre).T) / 350) ** 2))
    choice = hotspots.choose_band(values, xy)
    spacing = hotspots.round_band(math.sqrt(3) * 100)
    assert choice.bands[0] == spacing
    assert choice.band in choice.bands or choice.method == "kth_neighbour"
    assert choice.method in {"moran_peak", "moran_highest_peak", "kth_neighbour"}
    # every cell has its six ring neighbours at the first band, despite floating-point noise
    weights = hotspots.distance_band_weights(xy, spacing, include_self=False)
    interior = (np.abs(xy - centre) < 400).all(axis=1)
    assert (np.asarray(weights.sum(axis=1)).ravel()[interior] == 6).all()


def test_band_rule_first_significant_peak_else_highest_else_kth_neighbour():
    bands = [100.0 * (k + 1) for k in range(10)]
    xy = np.random.default_rng(11).uniform(0, 1000, (60, 2))
    first = hotspots.pick_band(bands, [0.5, 1.0, 0.8, 2.0, 1.9, 3.0, 2.5, 2.0, 1.0, 0.5], xy)
    assert (first.band, first.method) == (400.0, "moran_peak")  # 1.0 is a peak but not > 1.65
    highest = hotspots.pick_band(bands, [0.5, 1.0, 0.8, 1.2, 1.5, 1.4, 1.3, 1.2, 1.1, 1.0], xy)
    assert (highest.band, highest.method) == (500.0, "moran_highest_peak")
    falling = hotspots.pick_band(bands, [6.0, 3.2, 1.2, 0.4, 0.2, 0.1, -0.4, -0.1, -0.3, -1.0], xy)
    assert (falling.band, falling.method) == (100.0, "moran_peak")
    rising = hotspots.pick_band(bands, [float(k) for k in range(10)], xy)
    k = 3  # clamp(int(0.05 * 60), 3, 30)
    distances = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    kth = np.sort(distances, axis=1)[:, k].mean()
    standard_distance = math.sqrt(((xy - xy.mean(axis=0)) ** 2).sum(axis=1).mean())
    assert rising.method == "kth_neighbour"
    assert rising.band == hotspots.round_band(min(kth, standard_distance))


def test_too_little_data_is_refused():
    with pytest.raises(hotspots.NotEnoughData, match="at least 30"):
        hotspots.hot_spots(np.ones(40), hexagon_lattice(100, 8, 5), incident_count=12)
    with pytest.raises(hotspots.NotEnoughData, match="cells"):
        hotspots.hot_spots(np.arange(10.0), hexagon_lattice(100, 5, 2), incident_count=100)
    with pytest.raises(hotspots.NotEnoughData, match="same count"):
        hotspots.hot_spots(np.full(40, 3.0), hexagon_lattice(100, 8, 5), incident_count=120)


def test_hexagon_index_agrees_with_st_hexagongrid(database_url):
    rng = np.random.default_rng(2)
    x = rng.uniform(600_000, 610_000, 3000)
    y = rng.uniform(9_320_000, 9_330_000, 3000)
    size = 173.0
    i, j = grids.hexagon_index(x, y, size)
    with connect(database_url) as conn:
        rows = conn.execute(
            """
            WITH p AS (SELECT n, ST_SetSRID(ST_MakePoint(x, y), 32748) AS g
                       FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS t(x, y, n))
            SELECT p.n, h.i, h.j FROM p
            JOIN LATERAL ST_HexagonGrid(%s, ST_Expand(p.g, 1)) h ON ST_Intersects(h.geom, p.g)
            """,
            (list(x), list(y), size),
        ).fetchall()
    containing: dict[int, set] = {}
    for row in rows:
        containing.setdefault(row["n"] - 1, set()).add((row["i"], row["j"]))
    assert len(containing) == len(x)
    for k in range(len(x)):
        assert (i[k], j[k]) in containing[k]


def test_quartic_kernel_integrates_to_weight_and_peaks_at_3w_over_pi_r2():
    radius, weight = 300.0, 2.5
    peak = density.density_at(np.array([[0.0, 0.0]]), np.array([[0.0, 0.0]]), np.array([weight]), radius)[0]
    assert peak == pytest.approx(3 * weight / (math.pi * radius**2))
    total, _ = integrate.quad(
        lambda d: weight * density.quartic_kernel(d, radius) * 2 * math.pi * d, 0, radius
    )
    assert total == pytest.approx(weight, rel=1e-9)
    nodes, values = density.surface(np.array([[0.0, 0.0]]), np.array([weight]), radius, 5.0, (0, 0, 0, 0))
    assert values.sum() * 25.0 / 1e6 == pytest.approx(weight, rel=1e-3)  # grid sum × cell area


def test_default_radius_by_hand():
    xy = np.array([[0, 0], [100, 0], [0, 100], [100, 100], [50, 50]], dtype=float)
    distances = np.hypot(*(xy - [50, 50]).T)
    sd = math.sqrt((distances**2).mean())
    dm = np.median(distances)
    expected = 0.9 * min(sd, math.sqrt(1 / math.log(2)) * dm) * 5**-0.2
    assert density.default_radius(xy) == pytest.approx(expected)
    doubled = density.default_radius(np.vstack([xy, xy]))
    assert doubled == pytest.approx(expected * 2**-0.2)
    assert density.default_radius(xy, np.full(5, 2.0)) == pytest.approx(doubled)


def test_h3_counts_sum_and_boundaries_are_lon_lat():
    rng = np.random.default_rng(4)
    lat = rng.uniform(-6.10, -6.00, 500)
    lon = rng.uniform(106.00, 106.10, 500)
    cells = grids.h3_cells_of_points(lat, lon, 8)
    assert len(cells) == 500 and all(isinstance(cell, str) for cell in cells)
    ring = grids.h3_boundary(cells[0])
    assert ring[0] == ring[-1] and all(105.9 < lon_ < 106.2 and -6.2 < lat_ < -5.9 for lon_, lat_ in ring)


def test_dbscan_matches_scikit_learn(database_url):
    from incident_city import CITY, create_city, drop_city

    from geo_app.store.incident_aggregates import dbscan_labels
    from geo_app.store.incidents import IncidentFilter

    rng = np.random.default_rng(9)
    centres = [(106.02, -6.07), (106.07, -6.03), (106.08, -6.08)]
    points = [(cx + rng.normal(0, 0.001), cy + rng.normal(0, 0.001)) for cx, cy in centres for _ in range(40)]
    points += [(rng.uniform(106.0, 106.1), rng.uniform(-6.1, -6.0)) for _ in range(80)]
    code = "99.32"
    create_city(database_url, code)
    try:
        with connect(database_url) as conn:
            for n, (lon, lat) in enumerate(points):
                conn.execute(
                    "INSERT INTO incidents (city_code, external_id, call_type, category, geom, "
                    "geocode_precision, received_at) VALUES (%s, %s, 'darurat', 'KEBAKARAN', "
                    "ST_SetSRID(ST_MakePoint(%s, %s), 4326), 'exact', now())",
                    (code, f"D-{n}", lon, lat),
                )
            conn.commit()
            rows = dbscan_labels(conn, IncidentFilter(city_code=code), eps=150.0, min_points=5)
    finally:
        drop_city(database_url, code)
    xy = np.array([(row["x"], row["y"]) for row in rows])
    ours = np.array([-1 if row["cluster"] is None else row["cluster"] for row in rows])
    reference = DBSCAN(eps=150.0, min_samples=5).fit(xy)
    assert set(np.flatnonzero(ours == -1)) == set(np.flatnonzero(reference.labels_ == -1))
    core = reference.core_sample_indices_
    pairs = {(a, b) for a, b in zip(ours[core], reference.labels_[core], strict=True)}
    assert len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs})  # a relabelling
    assert len({b for _, b in pairs}) >= 3
    assert code != CITY
