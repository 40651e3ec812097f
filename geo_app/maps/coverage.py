"""/maps/coverage ("Peta Cakupan Infrastruktur"), the planner's page: what share of people the assets reach
(within a radius or a travel time), where the gaps are, and where the next sites would reach most people.

Kelurahan are coloured by the share of people covered in fixed 20 % classes, uncovered gaps are hatched,
assets are clustered by type and suggested sites are numbered. Beside the map: the headline figure, the
form, the list of suggested sites (cumulative share from today's figure on), ranked tables per kelurahan
and kecamatan (sortable, "Unduh CSV", hovering a row outlines its area) and a chart of kecamatan shares.

Polygons, assets and sites are fetched by the browser from /api/analysis/coverage, /api/analysis/siting
and /api/assets with the page's own parameters, so the sites are suggested in the same mode and value as
the coverage shown; the page carries the tables and summary computed here from the same coverage result.
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
from geo_app.analysis.siting import MAX_SITES
from geo_app.catalog import AssetType
from geo_app.city import CityContext
from geo_app.maps import base, charts
from geo_app.settings import Settings

TITLE = "Peta Cakupan Infrastruktur"
COVERED_COLOUR = "#2166ac"
GAP_COLOUR = "#e6550d"
SITE_COLOUR = "#6a3d9a"
MODE_LABELS = {"radius": "Radius (meter)", "travel_time": "Waktu tempuh (menit)"}
SUGGESTED_SITES = 3
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
KELURAHAN_COLUMNS = [
    base.TableColumn("Kelurahan", "name"),
    base.TableColumn("Penduduk", "population", 0),
    base.TableColumn("Terjangkau %", "population_covered_pct", 1),
    base.TableColumn("Belum terjangkau", "population_uncovered", 0),
]
TABLE_NOTE = (
    "<p>Penduduk dan yang belum terjangkau dalam jiwa. Klik judul kolom untuk mengurutkan; arahkan ke baris "
    "untuk menandai wilayahnya di peta, klik untuk memperbesar.</p>"
)
KECAMATAN_COLUMNS = [base.TableColumn("Kecamatan", "name"), *KELURAHAN_COLUMNS[1:]]
PAGE_STYLE = """<style>
.geo-asset-icon span, .geo-asset-cluster span { display: flex; align-items: center; justify-content: center;
  border-radius: 50%; color: #fff; border: 2px solid #fff; box-shadow: 0 1px 3px rgba(0,0,0,.45); }
.geo-asset-icon span { width: 20px; height: 20px; font-size: 11px; }
.geo-asset-cluster span { width: 30px; height: 30px; font: 600 12px/1 system-ui, sans-serif; opacity: .92; }
.geo-coverage-form { font-size: .85rem; }
.geo-coverage-form fieldset { border: 0; margin: 0 0 .5rem; padding: 0; }
.geo-coverage-form legend { font-size: .9rem; font-weight: 600; margin: 0 0 .2rem; }
.geo-coverage-form label { display: block; margin: .1rem 0; }
.geo-coverage-form input[type=number] { width: 9rem; }
.geo-coverage-form button { margin-top: .3rem; }
.geo-site-icon span { display: flex; align-items: center; justify-content: center; width: 24px; height: 24px;
  border-radius: 50%; background: #6a3d9a; color: #fff; border: 2px solid #fff;
  box-shadow: 0 1px 4px rgba(0,0,0,.5); font: 700 13px/1 system-ui, sans-serif; }
.geo-sites { margin: .2rem 0 .4rem; padding: 0; list-style: none; font-size: .85rem; }
.geo-sites li { margin: .15rem 0; }
.geo-headline { font-size: .95rem !important; }
.geo-headline strong { font-size: 1.25rem; color: #0b5e7a; }
path.geo-gap { fill: url(#geo-gap-hatch); fill-opacity: 1; }
</style>
<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>
<pattern id="geo-gap-hatch" width="7" height="7" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
<rect width="7" height="7" fill="#e6550d" fill-opacity=".06"/><rect width="1.6" height="7" fill="#e6550d"
fill-opacity=".7"/></pattern></defs></svg>"""


class SuggestedSites(folium.MacroElement):
    """Numbered markers of the suggested sites in a layer group, and the list beside the map."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        GeoCoverage.loadSites({{ this._parent._parent.get_name() }}, {{ this._parent.get_name() }},
            {{ this.url|tojson }}, {{ this.list_id|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, url: str, list_id: str):
        super().__init__()
        self._name = "SuggestedSites"
        self.url = url
        self.list_id = list_id

    def render(self, **kwargs):
        base.preload_fetch(self, self.url)
        super().render(**kwargs)


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

    def render(self, **kwargs):
        base.preload_fetch(self, self.url)  # asset layers are shown from the start
        super().render(**kwargs)


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
    site_count: int = SUGGESTED_SITES,
) -> str:
    """The page's HTML for one coverage request (its result gives the classes, summary and tables)."""
    request = result.request
    chosen = [asset_types[type_id] for type_id in request.asset_types]
    subtitle = f"{city.name} — {', '.join(entry.label for entry in chosen)}, {describe(request, asset_types)}"
    m = base.make_map(settings, TITLE, city=city, sample=sample, subtitle=subtitle, report="cakupan")
    figure = m.get_root()
    figure.header.add_child(Element(PAGE_STYLE), name="geo_coverage_style")
    figure.header.add_child(JavascriptLink("/static/coverage_map.js"), name="geo_coverage_js")
    figure.header.add_child(
        folium.CssLink("/static/vendor/fontawesome/css/all.min.css"), name="geo_fontawesome"
    )

    shares = result.kelurahan["population_covered_pct"].tolist()
    classes = base.classify(shares, fixed_breaks=base.SHARE_BREAKS, palette="YlGnBu")
    kelurahan_layer = base.add_geojson_url(
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
        show=False,
    )
    base.add_geojson_url(
        m,
        "api/analysis/coverage?" + query(request, format="geojson", layer="gaps", min_gap_ha=MAP_MIN_GAP_HA),
        "Celah cakupan (belum terjangkau)",
        style={"weight": 1.2, "color": GAP_COLOUR, "className": "geo-gap"},
        popup_title="Celah cakupan di {kelurahan}",
        popup_rows=GAP_POPUP,
        tooltip="Celah cakupan di {kelurahan}: {population:int} jiwa belum terjangkau",
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
        sites = folium.FeatureGroup(name=f"Usulan lokasi baru ({chosen[0].label})").add_to(m)
        siting_url = "api/analysis/siting?" + query(request, count=site_count, format="geojson")
        SuggestedSites(siting_url, "geo-sites").add_to(sites)
    base.add_legend(
        m,
        "Penduduk terjangkau (%)",
        classes.legend_items(no_data=any(value != value for value in shares)),
        note="Kelas tetap per 20 %, sama di setiap tampilan.",
    )
    key_items = [
        (GAP_COLOUR, f"Celah cakupan (≥ {MAP_MIN_GAP_HA:g} ha, belum terjangkau)", "hatch"),
        (COVERED_COLOUR, "Area terjangkau (bila dinyalakan)", "box"),
    ]
    if show_sites:
        key_items.append((SITE_COLOUR, "Usulan lokasi baru, bernomor urut"))
    key_items += [(entry.colour, entry.label) for entry in chosen]
    base.add_legend(m, "Lapisan", key_items, shape="dot", position="bottomleft")
    base.add_layer_control(m)

    base.add_panel(m, "Ringkasan", summary_html(result, chosen, asset_types))
    base.add_panel(m, "Pilih analisis", form_html(asset_types, request, site_count if show_sites else None))
    if show_sites:
        base.add_panel(m, f"Usulan lokasi baru: {chosen[0].label}", sites_html(result, asset_types))
    kelurahan = result.kelurahan.to_dict("records")
    base.add_panel(
        m,
        "Kelurahan menurut celah cakupan",
        Markup(TABLE_NOTE)
        + base.ranked_table_html(
            "geo-kelurahan-table",
            KELURAHAN_COLUMNS,
            kelurahan,
            key="code",
            sort_by="population_uncovered",
            csv_name="cakupan-kelurahan.csv",
        ),
    )
    base.LinkedTable("geo-kelurahan-table", kelurahan_layer, "code").add_to(m)
    kecamatan = result.kecamatan.to_dict("records")
    base.add_panel(
        m,
        "Per kecamatan",
        base.ranked_table_html(
            "geo-kecamatan-table",
            KECAMATAN_COLUMNS,
            kecamatan,
            key="code",
            sort_by="population_uncovered",
            csv_name="cakupan-kecamatan.csv",
        )
        + kecamatan_chart(kecamatan, classes),
    )
    base.LinkedTable("geo-kecamatan-table", kelurahan_layer, "kecamatan_code").add_to(m)
    return base.render(m)


def kecamatan_chart(kecamatan: list[dict], classes: base.Classes) -> Markup:
    """Share of people covered per kecamatan, highest first, bars in the map's class colours."""
    ordered = sorted(kecamatan, key=lambda row: -(row["population_covered_pct"] or 0))
    values = [float(row["population_covered_pct"] or 0) for row in ordered]
    return charts.bar_chart(
        [row["name"] for row in ordered],
        values,
        title="Penduduk terjangkau per kecamatan (%)",
        unit="%",
        digits=1,
        colours=[classes.colour(value) for value in values],
    )


def describe(request: CoverageRequest, asset_types: dict[str, AssetType]) -> str:
    """The mode and its value in words: "waktu tempuh 15 menit", "radius 2.500 m" or the catalog radii."""
    if request.mode == "travel_time":
        return f"waktu tempuh {base.format_number(request.minutes, 0)} menit"
    if request.radius_m:
        return f"radius {base.format_number(request.radius_m)} m"
    radii = ", ".join(
        f"{asset_types[type_id].label} {base.format_number(asset_types[type_id].coverage_radius_m)} m"
        for type_id in request.asset_types
    )
    return f"radius katalog ({radii})"


def form_html(asset_types: dict[str, AssetType], request: CoverageRequest, site_count: int | None) -> Markup:
    """A GET form: asset types, mode and its value, and the number of suggested sites; submitting reloads
    the page with the new analysis."""
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
    count = (
        f'<label>Jumlah lokasi usulan <input type="number" name="count" min="1" max="{MAX_SITES}" step="1" '
        f'value="{site_count}"></label>'
        if site_count is not None
        else ""
    )
    return Markup(
        '<form class="geo-coverage-form" method="get" action="maps/coverage">'
        f"<fieldset><legend>Jenis aset</legend>{boxes}</fieldset>"
        f'<label>Mode <select name="mode">{modes}</select></label>'
        f'<label>Nilai <input type="number" name="value" min="1" step="any" value="{shown}" '
        'placeholder="radius katalog"></label>'
        f"{count}"
        '<button type="submit">Tampilkan</button></form>'
    )


def headline(result: CoverageResult, chosen: Sequence[AssetType], asset_types: dict[str, AssetType]) -> str:
    """The answer in one sentence: "89,8 % penduduk (… dari … jiwa) dalam waktu tempuh 15 menit dari …"."""
    city = result.city
    request = result.request
    reach = (
        f"dalam waktu tempuh {base.format_number(request.minutes, 0)} menit lewat jalan"
        if request.mode == "travel_time"
        else f"dalam {describe(request, asset_types)}"
    )
    return (
        f"<strong>{base.format_number(city['population_covered_pct'], 1)} %</strong> penduduk "
        f"({base.format_number(city['population_covered'])} dari {base.format_number(city['population'])} "
        f"jiwa) {escape(reach)} dari {escape(', '.join(entry.label for entry in chosen))}; "
        f"{base.format_number(city['population_uncovered'])} jiwa belum terjangkau."
    )


def summary_html(
    result: CoverageResult, chosen: Sequence[AssetType], asset_types: dict[str, AssetType]
) -> Markup:
    city = result.city
    rows: list[Sequence[object]] = [
        ("Aset (aktif/pemeliharaan)", base.format_number(result.asset_count)),
        ("Penduduk", base.format_number(city["population"]) + " jiwa"),
        (
            "Penduduk terjangkau",
            f"{base.format_number(city['population_covered'])} jiwa "
            f"({base.format_number(city['population_covered_pct'], 1)} %)",
        ),
        ("Belum terjangkau", f"{base.format_number(city['population_uncovered'])} jiwa"),
        (
            "Luas terjangkau",
            f"{base.format_number(city['covered_ha'])} ha ({base.format_number(city['covered_pct'], 1)} %)",
        ),
        (f"Celah ≥ {MAP_MIN_GAP_HA:g} ha", base.format_number(len(result.gaps))),
    ]
    if result.max_speed_kmh:
        rows.append(("Kecepatan jalan tertinggi", base.format_number(result.max_speed_kmh) + " km/jam"))
    return Markup(f'<p class="geo-headline">{headline(result, chosen, asset_types)}</p>') + base.table_html(
        (), rows
    )


def sites_html(result: CoverageResult, asset_types: dict[str, AssetType]) -> Markup:
    """How the sites are chosen, in plain words, and the list the page fills from /api/analysis/siting."""
    request = result.request
    first = asset_types[request.asset_types[0]]
    if request.mode == "travel_time":
        reach = (
            f"dalam waktu tempuh {base.format_number(request.minutes, 0)} menit lewat jaringan jalan, "
            "dihitung sama seperti peta"
        )
    else:
        radius = request.radius_m or first.coverage_radius_m
        reach = f"dalam radius {base.format_number(radius)} m"
    return Markup(
        f"<p>Tiap lokasi dipilih karena menambah paling banyak penduduk yang terjangkau {escape(reach)}. "
        f"Persentase kumulatif dimulai dari cakupan saat ini, "
        f"{base.format_number(result.city['population_covered_pct'], 1)} %.</p>"
        '<ol id="geo-sites" class="geo-sites" aria-live="polite"><li>Memuat usulan…</li></ol>'
    )
