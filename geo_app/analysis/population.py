"""The population grid in analyses: cells with their people, and the share of a kelurahan's people inside
a shape (coverage, siting, park access). Without a grid the analyses spread people evenly by area."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo_app.store import population as population_store


@dataclass(frozen=True)
class PopulationCells:
    """The population grid's cells: centres (metres), people, and the index of their kelurahan in Areas."""

    x: np.ndarray
    y: np.ndarray
    people: np.ndarray
    area_index: np.ndarray

    def per_area(self, count: int) -> list[np.ndarray]:
        """Indices of each area's cells."""
        order = np.argsort(self.area_index, kind="stable")
        return np.split(order, np.searchsorted(self.area_index[order], np.arange(1, count)))

    def share_in(self, members: np.ndarray, shape: BaseGeometry) -> float | None:
        """Share of these cells' people whose centre lies in the shape (None: they hold nobody)."""
        total = self.people[members].sum()
        if total <= 0:
            return None
        shapely.prepare(shape)
        inside = shapely.contains_xy(shape, self.x[members], self.y[members])
        return float(self.people[members][inside].sum() / total)

    def shares_in(self, shapes: Sequence[BaseGeometry]) -> np.ndarray:
        """Per area, the share of its people in its shape (NaN where its cells hold nobody)."""
        shares = [
            self.share_in(members, shape)
            for members, shape in zip(self.per_area(len(shapes)), shapes, strict=True)
        ]
        return np.array([np.nan if share is None else share for share in shares], dtype=float)

    def scaled_to(self, totals: np.ndarray) -> np.ndarray:
        """The cells' people scaled so each area's cells sum to its total (evenly where they hold nobody)."""
        people = self.people.copy()
        for index, members in enumerate(self.per_area(len(totals))):
            held = people[members].sum()
            people[members] = totals[index] * (
                people[members] / held if held > 0 else 1.0 / max(len(members), 1)
            )
        return people


def load_cells(conn, city_code: str, codes: Sequence[str]) -> PopulationCells | None:
    """The city's grid cells in the kelurahan ``codes`` (indexed by their position), or None."""
    rows = population_store.cells(conn, city_code)
    if not rows:
        return None
    index = {code: position for position, code in enumerate(codes)}
    rows = [row for row in rows if row["kelurahan_code"] in index]
    return PopulationCells(
        x=np.array([row["x"] for row in rows], dtype=float),
        y=np.array([row["y"] for row in rows], dtype=float),
        people=np.array([row["population"] for row in rows], dtype=float),
        area_index=np.array([index[row["kelurahan_code"]] for row in rows], dtype=np.int64),
    )
