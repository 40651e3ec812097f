"""Import official kelurahan boundaries, replacing the current (sample) ones.

Each feature of the file is matched to a known kelurahan: by Kemendagri code when a column holds codes
(``36.72.01.1001`` and ``3672011001`` are the same), else by name, loosely (case, spaces, hyphens and the
spelling variants in ``admin_areas.name_variants``: Deringo/Dringo, Lebak Gede/Lebakgede), else by a fuzzy
name score with the kecamatan as tie-breaker. Everything the import decided is in the :class:`ImportReport`.

On success, in one transaction: the kelurahan geometries are replaced, kecamatan and kota rebuilt as their
unions, populations that were spread by area re-spread over the new areas (kecamatan totals kept exact),
assets, incidents and gazetteer rows re-assigned to the kelurahan their point now falls in, and the load
recorded. A dry run does all of it and rolls back, so its report shows what would change.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import psycopg
import shapely
from shapely import MultiPolygon, Polygon

from geo_app.ingest.readers import read_vector, source_info
from geo_app.sample.population import largest_remainder
from geo_app.store import areas as area_store
from geo_app.store import bulk

MIN_MATCHED_SHARE = 0.9
FUZZY_THRESHOLD = 0.8
# A fuzzy candidate in the kecamatan the file names wins over an equally close one elsewhere.
SAME_KECAMATAN_BONUS = 0.05
AMBIGUITY_MARGIN = 0.02
KELURAHAN_CODE = re.compile(r"^\d{10}$")
NAME_PREFIX = re.compile(r"^(kelurahan|kel|desa|ds)\b\.?\s*")

CODE_HEADERS = ("kode", "kode_kel", "kode_kelurahan", "kd_kel", "kode_desa", "kdepum", "code", "kode_wilayah")
NAME_HEADERS = (
    "nama",
    "name",
    "kelurahan",
    "nama_kel",
    "nama_kelurahan",
    "nm_kel",
    "namobj",
    "wadmkd",
    "desa",
)
KECAMATAN_HEADERS = ("kecamatan", "nama_kec", "kode_kec", "kd_kec", "wadmkc", "kdcpum", "kec")

Progress = Callable[[str], None]


class AreaImportRefused(Exception):
    """Too little of the file matched to replace the boundaries; nothing was written."""

    def __init__(self, message: str, report: ImportReport | None = None):
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class Known:
    """A kelurahan already in the database, with what the file may call it."""

    code: str
    name: str
    variants: tuple[str, ...]
    kecamatan_code: str
    kecamatan_name: str

    @property
    def keys(self) -> set[str]:
        return {normalise_name(name) for name in (self.name, *self.variants)} - {""}


@dataclass(frozen=True)
class Match:
    row: int
    label: str
    code: str
    name: str
    method: str  # "code", "name" or "fuzzy"
    score: float = 1.0


@dataclass(frozen=True)
class Unmatched:
    row: int
    label: str
    reason: str


@dataclass(frozen=True)
class Repair:
    code: str
    name: str
    area_change_pct: float


@dataclass
class ImportReport:
    """What the import read, matched, repaired and (unless a dry run) wrote."""

    source: str
    layer: str | None
    source_crs: str
    crs_assumed: bool
    feature_count: int
    known_count: int
    columns: dict[str, str | None]
    matches: list[Match] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)
    missing: list[Known] = field(default_factory=list)
    repaired: list[Repair] = field(default_factory=list)
    merged: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    written: bool = False
    respread_kecamatan: list[str] = field(default_factory=list)
    reassigned: dict[str, int] = field(default_factory=dict)

    @property
    def matched_codes(self) -> set[str]:
        return {match.code for match in self.matches}

    @property
    def matched_share(self) -> float:
        return len(self.matched_codes) / self.known_count if self.known_count else 0.0

    def by_method(self, method: str) -> list[Match]:
        return [match for match in self.matches if match.method == method]

    def lines(self) -> list[str]:
        """The report as a person reads it on the command line."""
        crs = f"{self.source_crs} (assumed: the file declares none)" if self.crs_assumed else self.source_crs
        layer = f", layer {self.layer}" if self.layer else ""
        lines = [f"{self.source}{layer}: {self.feature_count} features, {crs}"]
        used = [f"{role} {column!r}" for role, column in self.columns.items() if column]
        lines.append("columns used: " + (", ".join(used) if used else "none (no code or name column)"))
        lines.append(
            f"matched {len(self.matched_codes)} of {self.known_count} kelurahan "
            f"({self.matched_share:.0%}): {len(self.by_method('code'))} by code, "
            f"{len(self.by_method('name'))} by name, {len(self.by_method('fuzzy'))} by fuzzy name"
        )
        for match in self.by_method("name"):
            if match.label != match.name:  # spelled as in the database: nothing to say
                lines.append(f"  by name: {match.label!r} -> {match.code} {match.name}")
        for match in self.by_method("fuzzy"):
            lines.append(f"  fuzzy:   {match.label!r} -> {match.code} {match.name} (score {match.score:.2f})")
        for code, count in sorted(self.merged.items()):
            lines.append(f"  {code}: {count} features merged into one boundary")
        lines.append(f"unmatched features: {len(self.unmatched)}")
        lines.extend(f"  feature #{item.row + 1} {item.label!r}: {item.reason}" for item in self.unmatched)
        lines.append(f"kelurahan left without a new boundary: {len(self.missing)}")
        lines.extend(f"  {known.code} {known.name} (kec. {known.kecamatan_name})" for known in self.missing)
        lines.append(f"repaired geometries: {len(self.repaired)}")
        lines.extend(
            f"  {repair.code} {repair.name}: made valid, area {repair.area_change_pct:+.3f}%"
            for repair in self.repaired
        )
        lines.extend(f"warning: {warning}" for warning in self.warnings)
        if self.reassigned or self.written:
            moved = ", ".join(f"{count} {what}" for what, count in self.reassigned.items())
            lines.append(
                f"population re-spread by area in {len(self.respread_kecamatan)} kecamatan; "
                f"re-assigned to their new kelurahan: {moved}"
            )
        if self.dry_run:
            lines.append("dry run: nothing was written")
        elif self.written:
            count = len(self.matched_codes)
            lines.append(f"written: {count} kelurahan boundaries; kecamatan and kota rebuilt as unions")
        return lines


# --- matching (pure) ------------------------------------------------------------------------------------


def normalise_name(text: object) -> str:
    """ASCII letters and digits, lower-case, no 'Kelurahan'/'Desa' prefix: 'Lebak-Gede' -> 'lebakgede'."""
    if _blank(text):
        return ""
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower().strip()
    return re.sub(r"[^a-z0-9]", "", NAME_PREFIX.sub("", ascii_text))


def normalise_code(value: object) -> str:
    """Digits only: '36.72.01.1001', '3672011001' and 3672011001.0 are all '3672011001'."""
    if _blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return re.sub(r"\D", "", str(value))


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""


def name_score(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def _attribute_columns(frame: pd.DataFrame) -> list[str]:
    return [column for column in frame.columns if column != frame.geometry.name]


def _preference(column: str, headers: tuple[str, ...]) -> int:
    key = column.strip().lower()
    return len(headers) - headers.index(key) if key in headers else 0


def detect_code_column(frame: gpd.GeoDataFrame, known_codes: set[str]) -> str | None:
    """The column whose values are the most known kelurahan codes (a BPS code column rarely wins), else one
    whose values look like kelurahan codes (a file of another city: its codes are reported, not its names)."""
    best, best_key = None, (0, False, 0)
    for column in _attribute_columns(frame):
        codes = frame[column].map(normalise_code)
        key = (
            int(codes.isin(known_codes).sum()),
            "bps" not in column.lower(),
            _preference(column, CODE_HEADERS),
        )
        if key[0] and key > best_key:
            best, best_key = column, key
    if best is not None:
        return best
    for column in sorted(_attribute_columns(frame), key=lambda c: -_preference(c, CODE_HEADERS)):
        codes = frame[column].map(normalise_code)
        present = codes[codes != ""]
        if (
            "bps" not in column.lower()
            and len(present)
            and present.str.match(KELURAHAN_CODE.pattern).mean() >= 0.8
        ):
            return column
    return None


def detect_name_column(frame: gpd.GeoDataFrame, known: list[Known], exclude: set[str]) -> str | None:
    keys = set().union(*(k.keys for k in known)) if known else set()
    best, best_key = None, (0, 0)
    for column in _attribute_columns(frame):
        if column in exclude or not (frame[column].map(lambda v: isinstance(v, str)).any()):
            continue
        key = (int(frame[column].map(normalise_name).isin(keys).sum()), _preference(column, NAME_HEADERS))
        if key > best_key:
            best, best_key = column, key
    return best


def _kecamatan_lookup(known: list[Known]) -> dict[str, str]:
    """Normalised kecamatan names and code digits -> kecamatan code."""
    lookup = {}
    for k in known:
        lookup[normalise_name(k.kecamatan_name)] = k.kecamatan_code
        lookup[normalise_code(k.kecamatan_code)] = k.kecamatan_code
    return lookup


def detect_kecamatan_column(frame: gpd.GeoDataFrame, known: list[Known], exclude: set[str]) -> str | None:
    lookup = _kecamatan_lookup(known)
    best, best_key = None, (0, 0)
    for column in _attribute_columns(frame):
        if column in exclude:
            continue
        hits = frame[column].map(lambda v: _resolve_kecamatan(v, lookup) is not None).sum()
        key = (int(hits), _preference(column, KECAMATAN_HEADERS))
        if key[0] and key > best_key:
            best, best_key = column, key
    return best


def _resolve_kecamatan(value: object, lookup: dict[str, str]) -> str | None:
    if _blank(value):
        return None
    return lookup.get(normalise_name(value)) or lookup.get(normalise_code(value))


@dataclass
class MatchResult:
    columns: dict[str, str | None]
    matches: list[Match]
    unmatched: list[Unmatched]
    warnings: list[str]


def match_features(frame: gpd.GeoDataFrame, known: list[Known], city_code: str) -> MatchResult:
    """Match each polygon feature to a known kelurahan: code, then exact loose name, then fuzzy name."""
    by_code = {normalise_code(k.code): k for k in known}
    code_column = detect_code_column(frame, set(by_code))
    name_column = detect_name_column(frame, known, {code_column} if code_column else set())
    kecamatan_column = detect_kecamatan_column(frame, known, {code_column, name_column} - {None})
    columns = {"code": code_column, "name": name_column, "kecamatan": kecamatan_column}
    lookup = _kecamatan_lookup(known)
    city_digits = normalise_code(city_code)

    def cell(row: int, column: str | None) -> object:
        return frame.at[row, column] if column else None

    def label(row: int) -> str:
        parts = [
            str(cell(row, column)) for column in (code_column, name_column) if not _blank(cell(row, column))
        ]
        return " ".join(parts) or f"feature #{row + 1}"

    matches: list[Match] = []
    unmatched: list[Unmatched] = []
    warnings: list[str] = []
    by_name: list[int] = []
    for row in range(len(frame)):
        geometry = frame.geometry.iloc[row]
        if geometry is None or geometry.is_empty:
            unmatched.append(Unmatched(row, label(row), "no geometry"))
            continue
        if not _polygonal(geometry):
            unmatched.append(Unmatched(row, label(row), f"not a polygon ({geometry.geom_type})"))
            continue
        code = normalise_code(cell(row, code_column))
        if code in by_code:
            k = by_code[code]
            matches.append(Match(row, label(row), k.code, k.name, "code"))
            file_name = normalise_name(cell(row, name_column))
            if file_name and max(name_score(file_name, key) for key in k.keys) < FUZZY_THRESHOLD:
                warnings.append(
                    f"code {k.code} is {k.name} here but the file names it {cell(row, name_column)!r}"
                )
        elif code and not code.startswith(city_digits):
            unmatched.append(
                Unmatched(row, label(row), f"code {cell(row, code_column)} is not in city {city_code}")
            )
        elif normalise_name(cell(row, name_column)):
            if code:
                warnings.append(
                    f"feature #{row + 1}: unknown code {cell(row, code_column)}; matched by name instead"
                )
            by_name.append(row)
        else:
            unmatched.append(Unmatched(row, label(row), "neither a known code nor a name"))

    kecamatan_of = {row: _resolve_kecamatan(cell(row, kecamatan_column), lookup) for row in by_name}
    fuzzy_rows = []
    for row in by_name:
        key = normalise_name(cell(row, name_column))
        candidates = [k for k in known if key in k.keys]
        if len(candidates) > 1 and kecamatan_of[row]:
            candidates = [k for k in candidates if k.kecamatan_code == kecamatan_of[row]] or candidates
        if len(candidates) == 1:
            matches.append(Match(row, label(row), candidates[0].code, candidates[0].name, "name"))
        elif candidates:
            options = " or ".join(f"{k.code} {k.name} (kec. {k.kecamatan_name})" for k in candidates)
            unmatched.append(Unmatched(row, label(row), f"ambiguous name: {options}; add a kecamatan column"))
        else:
            fuzzy_rows.append(row)

    taken = {match.code for match in matches}
    fuzzy, fuzzy_unmatched = _fuzzy_matches(
        {row: normalise_name(cell(row, name_column)) for row in fuzzy_rows},
        [k for k in known if k.code not in taken],
        kecamatan_of,
    )
    matches.extend(Match(row, label(row), k.code, k.name, "fuzzy", score) for row, k, score in fuzzy)
    unmatched.extend(Unmatched(row, label(row), reason) for row, reason in fuzzy_unmatched)
    return MatchResult(
        columns, sorted(matches, key=lambda m: m.row), sorted(unmatched, key=lambda u: u.row), warnings
    )


def _fuzzy_matches(
    names: dict[int, str], candidates: list[Known], kecamatan_of: dict[int, str | None]
) -> tuple[list[tuple[int, Known, float]], list[tuple[int, str]]]:
    """Best-first assignment of names to the kelurahan still without a match; ties are left unmatched."""
    scored: dict[int, list[tuple[float, float, Known]]] = {}
    for row, name in names.items():
        options = []
        for k in candidates:
            score = max(name_score(name, key) for key in k.keys)
            bonus = SAME_KECAMATAN_BONUS if kecamatan_of.get(row) == k.kecamatan_code else 0.0
            options.append((score + bonus, score, k))
        scored[row] = sorted(options, key=lambda option: (-option[0], option[2].code))
    pairs, reasons = [], {}
    for row, options in scored.items():
        if not options or options[0][1] < FUZZY_THRESHOLD:
            closest = f" (closest: {options[0][2].name}, {options[0][1]:.2f})" if options else ""
            reasons[row] = f"no known kelurahan name is close enough{closest}"
        elif len(options) > 1 and options[0][0] - options[1][0] < AMBIGUITY_MARGIN:
            reasons[row] = (
                f"ambiguous name: {options[0][2].name} ({options[0][1]:.2f}) or "
                f"{options[1][2].name} ({options[1][1]:.2f}); add a code or kecamatan column"
            )
        else:
            pairs.extend(
                (effective, score, row, k) for effective, score, k in options if score >= FUZZY_THRESHOLD
            )
    matched, used = [], set()
    for _effective, score, row, k in sorted(pairs, key=lambda p: (-p[0], p[2], p[3].code)):
        if row in reasons or row in {r for r, _, _ in matched} or k.code in used:
            continue
        matched.append((row, k, score))
        used.add(k.code)
    matched_rows = {row for row, _, _ in matched}
    for row in names:
        if row not in matched_rows and row not in reasons:
            reasons[row] = f"its closest kelurahan ({scored[row][0][2].name}) matched a closer feature"
    return matched, sorted(reasons.items())


def _polygonal(geometry) -> bool:
    if isinstance(geometry, Polygon | MultiPolygon):
        return True
    return geometry.geom_type == "GeometryCollection" and any(
        isinstance(part, Polygon) for part in shapely.get_parts(geometry)
    )


def boundaries_for(
    frame: gpd.GeoDataFrame, matches: list[Match]
) -> tuple[dict[str, MultiPolygon], list[Repair], dict[str, int]]:
    """One valid MultiPolygon per matched kelurahan; invalid polygons repaired, several features merged."""
    parts: dict[str, list] = {}
    names = {match.code: match.name for match in matches}
    repairs = []
    for match in matches:
        geometry = frame.geometry.iloc[match.row]
        if not geometry.is_valid:
            before = shapely.area(geometry)
            geometry = polygons_only(shapely.make_valid(geometry))
            change = 100.0 * (geometry.area - before) / before if before else 0.0
            repairs.append(Repair(match.code, match.name, change))
        parts.setdefault(match.code, []).append(polygons_only(geometry))
    boundaries = {code: polygons_only(shapely.union_all(pieces)) for code, pieces in parts.items()}
    merged = {f"{code} {names[code]}": len(pieces) for code, pieces in parts.items() if len(pieces) > 1}
    return boundaries, repairs, merged


def polygons_only(geometry) -> MultiPolygon:
    polygons = []
    for part in shapely.get_parts(geometry):
        if isinstance(part, Polygon):
            polygons.append(part)
        elif isinstance(part, MultiPolygon):
            polygons.extend(part.geoms)
    return MultiPolygon(polygons)


# --- population ------------------------------------------------------------------------------------------

POPULATION_SOURCE = "{source}, kecamatan total spread by kelurahan area (estimate)"


def respread_populations(basis: list[dict]) -> dict[str, tuple[int, str, int | None]]:
    """New (population, source, year) per kelurahan, for each kecamatan whose kelurahan figures are all
    estimates spread from its total; kelurahan with figures of their own are left alone."""
    frame = pd.DataFrame(basis)
    result = {}
    for _kecamatan, members in frame.groupby("kecamatan_code", sort=True):
        first = members.iloc[0]
        if pd.isna(first["kecamatan_population"]) or not members["population_is_estimate"].all():
            continue
        counts = largest_remainder(int(first["kecamatan_population"]), members["area_m2"].to_numpy())
        source = POPULATION_SOURCE.format(source=first["kecamatan_population_source"] or "kecamatan total")
        year = (
            None if pd.isna(first["kecamatan_population_year"]) else int(first["kecamatan_population_year"])
        )
        for code, count in zip(members["code"], counts, strict=True):
            result[code] = (int(count), source, year)
    return result


# --- the import -------------------------------------------------------------------------------------------


def import_areas(
    conn: psycopg.Connection,
    city_code: str,
    path: str | Path,
    *,
    layer: str | None = None,
    crs: str | None = None,
    dry_run: bool = False,
    allow_partial: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Replace the city's kelurahan boundaries with those of ``path``; see the module docstring.

    Raises :class:`geo_app.ingest.readers.ReadError` when the file cannot be read and
    :class:`AreaImportRefused` (carrying the report) when too few kelurahan match; both write nothing.
    """
    say = progress or (lambda _message: None)
    path = Path(path)
    say(f"reading {path.name}")
    frame = read_vector(path, layer=layer, crs=crs)
    info = source_info(frame)
    known = [
        Known(
            row["code"], row["name"], tuple(row["name_variants"]), row["parent_code"], row["kecamatan_name"]
        )
        for row in area_store.kelurahan_for_matching(conn, city_code)
    ]
    if not known:
        raise AreaImportRefused(
            f"city {city_code} has no kelurahan yet; load the sample city or the reference areas first"
        )
    say(f"matching {len(frame)} features to {len(known)} kelurahan")
    result = match_features(frame, known, city_code)
    report = ImportReport(
        source=info.name,
        layer=info.layer,
        source_crs=info.crs,
        crs_assumed=info.crs_assumed,
        feature_count=len(frame),
        known_count=len(known),
        columns=result.columns,
        matches=result.matches,
        unmatched=result.unmatched,
        warnings=result.warnings,
        dry_run=dry_run,
    )
    report.missing = [k for k in known if k.code not in report.matched_codes]
    boundaries, report.repaired, report.merged = boundaries_for(frame, report.matches)
    if not report.matches:
        raise AreaImportRefused("no feature matched a kelurahan of this city; nothing was written", report)
    if report.matched_share < MIN_MATCHED_SHARE and not allow_partial:
        raise AreaImportRefused(
            f"only {len(report.matched_codes)} of {len(known)} kelurahan matched (less than "
            f"{MIN_MATCHED_SHARE:.0%}); nothing was written. Fix the file, or use --allow-partial to replace "
            "only the matched ones",
            report,
        )
    with conn.transaction():
        _write(conn, city_code, info.name, boundaries, report, say)
        if dry_run:
            raise psycopg.Rollback()
        report.written = True
    return report


def _write(
    conn: psycopg.Connection,
    city_code: str,
    source: str,
    boundaries: dict[str, MultiPolygon],
    report: ImportReport,
    say: Progress,
) -> None:
    imported = f"{source} (imported {date.today().isoformat()})"
    say(f"replacing {len(boundaries)} kelurahan boundaries")
    detached = area_store.replace_kelurahan_boundaries(
        conn, city_code, {code: geometry.wkb for code, geometry in boundaries.items()}, imported
    )
    report.warnings.extend(f"{code}: the new boundary does not overlap the old one" for code in detached)
    if report.missing:
        report.warnings.append(
            f"{len(report.missing)} kelurahan keep their old boundary, which may overlap the imported ones"
        )
    say("rebuilding kecamatan and kota as unions of their kelurahan")
    area_store.rebuild_parent_boundaries(conn, city_code, f"union of kelurahan from {imported}")
    gaps, gap_m2 = area_store.kota_gaps(conn, city_code)
    if gaps:
        report.warnings.append(
            f"the kelurahan leave {gaps} gap(s) between them ({gap_m2 / 10_000:.1f} ha in all), kept as "
            "holes in the kecamatan and kota outlines; points in a gap get the nearest kelurahan"
        )
    say("re-spreading kecamatan populations over the new kelurahan areas")
    basis = area_store.kelurahan_population_basis(conn, city_code)
    populations = respread_populations(basis)
    area_store.update_kelurahan_populations(conn, populations)
    report.respread_kecamatan = sorted({row["kecamatan_code"] for row in basis if row["code"] in populations})
    say("re-assigning assets, incidents and gazetteer rows to their kelurahan")
    report.reassigned = area_store.reassign_to_kelurahan(conn, city_code)
    area_store.record_load(conn, city_code, "admin_areas", source, is_sample=False, rows=len(boundaries))
    written = len(boundaries) + sum(report.reassigned.values())
    bulk.analyze_loaded(conn, ("admin_areas", "assets", "incidents", "gazetteer"), written)
