"""/maps/green ("Ruang Terbuka Hijau"): the environment office's three questions on one page.

1. How far is each kelurahan from 30 % RTH? The choropleth (fixed classes) and the ranked table.
2. What changed since the comparison date? Hectares gained, lost and net in the panel and the table, the
   land itself on the map (blue gained, hatched magenta lost: colours the choropleth does not use).
3. Who lacks a park within 300 m? The share of residents within reach per kelurahan in the table, and the
   land beyond reach as a layer.

Every layer is fetched by the browser from the API; the panel's figures and table come from
usecases.green.area_figures, the same numbers as /api/analysis/green/figures and its CSV.
The ranked tables are the shared ones of base.ranked_table_html (sorted in the browser by maps.js, a row
outlining its area on the map); geo_app/static/green_map.js draws the hatches and shows the swipe between
the two dates when both green layers are on.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

import folium
import pandas as pd
from branca.element import CssLink, JavascriptLink
from folium.plugins import SideBySideLayers
from folium.template import Template
from markupsafe import Markup, escape

from geo_app.catalog import GreenType
from geo_app.city import CityContext
from geo_app.maps import base
from geo_app.settings import Settings
from geo_app.usecases.green import Period

TITLE = "Ruang Terbuka Hijau"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
# Share of kelurahan area in green, fixed classes so every date and city compares by colour alone:
# below 10 %, 10-20 %, 20-30 %, at or above the 30 % target of UU 26/2007.
SHARE_BREAKS = [0.1 - 1e-9, 0.2 - 1e-9, 0.3 - 1e-9, 1e9]
SHARE_COLOURS = ["#8c510a", "#d8b365", "#f6e8c3", "#1a9850"]
SHARE_LABELS = ["< 10 %", "10 – 20 %", "20 – 30 %", "≥ 30 % (memenuhi target)"]
# Change and access colours stand apart from the brown-to-green choropleth. The hatches are SVG patterns
# that green_map.js defines (ids below); the legend draws them with the same colours.
GAINED = "#2166ac"
LOST = "#c51b7d"
LOST_FILL = "url(#geo-hatch-lost)"
GAP = "#252525"
GAP_FILL = "url(#geo-hatch-gap)"

GREEN_POPUP = [
    ("Tipe", "{type_label}"),
    ("Publik", "{is_public:yesno}"),
    ("Luas", "{area_ha:2} ha"),
    ("OPD pengelola", "{managing_opd}"),
    ("Tanggal survei", "{survey_date:date}"),
    ("Berlaku sejak", "{valid_from:date}"),
    ("Sumber", "{source}"),
]
GAP_POPUP = [
    ("Penduduk ≤ 300 m dari taman", "{residents_share_covered:pct}"),
    ("Penduduk di luar jangkauan", "{residents_beyond:int} jiwa"),
]


def indonesian_date(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def kelurahan_popup(period: Period) -> list[tuple[str, str]]:
    since = indonesian_date(period.since)
    return [
        ("Kecamatan", "{parent_name}"),
        ("Luas kelurahan", "{area_ha:1} ha"),
        ("RTH total", "{green_ha:1} ha ({green_share:pct})"),
        ("Kurang menuju 30 %", "{green_deficit_ha:1} ha"),
        ("RTH publik", "{public_ha:1} ha ({public_share:pct})"),
        ("Kurang menuju 20 % publik", "{public_deficit_ha:1} ha"),
        (f"Bertambah sejak {since}", "{gained_ha:2} ha"),
        (f"Berkurang sejak {since}", "{lost_ha:2} ha"),
        ("Penduduk ≤ 300 m dari taman", "{park_access_share:pct}"),
    ]


class LayerPanes(folium.MacroElement):
    """Puts URL layers into their own map panes (created with a z-index), before their data arrives.

    Needed for the swipe: leaflet-side-by-side clips a layer's container, which vector layers only have
    when they sit in a pane of their own; the choropleth goes into a pane below the green polygons.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map, layers) {
            layers.forEach(function (entry) {
                var pane = map.getPane(entry[1]) || map.createPane(entry[1]);
                pane.style.zIndex = entry[2];
                entry[0].options.pane = entry[1];
                entry[0].getContainer = function () { return pane; };
            });
        })({{ this._parent.get_name() }}, [
            {%- for layer, pane, z in this.layers %}
            [{{ layer.get_name() }}, {{ pane|tojson }}, {{ z }}],
            {%- endfor %}
        ]);
        {% endmacro %}
        """
    )

    def __init__(self, layers: list[tuple[folium.map.Layer, str, int]]):
        super().__init__()
        self._name = "LayerPanes"
        self.layers = layers


class GreenPage(folium.MacroElement):
    """Hands the page's layers to green_map.js (GeoGreen.init)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        GeoGreen.init({{ this._parent.get_name() }}, {
            changes: {{ this.changes.get_name() }},
            swipe: {{ this.swipe.get_name() }},
            left: {{ this.left.get_name() }},
            right: {{ this.right.get_name() }},
            colours: {{ this.colours|tojson }}
        });
        {% endmacro %}
        """
    )

    def __init__(self, changes, swipe, left, right):
        super().__init__()
        self._name = "GreenPage"
        self.changes, self.swipe, self.left, self.right = changes, swipe, left, right
        self.colours = {"gained": GAINED, "lost": LOST, "lost_fill": LOST_FILL}


def build_green_map(
    settings: Settings,
    *,
    city: CityContext,
    green_types: dict[str, GreenType],
    figures: pd.DataFrame,
    period: Period,
    radius_m: float,
    min_ha: float,
    sample: bool,
) -> str:
    """The page's HTML. ``figures``: usecases.green.area_figures for ``period``."""
    since, until = indonesian_date(period.since), indonesian_date(period.until)
    dates = {"from": period.since.isoformat(), "to": period.until.isoformat()}
    subtitle = f"{city.name} — {since} s.d. {until}"
    m = base.make_map(settings, TITLE, city=city, sample=sample, subtitle=subtitle, report="rth")
    figure = m.get_root()
    figure.header.add_child(CssLink("/static/green_map.css"), name="geo_green_css")
    figure.header.add_child(JavascriptLink("/static/green_map.js"), name="geo_green_js")
    areas = base.add_geojson_url(
        m,
        "api/analysis/green/figures?" + urlencode({**dates, "format": "geojson", "level": "kelurahan"}),
        "Kelurahan: RTH terhadap target 30 %",
        style={**base.CHOROPLETH_BORDER, "fillOpacity": 0.7},
        colour_by={
            "property": "green_share",
            "breaks": SHARE_BREAKS,
            "colours": SHARE_COLOURS,
            "no_data": base.NO_DATA_COLOUR,
        },
        popup_title="Kelurahan {name}",
        popup_rows=kelurahan_popup(period),
        tooltip="{name}: RTH {green_share:pct}, ≤ 300 m taman {park_access_share:pct}",
        highlight=base.HOVER_OUTLINE,
    )
    type_colours = base.category_rule("green_type", {key: entry.colour for key, entry in green_types.items()})
    green_layers = [
        base.add_geojson_url(
            m,
            f"api/green-areas?as_of={day.isoformat()}&limit=5000",
            f"RTH menurut tipe, {indonesian_date(day)} ({side})",
            style={"weight": 0.6, "color": "#1b4d2b", "fillOpacity": 0.85},
            colour_by=type_colours,
            popup_title="{name}",
            popup_rows=GREEN_POPUP,
            tooltip="{type_label} — {area_ha:2} ha",
            show=False,
        )
        for day, side in ((period.since, "kiri"), (period.until, "kanan"))
    ]
    changes = base.add_geojson_url(
        m,
        "api/green-areas/changes?" + urlencode({**dates, "format": "geojson"}),
        f"Perubahan RTH {since} – {until}",
        style={"weight": 3, "fillOpacity": 0.9},
        colour_by=base.category_rule("change", {"gained": GAINED, "lost": LOST_FILL}),
        popup_title="{change_label} — Kelurahan {kelurahan}",
        popup_rows=[("Perubahan", "{change_label}"), ("Luas", "{area_ha:2} ha"), ("Sejak", since)],
        tooltip="{change_label} {area_ha:2} ha — {kelurahan}",
    )
    access_query = {"format": "geojson", "as_of": dates["to"], "radius_m": radius_m, "min_ha": min_ha}
    gap_name = f"Di luar {radius_m:g} m dari taman publik ≥ {base.format_number(min_ha, 1)} ha"
    gaps = base.add_geojson_url(
        m,
        "api/analysis/green/access?" + urlencode(access_query),
        gap_name,
        style={"weight": 0.8, "color": GAP, "dashArray": "3 3", "fillColor": GAP_FILL, "fillOpacity": 1},
        popup_title="Kelurahan {name}",
        popup_rows=GAP_POPUP,
        show=False,
    )
    outlines = base.add_kecamatan_outlines(m, weight=2)
    # Bottom to top: choropleth, access gaps, green polygons (swiped), then the changes in the overlay pane.
    LayerPanes(
        [
            (areas, "rthDasar", 380),
            (gaps, "rthCelah", 385),
            (green_layers[0], "rthKiri", 390),
            (green_layers[1], "rthKanan", 390),
        ]
    ).add_to(m)
    swipe = SideBySideLayers(green_layers[0], green_layers[1])
    swipe.add_to(m)
    _legends(m, period, figures, green_types, areas, changes, green_layers, gaps, outlines, gap_name)
    base.add_layer_control(m)
    GreenPage(changes, swipe, *green_layers).add_to(m)
    base.add_panel(m, "Periode", _period_form(period))
    base.add_panel(m, f"Ringkasan kota (per {until})", _summary(figures, period, radius_m, min_ha))
    base.add_panel(m, "Peringkat per wilayah", _ranking(figures, period))
    _link_ranking_tables(m, areas)
    return base.render(m)


def _legends(m, period, figures, green_types, areas, changes, green_layers, gaps, outlines, gap_name) -> None:
    """One legend per layer, shown while that layer is on."""
    base.add_legend(
        m,
        "RTH / luas kelurahan",
        list(zip(SHARE_COLOURS, SHARE_LABELS, strict=True)),
        note="Target UU 26/2007: 30 % (20 % publik, 10 % privat). Kelas tetap.",
        layers=[areas],
    )
    city = figures[figures["level"] == "kota"].iloc[0]
    base.add_legend(
        m,
        f"Perubahan sejak {indonesian_date(period.since)}",
        [
            (GAINED, f"Bertambah (+{base.format_number(city['gained_ha'], 1)} ha)", "box"),
            (LOST, f"Berkurang (−{base.format_number(city['lost_ha'], 1)} ha)", "hatch"),
        ],
        note="Perubahan kecil ditandai lingkaran agar terlihat pada skala kota.",
        layers=[changes],
    )
    outline_key = [(base.KECAMATAN_OUTLINE, "Kecamatan")]
    base.add_legend(m, "Batas", outline_key, shape="line", position="bottomleft", layers=[outlines])
    base.add_legend(
        m,
        "Tipe RTH",
        [(entry.colour, entry.label) for entry in green_types.values()],
        note="Dua tanggal menyala: geser pembatas untuk membandingkan.",
        position="bottomleft",
        layers=green_layers,
    )
    base.add_legend(m, "Akses taman", [(GAP, gap_name, "hatch")], position="bottomleft", layers=[gaps])


def _period_form(period: Period) -> Markup:
    return Markup(
        '<form class="green-period" method="get" action="maps/green">'
        f'<label>Dari <input type="date" name="from" value="{period.since.isoformat()}" required></label>'
        f'<label>Sampai <input type="date" name="to" value="{period.until.isoformat()}" required></label>'
        '<button type="submit">Tampilkan</button></form>'
        '<p class="geo-legend-note">RTH, kekurangan dan akses taman per tanggal «Sampai»; perubahan antara '
        "kedua tanggal. Bawaan: akhir bulan terakhir yang sudah lengkap, dibanding setahun sebelumnya.</p>"
    )


def _signed(value: float, digits: int = 1) -> str:
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    return f"{sign}{base.format_number(abs(value), digits)}"


def _summary(figures: pd.DataFrame, period: Period, radius_m: float, min_ha: float) -> Markup:
    city = figures[figures["level"] == "kota"].iloc[0]

    def figure(label: str, value: str, unit: str, css: str = "") -> str:
        return (
            f'<div class="green-figure {css}"><dt>{escape(label)}</dt>'
            f'<dd><span class="green-value">{escape(value)}</span> {escape(unit)}</dd></div>'
        )

    share = base.format_number(city["green_share"] * 100, 1)
    public = base.format_number(city["public_share"] * 100, 1)
    access = base.format_number(city["park_access_share"] * 100, 1)
    parts = [
        figure("RTH total (target 30 %)", share, "%"),
        figure("Kurang menuju 30 %", base.format_number(city["green_deficit_ha"], 1), "ha"),
        figure("RTH publik (target 20 %)", public, "%"),
        figure("Kurang menuju 20 % publik", base.format_number(city["public_deficit_ha"], 1), "ha"),
        figure("Bertambah", _signed(city["gained_ha"]), "ha", "green-gained"),
        figure("Berkurang", _signed(-city["lost_ha"]), "ha", "green-lost"),
        figure("Bersih", _signed(city["net_ha"]), "ha", "green-net"),
        figure(f"Penduduk ≤ {radius_m:g} m dari taman", access, "%"),
    ]
    return Markup(
        f'<dl class="green-figures">{"".join(parts)}</dl>'
        f'<p class="geo-legend-note">Perubahan: {escape(indonesian_date(period.since))} s.d. '
        f"{escape(indonesian_date(period.until))}. Taman: RTH publik ≥ {base.format_number(min_ha, 1)} ha, "
        "jarak garis lurus. Penduduk menurut grid penduduk; poligon yang tumpang tindih dihitung sekali.</p>"
    )


RANKING_COLUMNS = [
    # (field, heading, title, digits, percent)
    ("green_share", "RTH", "RTH total, % luas wilayah", 1, True),
    ("green_deficit_ha", "Kurang ke 30 %", "Kekurangan RTH menuju 30 % luas wilayah (ha)", 1, False),
    ("public_deficit_ha", "Kurang publik ke 20 %", "Kekurangan RTH publik menuju 20 % luas (ha)", 1, False),
    ("gained_ha", "Bertambah", "RTH bertambah sejak tanggal «Dari» (ha)", 2, False),
    ("lost_ha", "Berkurang", "RTH berkurang sejak tanggal «Dari» (ha)", 2, False),
    ("park_access_share", "≤ 300 m taman", "Penduduk dalam 300 m dari taman publik ≥ 0,5 ha (%)", 1, True),
]
RANKING_LEVELS = (("kelurahan", "Kelurahan"), ("kecamatan", "Kecamatan"))
ROW_OUTLINE = {"weight": 4, "color": "#0b5e7a", "fillOpacity": 0.85}
"""A table row's area on the map while the row is pointed at."""


def ranking_table_id(level: str) -> str:
    return f"green-{level}-table"


def _ranking_columns(level: str, label: str) -> list[base.TableColumn]:
    name = base.TableColumn(label, "name", detail="parent_name" if level == "kelurahan" else None)
    return [name] + [
        base.TableColumn(f"{heading} ({'%' if percent else 'ha'})", field, digits, title=title)
        for field, heading, title, digits, percent in RANKING_COLUMNS
    ]


def _ranking_records(figures: pd.DataFrame, level: str) -> list[dict]:
    """The figures of one level as table records, shares in per cent."""
    rows = figures[figures["level"] == level]
    records = rows[["code", "name", "parent_name"]].to_dict("records")
    for field, _, _, _, percent in RANKING_COLUMNS:
        values = rows[field].astype(float) * (100 if percent else 1)
        for record, value in zip(records, values, strict=True):
            record[field] = None if pd.isna(value) else value
    return records


def _ranking(figures: pd.DataFrame, period: Period) -> Markup:
    """Kelurahan and kecamatan tables (one shown at a time), least green first, sorted by the reader
    (maps.js); each level's CSV is the API's, with every figure of the area."""
    dates = {"from": period.since.isoformat(), "to": period.until.isoformat()}
    tables = []
    for level, label in RANKING_LEVELS:
        csv = "api/analysis/green/figures?" + urlencode({**dates, "level": level, "format": "csv"})
        table = base.ranked_table_html(
            ranking_table_id(level),
            _ranking_columns(level, label),
            _ranking_records(figures, level),
            key="code",
            sort_by="green_share",
            descending=False,
        )
        hidden = "" if level == "kelurahan" else " hidden"
        tables.append(
            f'<div class="geo-level green-ranking" data-level="{level}"{hidden}>'
            f'<p><a class="green-csv" href="{escape(csv)}" download>Unduh CSV ({label.lower()})</a></p>'
            f"{table}</div>"
        )
    switch = (
        '<div class="geo-levels" role="group" aria-label="Tingkat wilayah">'
        + "".join(
            f'<button type="button" data-level="{level}" aria-pressed="{str(level == "kelurahan").lower()}">'
            f"{label}</button>"
            for level, label in RANKING_LEVELS
        )
        + "</div>"
        '<p class="geo-legend-note">Klik judul kolom untuk mengurutkan; arahkan ke baris untuk menandai '
        "wilayahnya di peta, klik untuk memperbesar.</p>"
    )
    return Markup(switch + "".join(tables))


def _link_ranking_tables(m: folium.Map, areas: base.GeoJsonUrl) -> None:
    """A kelurahan row points at its kelurahan, a kecamatan row at the kelurahan within it."""
    for level, property_name in (("kelurahan", "code"), ("kecamatan", "parent_code")):
        base.LinkedTable(ranking_table_id(level), areas, property_name, highlight=ROW_OUTLINE).add_to(m)
