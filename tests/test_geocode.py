"""Offline geocoder: Indonesian address parts, misspelt/abbreviated/partial addresses, reverse, settings."""

from __future__ import annotations

import pytest
from incident_city import create_city, drop_city

from geo_app import create_app
from geo_app.db import connect
from geo_app.ingest.geocode import Geocoder, external_geocoder, parse_address
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


@pytest.fixture(scope="module")
def city_settings(database_url):
    create_city(database_url, CODE)
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
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens['admin']}"
    try:
        body = client.get("/api/geocode?address=Jln Sudirmn, Kel. Lebak Gede").json
        assert body["precision"] == "street" and body["lat"] == pytest.approx(-6.07, abs=0.001)
        assert client.get("/api/geocode").status_code == 400
        reverse = client.get("/api/geocode/reverse?lat=-6.02&lon=106.07").json
        assert reverse["kelurahan_name"] == "Karang Asem"
        assert client.get("/api/geocode/reverse?lat=x").status_code == 400
    finally:
        app.extensions["db_pool"].close()
