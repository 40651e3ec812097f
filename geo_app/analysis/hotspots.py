"""Getis-Ord Gi* hot spots with FDR-corrected confidence bins and the distance band chosen from the data.

Definitions follow docs ``specs/analysis.md`` §1 exactly (binary, inclusive distance-band weights with
the feature itself included; S with ddof 0; two-sided p; Benjamini-Hochberg at 0.10/0.05/0.01).
Choices the spec leaves to us, documented here:

- an *outlier* (ignored when choosing the starting band) is a feature whose nearest-neighbour distance
  exceeds the mean nearest-neighbour distance by more than three standard deviations;
- Moran's I is tested under the normality assumption (z = (I − E[I]) / sqrt(Var_N[I])), row-standardised;
- a *peak* is a band whose z-score is above its neighbours'; the first band is a peak when the z-score
  falls from it (clustering is strongest at the smallest scale), the last never is (the curve may
  still rise beyond it);
- bands are rounded up to the centimetre, so a band that equals a grid's spacing does not lose
  neighbours to floating-point noise, and the reported band reproduces the weights exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse, stats
from scipy.spatial import cKDTree

MIN_INCIDENTS = 30
MIN_FEATURES = 30
BAND_STEPS = 10
FDR_LEVELS = ((0.10, 1), (0.05, 2), (0.01, 3))


class NotEnoughData(ValueError):
    """Too few incidents or features, or no variation: a hot-spot map would only show noise."""


def round_band(distance: float) -> float:
    return math.ceil(distance * 100.0 - 1e-9) / 100.0


def neighbour_pairs(xy: np.ndarray, band: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every ordered pair (i, j), i != j, with d_ij <= band (inclusive), and its distance."""
    pairs = cKDTree(xy).query_pairs(band, output_type="ndarray")
    rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
    cols = np.concatenate([pairs[:, 1], pairs[:, 0]])
    return rows, cols, np.hypot(*(xy[rows] - xy[cols]).T)


def distance_band_weights(xy: np.ndarray, band: float, include_self: bool) -> sparse.csr_matrix:
    """Binary weights: 1 where the distance is <= band (inclusive), symmetric, sparse."""
    n = len(xy)
    rows, cols, _ = neighbour_pairs(np.asarray(xy, dtype=float), band)
    if include_self:
        rows = np.concatenate([rows, np.arange(n)])
        cols = np.concatenate([cols, np.arange(n)])
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))


def gi_star(values: np.ndarray, xy: np.ndarray, band: float) -> np.ndarray:
    """z of Gi* per feature (spec §1). A feature whose neighbours are all n features gets z = 0."""
    y = np.asarray(values, dtype=float)
    n = len(y)
    weights = distance_band_weights(np.asarray(xy, dtype=float), band, include_self=True)
    weight_sum = np.asarray(weights.sum(axis=1)).ravel()
    squared_sum = weight_sum  # binary weights: w² = w
    mean = y.mean()
    spread = math.sqrt(max((y**2).mean() - mean**2, 0.0))
    numerator = weights @ y - mean * weight_sum
    denominator = spread * np.sqrt((n * squared_sum - weight_sum**2) / (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(denominator > 0, numerator / denominator, 0.0)
    return z


def two_sided_p(z: np.ndarray) -> np.ndarray:
    return 2.0 * stats.norm.sf(np.abs(z))


def confidence_bins(z: np.ndarray, p: np.ndarray, fdr: bool = True) -> np.ndarray:
    """Gi_Bin: ±3/±2/±1 for 99/95/90 % confidence, 0 otherwise; with FDR by Benjamini-Hochberg."""
    z = np.asarray(z, dtype=float)
    p = np.asarray(p, dtype=float)
    level = np.zeros(len(p), dtype=int)
    tested = stats.false_discovery_control(p, method="bh") if fdr and len(p) else p
    for alpha, strength in FDR_LEVELS:
        level[tested <= alpha] = strength
    return (np.sign(z) * level).astype(int)


def morans_i_z(values: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> float:
    """z-score of global Moran's I, row-standardised binary weights, normality assumption.

    ``rows``/``cols``: the neighbour pairs in both directions (from :func:`neighbour_pairs`); computed
    on the pair arrays directly, as the band search evaluates ten bands on up to ~10^6 pairs.
    """
    y = np.asarray(values, dtype=float)
    n = len(y)
    neighbours = np.bincount(rows, minlength=n).astype(float)
    scale = np.divide(1.0, neighbours, out=np.zeros(n), where=neighbours > 0)
    deviations = y - y.mean()
    lag = scale * np.bincount(rows, weights=deviations[cols], minlength=n)
    s0 = float((neighbours > 0).sum())
    moran = (n / s0) * (deviations @ lag) / (deviations @ deviations)
    expected = -1.0 / (n - 1)
    s1 = 0.5 * ((scale[rows] + scale[cols]) ** 2).sum()
    column_sums = np.bincount(cols, weights=scale[rows], minlength=n)
    s2 = (((neighbours > 0).astype(float) + column_sums) ** 2).sum()
    variance = (n * n * s1 - n * s2 + 3 * s0 * s0) / ((n * n - 1) * s0 * s0) - expected**2
    return float((moran - expected) / math.sqrt(variance))


@dataclass
class BandChoice:
    band: float
    method: str  # "moran_peak" | "moran_highest_peak" | "kth_neighbour"
    bands: list[float]
    z_scores: list[float]

    def as_dict(self) -> dict:
        return {
            "band_m": self.band,
            "method": self.method,
            "tested_bands_m": self.bands,
            "moran_z": [round(z, 4) for z in self.z_scores],
        }


def choose_band(values: np.ndarray, xy: np.ndarray) -> BandChoice:
    """The distance band by incremental spatial autocorrelation (spec §1, "Choosing the scale")."""
    xy = np.asarray(xy, dtype=float)
    neighbour_distance = cKDTree(xy).query(xy, k=2)[0][:, 1]
    mean_nn, sd_nn = neighbour_distance.mean(), neighbour_distance.std()
    regular = neighbour_distance <= mean_nn + 3 * sd_nn
    start = round_band(neighbour_distance[regular].max())
    step = mean_nn
    bands = [round_band(start + k * step) for k in range(BAND_STEPS)]
    # one pair search at the widest band, sorted by distance: each band is a prefix of it
    rows, cols, distances = neighbour_pairs(xy, bands[-1])
    order = np.argsort(distances, kind="stable")
    rows, cols, distances = rows[order], cols[order], distances[order]
    z_scores = []
    for band in bands:
        end = int(np.searchsorted(distances, band, side="right"))
        z_scores.append(morans_i_z(values, rows[:end], cols[:end]))
    return pick_band(bands, z_scores, xy)


def pick_band(bands: list[float], z_scores: list[float], xy: np.ndarray) -> BandChoice:
    """First peak with z > 1.65, else the highest peak, else the mean K-th neighbour distance."""
    peaks = [
        k
        for k in range(len(bands) - 1)
        if (k == 0 or z_scores[k - 1] < z_scores[k]) and z_scores[k] > z_scores[k + 1]
    ]
    significant = [k for k in peaks if z_scores[k] > 1.65]
    if significant:
        return BandChoice(bands[significant[0]], "moran_peak", bands, z_scores)
    if peaks:
        best = max(peaks, key=lambda k: z_scores[k])
        return BandChoice(bands[best], "moran_highest_peak", bands, z_scores)
    n = len(xy)
    k = min(max(int(0.05 * n), 3), 30)
    kth = cKDTree(xy).query(xy, k=k + 1)[0][:, k].mean()
    standard_distance = math.sqrt(((xy - xy.mean(axis=0)) ** 2).sum(axis=1).mean())
    return BandChoice(round_band(min(kth, standard_distance)), "kth_neighbour", bands, z_scores)


@dataclass
class HotspotResult:
    z: np.ndarray
    p: np.ndarray
    bins: np.ndarray
    band: BandChoice | None
    band_m: float


def check_enough(values: np.ndarray, incident_count: int) -> None:
    if incident_count < MIN_INCIDENTS:
        raise NotEnoughData(
            f"only {incident_count} incidents match the filters; a hot-spot analysis needs at least "
            f"{MIN_INCIDENTS}. Widen the dates, add categories or kecamatan."
        )
    if len(values) < MIN_FEATURES:
        raise NotEnoughData(
            f"only {len(values)} cells to compare; at least {MIN_FEATURES} are needed. Use a smaller cell "
            "size, a wider area, or kelurahan aggregation over the whole city."
        )
    if np.allclose(values, values[0]):
        raise NotEnoughData("every cell has the same count, so there is nothing to tell apart.")


def hot_spots(
    values: np.ndarray, xy: np.ndarray, incident_count: int, band: float | None = None, fdr: bool = True
) -> HotspotResult:
    """Gi* over aggregated counts: the band is chosen from the data unless given."""
    values = np.asarray(values, dtype=float)
    check_enough(values, incident_count)
    choice = None if band is not None else choose_band(values, xy)
    band_m = band if band is not None else choice.band
    z = gi_star(values, xy, band_m)
    p = two_sided_p(z)
    return HotspotResult(z, p, confidence_bins(z, p, fdr), choice, band_m)
