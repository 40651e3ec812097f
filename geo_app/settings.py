"""One typed Settings object, read from environment variables.

Every knob the service has lives here, so the README's configuration table and the code cannot drift:
``tests/test_settings.py`` fails when a field is not documented in README.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/geo_app"
TEST_SECRET_KEY = "test-suite-only-secret-never-for-a-deployment"
"""The test suite's signing secret: known to everyone, so every other environment refuses it."""
MIN_SECRET_KEY_LENGTH = 32


class SettingsError(ValueError):
    """A setting has a value the service cannot run with; the message names the variable."""


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name}={raw!r}: use true or false")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a whole number") from None


@dataclass(frozen=True)
class Settings:
    """Runtime configuration. Field names map to upper-case environment variables."""

    database_url: str = DEFAULT_DATABASE_URL
    city_code: str = "36.72"
    env: str = "development"
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = 5000
    layers_dir: Path = field(default_factory=lambda: REPO_DIR / "layers")
    basemap_url: str = ""
    basemap_attribution: str = ""
    max_content_length: int = 50 * 1024 * 1024
    db_pool_size: int = 10
    statement_timeout_ms: int = 15_000
    fire_coverage_radius_m: int = 2500
    fire_response_minutes: int = 15
    coverage_access_m: int = 250
    anonymous_access: bool = True
    public_min_cell_count: int = 5
    login_rate_limit: str = "10 per minute"
    report_rate_limit: str = "12 per minute"
    geocoder: str = "builtin"
    nominatim_url: str = ""
    national_output_dir: Path = field(default_factory=lambda: REPO_DIR / "data" / "national")
    csw_url: str = "http://127.0.0.1:5001"
    csw_site_url: str = ""
    csw_refresh_seconds: int = 300

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        """Build settings from the environment; keyword overrides win (used by tests)."""
        values: dict = {
            "database_url": os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            "city_code": os.environ.get("CITY_CODE") or "36.72",
            "env": (os.environ.get("GEO_APP_ENV") or "development").lower(),
            "secret_key": os.environ.get("SECRET_KEY", ""),
            "host": os.environ.get("HOST") or "127.0.0.1",
            "port": _env_int("PORT", 5000),
            "layers_dir": Path(os.environ.get("LAYERS_DIR") or REPO_DIR / "layers"),
            "basemap_url": os.environ.get("BASEMAP_URL", ""),
            "basemap_attribution": os.environ.get("BASEMAP_ATTRIBUTION", ""),
            "max_content_length": _env_int("MAX_CONTENT_LENGTH", 50 * 1024 * 1024),
            "db_pool_size": _env_int("DB_POOL_SIZE", 10),
            "statement_timeout_ms": _env_int("STATEMENT_TIMEOUT_MS", 15_000),
            "fire_coverage_radius_m": _env_int("FIRE_COVERAGE_RADIUS_M", 2500),
            "fire_response_minutes": _env_int("FIRE_RESPONSE_MINUTES", 15),
            "coverage_access_m": _env_int("COVERAGE_ACCESS_M", 250),
            "anonymous_access": _env_bool("ANONYMOUS_ACCESS", True),
            "public_min_cell_count": _env_int("PUBLIC_MIN_CELL_COUNT", 5),
            "login_rate_limit": os.environ.get("LOGIN_RATE_LIMIT") or "10 per minute",
            "report_rate_limit": os.environ.get("REPORT_RATE_LIMIT") or "12 per minute",
            "geocoder": (os.environ.get("GEOCODER") or "builtin").lower(),
            "nominatim_url": os.environ.get("NOMINATIM_URL", ""),
            "national_output_dir": Path(
                os.environ.get("NATIONAL_OUTPUT_DIR") or REPO_DIR / "data" / "national"
            ),
            "csw_url": os.environ.get("CSW_URL") or "http://127.0.0.1:5001",
            "csw_site_url": (os.environ.get("CSW_SITE_URL") or "").rstrip("/"),
            "csw_refresh_seconds": _env_int("CSW_REFRESH_SECONDS", 300),
        }
        values.update(overrides)
        if values["env"] == "test" and not values["secret_key"]:
            values["secret_key"] = TEST_SECRET_KEY
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.env not in {"development", "production", "test"}:
            raise SettingsError(f"GEO_APP_ENV={self.env!r}: use development, production or test")
        if self.geocoder not in {"builtin", "nominatim"}:
            raise SettingsError(f"GEOCODER={self.geocoder!r}: use builtin or nominatim")
        if self.geocoder == "nominatim" and not self.nominatim_url.startswith(("http://", "https://")):
            raise SettingsError("GEOCODER=nominatim needs NOMINATIM_URL, e.g. https://nominatim.kota.go.id")
        if self.statement_timeout_ms < 0:
            raise SettingsError(
                "STATEMENT_TIMEOUT_MS must be 0 (no limit) or a number of milliseconds, e.g. 15000: "
                "keep it well below the web server's worker timeout (30 s)"
            )
        if not self.csw_url.startswith(("http://", "https://")):
            raise SettingsError(
                f"CSW_URL={self.csw_url!r}: the pycsw process's URL, e.g. http://127.0.0.1:5001"
            )
        if self.csw_site_url and not self.csw_site_url.startswith(("http://", "https://")):
            raise SettingsError(
                f"CSW_SITE_URL={self.csw_site_url!r}: the public address of this service, "
                "e.g. https://gis.cilegonkota.go.id"
            )
        if self.csw_refresh_seconds < 10:
            raise SettingsError("CSW_REFRESH_SECONDS must be at least 10")
        if self.public_min_cell_count < 1:
            raise SettingsError("PUBLIC_MIN_CELL_COUNT must be at least 1")
        if not self.database_url.startswith(("postgresql://", "postgres://")):
            raise SettingsError(
                "DATABASE_URL must be a postgresql:// URL, for example " + DEFAULT_DATABASE_URL
            )

    def check_web(self) -> None:
        """The settings only the web app uses, checked when it starts (the command line does not load
        the rate-limit library for them): the rate limits, and SECRET_KEY, which signs session cookies.
        A known or short secret lets anyone forge an administrator's session, so only the test suite
        may run with the built-in one."""
        import limits

        for name, value in (
            ("LOGIN_RATE_LIMIT", self.login_rate_limit),
            ("REPORT_RATE_LIMIT", self.report_rate_limit),
        ):
            try:
                limits.parse(value)
            except ValueError:
                raise SettingsError(f"{name}={value!r}: give a rate such as '10 per minute'") from None
        if self.env == "test":
            return
        advice = (
            "scripts/run creates a random one in .local/secret_key; elsewhere set SECRET_KEY to a random "
            f"string of at least {MIN_SECRET_KEY_LENGTH} characters, e.g. the output of "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
        if not self.secret_key:
            raise SettingsError(f"SECRET_KEY is not set: {advice}")
        if self.secret_key == TEST_SECRET_KEY:
            raise SettingsError(f"SECRET_KEY is the test suite's public value: {advice}")
        if len(self.secret_key) < MIN_SECRET_KEY_LENGTH:
            raise SettingsError(f"SECRET_KEY is too short to sign sessions safely: {advice}")

    @classmethod
    def environment_names(cls) -> list[str]:
        """Environment variable names, for documentation checks."""
        renamed = {"env": "GEO_APP_ENV"}
        return [renamed.get(f.name, f.name.upper()) for f in fields(cls)]
