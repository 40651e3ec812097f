"""Offline geocoding of Indonesian addresses, with an optional external geocoder (geopy/Nominatim).

``parse_address`` splits what call-takers type ("Jl. KH Wasyid No. 12 RT 03/RW 05, Kel. Citangkil,
Kec. Citangkil, dekat Masjid Al-Ikhlas") into parts. ``Geocoder`` matches the parts against the
kecamatan and kelurahan names (with variants) and the gazetteer of streets and landmarks with pg_trgm,
and answers a point with its precision (exact for a landmark, street, kelurahan, or none) and score.
An address that matches nothing is answered with precision ``none``: kept, counted and not mapped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import psycopg

from geo_app.settings import Settings
from geo_app.store import geocode as store

# A name is taken when its trigram score reaches this (misspellings such as "Sudirmn" score ~0.5).
MIN_SCORE = 0.45
MARKERS = r"No|Nomor|RT|RW|Gg|Gang|Kel|Kelurahan|Kec|Kecamatan|Desa"
STOP = rf"(?=\s*(?:,|$|\b(?:{MARKERS})\b))"
PATTERNS = {
    "kecamatan": re.compile(r"\bKec(?:amatan)?\b\.?\s*(?P<v>[^,]+?)" + STOP, re.I),
    "kelurahan": re.compile(r"\b(?:Kel(?:urahan)?|Desa|Ds)\b\.?\s*(?P<v>[^,]+?)" + STOP, re.I),
    "gang": re.compile(r"\b(?:Gg|Gang)\b\.?\s*(?P<v>[^,]+?)" + STOP, re.I),
    "street": re.compile(r"\b(?:Jl|Jln|Jalan)\b\.?\s*(?P<v>[^,]+?)" + STOP, re.I),
    "number": re.compile(r"\b(?:No|Nomor)\b\.?\s*(?P<v>\d+[A-Za-z]?)", re.I),
}
RT_RW = re.compile(
    r"\bRT\b\.?\s*(?:/\s*RW\b\.?)?\s*0*(?P<rt>\d+)"
    r"(?:\s*/\s*(?:RW\b\.?\s*)?|\s*,?\s*RW\b\.?\s*)0*(?P<rw>\d+)",
    re.I,
)
RT_ONLY = re.compile(r"\bRT\b\.?\s*0*(?P<rt>\d+)", re.I)
LANDMARK = re.compile(
    r"\b(?:dekat|depan|belakang|samping|sebelah|seberang|di|area|kawasan)\s+(?P<v>[^,]+)", re.I
)


@dataclass
class ParsedAddress:
    """The parts of an Indonesian address; ``rest`` holds comma parts no marker explained."""

    street: str | None = None
    gang: str | None = None
    number: str | None = None
    rt: str | None = None
    rw: str | None = None
    kelurahan: str | None = None
    kecamatan: str | None = None
    landmark: str | None = None
    rest: list[str] = field(default_factory=list)


def parse_address(text: str) -> ParsedAddress:
    parsed = ParsedAddress()
    remaining = text
    for name, pattern in PATTERNS.items():
        match = pattern.search(remaining)
        if match:
            setattr(parsed, name, match.group("v").strip(" .") or None)
            remaining = remaining[: match.start()] + " , " + remaining[match.end() :]
    match = RT_RW.search(remaining) or RT_ONLY.search(remaining)
    if match:
        parsed.rt = match.group("rt")
        parsed.rw = match.groupdict().get("rw")
        remaining = remaining[: match.start()] + " , " + remaining[match.end() :]
    match = LANDMARK.search(remaining)
    if match:
        parsed.landmark = match.group("v").strip(" .")
        remaining = remaining[: match.start()] + " , " + remaining[match.end() :]
    parsed.rest = [part.strip(" .") for part in remaining.split(",") if part.strip(" .")]
    return parsed


@dataclass
class GeocodeResult:
    lat: float | None
    lon: float | None
    precision: str  # exact | street | kelurahan | none
    score: float | None
    source: str
    kelurahan_code: str | None = None
    matched: str | None = None

    def as_dict(self) -> dict:
        return {
            "lat": self.lat,
            "lon": self.lon,
            "precision": self.precision,
            "score": None if self.score is None else round(self.score, 3),
            "source": self.source,
            "kelurahan_code": self.kelurahan_code,
            "matched": self.matched,
        }


NOT_FOUND = GeocodeResult(None, None, "none", None, "builtin")


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

    def geocode(self, address: str) -> GeocodeResult:
        found = self._builtin(address) if address and address.strip() else NOT_FOUND
        if found.precision == "none" and self.external is not None:
            return self._external(address)
        return found

    def _builtin(self, address: str) -> GeocodeResult:
        parsed = parse_address(address)
        kecamatan = self._area("kecamatan", parsed.kecamatan, None)
        kelurahan = self._area("kelurahan", parsed.kelurahan, kecamatan and kecamatan["code"])
        if kelurahan is None and parsed.kelurahan and kecamatan is not None:
            kelurahan = self._area("kelurahan", parsed.kelurahan, None)
        kelurahan_code = kelurahan["code"] if kelurahan else None
        candidates = []
        if parsed.landmark:
            candidates.append(("landmark", parsed.landmark, "exact"))
        if parsed.gang:
            candidates.append(("street", f"Gang {parsed.gang}", "street"))
        if parsed.street:
            candidates.append(("street", parsed.street, "street"))
        for part in parsed.rest:
            candidates += [("landmark", part, "exact"), ("street", part, "street")]
        for kind, text, precision in candidates:
            match = store.match_gazetteer(self.conn, self.city_code, kind, text, kelurahan_code)
            if match and match["score"] >= MIN_SCORE:
                return GeocodeResult(
                    match["lat"],
                    match["lon"],
                    precision,
                    match["score"],
                    "builtin",
                    match["kelurahan_code"],
                    match["name"],
                )
        if kelurahan is None and parsed.rest:
            kelurahan = max(
                (self._area("kelurahan", part, None) for part in parsed.rest),
                key=lambda area: area["score"] if area else -1,
            )
        if kelurahan is not None:
            return GeocodeResult(
                kelurahan["lat"],
                kelurahan["lon"],
                "kelurahan",
                kelurahan["score"],
                "builtin",
                kelurahan["code"],
                kelurahan["name"],
            )
        return NOT_FOUND

    def _area(self, level: str, text: str | None, parent: str | None) -> dict | None:
        if not text:
            return None
        match = store.match_area(self.conn, self.city_code, level, text, parent)
        return match if match and match["score"] >= MIN_SCORE else None

    def _external(self, address: str) -> GeocodeResult:
        location = self.external.geocode(address, addressdetails=True)
        if location is None:
            return GeocodeResult(None, None, "none", None, "nominatim")
        kind = (location.raw or {}).get("addresstype", "")
        precision = (
            "exact"
            if kind in {"building", "house", "amenity"}
            else "street"
            if kind == "road"
            else "kelurahan"
        )
        return GeocodeResult(location.latitude, location.longitude, precision, None, "nominatim")

    def reverse(self, lon: float, lat: float) -> dict:
        return store.reverse(self.conn, self.city_code, lon, lat)
