"""/maps/areas: kelurahan coloured by population density, kecamatan outlines, a summary beside the map.

The polygons are fetched by the browser from /api/areas; only the class breaks (computed here with
mapclassify from the same densities) and the summary travel in the page.
"""

from __future__ import annotations

from collections.abc import Sequence

from geo_app.city import CityContext
from geo_app.maps import base, charts, tiles
from geo_app.settings import Settings

TITLE = "Peta Wilayah & Kepadatan Penduduk"
DENSITY_LEGEND = "Kepadatan penduduk (jiwa/km²)"

POPULATION_ROWS = [
    ("Penduduk", "{population:int} jiwa{population_is_estimate:flag: (perkiraan)}"),
    ("Sumber penduduk", "{population_source}"),
    ("Tahun data", "{population_year}"),
    ("Luas", "{area_km2:2} km²"),
    ("Kepadatan", "{density_per_km2:int} jiwa/km²"),
]
KELURAHAN_POPUP = [
    ("Kelurahan", "{name}"),
    ("Kecamatan", "{parent_name}"),
    ("Kode", "{code}"),
    *POPULATION_ROWS,
]
KECAMATAN_POPUP = [("Kecamatan", "{name}"), ("Kode", "{code}"), *POPULATION_ROWS]


def build_areas_map(
    settings: Settings,
    *,
    city: CityContext,
    kelurahan: Sequence[dict],
    kecamatan: Sequence[dict],
    sample: bool,
) -> str:
    """The page's HTML. ``kelurahan``/``kecamatan``: rows of store.areas.list_areas (with densities)."""
    classes = base.classify([row["density_per_km2"] for row in kelurahan], k=5, scheme="Quantiles")
    m = base.make_map(settings, TITLE, city=city, sample=sample, subtitle=city.name)
    base.add_geojson_url(
        m,
        "api/areas?level=kelurahan",
        "Kelurahan: kepadatan penduduk",
        style={**base.CHOROPLETH_BORDER, "fillOpacity": 0.78},
        colour_by=classes.rule("density_per_km2"),
        popup_title="Kelurahan {name}",
        popup_rows=KELURAHAN_POPUP,
        tooltip="{name} — {density_per_km2:int} jiwa/km²",
        highlight=base.HOVER_OUTLINE,
    )
    base.add_geojson_url(
        m,
        "api/areas?level=kecamatan",
        "Batas kecamatan",
        style={"weight": 2.2, "color": base.KECAMATAN_OUTLINE, "fill": False},
        popup_title="Kecamatan {name}",
        popup_rows=KECAMATAN_POPUP,
        front=True,
    )
    estimated = any(row["population_is_estimate"] for row in kelurahan)
    base.add_legend(
        m,
        DENSITY_LEGEND,
        classes.legend_items(no_data=any(row["density_per_km2"] is None for row in kelurahan)),
        note="Kelas: kuantil (jumlah kelurahan kira-kira sama per kelas). "
        + ("Penduduk kelurahan adalah perkiraan." if estimated else ""),
    )
    tiles.add_vector_tiles(m, "assets", "Aset kota (ubin vektor)", colour=base.KECAMATAN_OUTLINE)
    base.add_layer_control(m)
    base.add_panel(m, "Ringkasan", _summary(kelurahan, kecamatan))
    ordered = sorted(kecamatan, key=lambda row: row["density_per_km2"] or 0, reverse=True)
    base.add_panel(
        m,
        "Kepadatan per kecamatan (jiwa/km²)",
        charts.bar_chart(
            [row["name"] for row in ordered],
            [row["density_per_km2"] or 0 for row in ordered],
            title="Kepadatan penduduk per kecamatan",
        ),
    )
    base.add_panel(
        m,
        "Kecamatan",
        base.table_html(
            ["Kecamatan", "Penduduk", "Luas km²", "jiwa/km²"],
            [
                (
                    row["name"],
                    base.format_number(row["population"]),
                    base.format_number(row["area_km2"], 1),
                    base.format_number(row["density_per_km2"]),
                )
                for row in ordered
            ],
        ),
    )
    return base.render(m)


def _summary(kelurahan: Sequence[dict], kecamatan: Sequence[dict]) -> str:
    population = sum(row["population"] or 0 for row in kecamatan)
    area = sum(row["area_km2"] for row in kecamatan)
    sources = sorted({_source_with_year(row) for row in kecamatan if row["population_source"]})
    return base.table_html(
        (),
        [
            ("Kecamatan", len(kecamatan)),
            ("Kelurahan", len(kelurahan)),
            ("Penduduk", base.format_number(population) + " jiwa"),
            ("Luas (peta)", base.format_number(area, 1) + " km²"),
            ("Kepadatan rata-rata", base.format_number(population / area if area else None) + " jiwa/km²"),
            ("Sumber penduduk", "; ".join(sources) or "–"),
        ],
    )


def _source_with_year(row: dict) -> str:
    source, year = row["population_source"], row["population_year"]
    return source if year is None or str(year) in source else f"{source} ({year})"
