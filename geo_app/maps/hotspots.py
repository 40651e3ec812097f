"""/maps/hotspots ("Analisis Hotspot 112"): Gi* cells, heat map, DBSCAN clusters, a weekly slider,
emerging categories and response compliance per kelurahan, with a filter form and charts beside the map.

Everything drawn on the map is fetched by the browser from /api/analysis/...; the page itself carries
only the form, two small SVG charts and layer options, so its size does not grow with the incidents.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from urllib.parse import urlencode

from branca.element import MacroElement
from folium.template import Template
from markupsafe import Markup, escape

from geo_app.analysis import emerging
from geo_app.catalog import Catalog
from geo_app.city import CityContext
from geo_app.maps import base, charts
from geo_app.maps.incidents import HEAT_JS, ScriptLayer, prepare_page
from geo_app.settings import Settings

TITLE = "Analisis Hotspot 112"
BIN_COLOURS = {
    "3": "#b2182b",
    "2": "#ef8a62",
    "1": "#fddbc7",
    "0": "#eeeeee",
    "-1": "#d1e5f0",
    "-2": "#67a9cf",
    "-3": "#2166ac",
}
BIN_LEGEND = [
    ("3", "Hotspot 99%"),
    ("2", "Hotspot 95%"),
    ("1", "Hotspot 90%"),
    ("0", "Tidak signifikan"),
    ("-1", "Coldspot 90%"),
    ("-2", "Coldspot 95%"),
    ("-3", "Coldspot 99%"),
]
EMERGING_COLOURS = {
    "new_hot_spot": "#fee08b",
    "consecutive_hot_spot": "#fdae61",
    "intensifying_hot_spot": "#d73027",
    "persistent_hot_spot": "#a50026",
    "diminishing_hot_spot": "#f46d43",
    "sporadic_hot_spot": "#fdd0a2",
    "oscillating_hot_spot": "#e08214",
    "historical_hot_spot": "#b35806",
    "new_cold_spot": "#c6dbef",
    "consecutive_cold_spot": "#9ecae1",
    "intensifying_cold_spot": "#08519c",
    "persistent_cold_spot": "#2171b5",
    "diminishing_cold_spot": "#6baed6",
    "sporadic_cold_spot": "#deebf7",
    "oscillating_cold_spot": "#4292c6",
    "historical_cold_spot": "#08306b",
}
GAP_RULE = {
    "property": "gap_points",
    "breaks": [-20, -10, -0.001, 10, 1000],
    "colours": ["#d7191c", "#fdae61", "#fee08b", "#a6d96a", "#1a9641"],
    "no_data": base.NO_DATA_COLOUR,
}
"""Kelurahan coloured by their gap to the compliance goal (percentage points): red far below, green above."""
GAP_LEGEND = [
    ("#d7191c", "lebih dari 20 poin di bawah sasaran"),
    ("#fdae61", "10 – 20 poin di bawah sasaran"),
    ("#fee08b", "0 – 10 poin di bawah sasaran"),
    ("#a6d96a", "mencapai sasaran (hingga +10 poin)"),
    ("#1a9641", "lebih dari 10 poin di atas sasaran"),
    (base.NO_DATA_COLOUR, "tidak ada insiden dengan waktu tiba"),
]
EMERGING_LEGEND = (
    "new_hot_spot",
    "consecutive_hot_spot",
    "intensifying_hot_spot",
    "persistent_hot_spot",
    "sporadic_hot_spot",
    "historical_hot_spot",
    "new_cold_spot",
    "persistent_cold_spot",
)
RECENT_PATTERNS = ("new_hot_spot", "consecutive_hot_spot", "intensifying_hot_spot")
"""The patterns that answer "what emerged recently": hot in the last step, for the first time, in a run,
or growing."""
EMERGING_LAYER = "Pola hotspot baru/berkembang"
GI_LAYER = "Hotspot Gi* (FDR)"
GRID_LABELS = {"hexagon": "Heksagon", "h3": "H3", "kelurahan": "Kelurahan"}
COMPLIANCE_LAYER = "Kepatuhan waktu tanggap per kelurahan"


class RankedResponseTable(MacroElement):
    """The kelurahan ranked by response compliance, filled in the side panel by GeoIncidents.responseTable
    from /api/analysis/response (sortable, with a CSV of the same numbers)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        GeoIncidents.responseTable({{ this._parent.get_name() }}, {{ this.options|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, options: dict):
        super().__init__()
        self._name = "RankedResponseTable"
        self.options = options


MONTHS = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)  # fmt: skip


def day_text(day: date) -> str:
    """A date as written in Indonesian: 1 September 2026."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def period_text(first: date, last: date) -> str:
    """An analysed period in words: one day, or first – last, naming the month and the year once when both
    ends share them (1 – 31 Oktober 2026, 1 September – 30 November 2026)."""
    if first == last:
        return day_text(first)
    if (first.year, first.month) == (last.year, last.month):
        start = str(first.day)
    elif first.year == last.year:
        start = f"{first.day} {MONTHS[first.month - 1]}"
    else:
        start = day_text(first)
    return f"{start} – {day_text(last)}"


def form_html(
    catalog: Catalog,
    filters: dict[str, str],
    categories: Sequence[str],
    grid: str,
    size: str,
    period: str,
    periods: dict[str, str],
) -> Markup:
    """GET form: a period preset (or dates), categories, grid and cell size; submitting reloads the page
    with new analyses. The date fields show the preset's days and count only with "Pilih tanggal"."""
    period_options = "".join(
        f'<option value="{escape(value)}"{" selected" if value == period else ""}>{escape(label)}</option>'
        for value, label in periods.items()
    )
    boxes = "".join(
        f'<label class="geo-check"><input type="checkbox" name="category" value="{escape(code)}"'
        f"{' checked' if code in categories else ''}> {escape(entry.label)}</label>"
        for code, entry in catalog.incident_categories.items()
    )
    grids = "".join(
        f'<option value="{value}"{" selected" if value == grid else ""}>{label}</option>'
        for value, label in GRID_LABELS.items()
    )
    return Markup(
        '<form class="geo-filter-form" method="get" action="maps/hotspots">'
        f'<label>Periode <select name="period">{period_options}</select></label>'
        '<div class="geo-dates">'
        f'<label>Dari <input type="date" name="start" value="{escape(filters.get("start", ""))}"></label>'
        f'<label>Sampai <input type="date" name="end" value="{escape(filters.get("end", ""))}"></label>'
        "</div>"
        '<fieldset class="geo-categories"><legend>Kategori (tidak dicentang = semua)</legend>'
        f'<div class="geo-check-grid">{boxes}</div></fieldset>'
        f'<label>Grid <select name="grid">{grids}</select></label>'
        f'<label>Sisi heksagon (m, kosong = otomatis) <input type="number" name="size" min="25" max="5000" '
        f'value="{escape(size)}"></label>'
        '<button type="submit">Tampilkan</button></form>'
    )


def response_chart(minutes: Sequence[float], target: float | None, target_label: str, top: float) -> Markup:
    """Histogram of minutes from 0 to ``top`` (the last column holds every later arrival too)."""
    if not len(minutes):
        return Markup("<p>Belum ada insiden dengan waktu tiba.</p>")
    edges = [top * k / 24 for k in range(25)]
    return charts.histogram(
        minutes, edges, title="Waktu tanggap (menit)", unit="menit", target=target, target_label=target_label
    )


def build_hotspots_map(
    settings: Settings,
    *,
    city: CityContext,
    catalog: Catalog,
    filters: dict[str, str],
    period: str,
    periods: dict[str, str],
    analysed: tuple[date, date],
    incident_count: int,
    grid: str,
    size: str,
    weeks: Sequence[tuple[date, date, int]],
    today: date,
    step: str,
    hour_weekday: Sequence[Sequence[int]],
    response_minutes: Sequence[float],
    response_top: float,
    sample: bool,
) -> str:
    """The page's HTML. ``filters``: the API filter parameters (start, end, category as strings);
    ``analysed``: the first and last day analysed, shown in the header with ``incident_count``;
    ``weeks``: (Monday, Sunday, incidents) of the weekly slider, which opens on the last week that has
    ended (before ``today``, the city's date) and holds incidents."""
    categories = [code for code in filters.get("category", "").split(",") if code]
    query = urlencode(filters)
    grid_query = urlencode({**filters, "grid": grid, **({"size": size} if size else {})})
    chosen = ", ".join(catalog.incident_categories[code].label for code in categories) or "semua kategori"
    preset = f"{periods[period]}: " if period != "custom" else ""
    subtitle = (
        f"{city.name} — {chosen} · {preset}{period_text(*analysed)} · "
        f"{base.format_number(incident_count)} insiden"
    )
    m = base.make_map(settings, TITLE, city=city, sample=sample, subtitle=subtitle, report="112")
    prepare_page(m)

    gi_layer = ScriptLayer(
        "GeoIncidents.hotspotLayer",
        GI_LAYER,
        {
            "url": f"api/analysis/hotspots?{grid_query}",
            "colours": BIN_COLOURS,
            "summary": "geo-hotspot-summary",
        },
    ).add_to(m)
    ScriptLayer(
        "GeoIncidents.heatLayer",
        "Peta panas (kepadatan kernel)",
        {"url": f"api/analysis/hotspots/density?{query}", "note": "geo-heat-note"},
        show=False,
        scripts=HEAT_JS,
    ).add_to(m)
    ScriptLayer(
        "GeoIncidents.weeklyHeatLayer",
        "Kepadatan per minggu (slider)",
        {
            "url": "api/analysis/hotspots/density?"
            + urlencode({key: value for key, value in filters.items() if key == "category"}),
            "weeks": [
                {"start": start.isoformat(), "end": end.isoformat(), "complete": end < today, "incidents": n}
                for start, end, n in weeks
            ],
        },
        show=False,
        scripts=HEAT_JS,
    ).add_to(m)
    emerging_layer = ScriptLayer(
        "GeoIncidents.emergingLayer",
        EMERGING_LAYER,
        {
            "url": "api/analysis/emerging?" + urlencode({**filters, "step": step}),
            "step": step,
            "colours": EMERGING_COLOURS,
            "labels": {name: emerging.category_label(name) for name in EMERGING_COLOURS},
            "recent": RECENT_PATTERNS,
            "summary": "geo-emerging-summary",
        },
        show=False,
    ).add_to(m)
    compliance_layer = base.add_geojson_url(
        m,
        f"api/analysis/response/kelurahan?{query}",
        COMPLIANCE_LAYER,
        style={**base.CHOROPLETH_BORDER, "fillOpacity": 0.7},
        colour_by=GAP_RULE,
        popup_title="Kel. {name}, Kec. {kecamatan}",
        popup_rows=[
            ("Sesuai target", "{compliance:pct}"),
            ("Sasaran", "{goal_pct:1} %"),
            ("Selisih", "{gap_points:1} poin"),
            ("Insiden dengan waktu tiba", "{incidents:int}"),
            ("Median", "{median_min:1} menit"),
            ("Persentil 90", "{p90_min:1} menit"),
        ],
        tooltip="Kel. {name}: {gap_points:1} poin terhadap sasaran",
        highlight=base.HOVER_OUTLINE,
        show=False,
    )
    clusters_layer = base.add_geojson_url(
        m,
        "api/analysis/hotspots/clusters?" + urlencode({**filters, "eps": 150, "min_points": 15}),
        "Klaster DBSCAN (150 m, min. 15)",
        style={"weight": 2, "color": "#6a3d9a", "fill": False, "dashArray": "4 3"},
        front=True,
        interactive=False,
    )
    RankedResponseTable(
        {
            "url": f"api/analysis/response?{query}",
            "name": "Kepatuhan waktu tanggap",
            "target": "geo-response-ranking",
            "areas_url": "api/areas?level=",
            "layer_name": COMPLIANCE_LAYER,
            "covers": GI_LAYER,
        }
    ).add_to(m)
    base.add_legend(
        m, "Hotspot Gi*", [(BIN_COLOURS[value], label) for value, label in BIN_LEGEND], layers=[gi_layer]
    )
    base.add_legend(
        m,
        "Kepatuhan waktu tanggap",
        GAP_LEGEND,
        note="Selisih bagian insiden yang tiba dalam target terhadap sasaran kategorinya, dalam poin.",
        layers=[compliance_layer],
    )
    base.add_legend(
        m,
        "Pola hotspot baru/berkembang",
        [(EMERGING_COLOURS[name], emerging.category_label(name)) for name in EMERGING_LEGEND],
        note=f"Langkah waktu: {'bulan' if step == 'month' else 'minggu'} yang sudah selesai; "
        "coldspot berwarna biru.",
        layers=[emerging_layer],
    )
    base.add_legend(
        m,
        "Klaster DBSCAN",
        [("#6a3d9a", "≥ 15 insiden berjarak ≤ 150 m")],
        shape="line",
        note="Garis saja, tidak dapat diklik: sel di bawahnya tetap dapat diklik.",
        layers=[clusters_layer],
    )
    base.add_kecamatan_outlines(m, weight=1.6)
    base.add_layer_control(m)

    base.add_panel(m, "Filter", form_html(catalog, filters, categories, grid, size, period, periods))
    base.add_panel(m, "Hasil Gi*", Markup('<div id="geo-hotspot-summary"><p>Memuat…</p></div>'))
    targets = base.table_html(
        ["Kategori", "Target (menit)", "Sasaran"],
        [
            (
                entry.label,
                base.format_number(entry.response_target_min),
                f"{base.format_number(entry.compliance_goal_pct)} %",
            )
            for entry in catalog.incident_categories.values()
        ],
    )
    base.add_panel(
        m,
        "Wilayah menurut kepatuhan waktu tanggap",
        Markup(
            '<div id="geo-response-ranking"><p>Memuat…</p></div><p class="geo-legend-note">Sesuai %: bagian '
            "insiden yang petugasnya tiba dalam target waktu kategorinya. Sasaran %: bagian yang harus tepat "
            "waktu, rata-rata sasaran kategori insiden wilayah itu. Selisih: Sesuai % dikurangi Sasaran %, "
            "dalam poin (negatif = di bawah sasaran). Baris abu-abu: kurang dari 5 insiden, angkanya belum "
            "stabil. Klik judul kolom untuk mengurutkan.</p>"
            '<details class="geo-targets"><summary>Target waktu tiba dan sasaran per kategori</summary>'
            "{}</details>"
        ).format(targets),
    )
    base.add_panel(
        m,
        "Jam × hari",
        charts.heat_grid(hour_weekday, title=f"Insiden per jam dan hari ({city.timezone_label})")
        + Markup('<p class="geo-legend-note">Baris: Senin–Minggu; kolom: jam 0–23 {}.</p>').format(
            city.timezone_label
        ),
    )
    target = catalog.incident_categories[categories[0]].response_target_min if len(categories) == 1 else None
    base.add_panel(
        m,
        "Distribusi waktu tanggap",
        response_chart(response_minutes, target, "target", response_top)
        + Markup(
            '<p class="geo-legend-note">Dari panggilan diterima sampai petugas tiba; kolom terakhir: '
            f"{base.format_number(response_top)} menit atau lebih. "
            + ("Garis: target kategori." if target else "Target berbeda per kategori (lapisan kepatuhan).")
            + "</p>"
        ),
    )
    base.add_panel(
        m,
        "Yang baru muncul",
        Markup(
            '<div id="geo-emerging-summary"><p>Nyalakan lapisan <button type="button" class="geo-link" '
            'data-show-layer="{}" data-hide-layer="{}">{}</button> untuk melihat hotspot yang baru muncul '
            "atau menguat.</p></div>"
        ).format(EMERGING_LAYER, GI_LAYER, EMERGING_LAYER),
    )
    base.add_panel(m, "Catatan", Markup('<div id="geo-heat-note"><p>Lapisan dimuat dari API.</p></div>'))
    return base.render(m)
