"""Shared Folium helpers of the map pages: page frame, basemap, layers loaded by URL, classes, legend, panel.

A page is built as::

    m = make_map(settings, "Judul peta", city=city, sample=is_sample)
    add_geojson_url(m, "api/areas?level=kelurahan", "Kelurahan", colour_by=classes.rule("density_per_km2"))
    add_legend(m, "Kepadatan (jiwa/km²)", classes.legend_items())
    add_layer_control(m)
    html = render(m)

Every script and style sheet is served by the app (geo_app.maps.vendor), so pages work on a closed network;
the only outside URL a page may hold is the basemap tile URL of the BASEMAP_URL setting. Without it the
background is the app's own streets basemap (roads by class and place names, geo_app.maps.tiles).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import folium
import mapclassify
import numpy as np
from branca.element import CssLink, Element, Figure, JavascriptLink, Link, MacroElement
from branca.utilities import color_brewer
from folium.map import Layer
from folium.template import Template
from markupsafe import Markup, escape

from geo_app.city import CityContext
from geo_app.maps.tiles import add_streets_basemap
from geo_app.maps.vendor import local_url
from geo_app.settings import Settings
from geo_app.usecases.periods import last_complete_month

Bounds = tuple[tuple[float, float], tuple[float, float]]  # ((south, west), (north, east))

NO_DATA_COLOUR = "#d9d9d9"
KECAMATAN_OUTLINE = "#2f3b45"
# Kelurahan choropleths: thin white borders between the coloured fills, a dark outline on hover.
CHOROPLETH_BORDER = {"weight": 0.8, "color": "#ffffff"}
HOVER_OUTLINE = {"weight": 3, "color": "#0b5e7a"}
MAX_ZOOM = 19
FAVICON = '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'


def format_number(value: float | None, digits: int = 0) -> str:
    """A number as written in Indonesian: 12.345,6 (thousands dot, decimal comma)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


class OfflineFigure(Figure):
    """A Figure whose script and style links point at the app's own copies instead of CDNs.

    Folium adds its links while its elements render, so the rewrite happens between rendering the
    children and rendering the page; an unmapped CDN file raises vendor.UnmappedAssetError.
    """

    def render(self, **kwargs) -> str:
        for child in self._children.values():
            child.render(**kwargs)
        for name, child in list(self.header._children.items()):
            if isinstance(child, Link):
                url = local_url(child.url)
                if url is None:
                    del self.header._children[name]
                else:
                    child.url = url
        return self._template.render(this=self, kwargs=kwargs)


def make_map(
    settings: Settings,
    title: str,
    *,
    city: CityContext,
    sample: bool = False,
    subtitle: str = "",
    report: str | None = None,
) -> folium.Map:
    """A full-page map: header bar with title (and the sample-data notice), basemap per settings, fitted
    to the city's bounds, scale bar, our CSS/JS, and the city's time zone for the page scripts (dates and
    times are shown in it, labelled WIB, WITA or WIT). Add layers, legend, panel, then ``render``.
    The basemap is the BASEMAP_URL tile server, else the app's own streets (roads and place names).
    ``report``: the user group whose monthly PDF (last complete month) the header links to."""
    figure = OfflineFigure(title=str(escape(title)))
    bounds = city.bounds
    centre = None if bounds is None else list(city.center)
    m = folium.Map(
        location=centre,
        zoom_start=12,
        tiles=None,
        control_scale=False,
        zoom_control="topleft",
        prefer_canvas=False,
        zoom_snap=0.25,
        font_size="0.85rem",
    )
    m.options["max_zoom"] = MAX_ZOOM  # without tiles Leaflet has no zoom limit, which clustering needs
    figure.add_child(m)
    figure.header.add_child(Element(FAVICON), name="geo_app_favicon")
    # the page's links and data URLs are relative: they stay inside the city the page was opened for
    figure.header.add_child(Element(f'<base href="{escape(city.url_root)}">'), name="geo_app_base")
    figure.header.add_child(
        Element(
            f'<meta name="geo-app-timezone" content="{escape(city.timezone_name)}" '
            f'data-label="{escape(city.timezone_label)}">'
        ),
        name="geo_app_timezone",
    )
    figure.header.add_child(CssLink("/static/maps.css"), name="geo_app_css")
    figure.header.add_child(JavascriptLink("/static/maps.js"), name="geo_app_js")
    figure.html.add_child(
        Element(_header_bar(title, subtitle, sample, _report_link(report, city))), name="geo_app_header"
    )
    if not settings.basemap_url:
        add_streets_basemap(m, sample)
    else:
        folium.TileLayer(
            tiles=settings.basemap_url,
            attr=settings.basemap_attribution or "Peta dasar",
            name="Peta dasar",
            overlay=False,
            control=False,
            max_zoom=MAX_ZOOM,
        ).add_to(m)
    MetricScale().add_to(m)
    if bounds is not None:
        m.fit_bounds([list(bounds[0]), list(bounds[1])], padding=(12, 12))
    return m


FOLIUM_FILES_USED = ("leaflet", "leaflet_css")
"""Of the files folium.Map links by default, the ones every page uses. jQuery and Bootstrap are needed by
none, awesome markers only where a folium.Icon is drawn, Font Awesome is linked by the pages with icons;
leaving them out saves about 150 kB compressed per page, more than half a second at 2 Mbit/s."""
AWESOME_MARKER_FILES = (
    "awesome_markers",
    "awesome_markers_css",
    "awesome_markers_font_css",
    "awesome_rotate_css",
)


def drop_unused_folium_files(m: folium.Map) -> None:
    """Link only what the map uses of folium.Map's default scripts and style sheets (called by render)."""

    def elements(element):
        for child in element._children.values():
            yield child
            yield from elements(child)

    used = set(FOLIUM_FILES_USED)
    if any(isinstance(element, folium.Icon) for element in elements(m)):
        used.update(AWESOME_MARKER_FILES)
    m.default_js = [(name, url) for name, url in m.default_js if name in used]
    m.default_css = [(name, url) for name, url in m.default_css if name in used]


class MetricScale(MacroElement):
    """Leaflet's scale bar in metres and kilometres only."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )


def _report_link(group: str | None, city: CityContext) -> str:
    if group is None:
        return ""
    month = last_complete_month(city, datetime.now(city.timezone))
    return (
        f'<a class="geo-report" href="reports/{escape(group)}?month={month.name}" '
        f'title="Laporan bulanan {month.name} (PDF, A4)">Laporan {month.name} (PDF)</a>'
    )


def _header_bar(title: str, subtitle: str, sample: bool, report_link: str = "") -> str:
    notice = (
        '<span class="geo-sample" title="Batas wilayah dan data di peta ini dibuat oleh generator data '
        'contoh, bukan data resmi.">Data contoh</span>'
        if sample
        else ""
    )
    sub = f'<span class="geo-subtitle">{escape(subtitle)}</span>' if subtitle else ""
    return (
        '<header class="geo-header"><a class="geo-home" href="./" title="Beranda">&#8592; Beranda</a>'
        f"<h1>{escape(title)}</h1>{sub}{notice}{report_link}</header>"
    )


class GeoJsonUrl(Layer):
    """A GeoJSON overlay the browser fetches from ``url`` (nothing embedded), styled and labelled in JS."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = GeoApp.geoJsonLayer(
            {{ this._parent.get_name() }}, {{ this.url|tojson }}, {{ this.js_options|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, url: str, name: str, js_options: dict, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "GeoJsonUrl"
        self.url = url
        self.js_options = {"name": name, **js_options}

    def render(self, **kwargs):
        if self.show:
            preload_fetch(self, self.url)
        super().render(**kwargs)


def preload_fetch(element: MacroElement, url: str) -> None:
    """Let the browser fetch ``url`` while the page's scripts load, not after them: GeoApp.fetchJson then
    takes the preloaded answer (for data shown from the start; a slow link saves a second)."""
    element.get_root().header.add_child(
        Element(f'<link rel="preload" as="fetch" crossorigin="anonymous" href="{escape(url)}">'),
        name=f"preload_{element.get_name()}",
    )


def add_geojson_url(
    m: folium.Map,
    url: str,
    name: str,
    *,
    style: dict | None = None,
    colour_by: dict | None = None,
    popup_title: str | None = None,
    popup_rows: Sequence[tuple[str, str]] = (),
    tooltip: str | None = None,
    highlight: dict | None = None,
    point: dict | None = None,
    front: bool = False,
    interactive: bool = True,
    show: bool = True,
) -> GeoJsonUrl:
    """Add a layer loaded by URL, relative to the city's root (e.g. ``api/areas?level=kelurahan``).

    ``style``: Leaflet path options. ``colour_by``: from :meth:`Classes.rule` or :func:`category_rule`.
    ``popup_rows``: (label, template) pairs; templates fill ``{field}`` or ``{field:format}`` from the
    feature properties (formats: int, 0-9 decimals, pct, date, datetime, yesno, flag:TEXT).
    ``point``: circle-marker options for point layers. ``front``: keep above other overlays (outlines).
    ``interactive=False``: clicks pass through to the layers below (outlines drawn over clickable cells).
    """
    options = {
        "style": {"weight": 1, "color": "#555", "fillOpacity": 0.7, **(style or {})},
        "colour_by": colour_by,
        "popup_title": popup_title,
        "popup_rows": [list(row) for row in popup_rows] or None,
        "tooltip": tooltip,
        "highlight": highlight,
        "point": point,
        "front": front,
        "interactive": interactive,
    }
    layer = GeoJsonUrl(url, name, options, show=show)
    layer.add_to(m)
    return layer


def add_kecamatan_outlines(m: folium.Map, weight: float) -> GeoJsonUrl:
    """Unfilled kecamatan boundaries above the other overlays, named on hover: the orientation layer
    of the thematic maps."""
    return add_geojson_url(
        m,
        "api/areas?level=kecamatan",
        "Batas kecamatan",
        style={"weight": weight, "color": KECAMATAN_OUTLINE, "fill": False},
        tooltip="Kecamatan {name}",
        front=True,
    )


def category_rule(property_name: str, colours: dict[str, str]) -> dict:
    """Colour features by a categorical property (e.g. Gi* bin, green-area type)."""
    return {"property": property_name, "categories": colours, "no_data": NO_DATA_COLOUR}


@dataclass(frozen=True)
class Classes:
    """Choropleth classes: upper bounds (inclusive), one colour each, and the lowest value."""

    breaks: list[float]
    colours: list[str]
    minimum: float
    digits: int = 0

    def rule(self, property_name: str) -> dict:
        """The colouring rule the browser applies to ``property_name`` of each feature."""
        return {
            "property": property_name,
            "breaks": self.breaks,
            "colours": self.colours,
            "no_data": NO_DATA_COLOUR,
        }

    def colour(self, value: float | None) -> str:
        if value is None:
            return NO_DATA_COLOUR
        index = int(np.searchsorted(self.breaks, value, side="left"))
        return self.colours[min(index, len(self.colours) - 1)]

    def legend_items(self, no_data: bool = False) -> list[tuple[str, str]]:
        lowers = [self.minimum, *self.breaks[:-1]]
        items = [
            (colour, f"{format_number(low, self.digits)} – {format_number(high, self.digits)}")
            for colour, low, high in zip(self.colours, lowers, self.breaks, strict=True)
        ]
        if no_data:
            items.append((NO_DATA_COLOUR, "tidak ada data"))
        return items


SHARE_BREAKS = (20.0, 40.0, 60.0, 80.0, 100.0)
"""Shares in per cent are coloured in fixed steps of 20 points, so two views (another asset type, radius
or date) compare by colour alone."""


def classify(
    values: Sequence[float | None],
    *,
    k: int = 5,
    scheme: str = "Quantiles",
    palette: str = "YlOrRd",
    digits: int = 0,
    fixed_breaks: Sequence[float] | None = None,
) -> Classes:
    """Class breaks by a mapclassify scheme (Quantiles, EqualInterval, ...), or ``fixed_breaks`` (e.g.
    SHARE_BREAKS) from zero, coloured with a ColorBrewer palette. Missing values are left out (shown as
    "no data"). Schemes that need numba to be fast (FisherJenks) are avoided on pages."""
    data = np.array([v for v in values if v is not None], dtype=float)
    if fixed_breaks is not None:
        breaks = [float(b) for b in fixed_breaks]
        colours = color_brewer(palette, max(len(breaks), 3))[-len(breaks) :]
        return Classes(breaks=breaks, colours=list(colours), minimum=0.0, digits=digits)
    if data.size == 0:
        return Classes(breaks=[0.0], colours=[NO_DATA_COLOUR], minimum=0.0, digits=digits)
    k = max(1, min(k, len(np.unique(data))))
    if k == 1:
        breaks = [float(data.max())]
    else:
        breaks = [float(b) for b in getattr(mapclassify, scheme)(data, k=k).bins]
    colours = color_brewer(palette, max(len(breaks), 3))
    if len(breaks) < 3:  # ColorBrewer palettes start at three colours; keep the darker end
        colours = colours[-len(breaks) :]
    return Classes(breaks=breaks, colours=list(colours), minimum=float(data.min()), digits=digits)


class HtmlControl(MacroElement):
    """A box of HTML as a Leaflet control (legends, notes), in a map corner; with ``layer``, shown only
    while that layer is on the map."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        GeoApp.addHtmlControl({{ this._parent.get_name() }}, {{ this.html|tojson }},
            {{ this.position|tojson }}, {{ this.css_class|tojson }}, [
            {%- for layer in this.layers %}{{ layer.get_name() }}{{ ", " if not loop.last }}{% endfor %}]);
        {% endmacro %}
        """
    )

    def __init__(
        self,
        html: str,
        position: str = "bottomright",
        css_class: str = "geo-legend",
        layers: Sequence[Layer] = (),
    ):
        """``layers``: show the box only while one of these layers is on the map (default: always)."""
        super().__init__()
        self._name = "HtmlControl"
        self.html = html
        self.position = position
        self.css_class = css_class
        self.layers = list(layers)


def legend_rows(items: Sequence[tuple[str, str] | tuple[str, str, str]], shape: str = "box") -> str:
    """The ``<li>`` rows of a legend: (colour, label) in ``shape``, or (colour, label, shape) each.
    Shapes: box (areas), line (outlines), dot (points), hatch (areas drawn with diagonal lines)."""
    rows = []
    for item in items:
        colour, label, key = (*item, shape) if len(item) == 2 else item
        rows.append(
            f'<li><i class="geo-key geo-key-{escape(key)}" style="--key:{escape(colour)}"></i>'
            f"{escape(label)}</li>"
        )
    return "".join(rows)


def add_legend(
    m: folium.Map,
    title: str,
    items: Sequence[tuple[str, str] | tuple[str, str, str]],
    *,
    note: str = "",
    shape: str = "box",
    position: str = "bottomright",
    layers: Sequence[Layer] = (),
) -> HtmlControl:
    """A legend: rows of :func:`legend_rows` under a title that folds it away (folded from the start on a
    phone). ``layers``: the legend shows only while one of them is on the map (one legend per visible
    layer); default: always."""
    note_html = f'<p class="geo-legend-note">{escape(note)}</p>' if note else ""
    control = HtmlControl(
        f'<details class="geo-legend-fold" open><summary><h3>{escape(title)}</h3></summary>'
        f"<ul>{legend_rows(items, shape)}</ul>{note_html}</details>",
        position=position,
        layers=layers,
    )
    control.add_to(m)
    return control


def add_layer_control(m: folium.Map) -> folium.LayerControl:
    """The layer switcher, top right (layer names are the Indonesian names given to the layers), open; on
    a phone it folds away behind the header's "Lapisan & legenda" button (maps.js)."""
    return folium.LayerControl(position="topright", collapsed=False).add_to(m)


class SidePanel(Element):
    """The panel beside the map; sections are added by :func:`add_panel`."""

    _template = Template(
        '<aside class="geo-panel" id="geo-panel">'
        "{% for section in this.sections %}{{ section }}{% endfor %}</aside>"
    )

    def __init__(self):
        super().__init__()
        self._name = "SidePanel"
        self.sections: list[str] = []


def add_panel(m: folium.Map, title: str, body_html: str | Markup) -> None:
    """A section of the side panel beside the map (summaries, tables, charts from geo_app.maps.charts).

    ``body_html`` is inserted as is: escape anything that comes from data (``table_html`` and the chart
    helpers do)."""
    figure = m.get_root()
    panel = figure.html._children.get("geo_app_panel")
    if panel is None:
        panel = SidePanel()
        figure.html.add_child(panel, name="geo_app_panel")
        figure.header.add_child(
            Element("<style>body { --panel-width: 24rem; }</style>"), name="geo_app_panel_on"
        )
    panel.sections.append(f'<section class="geo-panel-section"><h2>{escape(title)}</h2>{body_html}</section>')


def table_html(headers: Sequence[str], rows: Sequence[Sequence[object]], numeric_from: int = 1) -> Markup:
    """A small table for the side panel (no header row when ``headers`` is empty); columns from
    ``numeric_from`` on are right-aligned."""
    head = f"<thead><tr>{''.join(f'<th>{escape(h)}</th>' for h in headers)}</tr></thead>" if headers else ""
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"num" if i >= numeric_from else ""}">{escape(cell)}</td>'
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return Markup(f'<table class="geo-table">{head}<tbody>{body}</tbody></table>')


@dataclass(frozen=True)
class TableColumn:
    """A column of a ranked table: header, record field, and decimals (None: text). ``title``: the
    header's tooltip; ``detail``: a record field shown small under the value (e.g. a kelurahan's
    kecamatan)."""

    label: str
    field: str
    digits: int | None = None
    title: str = ""
    detail: str | None = None


def _is_missing(value: object) -> bool:
    return value is None or value != value  # NaN from pandas is missing too


def ranked_table_html(
    table_id: str,
    columns: Sequence[TableColumn],
    records: Sequence[dict],
    *,
    key: str,
    sort_by: str,
    descending: bool = True,
    csv_name: str | None = None,
) -> Markup:
    """A table the reader sorts by clicking a header (maps.js: again reverses; a number column first sorts
    the way the table starts, a text column A to Z; rows without a value stay last). ``csv_name``: an
    "Unduh CSV" button saves the same numbers under that file name (each cell's value rounded as shown, in
    ``data-value``). Rows carry ``data-key`` (the record's ``key`` field) for :class:`LinkedTable`. Rows
    start sorted by ``sort_by``."""

    def raw(record: dict, column: TableColumn) -> str:
        value = record.get(column.field)
        if _is_missing(value):
            return ""
        if column.digits is None:
            return str(value)
        return f"{round(float(value), column.digits):.{column.digits}f}"

    def shown(record: dict, column: TableColumn) -> Markup:
        value = record.get(column.field)
        if column.digits is not None:
            text = format_number(value, column.digits)
        else:
            text = "–" if _is_missing(value) or value == "" else str(value)
        detail = record.get(column.detail) if column.detail else None
        return escape(text) + (Markup("<small>%s</small>") % detail if detail else "")

    present = [record for record in records if not _is_missing(record.get(sort_by))]
    ordered = sorted(present, key=lambda record: record[sort_by], reverse=descending) + [
        record for record in records if _is_missing(record.get(sort_by))
    ]
    order = "descending" if descending else "ascending"
    head = "".join(
        f'<th scope="col" data-type="{"text" if column.digits is None else "number"}"'
        + (f' title="{escape(column.title)}"' if column.title else "")
        + (f' aria-sort="{order}"' if column.field == sort_by else "")
        + f'><button type="button">{escape(column.label)}</button></th>'
        for column in columns
    )
    body = "".join(
        f'<tr data-key="{escape(record[key])}">'
        + "".join(
            f'<td class="{"" if column.digits is None else "num"}" '
            f'data-value="{escape(raw(record, column))}">{shown(record, column)}</td>'
            for column in columns
        )
        + "</tr>"
        for record in ordered
    )
    csv_attribute = f' data-csv-name="{escape(csv_name)}"' if csv_name else ""
    csv_button = (
        f'<button type="button" class="geo-csv" data-table="{escape(table_id)}">Unduh CSV</button>'
        if csv_name
        else ""
    )
    return Markup(
        f'<div class="geo-ranked-box"><table id="{escape(table_id)}" class="geo-table geo-ranked" '
        f'data-first-sort="{order}"{csv_attribute}><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>{csv_button}"
    )


class LinkedTable(MacroElement):
    """Hovering a row of a ranked table outlines the features of ``layer`` whose ``property`` equals the
    row's key; clicking it zooms to them (GeoApp.linkTable)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        GeoApp.linkTable({{ this.table_id|tojson }}, {{ this._parent.get_name() }},
            {{ this.layer.get_name() }}, {{ this.property|tojson }}, {{ this.highlight|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, table_id: str, layer: GeoJsonUrl, property_name: str, highlight: dict = HOVER_OUTLINE):
        super().__init__()
        self._name = "LinkedTable"
        self.table_id = table_id
        self.layer = layer
        self.property = property_name
        self.highlight = highlight


def render(m: folium.Map) -> str:
    """The page's HTML, all assets local (raises vendor.UnmappedAssetError otherwise), linking only the
    folium files it uses."""
    drop_unused_folium_files(m)
    return m.get_root().render()
