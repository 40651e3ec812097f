from pathlib import Path

import pytest

from geo_app.settings import TEST_SECRET_KEY, Settings, SettingsError

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_setting_is_documented_in_the_readme():
    readme = README.read_text(encoding="utf-8")
    undocumented = [name for name in Settings.environment_names() if f"`{name}`" not in readme]
    assert not undocumented, f"add these settings to README.md's Configuration table: {undocumented}"


def test_only_the_test_suite_gets_the_built_in_secret(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    for env in ("production", "development"):
        monkeypatch.setenv("GEO_APP_ENV", env)
        settings = Settings.from_env()  # the command line needs no secret; the web app checks it
        assert settings.secret_key == ""
        with pytest.raises(SettingsError, match="SECRET_KEY is not set"):
            settings.check_web()
    monkeypatch.setenv("GEO_APP_ENV", "test")
    assert Settings.from_env().secret_key == TEST_SECRET_KEY
    monkeypatch.setenv("GEO_APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-long-random-value-for-production-use")
    Settings.from_env().check_web()


def test_a_rate_limit_the_web_app_cannot_read_is_refused_when_it_starts(monkeypatch):
    monkeypatch.setenv("GEO_APP_ENV", "test")
    monkeypatch.setenv("LOGIN_RATE_LIMIT", "ten a minute")
    settings = Settings.from_env()  # the command line does not use the rate limits
    with pytest.raises(SettingsError, match=r"LOGIN_RATE_LIMIT='ten a minute': give a rate such as"):
        settings.check_web()
    monkeypatch.setenv("LOGIN_RATE_LIMIT", "5 per minute")
    Settings.from_env().check_web()


def test_scripts_keep_one_random_secret_key_with_mode_0600(tmp_path):
    """scripts/run's set-up: a random key on first start, kept beside the local state and reused."""
    import os
    import stat
    import subprocess

    setup = Path(__file__).resolve().parent.parent / "scripts" / "lib" / "setup.sh"
    environment = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    environment["GEO_APP_STATE_DIR"] = str(tmp_path)
    command = ["bash", "-c", f'source "{setup}"; ensure_secret_key; printf %s "$SECRET_KEY"']
    first = subprocess.run(command, env=environment, capture_output=True, text=True, check=True).stdout
    again = subprocess.run(command, env=environment, capture_output=True, text=True, check=True).stdout
    kept = tmp_path / "secret_key"
    assert len(first) >= 32 and first == again == kept.read_text().strip()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    other = tmp_path / "other"
    environment["GEO_APP_STATE_DIR"] = str(other)
    assert subprocess.run(command, env=environment, capture_output=True, text=True).stdout != first
    environment["SECRET_KEY"] = "given-by-the-operator-" + "x" * 20
    given = subprocess.run(command, env=environment, capture_output=True, text=True, check=True).stdout
    assert given == environment["SECRET_KEY"]


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
