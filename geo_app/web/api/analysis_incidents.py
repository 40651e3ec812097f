"""/api/analysis/hotspots (Gi*, density, DBSCAN, hour × weekday), /emerging and /response for 112 calls.

The analyses are geo_app.usecases.hotspots and geo_app.usecases.incidents; these views read the typed
query and shape the answer. All analyses default to call type ``darurat`` (the catalog's call types that
count as incidents).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from flask import Blueprint
from pydantic import Field

from geo_app.store.incidents import IncidentFilter
from geo_app.usecases import hotspots
from geo_app.usecases import incidents as incident_usecases
from geo_app.web import deps
from geo_app.web.params import IncidentQuery, parsed

blueprint = Blueprint("incident_analysis_api", __name__, url_prefix="/api/analysis")


def emergency_filter(query: IncidentQuery) -> IncidentFilter:
    """The query's filters; call types default to the catalog's emergencies."""
    return query.to_filter(deps.city_code(), tuple(deps.catalog().incident_call_types))


class HotSpotQuery(IncidentQuery):
    grid: Literal["hexagon", "h3", "kelurahan"] = "hexagon"
    size: float | None = Field(None, ge=25, le=5000)
    resolution: int = Field(8, ge=5, le=11)
    band: float | None = Field(None, ge=1, le=100_000)
    fdr: bool = True


@blueprint.get("/hotspots")
def hot_spots():
    """Gi* hot and cold spots on hexagons, H3 cells or kelurahan, with FDR bins and the band used."""
    query = parsed(HotSpotQuery)
    grid = hotspots.Grid(query.grid, query.size, query.resolution)
    request_ = hotspots.HotSpotRequest(emergency_filter(query), grid, query.band, query.fdr)
    with deps.connection() as conn:
        return hotspots.hot_spots(conn, deps.city(), request_)


class DensityQuery(IncidentQuery):
    radius: float | None = Field(None, ge=50, le=20_000)
    cell: float | None = Field(None, ge=10, le=5000)


@blueprint.get("/hotspots/density")
def density_surface():
    """Quartic kernel density on a regular grid: [lat, lon, incidents per km²] for each node above zero."""
    query = parsed(DensityQuery)
    request_ = hotspots.DensityRequest(emergency_filter(query), query.radius, query.cell)
    with deps.connection() as conn:
        return hotspots.density_surface(conn, deps.city(), request_)


class ClusterQuery(IncidentQuery):
    eps: float = Field(150, ge=1, le=5000)
    min_points: int = Field(10, ge=2, le=10_000)


@blueprint.get("/hotspots/clusters")
def clusters():
    """DBSCAN (ST_ClusterDBSCAN in the city's metric CRS): one outline per cluster with its incident count."""
    query = parsed(ClusterQuery)
    request_ = hotspots.ClusterRequest(emergency_filter(query), query.eps, query.min_points)
    with deps.connection() as conn:
        return hotspots.clusters(conn, deps.city(), request_)


@blueprint.get("/hotspots/temporal")
def hour_weekday():
    """Counts per hour of day (0-23) × ISO weekday (1 = Monday), per category and in total, in the city's
    own time zone."""
    filters = emergency_filter(parsed(IncidentQuery))
    with deps.connection() as conn:
        return incident_usecases.hour_weekday(conn, deps.city(), deps.catalog(), filters)


class EmergingQuery(IncidentQuery):
    step: Literal["week", "month"] = "month"
    size: float | None = Field(None, ge=25, le=5000)
    band: float | None = Field(None, ge=1, le=100_000)
    previous_steps: int = Field(1, ge=0, le=12)


@blueprint.get("/emerging")
def emerging_hot_spots():
    """Emerging hot-spot category per hexagon over weekly or monthly steps (space-time Gi*, Mann-Kendall)."""
    query = parsed(EmergingQuery)
    request_ = hotspots.EmergingRequest(
        emergency_filter(query), query.step, query.size, query.band, query.previous_steps
    )
    with deps.connection() as conn:
        return hotspots.emerging_hot_spots(conn, deps.city(), request_, datetime.now(UTC))


@blueprint.get("/response")
def response_times():
    """Call-to-arrival compliance, median, p90 per category, kelurahan, kecamatan; prank/ghost shares."""
    filters = emergency_filter(parsed(IncidentQuery))
    with deps.connection() as conn:
        return incident_usecases.response_summary(conn, deps.city(), deps.catalog(), filters)


@blueprint.get("/response/kelurahan")
def response_by_kelurahan():
    """Kelurahan polygons with their response compliance, median and p90 (GeoJSON, for the map)."""
    filters = emergency_filter(parsed(IncidentQuery))
    with deps.connection() as conn:
        collection = incident_usecases.response_map(conn, deps.city(), deps.catalog(), filters)
    return collection, 200, {"Content-Type": "application/geo+json"}
