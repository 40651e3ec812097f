"""/maps/incidents ("Insiden 112 terkini"): the last 24 hours as clustered category markers, refreshing.

The page holds no incident: the browser pages through /api/incidents (which selects only the fields the
role may see, geo_app.auth.privacy) and refetches every minute. Popups show category, times, place and
OPD only.
"""

from __future__ import annotations

import folium
from branca.element import Element
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template
from markupsafe import escape

from geo_app.catalog import Catalog
from geo_app.city import CityContext
from geo_app.maps import base
from geo_app.settings import Settings

TITLE = "Insiden 112 terkini"
REFRESH_SECONDS = 60
STATUS_LABELS = {
    "received": "Diterima",
    "dispatched": "Diteruskan ke OPD",
    "on_scene": "Petugas di lokasi",
    "closed": "Selesai",
    "cancelled": "Dibatalkan",
}
PAGE_STYLE = """<style>
.geo-incident-icon span { display: flex; align-items: center; justify-content: center; width: 20px;
  height: 20px; border-radius: 50%; color: #fff; font-size: 11px; border: 2px solid #fff;
  box-shadow: 0 1px 3px rgba(0,0,0,.45); }
.geo-note { color: #7a3b00; background: #fff4e0; padding: .3rem .5rem; border-radius: 3px; }
.geo-week-slider input { width: 14rem; }
.geo-filter-form label { display: block; margin: .2rem 0; font-size: .85rem; }
.geo-filter-form .geo-dates { display: flex; gap: .5rem; }
.geo-filter-form .geo-dates label { flex: 1; }
.geo-filter-form input[type=date] { width: 100%; box-sizing: border-box; }
.geo-categories { border: 1px solid #c9d6de; border-radius: 4px; margin: .3rem 0; padding: .2rem .5rem; }
.geo-check-grid { display: grid; grid-template-columns: 1fr 1fr; column-gap: .4rem; }
.geo-categories legend { font-size: .8rem; color: #4a5a66; }
.geo-filter-form .geo-check { display: block; margin: .05rem 0; font-size: .78rem; }
.geo-filter-form button { margin-top: .3rem; }
.geo-legend-list { list-style: none; margin: 0; padding: 0; font-size: .85rem; }
.geo-targets summary { cursor: pointer; font-size: .8rem; color: #0b5e7a; }
.geo-legend-list li { display: flex; align-items: center; gap: .45rem; }
.geo-ranking-summary { font-size: .85rem; }
.geo-link { all: unset; cursor: pointer; color: #0b5e7a; text-decoration: underline; }
.geo-response td.num { white-space: nowrap; }
.geo-response tbody { counter-reset: rank; }
.geo-response tbody tr { counter-increment: rank; }
.geo-response tbody td:first-child::before { content: counter(rank) ". "; }
.geo-response tr.geo-below-goal td:nth-child(5) { color: #b2182b; font-weight: 600; }
.geo-response tr.geo-few td { color: #7b8a94; }
.geo-popup-note { margin: .35rem 0 0; font-size: .78rem; color: #4a5a66; max-width: 16rem; }
.geo-popup-details summary { cursor: pointer; font-size: .75rem; color: #0b5e7a; margin-top: .3rem; }
.geo-place-title { font-size: .85rem; margin: .6rem 0 .2rem; }
.geo-place-list { margin: 0; padding-left: 1.3rem; font-size: .8rem; }
.geo-place-list li { margin: .1rem 0; }
</style>"""


HEAT_JS = [("geo_heat_js", "/static/vendor/leaflet-heat/leaflet-heat.js")]
CLUSTER_JS = [("geo_cluster_js", "/static/vendor/markercluster/leaflet.markercluster.js")]
CLUSTER_CSS = [
    ("geo_cluster_css", "/static/vendor/markercluster/MarkerCluster.css"),
    ("geo_cluster_default_css", "/static/vendor/markercluster/MarkerCluster.Default.css"),
]
OWN_JS = ("geo_incident_js", "/static/incident_maps.js")


class ScriptLayer(JSCSSMixin, Layer):
    """A layer made in the browser by ``factory(map, options)`` from geo_app/static/incident_maps.js.

    Its scripts are linked when the map renders, after Leaflet (plugins need ``L``).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = {{ this.factory }}(
            {{ this._parent.get_name() }}, {{ this.options|tojson }});
        {% endmacro %}
        """
    )

    def __init__(
        self, factory: str, name: str, options: dict, show: bool = True, scripts=(), styles=()
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "ScriptLayer"
        self.factory = factory
        self.options = {"name": name, **options}  # the name is how notes about the layer call it
        self.default_js = [*scripts, OWN_JS]
        self.default_css = list(styles)


def prepare_page(m: folium.Map) -> None:
    """Styles of the 112 pages and the Font Awesome icons of the categories."""
    figure = m.get_root()
    figure.header.add_child(Element(PAGE_STYLE), name="geo_incident_style")
    figure.header.add_child(
        folium.CssLink("/static/vendor/fontawesome/css/all.min.css"), name="geo_fontawesome"
    )


def category_styles(catalog: Catalog) -> dict[str, dict]:
    return {
        code: {"label": entry.label, "icon": entry.icon, "colour": entry.colour}
        for code, entry in catalog.incident_categories.items()
    }


def build_incidents_map(settings: Settings, *, city: CityContext, catalog: Catalog, sample: bool) -> str:
    m = base.make_map(settings, TITLE, city=city, sample=sample, subtitle=f"{city.name} — 24 jam terakhir")
    prepare_page(m)
    ScriptLayer(
        "GeoIncidents.liveLayer",
        "Insiden 24 jam terakhir",
        {
            "url": "api/incidents?limit=1000",
            "summary": "geo-live-summary",
            "refresh_s": REFRESH_SECONDS,
            "categories": category_styles(catalog),
            "fallback": {"label": "Tanpa kategori", "icon": "phone", "colour": "#666666"},
            "statuses": STATUS_LABELS,
        },
        scripts=CLUSTER_JS,
        styles=CLUSTER_CSS,
    ).add_to(m)
    base.add_kecamatan_outlines(m, weight=1.6)
    base.add_layer_control(m)
    base.add_panel(m, "Ringkasan", '<div id="geo-live-summary"><p>Memuat…</p></div>')
    legend = "".join(
        f'<li><i class="fa-solid fa-{escape(entry.icon)}" '
        f'style="color:{escape(entry.colour)};width:1.2rem"></i>'
        f"{escape(entry.label)}</li>"
        for entry in catalog.incident_categories.values()
    )
    base.add_panel(
        m, "Kategori", f'<ul class="geo-icon-legend" style="list-style:none;padding:0">{legend}</ul>'
    )
    base.add_panel(
        m,
        "Catatan",
        "<p>Titik menunjukkan lokasi kejadian, bukan penelepon. "
        "Data pribadi penelepon tidak ditampilkan.</p>",
    )
    return base.render(m)
