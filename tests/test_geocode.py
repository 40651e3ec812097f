"""Offline geocoder: Indonesian address parts, misspelt/abbreviated/partial addresses, reverse, settings."""

from __future__ import annotations

import pytest
from incident_city import create_city, drop_city

from geo_app import create_app
from geo_app.db import connect, transaction
from geo_app.ingest.geocode import (
    AreaNames,
    Geocoder,
    Mention,
    external_geocoder,
    parse_address,
    stated_area,
    street_names_agree,
    typo_distance,
)
from geo_app.settings import Settings, SettingsError

CODE = "99.34"


def test_parse_indonesian_address_parts():
    parsed = parse_address(
        "Jl. K.H. Wasyid No. 12A RT 003/RW 005, Kel. Karang Asem, Kec. Citangkil, dekat Masjid Agung"
    )
    assert parsed.street == "K.H. Wasyid"
    assert parsed.number == "12A" and (parsed.rt, parsed.rw) == ("3", "5")
    assert parsed.kelurahan == "Karang Asem" and parsed.kecamatan == "Citangkil"
    assert parsed.landmark == "Masjid Agung"
    other = parse_address("Gang Melati RT.02 RW.07 Kelurahan Deringo Kecamatan Pulomerak")
    assert other.gang == "Melati" and (other.rt, other.rw) == ("2", "7")
    assert other.kelurahan == "Deringo" and other.kecamatan == "Pulomerak"
    assert parse_address("Jalan Jenderal Sudirman").street == "Jenderal Sudirman"


def test_landmark_names_and_run_together_markers_are_read_as_such():
    office = parse_address("Kantor Kecamatan Pulomerak, RT 2")
    assert office.kecamatan is None and office.rest == ["Kantor Kecamatan Pulomerak"] and office.rt == "2"
    joined = parse_address("Gg.Melati No.5 Kel.Dringo Kec.Pulomerak samping Pasar Kranggot Kel. Lama")
    assert (joined.gang, joined.number, joined.kelurahan, joined.kecamatan) == (
        "Melati",
        "5",
        "Dringo",
        "Pulomerak",
    )
    assert joined.landmark == "Pasar Kranggot Kel. Lama"  # a landmark's name runs to the comma
    assert parse_address("Kp. Deringo, Desa Citangkil").kelurahan == "Deringo"


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("suralaya", "suralayaa", 1),
        ("deringo", "dreingo", 1),
        ("lebakgede", "lebakgd", 2),
        ("kepuh", "kpeuh", 1),
        ("cibeber", "citangkil", 3),
    ],
)
def test_typo_distance_counts_insertions_deletions_replacements_and_swaps(a, b, distance):
    assert typo_distance(a, b, limit=2) == distance


def test_a_name_as_near_to_two_kelurahan_names_names_neither():
    def row(code, level, name, parent):
        return {
            "code": code,
            "level": level,
            "name": name,
            "name_variants": [],
            "parent_code": parent,
            "lon": 0.0,
            "lat": 0.0,
        }

    names = AreaNames(
        [
            row("k", "kecamatan", "Cilegon", None),
            row("k.1", "kelurahan", "Ciwaduk", "k"),
            row("k.2", "kelurahan", "Ciwedus", "k"),
        ]
    )
    area = stated_area([Mention("DesaCiweduk", ("kelurahan", "kecamatan", "kota"))], names)
    assert (area.kelurahan, area.kecamatan.code) == (None, "k")
    assert area.notes == ["'DesaCiweduk' could be Ciwaduk or Ciwedus"]
    assert stated_area([Mention("Ciwaduk", ("kelurahan",))], names).kelurahan.code == "k.1"


@pytest.mark.parametrize(
    ("query", "name", "agree"),
    [
        ("Sudirman", "Jl. Jenderal Sudirman", True),
        ("Jati", "Jl. Sunan Gunung Jati", False),
        ("Dringo–Samangraya", "Jl. Raya Warnasari–Samangraya", False),
        ("Kambja", "Jl. Lingkungan Kamboja", True),
        ("KiMasJong", "Jl. Ki Mas Jong", True),
    ],
)
def test_a_street_name_must_name_the_words_of_the_street(query, name, agree):
    assert street_names_agree(query, name, common={"lingkungan", "raya"}) is agree


# Added to the module's city: a lane name twice in one kelurahan, far apart; a road cut by a boundary.
EXTRA_STREETS = [
    ("Gang Mawar", "02.1002", "LINESTRING(106.06 -6.045, 106.065 -6.045)"),
    ("Gang Mawar", "02.1002", "LINESTRING(106.085 -6.005, 106.09 -6.005)"),
    ("Jl. Raya Merak", "01.1001", "LINESTRING(106.03 -6.09, 106.03 -6.05)"),
    ("Jl. Raya Merak", "01.1002", "LINESTRING(106.03 -6.05, 106.03 -6.01)"),
]


@pytest.fixture(scope="module")
def city_settings(database_url):
    create_city(database_url, CODE)
    with transaction(database_url) as conn:
        for name, kelurahan, wkt in EXTRA_STREETS:
            conn.execute(
                "INSERT INTO gazetteer (city_code, kind, name, kelurahan_code, geom) "
                "VALUES (%s, 'street', %s, %s, ST_GeomFromText(%s, 4326))",
                (CODE, name, f"{CODE}.{kelurahan}", wkt),
            )
    yield Settings.from_env(database_url=database_url, env="test", city_code=CODE)
    drop_city(database_url, CODE)


@pytest.mark.parametrize(
    ("address", "precision", "kelurahan", "matched"),
    [
        ("Jl. Jenderal Sudirman No. 4, Kel. Lebak Gede", "street", "01.1001", "Jl. Jenderal Sudirman"),
        ("Jln Sudirmn", "street", "01.1001", "Jl. Jenderal Sudirman"),  # misspelt, prefix abbreviated
        ("Jl. KH Wasyid RT 01/RW 02", "street", "02.1002", "Jl. Kyai Haji Wasyid"),  # KH = Kyai Haji
        ("Jl. Melati, Kel. Citangkil", "street", "02.1001", "Jl. Melati"),  # same name in two kelurahan
        ("Jl. Melati, Kel. Dringo", "street", "01.1002", "Jl. Melati"),  # spelling variant of Deringo
        ("dekat Masjid Agung Al Ikhlas", "exact", "02.1001", "Masjid Agung Al-Ikhlas"),
        ("depan psar kranggot", "exact", "01.1002", "Pasar Kranggot"),  # misspelt landmark
        ("Kel. Lebakgede, Kec. Pulomerak", "kelurahan", "01.1001", "Lebak Gede"),  # partial: area only
        ("Karangasem", "kelurahan", "02.1002", "Karang Asem"),
    ],
)
def test_geocode_misspelt_abbreviated_and_partial(
    city_settings, database_url, address, precision, kelurahan, matched
):
    with connect(database_url) as conn:
        found = Geocoder(conn, city_settings).geocode(address)
    assert (found.precision, found.matched) == (precision, matched)
    assert found.kelurahan_code == f"{CODE}.{kelurahan}"
    assert 0.45 <= found.score <= 1.0
    with connect(database_url) as conn:
        placed = Geocoder(conn, city_settings).reverse(found.lon, found.lat)
    assert placed["kelurahan_code"] == f"{CODE}.{kelurahan}"


def geocode(database_url, settings, address):
    with connect(database_url) as conn:
        return Geocoder(conn, settings).geocode(address)


@pytest.mark.parametrize(
    ("address", "kelurahan"),
    [
        ("Gg. Melati, Dringoo, Pulomerak", "01.1002"),  # misspelt, unmarked
        ("Gg. Melati RT 3/RW 1, Kel.Deringo", "01.1002"),  # marker written onto the name
        ("Jl Melati no 7 kelderingo", "01.1002"),  # marker and name run together
        ("Jl. Melati, Kec. Pulomerak", "01.1002"),  # the only Melati of the stated kecamatan
        ("Jl. Melati, Kp. Citangkl", "02.1001"),
        ("Jl. Melati, Citangkil, Citangkil", "02.1001"),  # kelurahan and kecamatan of one name
    ],
)
def test_the_stated_area_chooses_between_streets_of_one_name(city_settings, database_url, address, kelurahan):
    found = geocode(database_url, city_settings, address)
    assert (found.precision, found.matched, found.kelurahan_code) == (
        "street",
        "Jl. Melati",
        f"{CODE}.{kelurahan}",
    )
    assert found.kecamatan_code == f"{CODE}.{kelurahan[:2]}"


def test_a_street_that_exists_only_elsewhere_falls_back_to_the_stated_kelurahan(city_settings, database_url):
    found = geocode(database_url, city_settings, "Gg. Melati, Lebak Gedee, Pulomerak")
    lebak_gede = geocode(database_url, city_settings, "Kel. Lebak Gede")
    assert (found.precision, found.kelurahan_code) == ("kelurahan", f"{CODE}.01.1001")
    assert (found.lon, found.lat) == (lebak_gede.lon, lebak_gede.lat)
    assert "Jl. Melati is not in kelurahan Lebak Gede (it is in Citangkil, Deringo)" in found.note
    landmark = geocode(database_url, city_settings, "depan Pasar Kranggot, Kel. Citangkil")
    assert (landmark.precision, landmark.kelurahan_code) == ("kelurahan", f"{CODE}.02.1001")
    assert "Pasar Kranggot is not in kelurahan Citangkil (it is in Deringo)" in landmark.note
    kecamatan_only = geocode(database_url, city_settings, "Jl. Jenderal Sudirman, Kec. Citangkil")
    assert (kecamatan_only.precision, kecamatan_only.lat, kecamatan_only.kecamatan_code) == (
        "none",
        None,
        f"{CODE}.02",
    )
    assert "is not in kecamatan Citangkil (it is in Lebak Gede)" in kecamatan_only.note


def test_several_places_of_one_name_lower_the_precision_and_are_listed(city_settings, database_url):
    in_kelurahan = geocode(database_url, city_settings, "Gg Mawar, Kel. Karang Asem")
    assert (in_kelurahan.precision, in_kelurahan.kelurahan_code) == ("kelurahan", f"{CODE}.02.1002")
    assert len(in_kelurahan.candidates) == 2 and "2 places named Gang Mawar" in in_kelurahan.note
    assert {c["kelurahan_code"] for c in in_kelurahan.candidates} == {f"{CODE}.02.1002"}
    anywhere = geocode(database_url, city_settings, "Jl. Melati No. 3")
    assert (anywhere.precision, anywhere.lat, anywhere.kelurahan_code) == ("none", None, None)
    assert sorted(c["kelurahan_code"] for c in anywhere.candidates) == [f"{CODE}.01.1002", f"{CODE}.02.1001"]
    # "Citangkil" alone names the kelurahan and its kecamatan: the lanes are looked for in both
    unmarked = geocode(database_url, city_settings, "Gg Mawar, Citangkil")
    assert (unmarked.precision, unmarked.kelurahan_code) == ("kelurahan", f"{CODE}.02.1002")
    assert geocode(database_url, city_settings, "Citangkil").kelurahan_code == f"{CODE}.02.1001"
    # one road cut by a kelurahan boundary is one place: a street answer on its longer part
    road = geocode(database_url, city_settings, "Jl. Raya Merak, Kec. Pulomerak")
    assert (road.precision, road.matched, road.candidates) == ("street", "Jl. Raya Merak", [])


def test_a_misread_area_is_reported_and_never_raises_the_precision(city_settings, database_url):
    found = geocode(database_url, city_settings, "Jl. Melati, Kel. Antah Berantah")
    assert (found.precision, found.lat) == ("none", None) and len(found.candidates) == 2
    assert "kelurahan 'Antah Berantah' is not a name of this city" in found.note
    conflict = geocode(database_url, city_settings, "Jl. Melati, Kel. Deringo, Kec. Citangkil")
    assert (conflict.precision, conflict.kelurahan_code) == ("street", f"{CODE}.01.1002")
    assert "kecamatan Citangkil does not contain kelurahan Deringo; left out" in conflict.note


@pytest.mark.parametrize("address", ["entah di mana", "Jl. Tidak Ada Sama Sekali", ""])
def test_unmatched_address_is_precision_none(city_settings, database_url, address):
    with connect(database_url) as conn:
        found = Geocoder(conn, city_settings).geocode(address)
    assert found.precision == "none" and found.lat is None and found.lon is None


def test_reverse_geocoding_gives_kelurahan_kecamatan_and_street(city_settings, database_url):
    with connect(database_url) as conn:
        place = Geocoder(conn, city_settings).reverse(106.02, -6.0705)
    assert place["kelurahan_name"] == "Lebak Gede" and place["kecamatan_name"] == "Pulomerak"
    assert place["street_name"] == "Jl. Jenderal Sudirman" and place["street_distance_m"] < 100


def test_external_geocoder_is_off_by_default_and_the_setting_selects_nominatim(database_url):
    assert external_geocoder(Settings.from_env(database_url=database_url)) is None
    settings = Settings.from_env(
        database_url=database_url, geocoder="nominatim", nominatim_url="https://nominatim.kota.example/search"
    )
    geocoder = external_geocoder(settings)
    assert type(geocoder).__name__ == "Nominatim" and geocoder.domain == "nominatim.kota.example/search"
    assert geocoder.scheme == "https"
    with pytest.raises(SettingsError, match="NOMINATIM_URL"):
        Settings.from_env(database_url=database_url, geocoder="nominatim", nominatim_url="")


def test_geocode_api(city_settings, tokens):
    app = create_app(city_settings)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens.of(CODE)['admin']}"
    try:
        body = client.get("/api/geocode?address=Jln Sudirmn, Kel. Lebak Gede").json
        assert body["precision"] == "street" and body["lat"] == pytest.approx(-6.07, abs=0.001)
        elsewhere = client.get("/api/geocode?address=Gg. Melati, Lebak Gedee, Pulomerak").json
        assert (elsewhere["precision"], elsewhere["kecamatan_code"]) == ("kelurahan", f"{CODE}.01")
        assert "not in kelurahan Lebak Gede" in elsewhere["note"] and elsewhere["candidates"] == []
        assert len(client.get("/api/geocode?address=Jl. Melati").json["candidates"]) == 2
        assert client.get("/api/geocode").status_code == 400
        reverse = client.get("/api/geocode/reverse?lat=-6.02&lon=106.07").json
        assert reverse["kelurahan_name"] == "Karang Asem"
        assert client.get("/api/geocode/reverse?lat=x").status_code == 400
    finally:
        app.extensions["db_pool"].close()


def test_a_landmark_is_found_by_the_other_names_people_use(city_settings, database_url):
    """Callers say "SDN 2", the map says "SD Negeri 2" (name variants from the OSM importer)."""
    with transaction(database_url) as conn:
        conn.execute(
            "INSERT INTO gazetteer (city_code, kind, name, name_variants, kelurahan_code, geom)"
            " VALUES (%s, 'landmark', 'SD Negeri 2 Deringo', '{SDN 2 Deringo}', %s,"
            " ST_SetSRID(ST_MakePoint(106.03, -6.04), 4326))",
            (CODE, f"{CODE}.01.1002"),
        )
    try:
        found = geocode(database_url, city_settings, "depan SDN 2 Deringo, Kel. Deringo")
        assert (found.precision, found.matched) == ("exact", "SD Negeri 2 Deringo")
        assert (round(found.lon, 3), round(found.lat, 3)) == (106.03, -6.04)
    finally:
        with transaction(database_url) as conn:
            conn.execute(
                "DELETE FROM gazetteer WHERE city_code = %s AND name = 'SD Negeri 2 Deringo'", (CODE,)
            )
