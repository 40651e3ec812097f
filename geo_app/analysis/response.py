"""Response times, call received to responder on scene, against the catalog's targets (spec §4).

Compliance is the share of incidents whose time is within the target of their own category (fire: 15
minutes, Permendagri 114/2018); the 90th percentile uses ``numpy.quantile(method="inverted_cdf")``, an
observed time, so "90 % arrived within p90" holds literally.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np


def summarise(minutes: np.ndarray, targets: np.ndarray) -> dict:
    """Count, compliance, median and p90 of one group (minutes and each incident's target)."""
    minutes = np.asarray(minutes, dtype=float)
    targets = np.asarray(targets, dtype=float)
    return {
        "incidents": int(len(minutes)),
        "compliance": round(float(np.mean(minutes <= targets)), 4),
        **median_p90(minutes),
    }


def median_p90(minutes: np.ndarray) -> dict:
    """Median and observed 90th percentile (inverted CDF) of some minutes; None for both when empty."""
    minutes = np.asarray(minutes, dtype=float)
    if not len(minutes):
        return {"median_min": None, "p90_min": None}
    return {
        "median_min": round(float(np.median(minutes)), 2),
        "p90_min": round(float(np.quantile(minutes, 0.9, method="inverted_cdf")), 2),
    }


def by_group(rows: list[dict], key: str, targets: dict[str, float]) -> dict[str, dict]:
    """Summaries per value of ``key`` (category, kelurahan_code or kecamatan_code); rows without one skip."""
    groups: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for row in rows:
        if row[key] is None or row["category"] not in targets:
            continue
        groups[row[key]].append((float(row["minutes"]), targets[row["category"]]))
    return {
        name: summarise(np.array([m for m, _ in pairs]), np.array([t for _, t in pairs]))
        for name, pairs in sorted(groups.items())
    }


def monthly_shares(rows: list[dict], call_types: tuple[str, ...] = ("prank", "ghost")) -> list[dict]:
    """Per month: all calls and the share of each of ``call_types``."""
    months: dict[str, dict[str, int]] = defaultdict(dict)
    for row in rows:
        months[row["month"]][row["call_type"]] = row["count"]
    result = []
    for month, counts in sorted(months.items()):
        total = sum(counts.values())
        entry = {"month": month, "calls": total}
        for call_type in call_types:
            entry[f"{call_type}_share"] = round(counts.get(call_type, 0) / total, 4) if total else None
        result.append(entry)
    return result
