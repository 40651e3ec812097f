"""/api/incidents/counts: 112 incidents per kecamatan or kelurahan, the public view of incidents.

Open to every role; for roles that may not see exact points the smallest count shown is
``PUBLIC_MIN_CELL_COUNT`` (smaller counts are withheld). Only time, category and call-type filters:
no bbox or area filter that could narrow a count down to a single address.
"""

from __future__ import annotations

from flask import Blueprint

from geo_app.auth.privacy import public_min_cell_count
from geo_app.store import incident_counts
from geo_app.store.incidents import IncidentFilter
from geo_app.web import deps
from geo_app.web.api.incidents import incident_filter
from geo_app.web.params import choice, reject_unknown

blueprint = Blueprint("incident_counts_api", __name__, url_prefix="/api")


@blueprint.get("/incidents/counts")
def incident_counts_by_area():
    """Counts per area (``level`` kelurahan or kecamatan); call type darurat unless ``call_type`` says."""
    reject_unknown({"level", "start", "end", "category", "call_type"})
    level = choice("level", tuple(incident_counts.LEVEL_COLUMNS), default="kelurahan")
    requested = incident_filter(default_call_types=("darurat",))
    filters = IncidentFilter(
        city_code=requested.city_code,
        start=requested.start,
        end=requested.end,
        categories=requested.categories,
        call_types=requested.call_types,
    )
    minimum = public_min_cell_count()
    with deps.connection() as conn:
        rows = incident_counts.counts_by_area(conn, filters, level, minimum)
    return {
        "level": level,
        "min_count": minimum,
        "call_types": list(filters.call_types),
        "areas": rows,
        "withheld_areas": sum(1 for row in rows if row["withheld"]),
    }
