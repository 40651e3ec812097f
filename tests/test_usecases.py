"""One source of every figure: answers that show the same figure in two places agree (sample city)."""

from __future__ import annotations

MONTH = "start=2026-10&end=2026-10"


def test_response_map_and_response_summary_give_each_kelurahan_the_same_figures(client):
    summary = client.get(f"/api/analysis/response?{MONTH}").json["by_kelurahan"]
    collection = client.get(f"/api/analysis/response/kelurahan?{MONTH}").json
    shown = {feature["properties"]["code"]: feature["properties"] for feature in collection["features"]}
    assert len(summary) > 10
    for code, figures in summary.items():
        assert {key: shown[code][key] for key in figures} == figures
    assert all(shown[code]["incidents"] == 0 for code in set(shown) - set(summary))
