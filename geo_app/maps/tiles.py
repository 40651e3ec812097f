"""Vector-tile overlays for the Folium pages: layers too large to embed, drawn by Leaflet.VectorGrid.

    add_vector_tiles(m, "assets", "Aset kota", colour_by=("asset_type", {"cctv": "#1f77b4", ...}))

The tiles carry what the OGC collection publishes (geo_app.web.tiles); where a collection counts its
points per grid cell at low zoom (incidents), the circles grow with ``count``. The plugin's script is
served by the app (geo_app.maps.vendor maps Leaflet.VectorGrid.bundled.js).
"""

from __future__ import annotations

import json

import folium
from folium.plugins import VectorGridProtobuf
from folium.utilities import JsCode

DEFAULT_COLOUR = "#555555"
PANE = "geoAppVectorTiles"  # above the GeoJSON polygons, and not in the way of their clicks


def tile_url(collection_id: str) -> str:
    return f"/tiles/{collection_id}/{{z}}/{{x}}/{{y}}.mvt"


def _style(colour_by: tuple[str, dict[str, str]] | None, colour: str) -> JsCode:
    """A VectorGrid style function: colour from a property (or one colour), radius from ``count``."""
    prop, colours = colour_by if colour_by else ("", {})
    return JsCode(
        f"""function (properties, zoom) {{
            var colours = {json.dumps(colours)};
            var colour = colours[properties[{json.dumps(prop)}]] || {json.dumps(colour)};
            var radius = properties.count ? Math.min(3 + Math.sqrt(properties.count), 18) : 4;
            return {{radius: radius, fill: true, fillColor: colour, fillOpacity: 0.85,
                     color: colour, weight: 1.5, opacity: 0.9}};
        }}"""
    )


def add_vector_tiles(
    m: folium.Map,
    collection_id: str,
    name: str,
    *,
    colour_by: tuple[str, dict[str, str]] | None = None,
    colour: str = DEFAULT_COLOUR,
    show: bool = False,
    min_zoom: int = 0,
) -> VectorGridProtobuf:
    """Add the collection's vector tiles as an overlay named ``name`` (listed in the layer control)."""
    if PANE not in m._children:
        m.add_child(folium.map.CustomPane(PANE, z_index=450, pointer_events=False), name=PANE)
    options = {
        "pane": PANE,
        "vectorTileLayerStyles": {collection_id: _style(colour_by, colour)},
        "minZoom": min_zoom,
        "maxNativeZoom": 22,
        "interactive": False,
    }
    layer = VectorGridProtobuf(tile_url(collection_id), name, options, overlay=True, control=True, show=show)
    layer.add_to(m)
    return layer
