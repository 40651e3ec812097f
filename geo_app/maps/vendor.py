"""Leaflet and plugin files served by the app instead of the CDNs Folium links to.

Folium and its plugins name CDN URLs in ``default_js``/``default_css``; :func:`local_url` maps each by its
file name to the copy that ``scripts/install_web_assets`` put in ``geo_app/static/vendor``. A file name
that is not in the table raises, so a page that would break on a closed network fails its tests instead.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from geo_app.settings import PACKAGE_DIR

VENDOR_DIR = PACKAGE_DIR / "static" / "vendor"
VENDOR_URL = "/static/vendor/"

# CDN file name -> path under geo_app/static/vendor, or None for files our pages do not need.
VENDOR_FILES: dict[str, str | None] = {
    "leaflet.js": "leaflet/leaflet.js",
    "leaflet.css": "leaflet/leaflet.css",
    "jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "jquery.min.js": "jquery/jquery.min.js",
    "jquery-ui.min.js": "jquery-ui/jquery-ui.min.js",
    "bootstrap.bundle.min.js": "bootstrap/js/bootstrap.bundle.min.js",
    "bootstrap.min.css": "bootstrap/css/bootstrap.min.css",
    # Bootstrap 3 glyphs for awesome markers with prefix "glyphicon"; our markers use prefix "fa".
    "bootstrap-glyphicons.css": None,
    "all.min.css": "fontawesome/css/all.min.css",
    "leaflet.awesome-markers.js": "awesome-markers/leaflet.awesome-markers.js",
    "leaflet.awesome-markers.css": "awesome-markers/leaflet.awesome-markers.css",
    "leaflet.awesome.rotate.min.css": "folium/leaflet.awesome.rotate.min.css",
    "leaflet.markercluster.js": "markercluster/leaflet.markercluster.js",
    "MarkerCluster.css": "markercluster/MarkerCluster.css",
    "MarkerCluster.Default.css": "markercluster/MarkerCluster.Default.css",
    "leaflet_heat.min.js": "folium/leaflet_heat.min.js",
    "leaflet-heat.js": "leaflet-heat/leaflet-heat.js",
    "pa7_hm.min.js": "folium/pa7_hm.min.js",
    "pa7_leaflet_hm.min.js": "folium/pa7_leaflet_hm.min.js",
    "Leaflet.VectorGrid.bundled.js": "vectorgrid/Leaflet.VectorGrid.bundled.js",
    "leaflet.timedimension.min.js": "timedimension/leaflet.timedimension.min.js",
    "leaflet.timedimension.control.css": "timedimension/leaflet.timedimension.control.css",
    "iso8601.min.js": "iso8601/iso8601.js",
    "moment.min.js": "moment/moment.min.js",
    # highlight.js theme that TimestampedGeoJson links; nothing on our pages is highlighted code.
    "default.min.css": None,
    "leaflet-side-by-side.min.js": "side-by-side/leaflet-side-by-side.js",
    "leaflet-realtime.js": "realtime/leaflet-realtime.js",
    "leaflet.timeline.min.js": "timeline/leaflet.timeline.js",
    "Control.FullScreen.min.js": "fullscreen/Control.FullScreen.js",
    "Control.FullScreen.css": "fullscreen/Control.FullScreen.css",
    "leaflet.featuregroup.subgroup.js": "subgroup/leaflet.featuregroup.subgroup.js",
    "leaflet.groupedlayercontrol.min.js": "groupedlayercontrol/leaflet.groupedlayercontrol.min.js",
    "leaflet.groupedlayercontrol.min.css": "groupedlayercontrol/leaflet.groupedlayercontrol.min.css",
}

# Absolute URLs anywhere, protocol-relative ones where an attribute or url() starts with them.
EXTERNAL_URL = re.compile(r"""https?://[^\s"'<>)\\`]+|(?<=["'(])//[^\s"'<>)\\`]+""")
# XML namespace names (inline SVG charts) look like URLs but are never fetched.
NAMESPACE_PREFIXES = ("http://www.w3.org/",)


class UnmappedAssetError(LookupError):
    """A map asks for a CDN file that is not installed locally (add it to package.json and VENDOR_FILES)."""


def is_external(url: str) -> bool:
    return url.startswith(("http://", "https://", "//"))


def local_url(url: str) -> str | None:
    """The app's URL for a CDN file, None when pages do without it; local URLs are returned unchanged."""
    if not is_external(url):
        return url
    name = PurePosixPath(urlsplit(url).path).name
    if name not in VENDOR_FILES:
        raise UnmappedAssetError(
            f"{url} is not served locally: add its npm package to package.json, copy the file in "
            f"scripts/install_web_assets and map {name!r} in geo_app/maps/vendor.py VENDOR_FILES"
        )
    path = VENDOR_FILES[name]
    return None if path is None else VENDOR_URL + path


def external_urls(html: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """Every http(s) or protocol-relative URL in a page except those starting with an allowed prefix."""
    return [
        url
        for url in EXTERNAL_URL.findall(html)
        if not any(url.startswith(prefix) for prefix in (*allowed, *NAMESPACE_PREFIXES) if prefix)
    ]
