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


def layers_with_city(tmp_path: Path, name: str, document: dict) -> Path:
    """A copy of the layer folder with one city override file."""
    target = tmp_path / "layers"
    shutil.copytree(LAYERS, target)
    (target / "cities").mkdir(exist_ok=True)
    (target / "cities" / name).write_text(yaml.safe_dump(document))
    return target


def test_a_citys_overrides_change_its_catalog_only(tmp_path):
    overrides = {
        "asset_types": {"pos_damkar": {"coverage_radius_m": 3000}},
        "categories": {"KEBAKARAN": {"response_target_min": 10}},
        "unused_asset_types": ["pju", "sirine_peringatan"],
    }
    shared = load_catalog(layers_with_city(tmp_path, "73.71.yaml", overrides))
    city = shared.for_city("73.71")
    assert city.asset_types["pos_damkar"].coverage_radius_m == 3000
    assert city.asset_types["pos_damkar"].label == shared.asset_types["pos_damkar"].label
    assert city.incident_categories["KEBAKARAN"].response_target_min == 10
    assert "pju" not in city.asset_types and "sirine_peringatan" not in city.asset_types
    assert list(city.asset_types) == [t for t in shared.asset_types if t not in {"pju", "sirine_peringatan"}]
    assert shared.asset_types["pos_damkar"].coverage_radius_m == 2500  # the shared entry is untouched
    assert shared.incident_categories["KEBAKARAN"].response_target_min == 15
    assert shared.for_city("36.72") is shared  # a city without overrides sees the shared catalog


def test_wrong_city_overrides_are_reported_with_file_and_field(tmp_path):
    wrong = {
        "asset_types": {"pos_damkar": {"coverage_radius_m": -1}},
        "categories": {"GEMPA_BUMI": {"response_target_min": 10}},
        "unused_asset_types": ["parkir_pintar"],
        "colours": {},
    }
    problems = problems_of(layers_with_city(tmp_path, "73.71.yaml", wrong))
    assert any(
        p.startswith("layers/cities/73.71.yaml: asset_types.pos_damkar.coverage_radius_m:") for p in problems
    )
    assert any(p.startswith("layers/cities/73.71.yaml: colours: Extra inputs") for p in problems)
    unknown_ids = {"categories": wrong["categories"], "unused_asset_types": wrong["unused_asset_types"]}
    unknown = problems_of(layers_with_city(tmp_path / "b", "73.71.yaml", unknown_ids))
    assert "layers/cities/73.71.yaml: categories: 'GEMPA_BUMI' is not in the shared catalog" in unknown
    assert (
        "layers/cities/73.71.yaml: unused_asset_types: 'parkir_pintar' is not in the shared catalog"
        in unknown
    )
    misnamed = problems_of(layers_with_city(tmp_path / "c", "makassar.yaml", {}))
    assert misnamed == [
        "layers/cities/makassar.yaml: name the file after the city code, e.g. layers/cities/73.71.yaml"
    ]
