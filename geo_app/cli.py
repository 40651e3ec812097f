"""The ``geo-app`` command line: database set-up, sample city, imports and checks."""

from __future__ import annotations

import sys

import click

from geo_app.catalog import CatalogError, load_catalog
from geo_app.db import bootstrap, migrate
from geo_app.settings import Settings, SettingsError


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def main() -> None:
    """geo_app: city data in PostGIS, analyses and maps."""


@main.command("migrate")
def migrate_command() -> None:
    """Create the database and extensions if missing, then apply every migration."""
    settings = load_settings()
    try:
        created = bootstrap.ensure_database(settings.database_url)
        bootstrap.ensure_extensions(settings.database_url)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    if created:
        click.echo(f"created database {bootstrap.database_name(settings.database_url)}")
    migrate.upgrade(settings.database_url)
    click.echo("database schema is current")


@main.command("check-catalog")
def check_catalog_command() -> None:
    """Validate layers/*.yaml and list what it defines."""
    settings = load_settings()
    try:
        catalog = load_catalog(settings.layers_dir)
    except CatalogError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(
        f"{len(catalog.asset_types)} asset types, {len(catalog.incident_categories)} incident "
        f"categories, {len(catalog.call_types)} call types, {len(catalog.green_types)} green types"
    )
