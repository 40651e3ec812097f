import csv
import shutil
from pathlib import Path

import pytest
import yaml

from geo_app.catalog import CatalogError, load_catalog

LAYERS = Path(__file__).resolve().parent.parent / "layers"
FACTS_CATEGORIES = ("KEBAKARAN", "KECELAKAAN_LL", "MEDIS_AMBULANS", "LAINNYA")


def test_the_shipped_catalog_is_valid():
    catalog = load_catalog(LAYERS)
    assert {"cctv", "wifi_publik", "pos_damkar", "puskesmas", "sirine_peringatan"} <= set(catalog.asset_types)
    assert set(FACTS_CATEGORIES) <= set(catalog.incident_categories)
    assert catalog.incident_categories["KEBAKARAN"].response_target_min == 15
    assert list(catalog.call_types) == ["darurat", "informasi", "prank", "ghost", "dropped"]
    assert catalog.incident_call_types == ["darurat"]
    assert any(t.is_public for t in catalog.green_types.values())
    assert any(not t.is_public for t in catalog.green_types.values())


def broken_copy(tmp_path: Path, file: str, edit) -> Path:
    """A copy of the layer folder with one file changed by ``edit(document)``."""
    target = tmp_path / "layers"
    shutil.copytree(LAYERS, target)
    path = target / file
    document = yaml.safe_load(path.read_text())
    edit(document)
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    return target


def problems_of(layers_dir: Path) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        load_catalog(layers_dir)
    return caught.value.problems


def test_a_bad_field_names_file_entry_and_field(tmp_path):
    def negative_radius(doc):
        doc["asset_types"][2]["coverage_radius_m"] = -5

    (problem,) = problems_of(broken_copy(tmp_path, "assets.yaml", negative_radius))
    assert problem.startswith("layers/assets.yaml: asset_types[2] (id=pos_damkar): coverage_radius_m:")
    assert "greater than 0" in problem


def test_unknown_dimension_and_missing_field_are_both_reported(tmp_path):
    def two_mistakes(doc):
        doc["asset_types"][0]["dimension"] = "smart_parking"
        del doc["asset_types"][1]["icon"]

    problems = problems_of(broken_copy(tmp_path, "assets.yaml", two_mistakes))
    assert any("asset_types[0] (id=cctv): dimension:" in p for p in problems)
    assert any("asset_types[1] (id=wifi_publik): icon: Field required" in p for p in problems)


def test_duplicate_ids_and_typos_in_field_names(tmp_path):
    def duplicate(doc):
        doc["categories"].append(dict(doc["categories"][0]))
        doc["categories"][1]["respons_target_min"] = 10

    problems = problems_of(broken_copy(tmp_path, "incidents.yaml", duplicate))
    assert any("duplicate code 'KEBAKARAN'" in p for p in problems)
    assert any("categories[1] (code=KECELAKAAN_LL): respons_target_min: Extra inputs" in p for p in problems)


def test_missing_file_and_invalid_yaml(tmp_path):
    target = tmp_path / "layers"
    shutil.copytree(LAYERS, target)
    (target / "green_areas.yaml").unlink()
    (target / "admin_areas.yaml").write_text("levels: [unclosed\n")
    problems = problems_of(target)
    assert any(p.startswith("layers/green_areas.yaml: file is missing") for p in problems)
    assert any(p.startswith("layers/admin_areas.yaml: not valid YAML") for p in problems)


def test_every_fact_category_is_in_the_catalog():
    """The catalog carries every 112 category of the city's facts, with the facts' codes."""
    reference = Path(__file__).resolve().parent.parent / "data" / "reference" / "incident_categories.csv"
    with reference.open(encoding="utf-8") as handle:
        codes = {row["kode"] for row in csv.DictReader(handle)}
    assert codes == set(load_catalog(LAYERS).incident_categories)


def test_a_road_type_of_an_unknown_class_or_speed_is_named(tmp_path):
    def two_mistakes(doc):
        doc["road_types"][0]["road_class"] = "jalan_raya"
        doc["road_types"][1]["speed_kmh"] = 0

    problems = problems_of(broken_copy(tmp_path, "roads.yaml", two_mistakes))
    first, second = "road_types[0] (osm=highway=motorway)", "road_types[1] (osm=highway=motorway_link)"
    assert any(p.startswith(f"layers/roads.yaml: {first}: road_class:") for p in problems)
    assert any(f"{second}: speed_kmh: Input should be greater than 0" in p for p in problems)
