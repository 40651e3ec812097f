"""The ``geo-app`` command line: database set-up, sample city, imports and checks."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from geo_app.auth.commands import users as users_commands
from geo_app.catalog import Catalog, CatalogError, load_catalog
from geo_app.city import CityContext, CityNotLoaded, require_city
from geo_app.db import bootstrap, roles
from geo_app.national import commands as national_commands
from geo_app.settings import Settings, SettingsError


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def city_catalog(settings: Settings) -> Catalog:
    """The layer catalog as the command's city (CITY_CODE) sees it (layers/cities/<code>.yaml applied)."""
    return load_catalog(settings.layers_dir).for_city(settings.city_code)


def city_context(conn, settings: Settings) -> CityContext:
    """The city the command works for (CITY_CODE), or a message that says how to create it."""
    try:
        return require_city(conn, settings.city_code)
    except CityNotLoaded as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def main() -> None:
    """geo_app: city data in PostGIS, analyses and maps."""


def run() -> None:
    """The installed ``geo-app`` command: ``main``, then an exit that leaves freeing the process's
    memory to the operating system. Tearing down numpy, pyarrow, pandas, shapely and pyproj object by
    object took 0.3 s at the end of every command. Logs and output are flushed first; other exit
    handlers do not run (the commands close their connections and files themselves). An unexpected
    exception ends the process as usual, with its traceback."""
    status = None
    try:
        main()  # click's standalone mode ends with SystemExit
    except SystemExit as end:
        status = end.code
    if status is not None and not isinstance(status, int):
        print(status, file=sys.stderr)  # a message, as Python shows one given to sys.exit
        status = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status or 0)


@main.command("migrate")
def migrate_command() -> None:
    """Create the database and extensions if missing, then apply every migration."""
    from geo_app.db import migrate  # alembic: only this command needs it

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
    if roles.renew_web_role_grants(settings.database_url):
        click.echo(f"grants of {roles.web_role_name(settings.database_url)} renewed")


@main.command("web-role")
@click.option(
    "--password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="file holding the role's password (scripts/run keeps a random one in .local/web_role_password)",
)
def web_role_command(password_file: Path) -> None:
    """Create or update the least-privilege role the web app connects as; print its DATABASE_URL."""
    settings = load_settings()
    password = password_file.read_text(encoding="utf-8").strip()
    if len(password) < 16:
        raise click.ClickException(f"{password_file}: put a random password of at least 16 characters in it")
    click.echo(roles.ensure_web_role(settings.database_url, password))


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
        f"categories, {len(catalog.call_types)} call types, {len(catalog.green_types)} green types, "
        f"{len(catalog.road_types)} road types"
    )
    for code in catalog.city_overrides:
        click.echo(f"layers/cities/{code}.yaml: overrides for city {code}")


@main.command("metadata-records")
@click.option("--site", required=True, help="Public address of the service, e.g. https://gis.kota.go.id")
def metadata_records_command(site: str) -> None:
    """Print the ISO 19139 record of every published layer as JSON ({id: xml}), for the CSW catalogue."""
    import json

    from geo_app.db import connect
    from geo_app.ows.service import OwsService
    from geo_app.published import build_collections

    settings = load_settings()
    catalog = load_catalog(settings.layers_dir)
    service = OwsService(
        catalog,
        build_collections(catalog),
        settings.city_code,
        settings.database_url,
        settings.public_min_cell_count,
    )
    with connect(settings.database_url) as conn:
        city_context(conn, settings)
        records = service.iso_records(conn, site.rstrip("/"))
    click.echo(json.dumps({key: xml.decode() for key, xml in records.items()}))


@main.command("load-sample")
@click.option("--if-empty", is_flag=True, help="Load only when the city has no administrative areas yet.")
def load_sample_command(if_empty: bool) -> None:
    """Generate the sample city (Kota Cilegon) and load it, replacing the city's data."""
    from geo_app.db import connect
    from geo_app.sample import is_city_loaded, load_sample_city
    from geo_app.sample.reference import load_facts

    settings = load_settings()
    city_code = load_facts().code
    if if_empty:
        with connect(settings.database_url) as conn:
            if is_city_loaded(conn, city_code):
                click.echo(
                    f"city {city_code} already has data: keeping it (without --if-empty it is replaced)"
                )
                return
    counts = load_sample_city(settings.database_url, progress=True)
    click.echo("sample city loaded: " + ", ".join(f"{layer} {rows}" for layer, rows in counts.items()))


@main.command("make-sample-data")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/sample"),
    show_default=True,
    help="Folder for sample_city.gpkg, incidents.csv and sample_city.osm.",
)
def make_sample_data_command(out_dir: Path) -> None:
    """Write the generated sample city as files (GeoPackage layers, a CSV of 112 calls, an OSM file)."""
    from geo_app.sample.export import write_sample_files

    counts = write_sample_files(out_dir)
    click.echo(f"written to {out_dir}: " + ", ".join(f"{layer} {rows}" for layer, rows in counts.items()))


@main.command("import-incidents")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "file_format", type=click.Choice(["csv", "json"]), help="default: from the suffix")
@click.option("--keep-good", is_flag=True, help="write the good rows even when some rows are rejected")
def import_incidents_command(path: Path, file_format: str | None, keep_good: bool) -> None:
    """Import 112 incidents from CSV or JSON (idempotent by external_id; one transaction)."""
    from tqdm import tqdm

    from geo_app.ingest.incidents import IncidentFileError, import_file, print_report

    settings = load_settings()
    with tqdm(unit=" rows", desc="import 112", disable=None) as bar:

        def progress(step: str, rows: int) -> None:
            bar.set_description_str(f"import 112, {step}")
            bar.update(rows)

        try:
            result = import_file(settings, city_catalog(settings), path, file_format, keep_good, progress)
        except (IncidentFileError, LookupError) as exc:
            raise click.ClickException(str(exc)) from None
    print_report(result, click.echo)
    if not result.written:
        sys.exit(1)


@main.command("import-assets")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--type", "asset_type", required=True, help="Asset type id from layers/assets.yaml.")
@click.option(
    "--crs", help="CRS of the coordinates when the file does not say (e.g. a UTM zone, EPSG:32750)."
)
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option("--keep-good-rows", is_flag=True, help="Write the good rows even when some are rejected.")
def import_assets_command(
    file: Path, asset_type: str, crs: str | None, dry_run: bool, keep_good_rows: bool
) -> None:
    """Import assets from GeoJSON, CSV, GeoPackage, zipped Shapefile or KML (any CRS)."""
    from geo_app.ingest import assets as asset_ingest
    from geo_app.ingest.readers import ReadError

    settings = load_settings()
    catalog = city_catalog(settings)
    if asset_type not in catalog.asset_types:
        raise click.BadParameter(f"use one of {', '.join(catalog.asset_types)}", param_hint="--type")
    try:
        report = asset_ingest.import_file(
            settings.database_url, settings.city_code, catalog, file, asset_type, crs, dry_run, keep_good_rows
        )
    except ReadError as exc:
        raise click.ClickException(str(exc)) from None
    for line in asset_ingest.report_lines(report):
        click.echo(line)
    if report.rejected and not keep_good_rows:
        sys.exit(1)


@main.command("export-assets")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--type", "asset_types", multiple=True, help="Asset type id (repeatable); default all.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["geojson", "csv", "gpkg", "shp", "kml"]),
    default=None,
    help="Default: from the file extension (.zip is a zipped Shapefile).",
)
def export_assets_command(out: Path, asset_types: tuple[str, ...], fmt: str | None) -> None:
    """Export assets in the formats the importer reads."""
    from geo_app.ingest.assets_export import export_file

    settings = load_settings()
    try:
        count = export_file(settings.database_url, settings.city_code, out, asset_types, fmt)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{count} assets written to {out}")


@main.command("add-city")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--name", help="The city's name, e.g. 'Kota Makassar' (needed when the file has no city column)."
)
@click.option("--timezone", help="Override the time zone derived from the province (Asia/Makassar, ...).")
@click.option("--metric-crs", type=int, help="Override the UTM zone derived from the outline (EPSG code).")
@click.option("--layer", help="Layer to read from a GeoPackage, KML or zip holding several.")
@click.option("--crs", help="CRS of the coordinates when the file does not say.")
@click.option("--dry-run", is_flag=True, help="Report the city that would be created; write nothing.")
def add_city_command(
    file: Path,
    name: str | None,
    timezone: str | None,
    metric_crs: int | None,
    layer: str | None,
    crs: str | None,
    dry_run: bool,
) -> None:
    """Create a city from its official kelurahan boundaries (codes, names, kecamatan), in one transaction."""
    from geo_app.db import connect
    from geo_app.ingest.cities import CityImportRefused, add_city
    from geo_app.ingest.readers import ReadError

    settings = load_settings()
    try:
        with connect(settings.database_url) as conn:
            report = add_city(
                conn,
                file,
                name=name,
                timezone=timezone,
                metric_srid=metric_crs,
                layer=layer,
                crs=crs,
                dry_run=dry_run,
            )
    except (ReadError, CityImportRefused) as exc:
        raise click.ClickException(str(exc)) from None
    for line in report.lines():
        click.echo(line)


@main.command("import-areas")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--layer", help="Layer to read from a GeoPackage, KML or zip holding several.")
@click.option(
    "--crs", help="CRS of the coordinates when the file does not say (e.g. a UTM zone, EPSG:32750)."
)
@click.option("--dry-run", is_flag=True, help="Match and report what would change; write nothing.")
@click.option(
    "--allow-partial", is_flag=True, help="Replace the matched kelurahan even if under 90% matched."
)
def import_areas_command(
    file: Path, layer: str | None, crs: str | None, dry_run: bool, allow_partial: bool
) -> None:
    """Replace the kelurahan boundaries with official ones (GeoJSON, GeoPackage, zipped Shapefile, KML)."""
    import time

    from geo_app.db import connect
    from geo_app.ingest.areas import AreaImportRefused, import_areas
    from geo_app.ingest.readers import ReadError

    settings = load_settings()
    started = time.monotonic()

    def progress(step: str) -> None:
        click.echo(f"[{time.monotonic() - started:5.1f} s] {step}", err=True)

    try:
        with connect(settings.database_url) as conn:
            report = import_areas(
                conn,
                settings.city_code,
                file,
                layer=layer,
                crs=crs,
                dry_run=dry_run,
                allow_partial=allow_partial,
                progress=progress,
            )
    except ReadError as exc:
        raise click.ClickException(str(exc)) from None
    except AreaImportRefused as exc:
        if exc.report:
            click.echo("\n".join(exc.report.lines()))
        raise click.ClickException(str(exc)) from None
    progress("done")
    click.echo("\n".join(report.lines()))


@main.command("import-osm")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Build everything and report; write nothing.")
def import_osm_command(file: Path, dry_run: bool) -> None:
    """Replace the city's road network and gazetteer with an OpenStreetMap extract (.osm or .osm.pbf)."""
    import time

    from geo_app.db import connect
    from geo_app.ingest.osm import OsmImportError, import_osm
    from geo_app.ingest.osm_read import OsmReadError

    settings = load_settings()
    catalog = city_catalog(settings)
    started = time.monotonic()

    def progress(step: str) -> None:
        click.echo(f"[{time.monotonic() - started:5.1f} s] {step}", err=True)

    try:
        with connect(settings.database_url) as conn:
            report = import_osm(conn, settings.city_code, catalog, file, dry_run=dry_run, progress=progress)
    except (OsmReadError, OsmImportError) as exc:
        raise click.ClickException(str(exc)) from None
    progress("done")
    click.echo("\n".join(report.lines()))


main.add_command(users_commands)
for national_command in national_commands.COMMANDS:
    main.add_command(national_command)


@main.command("import-green")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--layer", help="Layer of a GeoPackage or KML with several.")
@click.option(
    "--crs", help="CRS of the coordinates when the file does not say (e.g. a UTM zone, EPSG:32750)."
)
@click.option(
    "--overlap",
    type=click.Choice(["reject", "clip", "keep"]),
    default="reject",
    show_default=True,
    help="What to do with a polygon that overlaps green areas already mapped.",
)
@click.option("--type", "default_type", help="Green type for features without one (layers/green_areas.yaml).")
@click.option("--source", help="Source recorded with each feature (default: the file name).")
@click.option("--valid-from", help="Date the features exist from (default: now), e.g. 2024-05-01.")
@click.option("--dry-run", is_flag=True, help="Check every feature and report; write nothing.")
@click.option("--keep-valid", is_flag=True, help="Write the good features even when some are rejected.")
def import_green_command(
    file: Path, layer, crs, overlap, default_type, source, valid_from, dry_run, keep_valid
):
    """Import green areas (RTH) from GeoJSON, GeoPackage, zipped Shapefile or KML (any CRS)."""
    from tqdm import tqdm

    from geo_app.db import connect
    from geo_app.ingest import green as green_ingest
    from geo_app.ingest.readers import ReadError

    settings = load_settings()
    with tqdm(unit=" fitur", desc="import RTH", disable=None) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            with connect(settings.database_url) as conn:
                zone = city_context(conn, settings).timezone
                report = green_ingest.import_file(
                    conn,
                    settings.city_code,
                    city_catalog(settings),
                    file,
                    layer=layer,
                    crs=crs,
                    overlap=overlap,
                    keep_valid=keep_valid,
                    dry_run=dry_run,
                    default_type=default_type,
                    source=source,
                    valid_from=green_ingest.parse_instant(valid_from, zone=zone, end_of_day=False)
                    if valid_from
                    else None,
                    progress=progress,
                )
        except (ReadError, green_ingest.GreenEditError) as exc:
            raise click.ClickException(str(exc)) from None
    click.echo("\n".join(report.lines()))
    if report.count("rejected") and not keep_valid:
        sys.exit(1)


@main.command("import-population")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", help="Name of the population model in answers (default: the file name).")
@click.option("--year", type=click.IntRange(1900, 2200), help="Year of the raster (default: from its name).")
@click.option("--source", help="Where the raster comes from (default: the file name).")
@click.option(
    "--cell-size", "cell_size_m", type=float, default=100.0, show_default=True, help="Grid cell (m)."
)
@click.option("--dry-run", is_flag=True, help="Read, check and report; write nothing.")
def import_population_command(file: Path, model, year, source, cell_size_m, dry_run):
    """Import a population raster (WorldPop/GHSL GeoTIFF, any CRS) as the city's population grid, scaled
    to the official kelurahan totals; or a CSV kelurahan table (code, population, year, source)."""
    from geo_app.db import transaction
    from geo_app.ingest import population

    settings = load_settings()
    options = {"dry_run": dry_run}
    if file.suffix.lower() != ".csv":
        options.update(model=model, year=year, source=source, cell_size_m=cell_size_m)
    try:
        with transaction(settings.database_url) as conn:
            report = population.import_file(conn, settings.city_code, file, **options)
    except population.PopulationFileError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("\n".join(report.lines()))


@main.command("report")
@click.argument("group", type=click.Choice(["112", "cakupan", "rth"]))
@click.option("--month", required=True, help="Calendar month in the city's time zone, YYYY-MM.")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Default: ./NAME.pdf"
)
@click.option("--public", is_flag=True, help="Only the public aggregates (as a visitor downloads it).")
def report_command(group: str, month: str, out: Path | None, public: bool) -> None:
    """Write the monthly PDF report of a user group (the file /reports/GROUP?month=YYYY-MM serves)."""
    from datetime import datetime

    from geo_app import reports
    from geo_app.db import connect
    from geo_app.usecases.periods import Month

    settings = load_settings()
    try:
        catalog = city_catalog(settings)
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from None
    with connect(settings.database_url) as conn:
        city = city_context(conn, settings)
        try:
            request = reports.ReportRequest(group, Month.parse(month, city), public=public)
            pdf = reports.report_pdf(conn, city, catalog, settings, request, datetime.now(city.timezone))
        except (ValueError, *reports.DATA_ERRORS) as exc:  # a bad month, a public month not ended yet
            raise click.ClickException(str(exc)) from None
    out = out or Path(request.filename(city))
    out.write_bytes(pdf)
    click.echo(f"{group} report for {month} written to {out} ({len(pdf)} bytes)")
