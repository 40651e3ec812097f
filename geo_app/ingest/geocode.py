"""Offline geocoding of Indonesian addresses, with an optional external geocoder (geopy/Nominatim).

``parse_address`` splits what call-takers type ("Jl. KH Wasyid No. 12 RT 03/RW 05, Kel. Citangkil,
Kec. Citangkil, dekat Masjid Al-Ikhlas") into parts. ``Geocoder`` first works out which kelurahan and
kecamatan the caller named (misspelt by a letter or two, written together, with or without Kel./Kec./
Desa/Kp.), then looks for the landmark and the street only inside that area: a street that exists only
elsewhere is not a match. The answer's precision is never higher than what matched (exact for a
landmark, street, kelurahan, none); several places of the matched name in the area lower it to the
kelurahan (or to none when they lie in several kelurahan) with the candidates listed, and ``note`` says
why an answer is less precise than the address looked.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import psycopg

from geo_app.settings import Settings
from geo_app.store import geocode as store

# A street or landmark name is taken when its trigram score reaches this ("Sudirmn" scores ~0.75, the
# wrong street "Raya Kotasari–Grogol" for "Raya Kotasari–Ramanuju" ~0.55); inside a stated area, where
# few names compete, a lower score is enough.
MIN_SCORE = 0.6
MIN_SCORE_IN_AREA = 0.45
AREA_MARKERS = {
    "kelurahan": "kelurahan", "kel": "kelurahan", "desa": "kelurahan", "ds": "kelurahan",
    "kampung": "kelurahan", "kp": "kelurahan",
    "kecamatan": "kecamatan", "kec": "kecamatan",
    "kota": "kota", "kabupaten": "kota", "kab": "kota",
}  # fmt: skip
STREET_MARKERS = {"jalan": "street", "jln": "street", "jl": "street", "gang": "gang", "gg": "gang"}
PLACE_WORDS = r"depan|dpn|dekat|dkt|samping|smpg|sebelah|seberang|sbrg|belakang|blkg"
MARKER = re.compile(
    rf"(?<![\w'])(?P<word>{'|'.join(sorted({**AREA_MARKERS, **STREET_MARKERS}, key=len, reverse=True))})"
    rf"\b\.?|(?<![\w'])(?:di\s+)?(?P<place>{PLACE_WORDS})\b\.?",
    re.I,
)
# "Kantor Kecamatan Cibeber" is a landmark: a marker after one of these words does not start a part.
NAME_WORDS_BEFORE_MARKER = {"kantor", "balai", "aula", "camat", "lurah", "puskesmas", "polsek", "koramil"}
NUMBER = re.compile(r"\b(?:No|Nomor)\b\.?\s*(?P<v>\d+[A-Za-z]?)", re.I)
RT_RW = re.compile(
    r"\bRT\b\.?\s*(?:/\s*RW\b\.?)?\s*0*(?P<rt>\d+)"
    r"(?:\s*/\s*(?:RW\b\.?\s*)?|\s*,?\s*RW\b\.?\s*)0*(?P<rw>\d+)",
    re.I,
)
RT_ONLY = re.compile(r"\bRT\b\.?\s*0*(?P<rt>\d+)", re.I)
RW_ONLY = re.compile(r"\bRW\b\.?\s*0*(?P<rw>\d+)", re.I)
# (gazetteer kind, precision of a match)
LANDMARK, STREET = ("landmark", "exact"), ("street", "street")
PRECISION_RANK = {"none": 0, "kelurahan": 1, "street": 2, "exact": 3}


@dataclass
class ParsedAddress:
    """The parts of an Indonesian address; ``rest`` holds parts no marker explained."""

    street: str | None = None
    gang: str | None = None
    number: str | None = None
    rt: str | None = None
    rw: str | None = None
    kelurahan: str | None = None
    kecamatan: str | None = None
    landmark: str | None = None
    rest: list[str] = field(default_factory=list)


def _cut(text: str, pattern: re.Pattern) -> tuple[re.Match | None, str]:
    match = pattern.search(text)
    if match is None:
        return None, text
    return match, text[: match.start()] + " , " + text[match.end() :]


def _starts_part(segment: str, match: re.Match) -> bool:
    before = segment[: match.start()].split()
    return bool(match.group("place")) or not before or before[-1].lower() not in NAME_WORDS_BEFORE_MARKER


def _parts(text: str) -> list[tuple[str | None, str]]:
    """(marker or None, text) per part: commas end a part, and so does a marker word, except inside a
    landmark's name, which runs from "depan"/"dekat"/... to the comma."""
    parts = []
    for segment in text.split(","):
        starts = [match for match in MARKER.finditer(segment) if _starts_part(segment, match)]
        place = next((k for k, match in enumerate(starts) if match.group("place")), None)
        if place is not None:
            starts = starts[: place + 1]
        parts.append((None, segment[: starts[0].start()] if starts else segment))
        if not starts:
            continue
        for match, end in zip(starts, [m.start() for m in starts[1:]] + [len(segment)], strict=True):
            marker = "place" if match.group("place") else match.group("word").lower()
            parts.append((marker, segment[match.end() : end]))
    return [(marker, value.strip(" .;:-")) for marker, value in parts if value.strip(" .;:-")]


def parse_address(text: str) -> ParsedAddress:
    parsed = ParsedAddress()
    match, remaining = _cut(text, NUMBER)
    parsed.number = match and match.group("v")
    match, remaining = _cut(remaining, RT_RW)
    if match is None:
        match, remaining = _cut(remaining, RT_ONLY)
    if match is not None:
        parsed.rt, parsed.rw = match.group("rt"), match.groupdict().get("rw")
    if parsed.rw is None:
        match, remaining = _cut(remaining, RW_ONLY)
        parsed.rw = match and match.group("rw")
    for marker, value in _parts(remaining):
        slot = "landmark" if marker == "place" else AREA_MARKERS.get(marker) or STREET_MARKERS.get(marker)
        if slot in {"landmark", "street", "gang", "kelurahan", "kecamatan"} and getattr(parsed, slot) is None:
            setattr(parsed, slot, value)
        elif slot != "kota":
            parsed.rest.append(value)
    return parsed


def compact(text: str) -> str:
    """Lower-case letters and digits only: "Lebak Gede", "lebakgede" and "Lebak-Gede" compare equal."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def typo_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (insert, delete, replace, swap two neighbours), capped at limit+1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous_row, row = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        before, previous_row, row = previous_row, row, [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(previous_row[j] + 1, row[j - 1] + 1, previous_row[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], before[j - 2] + 1)
        if min(row) > limit:
            return limit + 1
    return row[-1]


def typos_allowed(name: str) -> int:
    """Letters a name may be misspelt by and still be recognised: none for short names, 1 up to 6, else 2."""
    return 0 if len(name) <= 3 else 1 if len(name) <= 6 else 2


def _words(text: str) -> list[str]:
    return [compact(word) for word in re.split(r"[^A-Za-z0-9]+", text) if word]


def _spells(word: str, candidates: set[str]) -> bool:
    return any(typo_distance(word, c, typos_allowed(c)) <= typos_allowed(c) for c in candidates)


def street_names_agree(query: str, name: str, common: set[str]) -> bool:
    """Whether the street name the caller wrote can be that name, beyond a good trigram score.

    Each query word of four letters or more is a word of the name (or two or three of its words written
    together), up to the typos allowed: "Dringo–Samangraya" is not "Warnasari–Samangraya". And the query
    names at least half of the name's long words (five letters or more, leaving out words most street
    names share): "Sudirman" is "Jenderal Sudirman", "Gg. Jati" is not "Sunan Gunung Jati".
    """
    words = _words(name)
    joined = {"".join(words[i : i + n]) for n in (1, 2, 3) for i in range(len(words) - n + 1)}
    asked = [word for word in _words(query) if len(word) >= 4]
    if not all(_spells(word, joined) for word in asked):
        return False
    long_words = [word for word in words if len(word) >= 5 and word not in common]
    named = sum(_spells(word, set(asked)) for word in long_words)
    return 2 * named >= len(long_words)


@dataclass(frozen=True)
class Area:
    code: str
    level: str
    name: str
    parent_code: str | None
    keys: tuple[str, ...]
    lon: float
    lat: float


@dataclass(frozen=True)
class Mention:
    """One part of the address that names an area: its text and the levels its marker allows."""

    text: str
    levels: tuple[str, ...]


class AreaNames:
    """The city's kelurahan, kecamatan and city names, matched with a letter or two of misspelling."""

    def __init__(self, rows: list[dict]):
        self.areas = [
            Area(
                row["code"],
                row["level"],
                row["name"],
                row["parent_code"],
                tuple({compact(name) for name in [row["name"], *(row["name_variants"] or [])]}),
                row["lon"],
                row["lat"],
            )
            for row in rows
        ]
        self.by_code = {area.code: area for area in self.areas}

    def matches(self, text: str, levels: tuple[str, ...]) -> list[tuple[int, Area]]:
        """(letters wrong, area) for every area of those levels the text may name, best first.

        A marker written into the name ("kelsuralaya", "kec.pulomerak") is tried without it too; a city
        name is also recognised without its "Kota".
        """
        key = compact(text)
        # text as written (any of the levels), or without a marker written onto it (that marker's level)
        keys = {key: levels} | {
            key[len(marker) :]: (level,)
            for marker, level in AREA_MARKERS.items()
            if key.startswith(marker) and len(key) > len(marker) + 3 and level in levels
        }
        found = []
        for area in self.areas:
            names = set(area.keys)
            if area.level == "kota":
                names |= {name.removeprefix("kota") for name in area.keys}
            tried = [k for k, allowed in keys.items() if area.level in allowed]
            wrong = (
                min(
                    (typo_distance(k, name, typos_allowed(name)) - typos_allowed(name), typos_allowed(name))
                    for k in tried
                    for name in names
                )
                if tried
                else (1, 0)
            )
            if wrong[0] <= 0:  # within the name's allowance
                found.append((wrong[0] + wrong[1], area))
        return sorted(found, key=lambda pair: (pair[0], pair[1].code))

    def kelurahan_of(self, kecamatan_code: str) -> list[str]:
        return [a.code for a in self.areas if a.level == "kelurahan" and a.parent_code == kecamatan_code]


@dataclass
class StatedArea:
    """The kelurahan and kecamatan the caller named (either may be None), and what could not be used."""

    kelurahan: Area | None = None
    kecamatan: Area | None = None
    notes: list[str] = field(default_factory=list)
    # An unmarked name of both a kelurahan and its kecamatan ("Citangkil"): streets and landmarks are
    # looked for in the whole kecamatan; an answer without them is the kelurahan.
    wider: Area | None = None

    def codes(self, names: AreaNames) -> list[str] | None:
        """The kelurahan a street or landmark must lie in; None when the caller named no area."""
        if self.wider is not None:
            return names.kelurahan_of(self.wider.code)
        if self.kelurahan is not None:
            return [self.kelurahan.code]
        if self.kecamatan is not None:
            return names.kelurahan_of(self.kecamatan.code)
        return None

    def label(self) -> str:
        if self.wider is not None:
            return f"kecamatan {self.wider.name}"
        if self.kelurahan is not None:
            return f"kelurahan {self.kelurahan.name}"
        return f"kecamatan {self.kecamatan.name}" if self.kecamatan else "the city"


def stated_area(mentions: list[Mention], names: AreaNames) -> StatedArea:
    """The reading of the area mentions that explains most of them with a kelurahan inside the named
    kecamatan, then with the fewest misspelt letters, then the kelurahan (the finer area) when one
    unmarked name could be either. A kelurahan and a kecamatan that do not fit: the kelurahan wins."""
    options = [names.matches(m.text, m.levels) for m in mentions]
    choices = {
        level: [None] + [(i, d, a) for i, found in enumerate(options) for d, a in found if a.level == level]
        for level in ("kelurahan", "kecamatan")
    }
    best, best_rank = (None, None), None
    for kel, kec in itertools.product(choices["kelurahan"], choices["kecamatan"]):
        if kel and kec and (kel[0] == kec[0] or kel[2].parent_code != kec[2].code):
            continue
        chosen = [c for c in (kel, kec) if c]
        rank = (len(chosen), -sum(c[1] for c in chosen), kel is not None)
        if best_rank is None or rank > best_rank:
            best, best_rank = (kel, kec), rank
    kel, kec = best
    result = StatedArea(kel and kel[2], kec and kec[2])
    if kel and kec is None:
        result.wider = next((a for _, a in options[kel[0]] if a.code == kel[2].parent_code), None)
    alike = kel and [
        area
        for wrong, area in options[kel[0]]
        if area.level == "kelurahan" and wrong == kel[1] and (kec is None or area.parent_code == kec[2].code)
    ]
    if alike and len(alike) > 1:  # "Ciweduk" is as near to Ciwaduk as to Ciwedus: no kelurahan is known
        result.notes.append(f"{mentions[kel[0]].text!r} could be {' or '.join(a.name for a in alike)}")
        parents = {area.parent_code for area in alike}
        result.kelurahan, result.wider = None, None
        result.kecamatan = result.kecamatan or (names.by_code[parents.pop()] if len(parents) == 1 else None)
    used = {c[0] for c in best if c}
    for index, (mention, found) in enumerate(zip(mentions, options, strict=True)):
        if index in used or any(area.level == "kota" for _, area in found):
            continue
        if found:
            area = found[0][1]
            result.notes.append(f"{area.level} {area.name} does not contain {result.label()}; left out")
        else:
            result.notes.append(f"{mention.levels[0]} {mention.text!r} is not a name of this city")
    return result


@dataclass
class GeocodeResult:
    lat: float | None
    lon: float | None
    precision: str  # exact | street | kelurahan | none
    score: float | None
    source: str
    kelurahan_code: str | None = None
    matched: str | None = None
    kecamatan_code: str | None = None
    candidates: list[dict] = field(default_factory=list)
    note: str | None = None

    def as_dict(self) -> dict:
        return {
            "lat": self.lat,
            "lon": self.lon,
            "precision": self.precision,
            "score": None if self.score is None else round(self.score, 3),
            "source": self.source,
            "kelurahan_code": self.kelurahan_code,
            "kecamatan_code": self.kecamatan_code,
            "matched": self.matched,
            "candidates": self.candidates,
            "note": self.note,
        }


def external_geocoder(settings: Settings):
    """The geopy geocoder the settings switch on, or None (the default: offline only)."""
    if settings.geocoder != "nominatim":
        return None
    from urllib.parse import urlsplit

    from geopy.geocoders import Nominatim

    url = urlsplit(settings.nominatim_url)
    return Nominatim(
        domain=url.netloc + url.path.rstrip("/"),
        scheme=url.scheme or "https",
        user_agent="geo_app",
        timeout=5,
    )


class Geocoder:
    """Built-in gazetteer matching for one city; an external geocoder when configured and needed."""

    def __init__(self, conn: psycopg.Connection, settings: Settings, city_code: str | None = None):
        self.conn = conn
        self.city_code = city_code or settings.city_code
        self.external = external_geocoder(settings)
        self._names: AreaNames | None = None
        self._common_words: set[str] | None = None

    @property
    def names(self) -> AreaNames:
        if self._names is None:
            self._names = AreaNames(store.area_names(self.conn, self.city_code))
        return self._names

    def geocode(self, address: str) -> GeocodeResult:
        if not address or not address.strip():
            return GeocodeResult(None, None, "none", None, "builtin", note="no address given")
        parsed = parse_address(address)
        area = self._stated_area(parsed)
        found = self._builtin(parsed, area)
        if found.precision == "none" and self.external is not None:
            return self._external(address, area) or found
        return found

    def _stated_area(self, parsed: ParsedAddress) -> StatedArea:
        """Area mentions are the Kel./Kec. parts and every unmarked part that spells an area name."""
        mentions = [Mention(parsed.kelurahan, ("kelurahan",))] if parsed.kelurahan else []
        mentions += [Mention(parsed.kecamatan, ("kecamatan",))] if parsed.kecamatan else []
        places = []
        for part in parsed.rest:
            if self.names.matches(part, ("kelurahan", "kecamatan", "kota")):
                mentions.append(Mention(part, ("kelurahan", "kecamatan", "kota")))
            else:
                places.append(part)
        parsed.rest = places
        return stated_area(mentions, self.names)

    def _builtin(self, parsed: ParsedAddress, area: StatedArea) -> GeocodeResult:
        notes = list(area.notes)
        wanted = [(parsed.landmark, (LANDMARK,))] if parsed.landmark else []
        wanted += [(text, (STREET,)) for text in (parsed.gang, parsed.street) if text]
        wanted += [(part, (LANDMARK, STREET)) for part in parsed.rest]
        codes = area.codes(self.names)
        for text, kinds in wanted:
            found = self._named(text, kinds, codes)
            if found:
                return self._placed(*found, area, notes)
            notes.append(self._missing(text, kinds, area, codes))
        return self._area_answer(area, notes)

    def _named(self, text: str, kinds: tuple, codes: list[str] | None) -> tuple[list[dict], str] | None:
        """The places named by the text in the area and their precision; an unmarked part is the
        landmark or the street whose name it matches better. Street names are compared without the
        words most of the city's street names share ("Lingkungan", "Raya")."""
        found = []
        for kind, precision in kinds:
            query = self._distinctive(text) if kind == "street" else text
            least = MIN_SCORE if codes is None else MIN_SCORE_IN_AREA
            places = store.named_places(self.conn, self.city_code, kind, query, codes, least)
            if places and (kind != "street" or street_names_agree(query, places[0]["name"], self._common)):
                found.append((places, precision))
        return max(found, key=lambda pair: pair[0][0]["score"]) if found else None

    @property
    def _common(self) -> set[str]:
        if self._common_words is None:
            self._common_words = store.common_street_words(self.conn, self.city_code)
        return self._common_words

    def _distinctive(self, text: str) -> str:
        kept = [word for word in re.split(r"[^a-z0-9]+", text.lower()) if word and word not in self._common]
        return " ".join(kept) if kept else text

    def _missing(self, text: str, kinds: tuple, area: StatedArea, codes: list[str] | None) -> str:
        """Why a named street or landmark was not used: not known at all, or known only outside the area."""
        what = " or ".join("street" if kind == "street" else "landmark" for kind, _ in kinds)
        elsewhere = codes is not None and self._named(text, kinds, None)
        if not elsewhere:
            return f"no {what} named {text!r} is known"
        elsewhere = elsewhere[0]
        where = sorted(
            {self.names.by_code[p["kelurahan_code"]].name for p in elsewhere if p["kelurahan_code"]}
        )
        return f"{elsewhere[0]['name']} is not in {area.label()} (it is in {', '.join(where)})"

    def _result(
        self, lon, lat, precision, score, kelurahan_code, matched, notes, candidates=()
    ) -> GeocodeResult:
        kelurahan = self.names.by_code.get(kelurahan_code) if kelurahan_code else None
        return GeocodeResult(
            lat,
            lon,
            precision,
            score,
            "builtin",
            kelurahan_code,
            matched,
            kelurahan.parent_code if kelurahan else None,
            list(candidates),
            "; ".join(notes) or None,
        )

    def _placed(
        self, places: list[dict], precision: str, area: StatedArea, notes: list[str]
    ) -> GeocodeResult:
        """One place of the matched name: that place. Several: their kelurahan when they share one,
        else no point; the candidates are listed either way."""
        first = places[0]
        if len(places) == 1:
            return self._result(
                first["lon"],
                first["lat"],
                precision,
                first["score"],
                first["kelurahan_code"],
                first["name"],
                notes,
            )
        candidates = [
            {"name": p["name"], "kelurahan_code": p["kelurahan_code"], "lon": p["lon"], "lat": p["lat"]}
            for p in places
        ]
        notes = [*notes, f"{len(places)} places named {first['name']} in {area.label()}"]
        kelurahan = {p["kelurahan_code"] for p in places}
        if len(kelurahan) == 1 and None not in kelurahan:
            centre = self.names.by_code[kelurahan.pop()]
            return self._result(
                centre.lon,
                centre.lat,
                "kelurahan",
                first["score"],
                centre.code,
                centre.name,
                notes,
                candidates,
            )
        result = self._area_answer(StatedArea(None, area.wider or area.kecamatan), notes)
        result.candidates = candidates
        return result

    def _area_answer(self, area: StatedArea, notes: list[str]) -> GeocodeResult:
        """The stated kelurahan's centre; a kecamatan alone has no point (precision none) but is kept."""
        if area.kelurahan is not None:
            kelurahan = area.kelurahan
            return self._result(
                kelurahan.lon, kelurahan.lat, "kelurahan", 1.0, kelurahan.code, kelurahan.name, notes
            )
        result = self._result(None, None, "none", None, None, None, notes)
        if area.kecamatan is not None:
            result.kecamatan_code, result.matched = area.kecamatan.code, area.kecamatan.name
        return result

    def _external(self, address: str, area: StatedArea) -> GeocodeResult | None:
        """The external geocoder's answer, unless it lies outside the area the caller named."""
        location = self.external.geocode(address, addressdetails=True)
        if location is None:
            return None
        codes = area.codes(self.names)
        placed = store.reverse(self.conn, self.city_code, location.longitude, location.latitude)
        if codes is not None and (placed is None or placed["kelurahan_code"] not in codes):
            return None
        kind = (location.raw or {}).get("addresstype", "")
        precision = (
            "exact"
            if kind in {"building", "house", "amenity"}
            else "street"
            if kind == "road"
            else "kelurahan"
        )
        return GeocodeResult(
            location.latitude,
            location.longitude,
            precision,
            None,
            "nominatim",
            placed and placed["kelurahan_code"],
            kecamatan_code=placed and placed["kecamatan_code"],
        )

    def reverse(self, lon: float, lat: float) -> dict:
        return store.reverse(self.conn, self.city_code, lon, lat)
