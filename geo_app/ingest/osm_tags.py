"""What the tags of an OpenStreetMap object mean to geo_app: drivable or not, one-way, speed limit, and
for the gazetteer its kind of landmark or place and every name people use for it.

Landmarks are what callers name on the phone ("depan SDN 3", "dekat Puskesmas Cibeber", "samping
Indomaret"): each gets a category in Bahasa Indonesia and name variants, the other spellings of its name
(the OSM tags alt_name, short_name, official_name, old_name, loc_name, name:id, and the common
abbreviations written out or shortened: SD Negeri / SDN, Rumah Sakit Umum Daerah / RSUD, Kampung / Kp.).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# (key, value or "*", category), first match wins. Places of worship are refined by religion below.
LANDMARK_TAGS: tuple[tuple[str, str, str], ...] = (
    ("amenity", "school", "sekolah"),
    ("amenity", "kindergarten", "sekolah"),
    ("amenity", "university", "perguruan_tinggi"),
    ("amenity", "college", "perguruan_tinggi"),
    ("amenity", "place_of_worship", "rumah_ibadah"),
    ("amenity", "marketplace", "pasar"),
    ("amenity", "hospital", "rumah_sakit"),
    ("amenity", "clinic", "klinik"),
    ("amenity", "doctors", "klinik"),
    ("healthcare", "centre", "puskesmas"),
    ("healthcare", "hospital", "rumah_sakit"),
    ("healthcare", "clinic", "klinik"),
    ("amenity", "pharmacy", "apotek"),
    ("amenity", "townhall", "kantor_pemerintah"),
    ("office", "government", "kantor_pemerintah"),
    ("amenity", "police", "kantor_polisi"),
    ("amenity", "fire_station", "pos_damkar"),
    ("amenity", "post_office", "kantor_pos"),
    ("amenity", "bank", "bank"),
    ("amenity", "fuel", "spbu"),
    ("amenity", "bus_station", "terminal"),
    ("amenity", "ferry_terminal", "pelabuhan"),
    ("railway", "station", "stasiun"),
    ("railway", "halt", "stasiun"),
    ("industrial", "port", "pelabuhan"),
    ("barrier", "toll_booth", "gerbang_tol"),
    ("man_made", "works", "pabrik"),
    ("power", "plant", "pabrik"),
    ("landuse", "industrial", "kawasan_industri"),
    ("shop", "mall", "pusat_belanja"),
    ("shop", "department_store", "pusat_belanja"),
    ("shop", "supermarket", "swalayan"),
    ("shop", "convenience", "minimarket"),
    ("tourism", "hotel", "hotel"),
    ("leisure", "stadium", "stadion"),
    ("leisure", "sports_centre", "olahraga"),
    ("leisure", "park", "taman"),
    ("natural", "beach", "pantai"),
    ("landuse", "landfill", "tpa"),
    ("landuse", "cemetery", "makam"),
    ("amenity", "grave_yard", "makam"),
    ("place", "square", "alun_alun"),
    ("amenity", "community_centre", "balai_warga"),
    ("office", "*", "kantor"),
)
WORSHIP_BY_RELIGION = {"muslim": "masjid", "christian": "gereja", "hindu": "pura", "buddhist": "vihara"}
# A name that says more than the tag: "Puskesmas Cibeber" tagged amenity=clinic is a puskesmas.
CATEGORY_BY_NAME = (
    (re.compile(r"^(puskesmas|pusat kesehatan masyarakat)\b", re.I), "puskesmas"),
    (re.compile(r"^posyandu\b", re.I), "posyandu"),
    (re.compile(r"^(mus?h?oll?a|musala|langgar|surau)\b", re.I), "musala"),
)
# Shops and fuel stations are named by their brand when they carry no name of their own.
BRAND_NAMED = {"minimarket", "swalayan", "spbu"}
# place=* values of the gazetteer's places (city and town are the city itself).
PLACE_VALUES = frozenset(
    {"suburb", "quarter", "neighbourhood", "village", "hamlet", "isolated_dwelling", "locality"}
)
NAME_TAGS = ("alt_name", "short_name", "official_name", "old_name", "loc_name", "name:id")

# (written out, shortened): a name holding one form gets the other as a variant. Longer forms first.
ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    ("Sekolah Dasar Negeri", "SDN"),
    ("SD Negeri", "SDN"),
    ("Sekolah Dasar", "SD"),
    ("Sekolah Menengah Pertama Negeri", "SMPN"),
    ("SMP Negeri", "SMPN"),
    ("Sekolah Menengah Pertama", "SMP"),
    ("Sekolah Menengah Atas Negeri", "SMAN"),
    ("SMA Negeri", "SMAN"),
    ("Sekolah Menengah Atas", "SMA"),
    ("Sekolah Menengah Kejuruan Negeri", "SMKN"),
    ("SMK Negeri", "SMKN"),
    ("Sekolah Menengah Kejuruan", "SMK"),
    ("Madrasah Ibtidaiyah Negeri", "MIN"),
    ("Madrasah Tsanawiyah Negeri", "MTsN"),
    ("Madrasah Tsanawiyah", "MTs"),
    ("Madrasah Aliyah Negeri", "MAN"),
    ("Rumah Sakit Umum Daerah", "RSUD"),
    ("Rumah Sakit Ibu dan Anak", "RSIA"),
    ("Rumah Sakit Umum", "RSU"),
    ("Rumah Sakit", "RS"),
    ("Pusat Kesehatan Masyarakat", "Puskesmas"),
    ("Kepolisian Sektor", "Polsek"),
    ("Kepolisian Resor", "Polres"),
    ("Komando Rayon Militer", "Koramil"),
    ("Stasiun Pengisian Bahan Bakar Umum", "SPBU"),
    ("Pemadam Kebakaran", "Damkar"),
    ("Gerbang Tol", "GT"),
    ("Gerbang Tol", "Pintu Tol"),
    ("Tempat Pemakaman Umum", "TPU"),
    ("Perumahan", "Perum"),
    ("Kampung", "Kp."),
    ("Dusun", "Dsn."),
    ("Universitas", "Univ."),
)
_WORD = r"(?<![\w.]){}(?![\w])"
PLACE_PREFIX = re.compile(r"^(kampung|kp\.?|dusun|dsn\.?|lingkungan|link\.?)\s+", re.I)

ONEWAY_FORWARD = {"yes", "true", "1"}
ONEWAY_BACKWARD = {"-1", "reverse"}
ONEWAY_NO = {"no", "false", "0"}
ROUNDABOUT = {"roundabout", "circular"}
NO_ACCESS = {"private", "no"}
# maxspeed values by legal zone (PP 79/2013 Pasal 23 ayat 4).
ZONE_SPEEDS = {
    "id:urban": 50.0,
    "id:rural": 80.0,
    "id:motorway": 100.0,
    "id:living_street": 30.0,
    "id:residential": 30.0,
}
MAXSPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph)?\s*$", re.I)


def oneway_direction(tags: Mapping[str, str], implied: bool) -> int:
    """+1 one-way along the way, -1 against it, 0 both ways. Roundabouts and implied one-way types (motorways)
    are one-way unless the way says oneway=no; oneway=reversible counts as both ways (emergency vehicles
    may use either direction)."""
    value = tags.get("oneway", "").strip().lower()
    if value in ONEWAY_FORWARD:
        return 1
    if value in ONEWAY_BACKWARD:
        return -1
    if value in ONEWAY_NO:
        return 0
    if tags.get("junction", "").lower() in ROUNDABOUT or implied:
        return 1
    return 0


def is_closed_to_public(tags: Mapping[str, str]) -> bool:
    """access=private/no (or the same for motor vehicles) without a motor-vehicle permission."""
    for key in ("motorcar", "motor_vehicle", "vehicle", "access"):
        value = tags.get(key, "").strip().lower()
        if value:
            return value in NO_ACCESS
    return False


def maxspeed_kmh(value: str | None) -> float | None:
    """The speed limit of a maxspeed tag in km/h ("50", "60 km/h", "30 mph", "ID:urban"); None when the tag
    is missing or says no number ("none", "signals", "walk"). Of several values ("50;40") the lowest."""
    if not value:
        return None
    speeds = []
    for part in value.split(";"):
        part = part.strip()
        if part.lower() in ZONE_SPEEDS:
            speeds.append(ZONE_SPEEDS[part.lower()])
            continue
        match = MAXSPEED.match(part)
        if match:
            speed = float(match.group(1)) * (1.609344 if (match.group(2) or "").lower() == "mph" else 1.0)
            if speed > 0:
                speeds.append(speed)
    return min(speeds) if speeds else None


def landmark_category(tags: Mapping[str, str]) -> str | None:
    """The kind of landmark a tagged object is (sekolah, masjid, pasar, minimarket ...), or None."""
    for key, value, category in LANDMARK_TAGS:
        tag = tags.get(key)
        if tag is not None and (value == "*" or tag == value):
            if category == "rumah_ibadah":
                category = WORSHIP_BY_RELIGION.get(tags.get("religion", ""), category)
            name = tags.get("name", "")
            for pattern, named in CATEGORY_BY_NAME:
                if pattern.match(name):
                    return named
            return category
    return None


def landmark_name(tags: Mapping[str, str], category: str) -> str | None:
    """The name a landmark is called by: its name, else its brand for shops and fuel stations."""
    name = tags.get("name", "").strip()
    if name:
        return name
    brand = tags.get("brand", "").strip()
    if brand and category in BRAND_NAMED:
        return f"SPBU {brand}" if category == "spbu" and not brand.upper().startswith("SPBU") else brand
    return None


def name_variants(name: str, tags: Mapping[str, str], place: bool = False) -> list[str]:
    """Other names of the object: the OSM name tags and the abbreviations written out or shortened.

    A place also goes by its bare name: "Kp. Cikuasa" is "Kampung Cikuasa" and "Cikuasa"."""
    found: list[str] = []
    for key in NAME_TAGS:
        found += [part.strip() for part in tags.get(key, "").split(";")]
    for written, short in ABBREVIATIONS:
        for source, target in ((written, short), (short, written)):
            pattern = re.compile(_WORD.format(re.escape(source)), re.I)
            if pattern.search(name):
                found.append(re.sub(r"\s+", " ", pattern.sub(target, name, count=1)).strip())
    if place:
        bare = PLACE_PREFIX.sub("", name)
        found.append(bare)
    unique: list[str] = []
    for variant in found:
        if variant and variant.lower() != name.lower() and variant.lower() not in map(str.lower, unique):
            unique.append(variant)
    return unique
