"""Quartic kernel density (heat maps) and its default search radius, spec §3.

K(d) = (3/π)(1 − (d/r)²)² / r² for d < r: one point of weight w integrates to w and peaks at 3w/(πr²).
Default r = 0.9 · min(SD, sqrt(1/ln 2) · D_m) · n^−0.2 with SD the standard distance and D_m the median
distance to the mean centre. Inputs may be weighted points (incidents pre-binned to a fine grid), so a
million incidents cost as much as the number of occupied bins.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree


def quartic_kernel(distance: np.ndarray, radius: float) -> np.ndarray:
    ratio = np.asarray(distance, dtype=float) / radius
    return np.where(ratio < 1.0, (3.0 / math.pi) * (1.0 - ratio**2) ** 2 / radius**2, 0.0)


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2.0)])


def default_radius(xy: np.ndarray, weights: np.ndarray | None = None) -> float:
    xy = np.asarray(xy, dtype=float)
    weights = np.ones(len(xy)) if weights is None else np.asarray(weights, dtype=float)
    total = weights.sum()
    centre = (xy * weights[:, None]).sum(axis=0) / total
    distance = np.sqrt(((xy - centre) ** 2).sum(axis=1))
    standard_distance = math.sqrt((weights * distance**2).sum() / total)
    median_distance = weighted_median(distance, weights)
    return 0.9 * min(standard_distance, math.sqrt(1.0 / math.log(2.0)) * median_distance) * total**-0.2


def density_at(nodes: np.ndarray, xy: np.ndarray, weights: np.ndarray, radius: float) -> np.ndarray:
    """Σ w·K(d) at each node (per square metre)."""
    nodes = np.asarray(nodes, dtype=float)
    pairs = cKDTree(nodes).sparse_distance_matrix(
        cKDTree(np.asarray(xy, float)), radius, output_type="coo_matrix"
    )
    contributions = quartic_kernel(pairs.data, radius) * np.asarray(weights, dtype=float)[pairs.col]
    return np.bincount(pairs.row, weights=contributions, minlength=len(nodes))


def surface(
    xy: np.ndarray, weights: np.ndarray, radius: float, cell: float, bounds: tuple[float, float, float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Density on a regular grid of cell centres covering ``bounds`` widened by the radius.

    Returns (nodes as an (m, 2) array, density per km²).
    """
    west, south, east, north = bounds
    xs = np.arange(west - radius + cell / 2, east + radius, cell)
    ys = np.arange(south - radius + cell / 2, north + radius, cell)
    grid_x, grid_y = np.meshgrid(xs, ys)
    nodes = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    return nodes, density_at(nodes, xy, weights, radius) * 1e6
