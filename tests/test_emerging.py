"""Emerging hot spots: Mann-Kendall against pymannkendall, space-time Gi* by the formula, 17 categories."""

from __future__ import annotations

import numpy as np
import pymannkendall
import pytest

from geo_app.analysis import emerging, response

T, F = True, False


@pytest.mark.parametrize(
    "series",
    [
        [1.0, 2.0, 3.0, 2.5, 4.0, 5.0, 4.5, 6.0, 7.0, 8.0],
        [3.0, 3.0, 3.0, 2.0, 2.0, 5.0, 5.0, 1.0, 4.0, 4.0, 4.0, 0.5],  # ties
        [5.0, 4.0, 4.5, 3.0, 2.0, 2.5, 1.0, 0.0, -1.0, -0.5, -2.0],
        list(np.random.default_rng(3).normal(size=30)),
    ],
)
def test_mann_kendall_matches_pymannkendall(series):
    ours = emerging.mann_kendall(np.array(series))
    reference = pymannkendall.original_test(series, alpha=0.05)
    assert ours.s == reference.s and ours.var_s == pytest.approx(reference.var_s)
    assert ours.z == pytest.approx(reference.z, abs=1e-12) and ours.p == pytest.approx(reference.p, abs=1e-12)
    assert ours.trend == reference.trend


def test_space_time_gi_star_equals_the_formula_on_the_whole_cube():
    rng = np.random.default_rng(8)
    cells, steps, band = 25, 6, 150.0
    xy = rng.uniform(0, 500, (cells, 2))
    counts = rng.poisson(3, (cells, steps)).astype(float)
    z = emerging.space_time_gi_star(counts, xy, band, previous_steps=1)
    # dense reference: bins ordered (cell, step); neighbours within band in the same or previous step
    x = counts.ravel()
    n = x.size
    distance = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    w = np.zeros((n, n))
    for c in range(cells):
        for t in range(steps):
            for c2 in range(cells):
                for t2 in (t - 1, t):
                    if t2 >= 0 and distance[c, c2] <= band:
                        w[c * steps + t, c2 * steps + t2] = 1.0
    mean, spread = x.mean(), np.sqrt((x**2).mean() - x.mean() ** 2)
    wsum, w2 = w.sum(axis=1), (w**2).sum(axis=1)
    expected = (w @ x - mean * wsum) / (spread * np.sqrt((n * w2 - wsum**2) / (n - 1)))
    np.testing.assert_allclose(z.ravel(), expected, atol=1e-12)


def hot(*flags):
    return np.array(flags, dtype=bool)


NONE = hot(F, F, F, F, F, F, F, F, F, F)
ALL = hot(T, T, T, T, T, T, T, T, T, T)
CASES = {
    "intensifying_hot_spot": (ALL, NONE, "increasing"),
    "diminishing_hot_spot": (ALL, NONE, "decreasing"),
    "persistent_hot_spot": (hot(T, T, T, T, F, T, T, T, T, T), NONE, "no trend"),
    "historical_hot_spot": (hot(T, T, T, T, T, T, T, T, T, F), NONE, "no trend"),
    "new_hot_spot": (hot(F, F, F, F, F, F, F, F, F, T), NONE, "no trend"),
    "consecutive_hot_spot": (hot(F, F, F, F, F, F, F, T, T, T), NONE, "increasing"),
    "oscillating_hot_spot": (
        hot(F, T, F, F, F, F, T, F, F, T),
        hot(F, F, F, T, F, F, F, F, F, F),
        "no trend",
    ),
    "sporadic_hot_spot": (hot(F, T, F, F, T, F, F, T, F, F), NONE, "no trend"),
    "intensifying_cold_spot": (NONE, ALL, "decreasing"),
    "diminishing_cold_spot": (NONE, ALL, "increasing"),
    "persistent_cold_spot": (NONE, hot(T, T, T, T, T, T, T, T, T, T), "no trend"),
    "historical_cold_spot": (NONE, hot(T, T, T, T, T, T, T, T, T, F), "no trend"),
    "new_cold_spot": (NONE, hot(F, F, F, F, F, F, F, F, F, T), "no trend"),
    "consecutive_cold_spot": (NONE, hot(F, F, F, F, F, F, T, T, T, T), "no trend"),
    "oscillating_cold_spot": (
        hot(F, F, T, F, F, F, F, F, F, F),
        hot(F, F, F, T, T, F, F, F, F, T),
        "no trend",
    ),
    "sporadic_cold_spot": (NONE, hot(T, F, F, T, F, F, F, F, T, F), "no trend"),
    "no_pattern": (NONE, NONE, "no trend"),
}


def test_the_seventeen_categories_in_the_spec_order():
    assert tuple(CASES) == emerging.CATEGORIES  # 8 hot, 8 cold, no pattern
    assert len(emerging.CATEGORIES) == 17


@pytest.mark.parametrize("category", list(CASES))
def test_each_pattern(category):
    hot_steps, cold_steps, trend = CASES[category]
    assert emerging.classify(hot_steps, cold_steps, trend) == category


def test_order_decides_between_overlapping_patterns():
    # hot at the last step only and cold before: "new" is checked before "oscillating"
    assert emerging.classify(
        hot(F, F, F, F, F, F, F, F, F, T), hot(T, F, F, F, F, F, F, F, F, F), "no trend"
    ) == ("new_hot_spot")
    # a broken run ending at the last step is not consecutive
    assert emerging.classify(hot(F, F, T, F, F, F, F, T, T, T), NONE, "no trend") == "sporadic_hot_spot"
    assert emerging.category_label("new_hot_spot") == "Hotspot baru"
    assert emerging.category_label("no_pattern") == "Tanpa pola"


def test_response_summary_by_hand():
    minutes = np.array([5, 6, 7, 8, 9, 10, 11, 12, 14, 20], dtype=float)
    summary = response.summarise(minutes, np.full(10, 15.0))
    assert summary == {"incidents": 10, "compliance": 0.9, "median_min": 9.5, "p90_min": 14.0}
    rows = [{"category": "A", "kelurahan_code": "k1", "minutes": m} for m in (10, 20)]
    rows += [{"category": "B", "kelurahan_code": "k1", "minutes": 50}]
    by_kelurahan = response.by_group(rows, "kelurahan_code", {"A": 15, "B": 60})
    assert by_kelurahan["k1"]["compliance"] == round(2 / 3, 4)  # each incident against its own target
    # goals: A 90 %, B 60 %; k1 is held to the mean goal of its three incidents, (90 + 90 + 60) / 3 = 80 %
    judged = response.by_group(rows, "kelurahan_code", {"A": 15, "B": 60}, {"A": 90, "B": 60})["k1"]
    assert judged["goal_pct"] == 80.0
    assert judged["gap_points"] == round(200 / 3 - 80, 2) == -13.33


def test_complete_steps_leave_out_the_running_month_and_months_without_incidents():
    """By hand: data from Jul to Dec 2026, Sep and Nov empty, "now" 3 Dec 2026: Dec still runs."""
    from datetime import datetime

    month = [datetime(2026, m, 1) for m in range(7, 13)]
    totals = {month[0]: 4, month[1]: 9, month[3]: 2, month[5]: 1}  # Jul, Aug, Oct, Dec
    steps = emerging.complete_steps(totals, "month", now=datetime(2026, 12, 3, 8))
    assert steps.analysed == [month[0], month[1], month[3]]
    assert steps.unfinished == month[5]
    assert steps.empty == [month[2], month[4]]
    # once December has ended it is a step like any other
    later = emerging.complete_steps(totals, "month", now=datetime(2027, 1, 1))
    assert later.analysed == [month[0], month[1], month[3], month[5]] and later.unfinished is None


def test_complete_steps_in_weeks_end_at_the_last_finished_monday_to_sunday():
    from datetime import datetime, timedelta

    monday = datetime(2026, 11, 2)
    weeks = [monday + timedelta(days=7 * k) for k in range(5)]  # 2, 9, 16, 23, 30 Nov
    totals = dict.fromkeys(weeks, 3)
    steps = emerging.complete_steps(totals, "week", now=datetime(2026, 12, 6, 23, 59))  # Sunday evening
    assert steps.analysed == weeks[:4] and steps.unfinished == weeks[4] and steps.empty == []
    steps = emerging.complete_steps(totals, "week", now=datetime(2026, 12, 7))  # the Monday after
    assert steps.analysed == weeks and steps.unfinished is None
    assert emerging.complete_steps({}, "week", now=monday).analysed == []


def test_complete_steps_report_the_asked_months_without_incidents_and_stop_at_now():
    """By hand: asked 1 Jan – 30 Jun 2026, incidents in Feb-Apr only, "now" 10 May 2026: January (before the
    first incident) is empty, May still runs, June has not begun."""
    from datetime import datetime

    month = [datetime(2026, m, 1) for m in range(1, 7)]
    totals = {month[1]: 5, month[2]: 7, month[3]: 1}
    asked = (datetime(2026, 1, 1), datetime(2026, 6, 30, 23, 59, 59))
    steps = emerging.complete_steps(totals, "month", now=datetime(2026, 5, 10), asked=asked)
    assert steps.analysed == month[1:4]
    assert steps.empty == [month[0]]
    assert steps.unfinished == month[4]
    assert emerging.step_start(datetime(2026, 12, 3, 8, 30), "week") == datetime(2026, 11, 30)  # a Monday
