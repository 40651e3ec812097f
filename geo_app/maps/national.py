"""/nasional: the cities of the latest national run coloured by one league figure, the league table beside.

The outlines come from the run folder through /nasional/cities.geojson; only the class breaks and the
table travel in the page.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pandas as pd

from geo_app.city import WIB, CityContext
from geo_app.maps import base
from geo_app.settings import Settings

TITLE = "Dasbor Nasional 100 Smart City"
FIGURES = {
    "emergencies_per_1000": ("Panggilan darurat per 1.000 penduduk", 1),
    "calls_per_1000": ("Panggilan 112 per 1.000 penduduk", 1),
    "response_compliance": ("Kepatuhan waktu tanggap (%)", 1),
    "fire_population_share": ("Penduduk dalam jangkauan pos damkar (%)", 1),
    "rth_share": ("RTH terhadap luas kota (%)", 1),
}
"""League figures a visitor can colour the map by: label and decimals. Shares are shown in per cent."""
SHARES = {"response_compliance", "fire_population_share", "rth_share"}
TABLE_COLUMNS = [
    ("name", "Kota"),
    ("population", "Penduduk"),
    ("emergencies_per_1000", "Darurat/1.000"),
    ("response_compliance", "Tanggap (%)"),
    ("fire_population_share", "Damkar (%)"),
    ("rth_share", "RTH (%)"),
    ("rth_deficit_ha", "Kurang RTH (ha)"),
    ("hotspot_cells", "Sel hotspot"),
]
WHOLE_NUMBERS = {"population", "hotspot_cells", "rth_deficit_ha"}


def shown(league: pd.DataFrame, column: str) -> pd.Series:
    """A league column as the page shows it: shares in per cent."""
    return league[column] * 100 if column in SHARES else league[column]


def national_frame(bounds) -> CityContext:
    """The map frame of the whole country: Indonesia's extent of the run's cities, times in WIB."""
    return CityContext("national", "Indonesia", ZoneInfo(WIB), 3395, bounds)


def build_national_map(settings: Settings, league: pd.DataFrame, figure: str, run_name: str, bounds) -> str:
    label, digits = FIGURES[figure]
    values = shown(league, figure)
    classes = base.classify([None if pd.isna(v) else float(v) for v in values], k=5, digits=digits)
    m = base.make_map(settings, TITLE, city=national_frame(bounds), subtitle=f"Hasil analisis {run_name}")
    base.add_geojson_url(
        m,
        f"/nasional/cities.geojson?figure={figure}",
        f"Kota: {label}",
        style={"weight": 2, "color": base.KECAMATAN_OUTLINE, "fillOpacity": 0.8},
        colour_by=classes.rule("value"),
        popup_title="{name}",
        popup_rows=[
            ("Kode", "{code}"),
            ("Penduduk", "{population:int}"),
            (label, "{value:1}"),
            ("Zona waktu", "{timezone}"),
            ("CRS metrik", "EPSG:{metric_srid}"),
        ],
        tooltip="{name}",
        highlight=base.HOVER_OUTLINE,
    )
    base.add_legend(m, label, classes.legend_items(no_data=bool(values.isna().any())))
    base.add_layer_control(m)
    ranked = league.assign(_value=values).sort_values("_value", ascending=False, na_position="last")
    base.add_panel(m, f"Peringkat kota: {label}", _league_table(ranked.reset_index(drop=True)))
    return base.render(m)


def _league_table(league: pd.DataFrame):
    rows = []
    for index, name in enumerate(league["name"]):
        cells = [name]
        for column, _ in TABLE_COLUMNS[1:]:
            value = shown(league, column).iloc[index]
            digits = 0 if column in WHOLE_NUMBERS else 1
            cells.append(base.format_number(None if pd.isna(value) else float(value), digits))
        rows.append(cells)
    return base.table_html([title for _, title in TABLE_COLUMNS], rows)
