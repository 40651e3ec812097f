"""Vector-tile overlays for the Folium pages: layers too large to embed, drawn by Leaflet.VectorGrid; and the
streets basemap the app draws itself from its own road network and place names.

    add_vector_tiles(m, "assets", "Aset kota", colour_by=("asset_type", {"cctv": "#1f77b4", ...}))

The tiles carry what the OGC collection publishes (geo_app.web.tiles); where a collection counts its
points per grid cell at low zoom (incidents), the circles grow with ``count``. The plugin's script is
served by the app (geo_app.maps.vendor maps Leaflet.VectorGrid.bundled.js).
"""

from __future__ import annotations

import json

import folium
from branca.element import MacroElement
from folium.plugins import VectorGridProtobuf
from folium.template import Template
from folium.utilities import JsCode

DEFAULT_COLOUR = "#555555"
PANE = "geoAppVectorTiles"  # above the GeoJSON polygons, and not in the way of their clicks


def tile_url(collection_id: str) -> str:
    return f"tiles/{collection_id}/{{z}}/{{x}}/{{y}}.mvt"


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


# The streets basemap: roads by class (colour, width in pixels at zoom 15, thinner further out) under the
# thematic layers, place names above them. Side streets come with zoom (geo_app.published).
# Roads lie over the thematic polygons (Leaflet's overlay pane, 400), whose fills would hide them, and
# under the vector-tile overlays (450), place names and markers (600).
BASEMAP_PANE = "geoAppBasemap"
PLACE_LABEL_PANE = "geoAppPlaceLabels"
ROAD_STYLES = {
    "tol": ("#d4634b", 4.5),
    "arteri": ("#e9a14f", 4.0),
    "kolektor": ("#e3c55a", 3.2),
    "lokal": ("#a3afb7", 2.2),
    "lingkungan": ("#bcc6cc", 1.6),
    "penyeberangan": ("#5b8fc9", 1.6),
}
# Zoom from which each kind of place is named (a whole city fills the screen at about zoom 12), highest
# kind first: where names would overlap, the higher kind is shown.
PLACE_LABEL_ZOOMS = {"suburb": 11, "village": 12, "quarter": 13, "neighbourhood": 14}
PLACE_LABEL_DEFAULT_ZOOM = 15
PLACES_URL = "ogc/collections/places/items?limit=10000"


def _road_style() -> JsCode:
    return JsCode(
        f"""function (properties, zoom) {{
            var styles = {json.dumps(ROAD_STYLES)};
            var style = styles[properties.road_class] || styles.lokal;
            var width = Math.max(0.6, Math.min(style[1] * 2, style[1] * Math.pow(1.4, zoom - 15)));
            return {{color: style[0], weight: width, opacity: 0.8, lineCap: "round", lineJoin: "round",
                     dashArray: properties.road_class === "penyeberangan" ? "4 6" : null}};
        }}"""
    )


class PlaceLabels(MacroElement):
    """Place names as text on the map, fetched from the OGC ``places`` collection (GeoApp.placeLabels)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = GeoApp.placeLabels(
            {{ this._parent.get_name() }}, {{ this.url|tojson }}, {{ this.options|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, url: str, options: dict):
        super().__init__()
        self._name = "PlaceLabels"
        self.url = url
        self.options = options


def add_streets_basemap(m: folium.Map, sample: bool) -> None:
    """Roads by class (vector tiles of the ``roads`` collection) and place names, drawn by the app itself:
    the background of every map page when no BASEMAP_URL tile server is set."""
    for pane, z_index in ((BASEMAP_PANE, 410), (PLACE_LABEL_PANE, 460)):
        m.add_child(folium.map.CustomPane(pane, z_index=z_index, pointer_events=False), name=pane)
    attribution = "Jalan: data contoh" if sample else "Jalan dan tempat: © kontributor OpenStreetMap (ODbL)"
    options = {
        "pane": BASEMAP_PANE,
        "vectorTileLayerStyles": {"roads": _road_style()},
        "maxNativeZoom": 22,
        "interactive": False,
        "attribution": attribution,
    }
    VectorGridProtobuf(tile_url("roads"), "Jalan", options, overlay=True, control=False).add_to(m)
    labels = {"name": "Nama tempat", "pane": PLACE_LABEL_PANE, "min_zoom": PLACE_LABEL_ZOOMS}
    m.add_child(PlaceLabels(PLACES_URL, {**labels, "default_zoom": PLACE_LABEL_DEFAULT_ZOOM}))
