"""/maps/green ("Ruang Terbuka Hijau"): green areas by type, RTH share per kelurahan against the target,
residents beyond reach of a park, and a swipe comparison of two dates with the land gained and lost.

Every layer is fetched by the browser from the API (nothing big is embedded); the side panel carries the
city summary and the per-kelurahan charts, computed by analysis.green.
"""

from __future__ import annotations

from datetime import date

import folium
import pandas as pd
from folium.plugins import SideBySideLayers
from folium.template import Template
from markupsafe import Markup

from geo_app.catalog import GreenType
from geo_app.city import CityContext
from geo_app.maps import base, charts
from geo_app.settings import Settings

TITLE = "Ruang Terbuka Hijau"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
# Share of kelurahan area in green: below 10 %, 10-20 %, 20-30 %, at or above the 30 % target.
SHARE_BREAKS = [0.1 - 1e-9, 0.2 - 1e-9, 0.3 - 1e-9, 1e9]
SHARE_COLOURS = ["#d7301f", "#fc8d59", "#fee08b", "#91cf60"]
SHARE_LABELS = ["< 10 %", "10 – 20 %", "20 – 30 %", "≥ 30 % (memenuhi target)"]
GAINED, LOST = "#2166ac", "#b2182b"
MEETS, MISSES = "#1a9850", "#f46d43"
GAP_COLOUR = "#5e4fa2"

GREEN_POPUP = [
    ("Tipe", "{type_label}"),
    ("Publik", "{is_public:yesno}"),
    ("Luas", "{area_ha:2} ha"),
    ("OPD pengelola", "{managing_opd}"),
    ("Tanggal survei", "{survey_date:date}"),
    ("Berlaku sejak", "{valid_from:date}"),
    ("Sumber", "{source}"),
]
KELURAHAN_POPUP = [
    ("Luas kelurahan", "{area_ha:1} ha"),
    ("RTH total", "{green_ha:2} ha ({green_share:pct})"),
    ("RTH publik", "{public_ha:2} ha ({public_share:pct})"),
    ("RTH privat", "{private_ha:2} ha ({private_share:pct})"),
    ("Kurang menuju 30 %", "{green_deficit_ha:1} ha"),
    ("Kurang menuju 20 % publik", "{public_deficit_ha:1} ha"),
    ("Kurang menuju 10 % privat", "{private_deficit_ha:1} ha"),
    ("RTH per penduduk", "{green_m2_per_resident:1} m²/jiwa"),
]
GAP_POPUP = [
    ("Penduduk terjangkau", "{residents_share_covered:pct}"),
    ("Penduduk di luar jangkauan", "{residents_beyond:int} jiwa"),
]


def indonesian_date(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


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


def build_green_map(
    settings: Settings,
    *,
    city: CityContext,
    green_types: dict[str, GreenType],
    statistics: pd.DataFrame,
    access: pd.DataFrame,
    before: date,
    after: date,
    radius_m: float,
    min_ha: float,
    sample: bool,
) -> str:
    """The page's HTML. ``statistics`` and ``access``: analysis.green tables at ``after``."""
    m = base.make_map(settings, TITLE, city=city, sample=sample, subtitle=city.name, report="rth")
    shown = indonesian_date(after)
    choropleth = base.add_geojson_url(
        m,
        f"api/analysis/green?format=geojson&level=kelurahan&as_of={after.isoformat()}",
        "Kelurahan: RTH terhadap target 30 %",
        style={**base.CHOROPLETH_BORDER, "fillOpacity": 0.55},
        colour_by={
            "property": "green_share",
            "breaks": SHARE_BREAKS,
            "colours": SHARE_COLOURS,
            "no_data": "#ccc",
        },
        popup_title="Kelurahan {name}",
        popup_rows=KELURAHAN_POPUP,
        tooltip="{name}: RTH {green_share:pct}",
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
        )
        for day, side in ((before, "kiri"), (after, "kanan"))
    ]
    base.add_geojson_url(
        m,
        f"api/green-areas/changes?from={before.isoformat()}&to={after.isoformat()}&format=geojson",
        f"Perubahan RTH {indonesian_date(before)} – {shown}",
        style={"weight": 2.5, "fillOpacity": 0.4},
        colour_by=base.category_rule("change", {"gained": GAINED, "lost": LOST}),
        popup_title="Kelurahan {kelurahan}",
        popup_rows=[("Perubahan", "{change}"), ("Luas", "{area_ha:2} ha")],
        tooltip="{kelurahan}: {area_ha:2} ha",
    )
    gaps = base.add_geojson_url(
        m,
        f"api/analysis/green/access?format=geojson&as_of={after.isoformat()}&radius_m={radius_m:g}&min_ha={min_ha:g}",
        f"Di luar {radius_m:g} m dari taman publik ≥ {base.format_number(min_ha, 1)} ha",
        style={"weight": 0.5, "color": GAP_COLOUR, "fillColor": GAP_COLOUR, "fillOpacity": 0.35},
        popup_title="Kelurahan {name}",
        popup_rows=GAP_POPUP,
        show=False,
    )
    base.add_kecamatan_outlines(m, weight=2)
    # Bottom to top: choropleth, access gaps, green polygons (swiped), then the changes in the overlay pane.
    LayerPanes(
        [
            (choropleth, "rthDasar", 380),
            (gaps, "rthCelah", 385),
            (green_layers[0], "rthKiri", 390),
            (green_layers[1], "rthKanan", 390),
        ]
    ).add_to(m)
    SideBySideLayers(green_layers[0], green_layers[1]).add_to(m)
    base.add_legend(
        m,
        "RTH / luas kelurahan",
        list(zip(SHARE_COLOURS, SHARE_LABELS, strict=True)),
        note="Target UU 26/2007: 30 % (20 % publik, 10 % privat).",
    )
    base.add_legend(
        m,
        "Tipe RTH",
        [(entry.colour, entry.label) for entry in green_types.values()]
        + [(GAINED, "Bertambah"), (LOST, "Berkurang"), (GAP_COLOUR, "Di luar jangkauan taman")],
        note=f"Geser pembatas: kiri {indonesian_date(before)}, kanan {shown}.",
        position="bottomleft",
    )
    base.add_layer_control(m)
    base.add_panel(m, f"Ringkasan kota ({shown})", _summary(statistics, access, radius_m, min_ha))
    kelurahan = statistics[statistics["level"] == "kelurahan"]
    for column, target, title in (
        ("green_share", 0.30, "RTH total per kelurahan (% luas), target 30 %"),
        ("public_share", 0.20, "RTH publik per kelurahan (% luas), target 20 %"),
    ):
        ordered = kelurahan.sort_values(column, ascending=False)
        base.add_panel(
            m,
            title,
            charts.bar_chart(
                ordered["name"].tolist(),
                (ordered[column] * 100).tolist(),
                title=title,
                unit="%",
                digits=1,
                target=target * 100,
                target_label="target",
                colours=[MEETS if share >= target - 1e-9 else MISSES for share in ordered[column]],
            ),
        )
    return base.render(m)


def _summary(statistics: pd.DataFrame, access: pd.DataFrame, radius_m: float, min_ha: float) -> Markup:
    city = statistics[statistics["level"] == "kota"].iloc[0]
    reach = access[access["level"] == "kota"].iloc[0]
    targets = base.table_html(
        ["RTH", "ha", "% luas", "target", "kurang (ha)"],
        [
            (
                label,
                base.format_number(city[f"{kind}_ha"], 1),
                base.format_number(city[f"{kind}_share"] * 100, 1),
                ("✓ " if city[f"{kind}_meets_target"] else "✗ ")
                + base.format_number(city[f"{kind}_target"] * 100),
                base.format_number(city[f"{kind}_deficit_ha"], 1),
            )
            for label, kind in (("Total", "green"), ("Publik", "public"), ("Privat", "private"))
        ],
    )
    figures = base.table_html(
        (),
        [
            ("Luas wilayah", f"{base.format_number(city['area_ha'])} ha"),
            ("RTH per penduduk", f"{base.format_number(city['green_m2_per_resident'], 1)} m²/jiwa"),
            (
                f"Penduduk ≤ {radius_m:g} m dari RTH publik ≥ {base.format_number(min_ha, 1)} ha",
                f"{base.format_number(reach['residents_share_covered'] * 100, 1)} %",
            ),
        ],
    )
    return (
        targets
        + figures
        + Markup(
            '<p class="geo-legend-note">Poligon yang tumpang tindih dihitung sekali '
            "(digabung per kelurahan). Penduduk dianggap tersebar merata di tiap kelurahan.</p>"
        )
    )
