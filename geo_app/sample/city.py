"""The whole sample city, generated in one call from the reference facts and a fixed seed."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_app.catalog import Catalog, load_catalog
from geo_app.sample.assets import build_assets
from geo_app.sample.boundaries import build_areas
from geo_app.sample.gazetteer import build_gazetteer
from geo_app.sample.green import build_green_areas
from geo_app.sample.incidents import Places, build_incidents
from geo_app.sample.reference import CityFacts, load_facts
from geo_app.sample.roads import RoadNetwork, build_roads
from geo_app.settings import Settings

SEED = 3672


@dataclass(frozen=True)
class SampleCity:
    """Every generated layer, with geometries in the sample city's metric CRS (reference.METRIC_SRID)."""

    facts: CityFacts
    areas: gpd.GeoDataFrame
    network: RoadNetwork
    gazetteer: gpd.GeoDataFrame
    assets: gpd.GeoDataFrame
    incidents: gpd.GeoDataFrame
    callers: pd.DataFrame
    green_areas: gpd.GeoDataFrame

    @property
    def kelurahan(self) -> gpd.GeoDataFrame:
        return self.areas[self.areas["level"] == "kelurahan"].reset_index(drop=True)

    def places(self) -> Places:
        return Places(
            facts=self.facts,
            kelurahan=self.kelurahan,
            roads=self.network.roads,
            landmarks=self.gazetteer[self.gazetteer["kind"] == "landmark"],
            assets=self.assets,
        )


def default_catalog() -> Catalog:
    return load_catalog(Settings.from_env().layers_dir)


def generate_sample_city(catalog: Catalog | None = None, seed: int = SEED) -> SampleCity:
    """Generate every layer. Each layer draws from its own random stream, so changing one layer's
    generator leaves the others as they were."""
    catalog = catalog or default_catalog()
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)]
    facts = load_facts()
    areas = build_areas(facts)
    kelurahan = areas[areas["level"] == "kelurahan"].reset_index(drop=True)
    network = build_roads(facts, kelurahan, catalog.road_types)
    gazetteer = build_gazetteer(facts, kelurahan, network.roads, streams[0])
    landmarks = gazetteer[gazetteer["kind"] == "landmark"]
    assets = build_assets(facts, catalog, kelurahan, network, landmarks, streams[1])
    places = Places(facts, kelurahan, network.roads, landmarks, assets)
    incidents, callers = build_incidents(places, catalog, streams[2])
    green_areas = build_green_areas(facts, catalog, kelurahan, network.arterial_routes, streams[3])
    return SampleCity(facts, areas, network, gazetteer, assets, incidents, callers, green_areas)
