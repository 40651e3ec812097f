from pathlib import Path

import pytest

from geo_app.settings import DEFAULT_SECRET_KEY, Settings, SettingsError

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_setting_is_documented_in_the_readme():
    readme = README.read_text(encoding="utf-8")
    undocumented = [name for name in Settings.environment_names() if f"`{name}`" not in readme]
    assert not undocumented, f"add these settings to README.md's Configuration table: {undocumented}"


def test_production_refuses_the_default_secret(monkeypatch):
    monkeypatch.setenv("GEO_APP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        Settings.from_env()
    monkeypatch.setenv("SECRET_KEY", "a-long-random-value-for-production-use")
    assert Settings.from_env().secret_key != DEFAULT_SECRET_KEY


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PORT", "eighty", "PORT='eighty': expected a whole number"),
        ("GEO_APP_ENV", "staging", "use development, production or test"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL must be a postgresql:// URL"),
    ],
)
def test_bad_values_name_the_variable(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=message):
        Settings.from_env()
