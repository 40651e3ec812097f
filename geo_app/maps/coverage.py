"""/maps/coverage ("Peta Cakupan Infrastruktur"): assets clustered by type, the covered area, the uncovered
gaps, kelurahan coloured by the share of people covered, suggested new sites, and a chart beside the map.

Polygons and assets are fetched by the browser from /api/analysis/coverage, /api/analysis/siting and
/api/assets; the page itself carries only the class breaks, the summary and the chart (computed here
from the same coverage result).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

import folium
from branca.element import Element, JavascriptLink
from folium.plugins import MarkerCluster
from folium.template import Template
from markupsafe import Markup, escape

from geo_app.analysis.coverage import CoverageRequest, CoverageResult
from geo_app.catalog import AssetType
from geo_app.city import CityContext
from geo_app.maps import base, charts
from geo_app.settings import Settings

TITLE = "Peta Cakupan Infrastruktur"
COVERED_COLOUR = "#2166ac"
GAP_COLOUR = "#e6550d"
SITE_COLOUR = "#6a3d9a"
MODE_LABELS = {"radius": "Radius (meter)", "travel_time": "Waktu tempuh (menit)"}
SUGGESTED_SITES = 5
# Gaps smaller than this are not drawn (they would be slivers between discs).
MAP_MIN_GAP_HA = 1.0

KELURAHAN_POPUP = [
    ("Kecamatan", "{kecamatan}"),
    ("Penduduk", "{population:int} jiwa"),
    ("Penduduk terjangkau", "{population_covered:int} jiwa ({population_covered_pct:1} %)"),
    ("Luas", "{area_ha:1} ha"),
    ("Luas terjangkau", "{covered_ha:1} ha ({covered_pct:1} %)"),
]
GAP_POPUP = [
    ("Kelurahan", "{kelurahan}"),
    ("Luas", "{area_ha:1} ha"),
    ("Penduduk (perkiraan)", "{population:int} jiwa"),
]
ASSET_POPUP = [
    ("OPD", "{owner_opd}"),
    ("Status", "{status}"),
    ("Fase", "{roadmap_phase}"),
    ("Kelurahan", "{kelurahan}"),
]
SITE_POPUP = [
    ("Kelurahan", "{kelurahan}"),
    ("Tambahan penduduk terjangkau", "{population_gain:int} jiwa"),
    ("Total terjangkau", "{population_covered:int} jiwa ({population_covered_pct:1} %)"),
]
PAGE_STYLE = """<style>
.geo-asset-icon span, .geo-asset-cluster span { display: flex; align-items: center; justify-content: center;
  border-radius: 50%; color: #fff; border: 2px solid #fff; box-shadow: 0 1px 3px rgba(0,0,0,.45); }
.geo-asset-icon span { width: 20px; height: 20px; font-size: 11px; }
.geo-asset-cluster span { width: 30px; height: 30px; font: 600 12px/1 system-ui, sans-serif; opacity: .92; }
.geo-coverage-form fieldset { border: 0; margin: 0 0 .5rem; padding: 0; }
.geo-coverage-form legend { font-size: .9rem; font-weight: 600; margin: 0 0 .2rem; }
.geo-coverage-form label { display: block; margin: .1rem 0; }
.geo-coverage-form input[type=number] { width: 9rem; }
.geo-coverage-form button { margin-top: .3rem; }
</style>"""


class AssetClusters(folium.MacroElement):
    """Fill a marker cluster with the assets of one type, fetched by URL page by page."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        GeoCoverage.loadAssets({{ this._parent._parent.get_name() }}, {{ this._parent.get_name() }},
            {{ this.url|tojson }}, {{ this.asset_type|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, url: str, asset_type: dict):
        super().__init__()
        self._name = "AssetClusters"
        self.url = url
        self.asset_type = asset_type


def cluster_icon(colour: str) -> str:
    return (
        "function (cluster) { return L.divIcon({className: 'geo-asset-cluster', iconSize: [30, 30], "
        f"html: '<span style=\"background:{colour}\">' + cluster.getChildCount() + '</span>'}}); }}"
    )


def query(request: CoverageRequest, **extra) -> str:
    params = {"type": ",".join(request.asset_types), "mode": request.mode}
    if request.mode == "radius" and request.radius_m:
        params["radius_m"] = f"{request.radius_m:g}"
    if request.mode == "travel_time":
        params["minutes"] = f"{request.minutes:g}"
    return urlencode({**params, **extra})


def build_coverage_map(
    settings: Settings,
    *,
    city: CityContext,
    asset_types: dict[str, AssetType],
    result: CoverageResult,
    show_sites: bool,
    sample: bool,
) -> str:
    """The page's HTML for one coverage request (its result gives the classes, summary and chart)."""
    request = result.request
    chosen = [asset_types[type_id] for type_id in request.asset_types]
    subtitle = f"{city.name} — {', '.join(entry.label for entry in chosen)}, {describe(request)}"
    m = base.make_map(settings, TITLE, city=city, sample=sample, subtitle=subtitle, report="cakupan")
    figure = m.get_root()
    figure.header.add_child(Element(PAGE_STYLE), name="geo_coverage_style")
    figure.header.add_child(JavascriptLink("/static/coverage_map.js"), name="geo_coverage_js")
    figure.header.add_child(
        folium.CssLink("/static/vendor/fontawesome/css/all.min.css"), name="geo_fontawesome"
    )

    shares = result.kelurahan["population_covered_pct"].tolist()
    classes = base.classify(shares, fixed_breaks=base.SHARE_BREAKS, palette="YlGnBu")
    base.add_geojson_url(
        m,
        "api/analysis/coverage?" + query(request, format="geojson", layer="kelurahan"),
        "Kelurahan: penduduk terjangkau (%)",
        style={**base.CHOROPLETH_BORDER, "fillOpacity": 0.7},
        colour_by=classes.rule("population_covered_pct"),
        popup_title="Kelurahan {name}",
        popup_rows=KELURAHAN_POPUP,
        tooltip="{name} — {population_covered_pct:1} % penduduk terjangkau",
        highlight=base.HOVER_OUTLINE,
    )
    base.add_geojson_url(
        m,
        "api/analysis/coverage?" + query(request, format="geojson", layer="covered"),
        "Area terjangkau",
        style={"weight": 1, "color": COVERED_COLOUR, "fillColor": COVERED_COLOUR, "fillOpacity": 0.18},
    )
    base.add_geojson_url(
        m,
        "api/analysis/coverage?" + query(request, format="geojson", layer="gaps", min_gap_ha=MAP_MIN_GAP_HA),
        "Celah cakupan (belum terjangkau)",
        style={
            "weight": 1.2,
            "color": GAP_COLOUR,
            "dashArray": "4 3",
            "fillColor": GAP_COLOUR,
            "fillOpacity": 0.15,
        },
        popup_title="Celah cakupan",
        popup_rows=GAP_POPUP,
        show=True,
    )
    for entry in chosen:
        assets_url = "api/assets?" + urlencode(
            {"type": entry.id, "status": "active,maintenance", "limit": 2000}
        )
        if entry.geometry_type != "Point":  # networks (fibre) are drawn as lines, not clustered
            base.add_geojson_url(
                m,
                assets_url,
                f"Aset: {entry.label}",
                style={"weight": 2.5, "color": entry.colour},
                popup_title="{name}",
                popup_rows=ASSET_POPUP,
            )
            continue
        cluster = MarkerCluster(
            name=f"Aset: {entry.label}",
            icon_create_function=cluster_icon(entry.colour),
            options={"showCoverageOnHover": False, "maxClusterRadius": 50},
        ).add_to(m)
        AssetClusters(
            assets_url, {"id": entry.id, "label": entry.label, "icon": entry.icon, "colour": entry.colour}
        ).add_to(cluster)
    if show_sites:
        base.add_geojson_url(
            m,
            "api/analysis/siting?"
            + urlencode({"type": chosen[0].id, "count": SUGGESTED_SITES, "format": "geojson"}),
            f"Usulan lokasi baru ({chosen[0].label})",
            style={"color": "#ffffff", "fillColor": SITE_COLOUR, "fillOpacity": 0.95, "weight": 2},
            point={"radius": 9},
            popup_title="Usulan lokasi ke-{rank}",
            popup_rows=SITE_POPUP,
            tooltip="Usulan ke-{rank}: +{population_gain:int} jiwa",
            front=True,
        )
    base.add_legend(
        m,
        "Penduduk terjangkau (%)",
        classes.legend_items(no_data=any(value != value for value in shares)),
        note="Kelas tetap per 20 %, sama di setiap tampilan.",
    )
    key_items = [
        (COVERED_COLOUR, "Area terjangkau"),
        (GAP_COLOUR, f"Celah cakupan (≥ {MAP_MIN_GAP_HA:g} ha)"),
    ]
    if show_sites:
        key_items.append((SITE_COLOUR, "Usulan lokasi baru (MCLP greedy, radius katalog)"))
    key_items += [(entry.colour, entry.label) for entry in chosen]
    base.add_legend(m, "Lapisan", key_items, shape="dot", position="bottomleft")
    base.add_layer_control(m)

    base.add_panel(m, "Pilih analisis", form_html(asset_types, request))
    base.add_panel(m, "Ringkasan", summary_html(result))
    ordered = result.kelurahan.sort_values("population_covered", ascending=False)
    base.add_panel(
        m,
        "Penduduk terjangkau per kelurahan",
        charts.bar_chart(
            list(ordered["name"]),
            [float(value) for value in ordered["population_covered"]],
            title="Penduduk terjangkau per kelurahan (jiwa)",
            unit="jiwa",
        ),
    )
    return base.render(m)


def describe(request: CoverageRequest) -> str:
    if request.mode == "travel_time":
        return f"waktu tempuh {base.format_number(request.minutes, 0)} menit"
    if request.radius_m:
        return f"radius {base.format_number(request.radius_m)} m"
    return "radius katalog"


def form_html(asset_types: dict[str, AssetType], request: CoverageRequest) -> Markup:
    """A GET form: asset types, mode and its value; submitting reloads the page with the new analysis."""
    boxes = "".join(
        f'<label><input type="checkbox" name="type" value="{escape(type_id)}"'
        f"{' checked' if type_id in request.asset_types else ''}> {escape(entry.label)}</label>"
        for type_id, entry in asset_types.items()
    )
    modes = "".join(
        f'<option value="{mode}"{" selected" if mode == request.mode else ""}>{label}</option>'
        for mode, label in MODE_LABELS.items()
    )
    value = request.minutes if request.mode == "travel_time" else request.radius_m
    shown = f"{value:g}" if value else ""
    return Markup(
        '<form class="geo-coverage-form" method="get" action="maps/coverage">'
        f"<fieldset><legend>Jenis aset</legend>{boxes}</fieldset>"
        f'<label>Mode <select name="mode">{modes}</select></label>'
        f'<label>Nilai <input type="number" name="value" min="1" step="any" value="{shown}" '
        'placeholder="radius katalog"></label>'
        '<button type="submit">Tampilkan</button></form>'
    )


def summary_html(result: CoverageResult) -> Markup:
    city = result.city
    rows: list[Sequence[object]] = [
        ("Aset (aktif/pemeliharaan)", base.format_number(result.asset_count)),
        ("Penduduk", base.format_number(city["population"]) + " jiwa"),
        (
            "Penduduk terjangkau",
            f"{base.format_number(city['population_covered'])} jiwa "
            f"({base.format_number(city['population_covered_pct'], 1)} %)",
        ),
        (
            "Luas terjangkau",
            f"{base.format_number(city['covered_ha'])} ha ({base.format_number(city['covered_pct'], 1)} %)",
        ),
        ("Celah ≥ 1 ha", base.format_number(len(result.gaps))),
    ]
    if result.max_speed_kmh:
        rows.append(("Kecepatan jalan tertinggi", base.format_number(result.max_speed_kmh) + " km/jam"))
    return base.table_html((), rows)
