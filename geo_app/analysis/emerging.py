"""Emerging hot spots: space-time Gi*, Mann-Kendall trends and the 17 pattern categories (spec §2).

Choices the spec leaves open, documented here:

- the space-time Gi* treats the whole cube as the population: x̄, S and n are over every cell × step
  bin; bin (c, t) has as neighbours the bins (c', t') with d(c, c') <= band and t − k <= t' <= t
  (k previous steps, default 1), itself included;
- *persistent* (and *intensifying*/*diminishing*) need the last step to be hot: a cell hot in >= 90 % of
  the steps but not in the last is *historical*, as the spec defines that category by the last step;
- *sporadic* needs at least one hot step and one step that is not hot;
- at least ``MIN_STEPS`` (10) time steps are needed: a trend test on fewer says little;
- only complete steps are analysed (:func:`complete_steps`): a step still running and a step without a
  single incident anywhere are left out and reported, not counted as a drop to zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from scipy import stats

from geo_app.analysis.hotspots import distance_band_weights

ALPHA = 0.05
MIN_STEPS = 10
SHARE = 0.9
CATEGORY_ORDER = (
    "intensifying",
    "diminishing",
    "persistent",
    "historical",
    "new",
    "consecutive",
    "oscillating",
    "sporadic",
)
CATEGORIES = (
    tuple(f"{name}_hot_spot" for name in CATEGORY_ORDER)
    + tuple(f"{name}_cold_spot" for name in CATEGORY_ORDER)
    + ("no_pattern",)
)
LABELS_ID = {
    "new": "baru",
    "consecutive": "berturut-turut",
    "intensifying": "menguat",
    "persistent": "menetap",
    "diminishing": "melemah",
    "sporadic": "sporadis",
    "oscillating": "berosilasi",
    "historical": "historis",
}


def category_label(category: str) -> str:
    """Bahasa Indonesia label for maps, e.g. ``Hotspot baru``."""
    if category == "no_pattern":
        return "Tanpa pola"
    name, kind = category.rsplit("_", 2)[0], category.split("_")[-2]
    return f"{'Hotspot' if kind == 'hot' else 'Coldspot'} {LABELS_ID[name]}"


def step_end(start: datetime, step: str) -> datetime:
    """The start of the step after the week or calendar month that begins at ``start``."""
    if step == "week":
        return start + timedelta(days=7)
    return (start.replace(day=1) + timedelta(days=32)).replace(day=1)


@dataclass(frozen=True)
class Steps:
    """The time steps of an emerging analysis: those analysed and those left out, with why."""

    analysed: list[datetime]
    unfinished: datetime | None = None
    empty: list[datetime] = field(default_factory=list)


def step_start(moment: datetime, step: str) -> datetime:
    """The start of the week (Monday, as PostgreSQL's date_trunc) or calendar month holding ``moment``."""
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday()) if step == "week" else day.replace(day=1)


def complete_steps(
    totals: Mapping[datetime, int],
    step: str,
    now: datetime,
    asked: tuple[datetime | None, datetime | None] = (None, None),
) -> Steps:
    """Every week or month from the first to the last step in ``totals`` (incidents per step start, in
    local time like ``now``), widened to the ``asked`` first and last moment (the filter's dates) up to
    ``now``, without the step still running at ``now`` and without steps that hold no incident at all.
    A step still running holds part of its calls and would read as a fall in every cell; a step with no
    incident anywhere (most often days not imported) carries no spatial pattern and would mark every cell
    cold in it."""
    ends = [*totals, *(step_start(moment, step) for moment in asked if moment is not None)]
    if not totals:
        return Steps([])
    starts, current = [], min(ends)
    last = min(max(ends), step_start(now, step))
    while current <= last:
        starts.append(current)
        current = step_end(current, step)
    unfinished = starts.pop() if starts and step_end(starts[-1], step) > now else None
    empty = [start for start in starts if not totals.get(start)]
    return Steps([start for start in starts if totals.get(start)], unfinished, empty)


@dataclass
class MannKendall:
    s: float
    var_s: float
    z: float
    p: float
    trend: str  # increasing | decreasing | no trend


def mann_kendall(series: np.ndarray, alpha: float = ALPHA) -> MannKendall:
    """Mann-Kendall trend test with tie correction, two-sided (spec §2)."""
    x = np.asarray(series, dtype=float)
    n = len(x)
    s = float(np.sign(x[None, :] - x[:, None])[np.triu_indices(n, k=1)].sum())
    _, tie_sizes = np.unique(x, return_counts=True)
    ties = (tie_sizes * (tie_sizes - 1) * (2 * tie_sizes + 5)).sum()
    var_s = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    z = (s - np.sign(s)) / math.sqrt(var_s) if var_s > 0 else 0.0
    p = float(2 * stats.norm.sf(abs(z)))
    trend = "no trend" if p > alpha else ("increasing" if z > 0 else "decreasing")
    return MannKendall(s, var_s, float(z), p, trend)


def space_time_gi_star(
    counts: np.ndarray, xy: np.ndarray, band: float, previous_steps: int = 1
) -> np.ndarray:
    """z per bin of a (cells, steps) count array; neighbours in the same and the previous step(s)."""
    counts = np.asarray(counts, dtype=float)
    cells, steps = counts.shape
    n = counts.size
    mean = counts.mean()
    spread = math.sqrt(max((counts**2).mean() - mean**2, 0.0))
    spatial = distance_band_weights(np.asarray(xy, float), band, include_self=True)
    spatial_sum = np.asarray(spatial.sum(axis=1)).ravel()
    lagged = spatial @ counts  # (cells, steps): same-step neighbour sums
    z = np.zeros_like(counts)
    for t in range(steps):
        first = max(0, t - previous_steps)
        neighbour_total = lagged[:, first : t + 1].sum(axis=1)
        weight_sum = spatial_sum * (t + 1 - first)
        numerator = neighbour_total - mean * weight_sum
        denominator = spread * np.sqrt((n * weight_sum - weight_sum**2) / (n - 1))
        with np.errstate(divide="ignore", invalid="ignore"):
            z[:, t] = np.where(denominator > 0, numerator / denominator, 0.0)
    return z


def significance(z: np.ndarray, alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """(hot, cold) boolean arrays, FDR-corrected per time step (columns)."""
    p = 2 * stats.norm.sf(np.abs(z))
    adjusted = np.column_stack(
        [stats.false_discovery_control(p[:, t], method="bh") for t in range(z.shape[1])]
    )
    significant = adjusted <= alpha
    return significant & (z > 0), significant & (z < 0)


def _pattern(hot: np.ndarray, opposite: np.ndarray, trend: str, rising: str) -> str | None:
    """The first matching of the eight patterns for one polarity (hot, or cold with arrays swapped)."""
    steps = len(hot)
    hot_steps = int(hot.sum())
    mostly = hot_steps >= SHARE * steps
    last = bool(hot[-1])
    falling = "decreasing" if rising == "increasing" else "increasing"
    if mostly and last and trend == rising:
        return "intensifying"
    if mostly and last and trend == falling:
        return "diminishing"
    if mostly and last:
        return "persistent"
    if mostly and not last:
        return "historical"
    if last and hot_steps == 1:
        return "new"
    if last:
        run = int(np.argmin(hot[::-1])) if not hot.all() else steps  # hot steps at the end
        if hot_steps == run:
            return "consecutive"
    if last and opposite[:-1].any():
        return "oscillating"
    if 0 < hot_steps < steps and not opposite.any():
        return "sporadic"
    return None


def classify(hot: np.ndarray, cold: np.ndarray, trend: str) -> str:
    """One cell's category from its hot/cold steps and the trend of its z series (spec §2 order)."""
    hot = np.asarray(hot, dtype=bool)
    cold = np.asarray(cold, dtype=bool)
    pattern = _pattern(hot, cold, trend, "increasing")
    if pattern:
        return f"{pattern}_hot_spot"
    pattern = _pattern(cold, hot, trend, "decreasing")
    if pattern:
        return f"{pattern}_cold_spot"
    return "no_pattern"


@dataclass
class EmergingResult:
    z: np.ndarray  # (cells, steps)
    hot: np.ndarray
    cold: np.ndarray
    trends: list[MannKendall]
    categories: list[str]


def emerging_hot_spots(
    counts: np.ndarray, xy: np.ndarray, band: float, previous_steps: int = 1
) -> EmergingResult:
    counts = np.asarray(counts, dtype=float)
    z = space_time_gi_star(counts, xy, band, previous_steps)
    hot, cold = significance(z)
    trends = [mann_kendall(row) for row in z]
    categories = [classify(h, c, mk.trend) for h, c, mk in zip(hot, cold, trends, strict=True)]
    return EmergingResult(z, hot, cold, trends, categories)
