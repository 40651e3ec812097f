"""How much work one request may ask of an analysis, estimated before the work starts.

The web server kills a worker after 30 s and the database cancels a statement after STATEMENT_TIMEOUT_MS;
these limits keep every analysis well inside both on a 2-core machine (``scripts/bench/bounded_requests.py``
walks the requests that used to stall a worker). A request over a limit gets :class:`TooMuchWork`, which
names the parameter to change and the nearest value this area allows, computed from the area's size.
Defaults never exceed them on a city the size of Cilegon (162 km²), and defaults that depend on the data
(the density cell) are raised to fit instead of refused.
"""

from __future__ import annotations

import math

from geo_app.analysis.grids import h3_cell_area, hexagon_area

MAX_GRID_CELLS = 6_000
"""Cells of a hot-spot or emerging grid: ~2.5 s and ~2 MB of GeoJSON; Cilegon's default grid has ~1,200."""
MAX_SPACE_TIME_BINS = 300_000
"""Cells × time steps of an emerging hot-spot cube (Gi* per bin, a trend test per cell): ~2 s."""
MAX_NEIGHBOUR_PAIRS = 4_000_000
"""Pairs of cells within the distance band, or of density nodes and incident bins within the radius:
~2 s. The band chosen from the data reaches ~360 neighbours per cell, so the largest grid fits."""
MAX_DENSITY_NODES = 100_000
"""Nodes of a density surface: bounds the answer to ~3 MB ([lat, lon, value] per node above zero)."""
MAX_COVER_PAIRS = 2_000_000
"""Siting: candidate sites × the uncovered demand points they reach, each pick a pass over them (100
picks)."""
MAX_NETWORK_CANDIDATES = 5_000
"""Siting in travel-time mode: candidate sites, each joined to the road network and walked from (~0.5 ms
each); Cilegon's default 500 m spacing gives ~650."""
MAX_UNION_INPUTS = 40_000
"""Coverage: service shapes unioned per kelurahan (summed), about 2 s; a kelurahan that lies wholly
inside one shape needs no union and is not counted."""


class TooMuchWork(ValueError):
    """A request over a limit; ``parameter`` and ``allowed`` say what to change (also in the message)."""

    def __init__(self, message: str, parameter: str, allowed: float | None = None):
        super().__init__(message)
        self.parameter = parameter
        self.allowed = allowed


def hexagon_cells(area_m2: float, size: float) -> int:
    """Hexagons of edge ``size`` that an area of ``area_m2`` holds (cells along the edge come on top)."""
    return math.ceil(area_m2 / hexagon_area(size))


def smallest_hexagon(area_m2: float, cells: float) -> float:
    """The smallest edge (whole metres) that cuts ``area_m2`` into at most ``cells`` hexagons."""
    return float(math.ceil(math.sqrt(area_m2 / cells / hexagon_area(1.0))))


def _area_text(area_m2: float) -> str:
    return f"the area analysed ({area_m2 / 1e6:,.1f} km²)"


def check_hexagon_grid(area_m2: float, size: float) -> int:
    """The estimated number of cells of a hexagon grid; TooMuchWork past MAX_GRID_CELLS."""
    cells = hexagon_cells(area_m2, size)
    if cells > MAX_GRID_CELLS:
        smallest = smallest_hexagon(area_m2, MAX_GRID_CELLS)
        raise TooMuchWork(
            f"size={size:g} cuts {_area_text(area_m2)} into about {cells:,} hexagons; at most "
            f"{MAX_GRID_CELLS:,} are analysed at once. Use size={smallest:g} or more, or narrow the area "
            "(kecamatan, kelurahan).",
            "size",
            smallest,
        )
    return cells


def check_h3_grid(area_m2: float, resolution: int) -> int:
    """The estimated number of H3 cells at ``resolution``; TooMuchWork past MAX_GRID_CELLS."""
    cells = math.ceil(area_m2 / h3_cell_area(resolution))
    if cells > MAX_GRID_CELLS:
        largest = max(r for r in range(16) if area_m2 / h3_cell_area(r) <= MAX_GRID_CELLS)
        raise TooMuchWork(
            f"resolution={resolution} cuts {_area_text(area_m2)} into about {cells:,} H3 cells; at most "
            f"{MAX_GRID_CELLS:,} are analysed at once. Use resolution={largest} or less, or narrow the area "
            "(kecamatan, kelurahan).",
            "resolution",
            largest,
        )
    return cells


def check_space_time(area_m2: float, size: float, steps: int, step: str) -> None:
    """Cells and cells × steps of an emerging hot-spot cube; TooMuchWork past MAX_GRID_CELLS or
    MAX_SPACE_TIME_BINS."""
    cells = hexagon_cells(area_m2, size)
    if cells <= MAX_GRID_CELLS and cells * steps <= MAX_SPACE_TIME_BINS:
        return
    smallest = max(
        smallest_hexagon(area_m2, MAX_GRID_CELLS), smallest_hexagon(area_m2, MAX_SPACE_TIME_BINS // steps)
    )
    raise TooMuchWork(
        f"size={size:g} and step={step} give about {cells:,} hexagons × {steps} {step}s = "
        f"{cells * steps:,} space-time bins over {_area_text(area_m2)}; at most {MAX_GRID_CELLS:,} hexagons "
        f"and {MAX_SPACE_TIME_BINS:,} bins are analysed at once. Use size={smallest:g} or more, "
        f"step=month, or fewer {step}s (start, end).",
        "size",
        smallest,
    )


def check_band(cells: int, cell_area_m2: float, band: float) -> None:
    """Pairs of cells within a distance band; TooMuchWork past MAX_NEIGHBOUR_PAIRS."""
    neighbours = min(cells, math.pi * band * band / cell_area_m2)
    if cells * neighbours > MAX_NEIGHBOUR_PAIRS:
        widest = math.floor(math.sqrt(MAX_NEIGHBOUR_PAIRS / cells * cell_area_m2 / math.pi))
        raise TooMuchWork(
            f"band={band:g} m puts about {neighbours:,.0f} neighbours around each of {cells:,} cells; at "
            f"most {MAX_NEIGHBOUR_PAIRS:,} pairs are compared at once. Use band={widest} or less, or a "
            "larger cell size.",
            "band",
            widest,
        )


def density_nodes(width_m: float, height_m: float, radius: float, cell: float) -> int:
    """Nodes of a density grid over the area widened by the radius (geo_app.analysis.density.surface)."""
    return math.ceil((width_m + 2 * radius) / cell) * math.ceil((height_m + 2 * radius) / cell)


def smallest_density_cell(width_m: float, height_m: float, radius: float, bins: int) -> float:
    """The smallest cell (whole metres) within both MAX_DENSITY_NODES and MAX_NEIGHBOUR_PAIRS for
    ``bins`` weighted points: each point reaches the nodes within the radius (π r² / cell²)."""
    by_nodes = math.sqrt((width_m + 2 * radius) * (height_m + 2 * radius) / MAX_DENSITY_NODES)
    by_pairs = radius * math.sqrt(math.pi * max(bins, 1) / MAX_NEIGHBOUR_PAIRS)
    cell = math.ceil(max(by_nodes, by_pairs))
    while density_nodes(width_m, height_m, radius, cell) > MAX_DENSITY_NODES:
        cell += 1
    return float(cell)


def check_density_cell(width_m: float, height_m: float, radius: float, bins: int, cell: float) -> None:
    """TooMuchWork when ``cell`` is finer than :func:`smallest_density_cell` allows."""
    smallest = smallest_density_cell(width_m, height_m, radius, bins)
    if cell < smallest:
        nodes = density_nodes(width_m, height_m, radius, cell)
        raise TooMuchWork(
            f"cell={cell:g} m with radius {radius:,.0f} m gives a grid of {nodes:,} nodes over the area "
            f"widened by the radius; at most {MAX_DENSITY_NODES:,} nodes (and {MAX_NEIGHBOUR_PAIRS:,} "
            f"node-incident pairs) are computed at once. Use cell={smallest:g} or more, or a smaller "
            "radius.",
            "cell",
            smallest,
        )


def check_siting(candidates: int, demand_points: int, demand_cell_m: float, radius: float) -> None:
    """Candidate × demand pairs within the radius; TooMuchWork past MAX_COVER_PAIRS."""
    reached = min(demand_points, math.pi * radius * radius / demand_cell_m**2)
    if candidates * reached > MAX_COVER_PAIRS:
        widest = math.floor(demand_cell_m * math.sqrt(MAX_COVER_PAIRS / candidates / math.pi))
        raise TooMuchWork(
            f"radius_m={radius:g} lets each of {candidates:,} candidate sites reach about {reached:,.0f} "
            f"of {demand_points:,} demand points; at most {MAX_COVER_PAIRS:,} pairs are compared. Use "
            f"radius_m={widest} or less, or a larger spacing_m (fewer candidates).",
            "radius_m",
            widest,
        )


def check_network_candidates(candidates: int, spacing_m: float) -> None:
    """Siting in travel-time mode: candidate sites; TooMuchWork past MAX_NETWORK_CANDIDATES."""
    if candidates > MAX_NETWORK_CANDIDATES:
        wider = math.ceil(spacing_m * math.sqrt(candidates / MAX_NETWORK_CANDIDATES) * 1.02)
        raise TooMuchWork(
            f"spacing_m={spacing_m:g} places {candidates:,} candidate sites; at most "
            f"{MAX_NETWORK_CANDIDATES:,} are walked over the road network at once. "
            f"Use spacing_m={wider} or more.",
            "spacing_m",
            wider,
        )


def check_network_cover(pairs: int, done: int, candidates: int, spacing_m: float) -> None:
    """Siting in travel-time mode: candidate × demand pairs reached by the first ``done`` of ``candidates``;
    TooMuchWork past MAX_COVER_PAIRS (checked while the pairs are found: reach over roads cannot be
    estimated), advising the spacing whose fewer candidates would stay within it."""
    if pairs > MAX_COVER_PAIRS:
        expected = pairs / done * candidates
        wider = math.ceil(spacing_m * math.sqrt(expected / MAX_COVER_PAIRS) * 1.05)
        raise TooMuchWork(
            f"the candidate sites reach more than {MAX_COVER_PAIRS:,} candidate × demand pairs in this "
            f"travel time; use fewer minutes or spacing_m={wider} or more (fewer candidates).",
            "spacing_m",
            wider,
        )


def check_union_inputs(inputs: int, shapes: int, parameter: str) -> None:
    """Service shapes to union per kelurahan; TooMuchWork past MAX_UNION_INPUTS."""
    if inputs > MAX_UNION_INPUTS:
        raise TooMuchWork(
            f"the {shapes:,} service areas overlap the kelurahan {inputs:,} times without covering them "
            f"whole; at most {MAX_UNION_INPUTS:,} overlaps are merged at once. Use a smaller {parameter} "
            "or fewer asset types.",
            parameter,
        )
