"""The layer catalog: what each layer is, read from ``layers/*.yaml`` and validated at start-up.

Adding an asset type, incident category, green-area type or driven OSM road type is one YAML entry. A mistake
in the files stops the service with a message naming the file, the entry and the field, e.g.
``layers/assets.yaml: asset_types[3] (id=pju): coverage_radius_m: Input should be greater than 0``.

The catalog is shared by every city of a deployment; ``layers/cities/<code>.yaml`` says where one city
differs (its own response targets and coverage radii, asset types it does not use), and
:meth:`Catalog.for_city` is the catalog as that city sees it.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Dimension = Literal["governance", "economy", "society", "living", "environment", "branding"]
GeometryType = Literal["Point", "LineString", "Polygon"]
COLOUR = r"^#[0-9a-fA-F]{6}$"
IDENTIFIER = r"^[a-z][a-z0-9_]*$"


class CatalogError(ValueError):
    """The layer files are wrong; ``str()`` lists every problem, one per line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("layer catalog is invalid:\n" + "\n".join(problems))


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


KugiCategory = Literal[
    "Referensi Spasial", "Batas Wilayah", "Transportasi", "Hidrografi", "Hipsografi", "Vegetasi",
    "Lingkungan Terbangun", "Utilitas", "Geologi", "Tanah", "Toponimi", "Kadaster", "Kebencanaan",
    "Dataset Khusus",
]  # fmt: skip
"""The fourteen categories of the national feature catalogue (KUGI, Badan Informasi Geospasial)."""


class Kugi(_Entry):
    """Where a layer sits in the Katalog Unsur Geografi Indonesia: its category and feature (unsur) name,
    as KUGI writes them. Given only where a KUGI feature fits; it becomes a keyword of the ISO record."""

    category: KugiCategory
    name: str = Field(min_length=1)


class AssetType(_Entry):
    id: str = Field(pattern=IDENTIFIER)
    label: str = Field(min_length=1)
    geometry_type: GeometryType
    icon: str = Field(min_length=1)
    colour: str = Field(pattern=COLOUR)
    coverage_radius_m: float = Field(gt=0)
    dimension: Dimension
    owner_opd: str = Field(min_length=1)
    kugi: Kugi | None = None


class IncidentCategory(_Entry):
    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    label: str = Field(min_length=1)
    label_en: str = Field(min_length=1)
    opd: str = Field(min_length=1)
    response_target_min: float = Field(gt=0)
    compliance_goal_pct: float = Field(gt=0, le=100)
    """The share of incidents (per cent) that should arrive within ``response_target_min``."""
    icon: str = Field(min_length=1)
    colour: str = Field(pattern=COLOUR)


class CallType(_Entry):
    code: Literal["darurat", "informasi", "prank", "ghost", "dropped"]
    label: str = Field(min_length=1)
    counts_as_incident: bool


class GreenType(_Entry):
    id: str = Field(pattern=IDENTIFIER)
    label: str = Field(min_length=1)
    is_public: bool
    colour: str = Field(pattern=COLOUR)
    kugi: Kugi | None = None


RoadClass = Literal["tol", "arteri", "kolektor", "lokal", "lingkungan", "penyeberangan"]
"""Road classes of the network (the CHECK of roads.road_class, migration 0011_osm)."""


class RoadType(_Entry):
    """OSM ways of one tag value: their road class, default speed, implied one-way, fixed waiting time."""

    osm: str = Field(pattern=r"^(highway|route)=[a-z_]+$")
    road_class: RoadClass
    speed_kmh: float = Field(gt=0, le=130)
    oneway: bool = False
    wait_minutes: float = Field(default=0, ge=0)

    @property
    def key(self) -> str:
        return self.osm.split("=", 1)[0]

    @property
    def value(self) -> str:
        return self.osm.split("=", 1)[1]


class AdminLevel(_Entry):
    id: Literal["kota", "kecamatan", "kelurahan"]
    label: str
    code_pattern: str
    kugi: Kugi | None = None

    @field_validator("code_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


# file name -> {section: (entry model, key field)}
SECTIONS: dict[str, dict[str, tuple[type[_Entry], str]]] = {
    "assets.yaml": {"asset_types": (AssetType, "id")},
    "incidents.yaml": {
        "categories": (IncidentCategory, "code"),
        "call_types": (CallType, "code"),
    },
    "green_areas.yaml": {"green_types": (GreenType, "id")},
    "admin_areas.yaml": {"levels": (AdminLevel, "id")},
    "roads.yaml": {"road_types": (RoadType, "osm")},
}


class AssetTypeOverride(_Entry):
    coverage_radius_m: float = Field(gt=0)


class CategoryOverride(_Entry):
    response_target_min: float = Field(gt=0)


class CityOverrides(_Entry):
    """``layers/cities/<code>.yaml``: what one city does differently from the shared catalog."""

    asset_types: dict[str, AssetTypeOverride] = {}
    categories: dict[str, CategoryOverride] = {}
    unused_asset_types: list[str] = []
    """Asset types the city does not have: hidden from its API, pages, OGC collections and WMS/WFS."""


CITY_FILE = re.compile(r"^\d{2}\.\d{2}$")


class Catalog:
    """Validated catalog entries, by section, keyed by their id or code (in file order)."""

    def __init__(
        self, sections: dict[str, dict[str, _Entry]], cities: dict[str, CityOverrides] | None = None
    ):
        self.asset_types: dict[str, AssetType] = sections["asset_types"]
        self.incident_categories: dict[str, IncidentCategory] = sections["categories"]
        self.call_types: dict[str, CallType] = sections["call_types"]
        self.green_types: dict[str, GreenType] = sections["green_types"]
        self.admin_levels: dict[str, AdminLevel] = sections["levels"]
        self.road_types: dict[str, RoadType] = sections["road_types"]
        self._sections = sections
        self.city_overrides = MappingProxyType(cities or {})
        self._for_city: dict[str, Catalog] = {}

    @cached_property
    def incident_call_types(self) -> list[str]:
        """Call types that are real emergencies, the default filter of every 112 analysis."""
        return [code for code, entry in self.call_types.items() if entry.counts_as_incident]

    def for_city(self, code: str) -> Catalog:
        """The catalog as city ``code`` sees it: the shared entries with its overrides applied and the
        asset types it does not use left out (itself for a city without overrides)."""
        overrides = self.city_overrides.get(code)
        if overrides is None:
            return self
        if code not in self._for_city:
            assets = {
                type_id: entry.model_copy(update=_changes(overrides.asset_types.get(type_id)))
                for type_id, entry in self.asset_types.items()
                if type_id not in overrides.unused_asset_types
            }
            categories = {
                category: entry.model_copy(update=_changes(overrides.categories.get(category)))
                for category, entry in self.incident_categories.items()
            }
            self._for_city[code] = Catalog(
                {**self._sections, "asset_types": assets, "categories": categories}
            )
        return self._for_city[code]


def _changes(override: _Entry | None) -> dict:
    return override.model_dump() if override is not None else {}


def _describe(section: str, index: int, raw: object, key: str) -> str:
    name = raw.get(key) if isinstance(raw, dict) else None
    return f"{section}[{index}]" + (f" ({key}={name})" if name else "")


def _load_section(
    file: str, section: str, raw_entries: object, model: type[_Entry], key: str
) -> tuple[dict[str, _Entry], list[str]]:
    problems: list[str] = []
    entries: dict[str, _Entry] = {}
    if not isinstance(raw_entries, list) or not raw_entries:
        return entries, [f"{file}: {section}: expected a non-empty list of entries"]
    for index, raw in enumerate(raw_entries):
        where = f"{file}: {_describe(section, index, raw, key)}"
        if not isinstance(raw, dict):
            problems.append(f"{where}: expected a mapping of field: value")
            continue
        try:
            entry = model.model_validate(raw)
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(str(part) for part in error["loc"]) or "(entry)"
                problems.append(f"{where}: {field}: {error['msg']}")
            continue
        entry_key = getattr(entry, key)
        if entry_key in entries:
            problems.append(f"{where}: {key}: duplicate {key} {entry_key!r}")
            continue
        entries[entry_key] = entry
    return entries, problems


def load_catalog(layers_dir: Path) -> Catalog:
    """Read and validate every layer file; raise CatalogError listing all problems at once."""
    problems: list[str] = []
    sections: dict[str, dict[str, _Entry]] = {}
    for file, file_sections in SECTIONS.items():
        path = Path(layers_dir) / file
        shown = f"layers/{file}"
        if not path.exists():
            problems.append(f"{shown}: file is missing (expected in {layers_dir})")
            continue
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            problems.append(f"{shown}: not valid YAML: {exc}")
            continue
        if not isinstance(document, dict):
            problems.append(f"{shown}: expected a mapping with {', '.join(file_sections)}")
            continue
        for unknown in sorted(set(document) - set(file_sections)):
            problems.append(f"{shown}: {unknown}: unknown section (expected {', '.join(file_sections)})")
        for section, (model, key) in file_sections.items():
            if section not in document:
                problems.append(f"{shown}: {section}: section is missing")
                continue
            entries, section_problems = _load_section(shown, section, document[section], model, key)
            problems.extend(section_problems)
            sections[section] = entries
    cities = _load_city_overrides(Path(layers_dir) / "cities", sections, problems)
    if problems:
        raise CatalogError(problems)
    return Catalog(sections, cities)


def _load_city_overrides(
    folder: Path, sections: dict[str, dict[str, _Entry]], problems: list[str]
) -> dict[str, CityOverrides]:
    """``layers/cities/<code>.yaml`` by city code; problems (a wrong file name, field or unknown id) are
    added to ``problems``."""
    cities: dict[str, CityOverrides] = {}
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        shown = f"layers/cities/{path.name}"
        if not CITY_FILE.match(path.stem):
            problems.append(f"{shown}: name the file after the city code, e.g. layers/cities/73.71.yaml")
            continue
        try:
            overrides = CityOverrides.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
        except yaml.YAMLError as exc:
            problems.append(f"{shown}: not valid YAML: {exc}")
            continue
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(str(part) for part in error["loc"]) or "(file)"
                problems.append(f"{shown}: {field}: {error['msg']}")
            continue
        known_assets = set(sections.get("asset_types", {}))
        known_categories = set(sections.get("categories", {}))
        for where, ids, known in (
            ("asset_types", overrides.asset_types, known_assets),
            ("unused_asset_types", overrides.unused_asset_types, known_assets),
            ("categories", overrides.categories, known_categories),
        ):
            problems.extend(
                f"{shown}: {where}: {unknown!r} is not in the shared catalog"
                for unknown in sorted(set(ids) - known)
            )
        cities[path.stem] = overrides
    return cities
