"""Sample smart-city assets: every asset type of the layer catalog, in plausible numbers and places.

Fire posts are the city's real three (Citangkil, Pulomerak, Purwakarta); they, the health centres and the
service offices stand at their gazetteer landmarks near kelurahan centres; CCTV concentrates in the centre
and on main roads; sirens follow the coast; street lights line arterials and collectors; air sensors watch
the industrial south-west. Types added to the catalog later get a few points spread by population, so every
type always has rows.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_app.catalog import Catalog
from geo_app.sample.boundaries import locate, pull_inside
from geo_app.sample.gazetteer import INDUSTRIAL_KELURAHAN, SERVICE_PLACES, place_in_kelurahan
from geo_app.sample.reference import METRIC_SRID, CityFacts
from geo_app.sample.roads import RoadNetwork, points_on_roads

# Air sensors watch the industrial kelurahan and the city centre.
AIR_SENSOR_KELURAHAN = (*INDUSTRIAL_KELURAHAN, "Jombang Wetan")
CCTV_COUNT = 320
WIFI_PER_KELURAHAN = 3
WIFI_EXTRA = 130
SIREN_SPACING_M = 1_500.0
SIREN_INLAND_M = 150.0
PJU_SPACING_M = {"arteri": 50.0, "kolektor": 90.0}
OTHER_TYPE_COUNT = 20
CITY_CENTRE = "Jombang Wetan"
STATUS_CHANCES = {"active": 0.84, "maintenance": 0.06, "planned": 0.08, "inactive": 0.02}
PHASES_BY_STATUS = {
    "active": ("quick_win", "short"),
    "maintenance": ("quick_win", "short"),
    "inactive": ("short",),
    "planned": ("medium", "long"),
}


def _at_landmarks(asset_type: str, landmarks: gpd.GeoDataFrame):
    """Service buildings stand where the gazetteer puts them, so "Puskesmas Cibeber" geocodes to the asset."""
    rows = landmarks[landmarks["place"] == asset_type]
    return list(rows["name"]), rows.geometry.to_numpy(), None


def _cctv(facts, kelurahan, roads, rng):
    centre = shapely.Point(facts.kelurahan.set_index("name").loc[CITY_CENTRE, ["x", "y"]].to_numpy())
    distance = shapely.distance(roads.geometry.to_numpy(), centre)
    weights = np.exp(-distance / 2_500.0) * roads["road_class"].map({"arteri": 6, "kolektor": 3, "lokal": 1})
    points, edge = points_on_roads(roads, rng, CCTV_COUNT, weights=weights.to_numpy())
    streets = roads["name"].to_numpy()[edge]
    names = [f"CCTV {street} #{i + 1:03d}" for i, street in enumerate(streets)]
    return names, points, [{"street": street} for street in streets]


def _wifi(facts, kelurahan, roads, rng):
    codes = np.repeat(facts.kelurahan["code"].to_numpy(), WIFI_PER_KELURAHAN)
    population = kelurahan.set_index("code").loc[facts.kelurahan["code"], "population"].to_numpy(float)
    extra = rng.choice(facts.kelurahan["code"].to_numpy(), size=WIFI_EXTRA, p=population / population.sum())
    codes = np.sort(np.concatenate([codes, extra]))
    points = place_in_kelurahan(codes, facts, kelurahan, roads, rng, spread_m=1_000.0)
    label = facts.kelurahan.set_index("code")["name"]
    serial = pd.Series(codes).groupby(codes).cumcount().to_numpy() + 1
    names = [f"Wi-Fi Publik {label[code]} {n:02d}" for code, n in zip(codes, serial, strict=True)]
    return names, points, None


def _sirens(facts, kelurahan, roads, rng):
    along = np.arange(SIREN_SPACING_M / 2, facts.coast.length, SIREN_SPACING_M)
    on_coast = shapely.line_interpolate_point(facts.coast, along)
    inland = facts.outline.buffer(-SIREN_INLAND_M)
    points = shapely.get_point(shapely.shortest_line(inland, on_coast), 0)
    label = facts.kelurahan.set_index("code")["name"]
    codes = locate(points, kelurahan)
    names = [f"Sirine EWS Pantai {label[code]} {i + 1:02d}" for i, code in enumerate(codes)]
    return names, points, None


def _street_lights(facts, kelurahan, roads, rng):
    points, names, props = [], [], []
    for road_class, spacing in PJU_SPACING_M.items():
        main = roads[roads["road_class"] == road_class]
        for street, geometry in zip(main["name"], main.geometry, strict=True):
            distances = np.arange(spacing / 2, geometry.length, spacing)
            points += list(shapely.line_interpolate_point(geometry, distances))
            names += [street] * len(distances)
    props = [{"street": street} for street in names]
    names = [f"PJU {street} #{i + 1:04d}" for i, street in enumerate(names)]
    return names, np.array(points, dtype=object), props


def _air_sensors(facts, kelurahan, roads, rng):
    codes = facts.kelurahan.set_index("name").loc[list(AIR_SENSOR_KELURAHAN), "code"].to_numpy()
    points = place_in_kelurahan(codes, facts, kelurahan, roads, rng, spread_m=400.0)
    return [f"Sensor Udara {name}" for name in AIR_SENSOR_KELURAHAN], points, None


def _fibre(facts, kelurahan, roads, rng, routes: gpd.GeoDataFrame):
    """Fibre along the arterial routes, one feature per stretch between two kelurahan centres."""
    names, lines = [], []
    for route, geometry in zip(routes["name"], routes.geometry, strict=True):
        coordinates = shapely.get_coordinates(geometry)
        for stretch, (a, b) in enumerate(zip(coordinates, coordinates[1:], strict=False), start=1):
            line = shapely.offset_curve(shapely.LineString([a, b]), 8.0)
            inside = shapely.get_parts(shapely.intersection(line, facts.outline))
            inside = [part for part in inside if isinstance(part, shapely.LineString)]
            if inside:
                lines.append(max(inside, key=lambda part: part.length))
                names.append(f"Jaringan FO {route} ruas {stretch}")
    return names, np.array(lines, dtype=object), None


def _spread_by_population(facts, kelurahan, roads, rng, label: str):
    population = kelurahan.set_index("code").loc[facts.kelurahan["code"], "population"].to_numpy(float)
    codes = np.sort(
        rng.choice(facts.kelurahan["code"].to_numpy(), size=OTHER_TYPE_COUNT, p=population / population.sum())
    )
    points = place_in_kelurahan(codes, facts, kelurahan, roads, rng)
    return [f"{label} {i + 1:02d}" for i in range(len(codes))], points, None


def build_assets(
    facts: CityFacts,
    catalog: Catalog,
    kelurahan: gpd.GeoDataFrame,
    network: RoadNetwork,
    landmarks: gpd.GeoDataFrame,
    rng: np.random.Generator,
) -> gpd.GeoDataFrame:
    """All assets (metric geometry) with catalog owner, dimension and coverage radius."""
    roads = network.roads
    makers = {
        **{asset_type: (lambda t=asset_type: _at_landmarks(t, landmarks)) for asset_type in SERVICE_PLACES},
        "cctv": lambda: _cctv(facts, kelurahan, roads, rng),
        "wifi_publik": lambda: _wifi(facts, kelurahan, roads, rng),
        "sirine_peringatan": lambda: _sirens(facts, kelurahan, roads, rng),
        "pju": lambda: _street_lights(facts, kelurahan, roads, rng),
        "sensor_udara": lambda: _air_sensors(facts, kelurahan, roads, rng),
        "jaringan_fiber": lambda: _fibre(facts, kelurahan, roads, rng, network.arterial_routes),
    }
    frames = []
    for asset_type, entry in catalog.asset_types.items():
        if asset_type in makers:
            names, geometries, properties = makers[asset_type]()
        else:
            names, geometries, properties = _spread_by_population(facts, kelurahan, roads, rng, entry.label)
        properties = properties or [{} for _ in names]
        frame = gpd.GeoDataFrame(
            {"asset_type": asset_type, "name": names, "properties": properties},
            geometry=list(geometries),
            crs=METRIC_SRID,
        )
        frame["owner_opd"] = entry.owner_opd
        frame["dimension"] = entry.dimension
        frame["coverage_radius_m"] = entry.coverage_radius_m
        essential = asset_type in {"pos_damkar", "puskesmas"}
        frame["status"] = (
            "active"
            if essential
            else rng.choice(list(STATUS_CHANCES), size=len(frame), p=list(STATUS_CHANCES.values()))
        )
        frame["roadmap_phase"] = [str(rng.choice(PHASES_BY_STATUS[status])) for status in frame["status"]]
        frames.append(frame)
    assets = pd.concat(frames, ignore_index=True)
    points = (assets.geom_type == "Point").to_numpy()
    assets.loc[points, "geometry"] = pull_inside(assets.geometry.to_numpy()[points], facts.outline)
    assets["kelurahan_code"] = locate(assets.geometry.to_numpy(), kelurahan)
    return assets
