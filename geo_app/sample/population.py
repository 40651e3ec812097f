"""Population per kelurahan: each kecamatan's official total spread by area (an estimate, labelled so)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Whole numbers proportional to ``weights`` that add up to exactly ``total`` (Hamilton's method)."""
    weights = np.asarray(weights, dtype=float)
    quotas = total * weights / weights.sum()
    counts = np.floor(quotas).astype(np.int64)
    short = int(total - counts.sum())
    # Ties broken by position (stable sort) so the result is deterministic.
    order = np.argsort(-(quotas - counts), kind="stable")
    counts[order[:short]] += 1
    return counts


def spread_by_area(totals: pd.Series, groups: np.ndarray, areas: np.ndarray) -> np.ndarray:
    """Split each group's total (``totals`` indexed by group code) over its members in proportion to area."""
    result = np.zeros(len(groups), dtype=np.int64)
    for code, total in totals.items():
        members = np.flatnonzero(groups == code)
        result[members] = largest_remainder(int(total), areas[members])
    return result
