"""/api/incidents/counts: 112 incidents per kecamatan or kelurahan, the public view of incidents.

Open to every role. Roles that may not see exact points get counts built only from cells (kelurahan ×
calendar month × category × call type) holding at least ``PUBLIC_MIN_CELL_COUNT`` incidents, over whole
calendar months up to the last complete one (see geo_app.store.incident_counts for why no two answers can
be differenced down to a small cell). Only time, category and call-type filters: no bbox or area filter.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint

from geo_app.auth.privacy import can_see_exact_incidents, public_min_cell_count
from geo_app.store import incident_counts
from geo_app.usecases.incidents import AreaCountRequest, area_counts
from geo_app.web import deps
from geo_app.web.params import choice, incident_filter, reject_unknown

blueprint = Blueprint("incident_counts_api", __name__, url_prefix="/api")


@blueprint.get("/incidents/counts")
def incident_counts_by_area():
    """Counts per area (``level`` kelurahan or kecamatan); call type darurat unless ``call_type`` says.

    Roles that may not see points: whole months up to the last complete one (``start=2026-03&end=2026-05``),
    each count the sum of the cells holding at least ``PUBLIC_MIN_CELL_COUNT`` (``suppression`` says so).
    """
    reject_unknown({"level", "start", "end", "category", "call_type"})
    level = choice("level", incident_counts.LEVELS, default="kelurahan")
    request_ = AreaCountRequest(
        incident_filter(default_call_types=("darurat",)),
        level,
        can_see_exact_incidents(),
        public_min_cell_count(),
    )
    with deps.connection() as conn:
        return area_counts(conn, deps.city(), request_, datetime.now(UTC))
