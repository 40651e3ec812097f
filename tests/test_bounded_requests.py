"""Requests that once stalled or killed a worker on the sample city are refused before any work (422 with
the parameter to change and the value this city allows), or answered cheaply; a statement that runs past
STATEMENT_TIMEOUT_MS is cancelled and answered 503, and the value the advice gives really answers 200."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qsl, urlencode, urlsplit

import numpy as np
import pytest
import shapely

from geo_app import create_app
from geo_app.analysis import coverage, limits
from geo_app.settings import Settings, SettingsError

PROBLEM = "application/problem+json"
ALL_ASSET_TYPES = (
    "cctv,wifi_publik,pos_damkar,puskesmas,sirine_peringatan,pju,sensor_udara,kantor_pelayanan,jaringan_fiber"
)

ATTACKS = [
    ("/api/analysis/emerging?size=25&step=week", "size"),
    ("/api/analysis/emerging?size=120&step=week", "size"),  # few enough cells, too many cells × weeks
    ("/api/analysis/hotspots?size=25", "size"),
    ("/api/analysis/hotspots?size=150&band=100000", "band"),
    ("/api/analysis/hotspots?grid=h3&resolution=11", "resolution"),
    ("/api/analysis/hotspots/density?cell=20", "cell"),
    ("/api/analysis/hotspots/density?cell=10&radius=20000", "cell"),
    ("/api/analysis/siting?type=pos_damkar&spacing_m=100&radius_m=3000&count=100", "radius_m"),
    ("/api/analysis/siting?type=pos_damkar&mode=travel_time&minutes=2&spacing_m=50", "spacing_m"),
]


def with_value(path: str, parameter: str, value: float) -> str:
    parts = urlsplit(path)
    query = dict(parse_qsl(parts.query))
    query[parameter] = f"{value:g}"
    return f"{parts.path}?{urlencode(query)}"


@pytest.mark.parametrize(("path", "parameter"), ATTACKS)
def test_oversized_analysis_is_refused_with_the_value_to_use(client, path, parameter):
    response = client.get(path)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.content_type == PROBLEM
    body = response.get_json(force=True)
    assert body["parameter"] == parameter
    assert f"{parameter}={body['allowed']:g}" in body["detail"]
    # the advice is right: the value it names is analysed
    followed = client.get(with_value(path, parameter, body["allowed"]))
    assert followed.status_code == 200, followed.get_data(as_text=True)


def test_density_grid_is_capped_even_for_a_few_incidents(client):
    one_kelurahan = client.get("/api/areas?level=kelurahan").get_json()["features"][0]["properties"]["code"]
    for query in ("", "&radius=20000"):
        response = client.get(f"/api/analysis/hotspots/density?kelurahan={one_kelurahan}{query}")
        if response.status_code == 422:  # too few incidents in that kelurahan for a surface
            assert "incidents" in response.get_json()["detail"]
            continue
        body = response.get_json()
        assert len(body["points"]) <= limits.MAX_DENSITY_NODES
    body = client.get("/api/analysis/hotspots/density?radius=20000").get_json()
    assert body["cell_m"] >= body["radius_m"] / 4 and len(body["points"]) <= limits.MAX_DENSITY_NODES


def test_huge_coverage_radius_is_answered_as_full_coverage(anonymous_client):
    response = anonymous_client.get(f"/api/analysis/coverage?type={ALL_ASSET_TYPES}&radius_m=50000")
    assert response.status_code == 200
    assert response.get_json()["city"]["covered_pct"] == pytest.approx(100.0)


def test_coverage_shortcut_matches_the_plain_union():
    """Areas held whole by one disc skip the union; the answer is the same as the union's."""
    squares = np.array([shapely.box(x, 0, x + 1000, 1000) for x in range(0, 5000, 1000)], dtype=object)
    areas = coverage.Areas(list("abcde"), list("abcde"), ["k"] * 5, ["k"] * 5, np.ones(5), squares)
    centres = shapely.points([[500, 500], [2600, 400], [4200, 900], [4800, 100]])
    discs = coverage.discs(centres, [900, 500, 300, 2000])
    plan = coverage.union_inputs(areas, discs)
    assert plan[0] is None and plan[1] is not None  # the 900 m disc holds square a; square b is cut
    fast = coverage.covered_parts(areas, discs)
    plain = [shapely.intersection(shapely.union_all(discs), square) for square in squares]
    np.testing.assert_allclose(shapely.area(fast), shapely.area(plain), rtol=1e-9)


def test_too_many_overlaps_are_refused_before_any_union():
    square = shapely.box(0, 0, 10_000, 10_000)
    areas = coverage.Areas(["a"], ["a"], ["k"], ["k"], np.ones(1), np.array([square], dtype=object))
    rng = np.random.default_rng(1)
    centres = shapely.points(rng.uniform(0, 10_000, (limits.MAX_UNION_INPUTS + 1, 2)))
    with pytest.raises(limits.TooMuchWork) as refused:
        coverage.covered_parts(areas, coverage.discs(centres, 50.0))
    assert refused.value.parameter == "radius_m" and "fewer asset types" in str(refused.value)


@pytest.mark.parametrize(
    ("check", "arguments", "parameter"),
    [
        (limits.check_hexagon_grid, (162e6,), "size"),
        (limits.check_band, (5_000, 26_000.0), "band"),
        (limits.check_siting, (16_000, 3_400, 250.0), "radius_m"),
    ],
)
def test_the_allowed_value_is_the_edge_of_the_limit(check, arguments, parameter):
    with pytest.raises(limits.TooMuchWork) as refused:
        check(*arguments, 1e9 if parameter != "size" else 1.0)
    allowed = refused.value.allowed
    check(*arguments, allowed)  # the value named is accepted
    nudged = allowed - 1 if parameter == "size" else allowed + 1
    with pytest.raises(limits.TooMuchWork):
        check(*arguments, nudged)


def test_web_connections_carry_the_statement_timeout(app):
    with app.extensions["db_pool"].connection() as conn:
        assert conn.execute("SHOW statement_timeout").fetchone()["statement_timeout"] == "15s"


def test_statement_past_the_timeout_is_cancelled_and_answered_503(settings, sample_city, caplog):
    impatient = create_app(dataclasses.replace(settings, statement_timeout_ms=1))
    try:
        # travel time over the whole road network (minutes not asked before, so nothing is cached)
        response = impatient.test_client().get(
            "/api/analysis/coverage?type=pju&mode=travel_time&minutes=97.5"
        )
        assert response.status_code == 503
        assert response.content_type == PROBLEM
        body = response.get_json(force=True)
        assert body["title"] == "Request took too long"
        assert "STATEMENT_TIMEOUT_MS" in body["detail"] and "narrow the filters" in body["detail"]
        assert any("statement cancelled" in record.getMessage() for record in caplog.records)
    finally:
        impatient.extensions["db_pool"].close()


def test_negative_statement_timeout_is_refused(database_url):
    with pytest.raises(SettingsError, match="STATEMENT_TIMEOUT_MS"):
        Settings.from_env(database_url=database_url, statement_timeout_ms=-1)


def test_emerging_grid_is_bounded_when_no_incident_matches(client):
    response = client.get("/api/analysis/emerging?size=25&start=1990-01-01&end=1990-02-01")
    assert response.status_code == 422
    assert response.get_json(force=True)["parameter"] == "size"
