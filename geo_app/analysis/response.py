"""Response times, call received to responder on scene, against the catalog's targets (spec §4).

Compliance is the share of incidents whose time is within the target of their own category (fire: 15
minutes, Permendagri 114/2018); the 90th percentile uses ``numpy.quantile(method="inverted_cdf")``, an
observed time, so "90 % arrived within p90" holds literally.

Each category also has a compliance goal (the share of its incidents that should be within target, in per
cent). A group mixing categories is held to the mean goal of its incidents, so a kelurahan with many fires
(goal 90 %) and some fallen trees (goal 80 %) is judged on what its own incidents ask for; its gap is
compliance minus that goal, in percentage points (negative = below the goal).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np


def summarise(minutes: np.ndarray, targets: np.ndarray, goals_pct: np.ndarray | None = None) -> dict:
    """Count, compliance, median and p90 of one group (minutes and each incident's target); with each
    incident's compliance goal (per cent) also the group's goal and its gap in points."""
    minutes = np.asarray(minutes, dtype=float)
    targets = np.asarray(targets, dtype=float)
    compliance = float(np.mean(minutes <= targets))
    summary = {"incidents": int(len(minutes)), "compliance": round(compliance, 4), **median_p90(minutes)}
    if goals_pct is not None:
        goal = float(np.mean(goals_pct))
        summary.update(goal_pct=round(goal, 2), gap_points=round(compliance * 100 - goal, 2))
    return summary


def median_p90(minutes: np.ndarray) -> dict:
    """Median and observed 90th percentile (inverted CDF) of some minutes; None for both when empty."""
    minutes = np.asarray(minutes, dtype=float)
    if not len(minutes):
        return {"median_min": None, "p90_min": None}
    return {
        "median_min": round(float(np.median(minutes)), 2),
        "p90_min": round(float(np.quantile(minutes, 0.9, method="inverted_cdf")), 2),
    }


def by_group(
    rows: list[dict], key: str, targets: dict[str, float], goals_pct: dict[str, float] | None = None
) -> dict[str, dict]:
    """Summaries per value of ``key`` (category, kelurahan_code or kecamatan_code); rows without one skip.
    ``goals_pct``: each category's compliance goal, to add the group's goal and gap (see the module)."""
    groups: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for row in rows:
        if row[key] is None or row["category"] not in targets:
            continue
        goal = goals_pct[row["category"]] if goals_pct else np.nan
        groups[row[key]].append((float(row["minutes"]), targets[row["category"]], goal))
    return {
        name: summarise(*np.array(triples).T[:2], np.array(triples).T[2] if goals_pct else None)
        for name, triples in sorted(groups.items())
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
