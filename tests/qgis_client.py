"""Run by Debian's python3 (PyQGIS, headless), not the project's venv: tests/test_qgis.py starts it.

    python3 tests/qgis_client.py SITE_URL USER TOKEN

Opens the service as a city GIS officer would in QGIS 3.22 (OAPIF, WMS and WFS providers, the user name
and an API token as HTTP Basic credentials for the restricted layer) and prints what QGIS sees as JSON.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # noqa: E402 (after the platform is chosen)
    QgsApplication,
    QgsFeatureRequest,
    QgsRasterLayer,
    QgsVectorLayer,
)

OPENED = []
"""Every layer stays alive until the process ends: QGIS 3.22 crashes when a layer whose provider still has
requests running in its threads is destroyed."""


def vector(uri: str, provider: str) -> dict:
    layer = QgsVectorLayer(uri, "layer", provider)
    OPENED.append(layer)
    if not layer.isValid():
        return {"valid": False}
    fields = {field.name(): field.typeName() for field in layer.fields()}
    count_before_download = layer.featureCount()
    features = list(
        layer.getFeatures(QgsFeatureRequest().setNoAttributes().setFlags(QgsFeatureRequest.NoGeometry))
    )
    return {
        "valid": True,
        "feature_count_before_download": count_before_download,
        "features": len(features),
        "fields": fields,
        "geometry_type": layer.wkbType(),
    }


def main() -> None:
    site, user, token = sys.argv[1:4]
    application = QgsApplication([], False)  # held in a name: it must live until the process ends
    application.initQgis()
    ogc = f"{site}/ogc"
    seen = {
        "oapif_cctv": vector(f"url='{ogc}' typename='assets_cctv'", "OAPIF"),
        "oapif_kelurahan": vector(f"url='{ogc}' typename='kelurahan'", "OAPIF"),
        "oapif_fiber": vector(f"url='{ogc}' typename='assets_jaringan_fiber'", "OAPIF"),
        "oapif_incidents_anonymous": vector(f"url='{ogc}' typename='incidents'", "OAPIF"),
        "oapif_incidents_signed_in": vector(
            f"url='{ogc}' typename='incidents' username='{user}' password='{token}'", "OAPIF"
        ),
        "wfs_cctv": vector(f"url='{site}/ows' typename='ms:aset_cctv' version='2.0.0'", "WFS"),
    }
    wms = QgsRasterLayer(
        f"crs=EPSG:3857&format=image/png&layers=aset_pos_damkar&styles=&url={site}/ows", "wms", "wms"
    )
    OPENED.append(wms)
    seen["wms_valid"] = wms.isValid()
    print(json.dumps(seen), flush=True)
    os._exit(0)  # QGIS 3.22 may crash while tearing down its providers; everything is printed by now


if __name__ == "__main__":
    main()
