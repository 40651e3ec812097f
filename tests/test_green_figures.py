"""/api/analysis/green/figures (usecases.green.area_figures) on the sample city against an independent
reference: RTH shares, deficits and hectares gained and lost by a geopandas overlay and dissolve, park
access by the distance of each population cell's centre to the nearest qualifying park (shapely STRtree,
no buffers), weighted by hand with the residents of each kelurahan."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo_app.city import load_city
from geo_app.db import connect
from geo_app.usecases.green import Period, area_figures

SINCE, UNTIL = "2025-07-01", "2026-08-01"
QUERY = f"from={SINCE}&to={UNTIL}"


def end_of(day: str, zone: str) -> pd.Timestamp:
    moment = datetime.combine(date.fromisoformat(day) + timedelta(days=1), time.min)
    return pd.Timestamp(moment, tz=zone) - pd.Timedelta(microseconds=1)


def frame(conn, sql: str, params: dict, srid: int) -> gpd.GeoDataFrame:
    rows = conn.execute(sql, params).fetchall()
    table = pd.DataFrame(rows)
    geometry = shapely.from_wkb(table.pop("wkb").to_numpy())
    return gpd.GeoDataFrame(table, geometry=geometry, crs=4326).to_crs(srid)


@pytest.fixture(scope="module")
def reference(database_url, sample_city) -> pd.DataFrame:
    """Per kelurahan code: area, green, public, gained, lost (m²), residents and residents within 300 m."""
    with connect(database_url) as conn:
        city = conn.execute(
            "SELECT timezone, metric_srid FROM cities WHERE code = %s", (sample_city,)
        ).fetchone()
        srid = city["metric_srid"]
        kelurahan = frame(
            conn,
            "SELECT code, population, ST_AsBinary(geom) AS wkb FROM admin_areas "
            "WHERE city_code = %(city)s AND level = 'kelurahan'",
            {"city": sample_city},
            srid,
        )
        green = [
            frame(
                conn,
                "SELECT id, is_public, ST_AsBinary(geom) AS wkb FROM green_areas WHERE city_code = %(city)s "
                "AND valid_from <= %(at)s AND (valid_to IS NULL OR valid_to > %(at)s)",
                {"city": sample_city, "at": end_of(day, city["timezone"]).to_pydatetime()},
                srid,
            )
            for day in (SINCE, UNTIL)
        ]
        cells = pd.DataFrame(
            conn.execute(
                "SELECT kelurahan_code, x, y, population FROM population_cells WHERE city_code = %s",
                (sample_city,),
            ).fetchall()
        )
    before, after = (
        gpd.overlay(areas, kelurahan[["code", "geometry"]], how="intersection") for areas in green
    )
    union_before = before.dissolve("code").geometry
    union_after = after.dissolve("code").geometry
    union_public = after[after["is_public"]].dissolve("code").geometry
    table = kelurahan.set_index("code")
    table["area"] = table.geometry.area
    table["green"] = union_after.area.reindex(table.index).fillna(0)
    table["public"] = union_public.area.reindex(table.index).fillna(0)
    empty = shapely.Polygon()
    table["gained"] = [
        union_after.get(code, empty).difference(union_before.get(code, empty)).area for code in table.index
    ]
    table["lost"] = [
        union_before.get(code, empty).difference(union_after.get(code, empty)).area for code in table.index
    ]
    # Parks: public green of at least 0.5 ha at the end of the period, measured here.
    parks = green[1][green[1]["is_public"] & (green[1].geometry.area >= 5000)].geometry.to_numpy()
    centres = shapely.points(cells["x"].to_numpy(), cells["y"].to_numpy())
    near, _ = shapely.STRtree(parks).query(centres, predicate="dwithin", distance=300)  # (centre, park) pairs
    cells["near"] = np.isin(np.arange(len(cells)), near)
    by_kelurahan = cells.groupby("kelurahan_code")
    share = by_kelurahan.apply(lambda c: c.loc[c["near"], "population"].sum() / c["population"].sum())
    table["within_share"] = share.reindex(table.index)
    table["residents_within"] = table["population"] * table["within_share"]
    return table.drop(columns="geometry")


@pytest.fixture(scope="module")
def answer(app, tokens) -> dict:
    with app.test_client() as client:
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens['dlh']}"
        body = client.get(f"/api/analysis/green/figures?{QUERY}").json
    return body


def rows(answer: dict, level: str) -> dict[str, dict]:
    return {row["code"]: row for row in answer["areas"] if row["level"] == level}


def test_kelurahan_figures_match_the_reference(answer, reference):
    kelurahan = rows(answer, "kelurahan")
    assert answer["from"] == SINCE and answer["to"] == UNTIL and answer["radius_m"] == 300
    assert set(kelurahan) == set(reference.index) and len(kelurahan) == 43
    for code, expected in reference.iterrows():
        row = kelurahan[code]
        area_ha, green_ha, public_ha = (
            expected["area"] / 1e4,
            expected["green"] / 1e4,
            expected["public"] / 1e4,
        )
        assert row["green_share"] == pytest.approx(green_ha / area_ha, abs=1e-6), row["name"]
        assert row["green_deficit_ha"] == pytest.approx(max(0, 0.3 * area_ha - green_ha), abs=1e-3)
        assert row["public_deficit_ha"] == pytest.approx(max(0, 0.2 * area_ha - public_ha), abs=1e-3)
        assert row["gained_ha"] == pytest.approx(expected["gained"] / 1e4, abs=1e-3), row["name"]
        assert row["lost_ha"] == pytest.approx(expected["lost"] / 1e4, abs=1e-3), row["name"]
        assert row["net_ha"] == pytest.approx((expected["gained"] - expected["lost"]) / 1e4, abs=1e-3)
        # a cell centre within 0.1 m of 300 m may fall either side of the buffer's 128-gon
        assert row["park_access_share"] == pytest.approx(expected["within_share"], abs=2e-3), row["name"]
    # the sample's history has both kinds of change, and access differs between kelurahan
    assert sum(row["gained_ha"] > 0.1 for row in kelurahan.values()) >= 2
    assert sum(row["lost_ha"] > 0.1 for row in kelurahan.values()) >= 2
    shares = [row["park_access_share"] for row in kelurahan.values()]
    assert max(shares) - min(shares) > 0.3


def test_kecamatan_and_city_are_weighted_by_residents(answer, reference):
    """Shares of larger areas are residents within reach over residents (not a mean of shares); hectares
    add up."""
    parents = {row["code"]: row["parent_code"] for row in rows(answer, "kelurahan").values()}
    reference = reference.assign(parent=[parents[code] for code in reference.index])
    for level, groups in (("kecamatan", reference.groupby("parent")), ("kota", [("36.72", reference)])):
        shown = rows(answer, level)
        for code, members in groups:
            row = shown[code]
            expected = members["residents_within"].sum() / members["population"].sum()
            assert row["park_access_share"] == pytest.approx(expected, abs=2e-3), code
            assert row["green_share"] == pytest.approx(
                members["green"].sum() / members["area"].sum(), abs=1e-6
            )
            assert row["lost_ha"] == pytest.approx(members["lost"].sum() / 1e4, abs=1e-3)
    city = rows(answer, "kota")["36.72"]
    unweighted = np.mean([row["park_access_share"] for row in rows(answer, "kelurahan").values()])
    assert abs(city["park_access_share"] - unweighted) > 1e-3  # the weighting matters on this data


def test_csv_and_geojson_carry_the_same_numbers(client, answer):
    response = client.get(f"/api/analysis/green/figures?{QUERY}&format=csv&level=kelurahan")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f"rth_angka_{SINCE}_{UNTIL}.csv" in response.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    expected = rows(answer, "kelurahan")
    assert len(table) == 43
    for line in table:
        row = expected[line["code"]]
        for column in ("green_share", "green_deficit_ha", "public_deficit_ha", "gained_ha", "lost_ha"):
            assert float(line[column]) == pytest.approx(row[column], rel=1e-5, abs=1e-6), column
        assert float(line["park_access_share"]) == pytest.approx(row["park_access_share"], rel=1e-5)
    collection = client.get(f"/api/analysis/green/figures?{QUERY}&format=geojson").json
    assert len(collection["features"]) == 43
    feature = collection["features"][0]
    assert feature["properties"] == expected[feature["id"]]


def test_defaults_end_at_the_last_complete_month(client):
    body = client.get("/api/analysis/green/figures?level=kota").json
    until = date.fromisoformat(body["to"])
    assert (until + timedelta(days=1)).day == 1  # the last day of a month
    assert until < datetime.now().date()
    assert date.fromisoformat(body["from"]) < until and len(body["areas"]) == 1


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("from=2026-08-01&to=2025-07-01", "not before"),
        ("from=2026-08-01&to=2026-08-01", "not before"),
        ("to=kemarin", "use a date like"),
        ("from=1800-01-01", "outside the dates"),
        ("level=rt", "use one of"),
        ("radius_m=500", "Unknown parameter"),
    ],
)
def test_bad_requests_say_what_to_fix(client, query, says):
    response = client.get(f"/api/analysis/green/figures?{query}")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert says in response.json["detail"]


def test_openapi_describes_the_parameters(client):
    operation = client.get("/openapi.json").json["paths"]["/api/analysis/green/figures"]["get"]
    described = {param["name"]: param["description"] for param in operation["parameters"]}
    assert set(described) == {"from", "to", "level", "format"}
    assert all("not described" not in text for text in described.values())
    assert "300 m" in operation["summary"] + operation.get("description", "")


def test_change_polygons_are_labelled_in_indonesian(client):
    collection = client.get(f"/api/green-areas/changes?{QUERY}&format=geojson").json
    labels = {
        feature["properties"]["change"]: feature["properties"]["change_label"]
        for feature in collection["features"]
    }
    assert labels == {"gained": "Bertambah", "lost": "Berkurang"}


def test_figures_are_reused_until_the_green_data_changes(conn, sample_city):
    """The page and its choropleth share one computation; an edit of a green area is seen at once."""
    city = load_city(conn, sample_city)
    period = Period(date.fromisoformat(SINCE), date.fromisoformat(UNTIL))
    first = area_figures(conn, city, period)
    pd.testing.assert_frame_equal(area_figures(conn, city, period), first)
    park = conn.execute(
        "SELECT id, area_ha FROM green_areas WHERE city_code = %s AND is_public AND valid_to IS NULL "
        "AND valid_from < '2026-01-01' ORDER BY area_ha DESC LIMIT 1",
        (sample_city,),
    ).fetchone()
    conn.execute(
        "UPDATE green_areas SET valid_to = '2026-07-15' WHERE id = %s AND valid_to IS NULL", (park["id"],)
    )
    after = area_figures(conn, city, period).set_index(["level", "code"])
    city_row = after.loc[("kota", sample_city)]
    before_row = first.set_index(["level", "code"]).loc[("kota", sample_city)]
    # (within 1 %: the part of the park outside the city's kelurahan, if any, is not counted)
    assert city_row["lost_ha"] == pytest.approx(before_row["lost_ha"] + park["area_ha"], rel=1e-2)
