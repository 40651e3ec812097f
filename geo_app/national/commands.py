"""``geo-app export-parquet``, ``geo-app national`` and ``geo-app make-national-sample``.

GeoPandas and Dask are imported by the commands that use them: the other commands start without them."""

from __future__ import annotations

from pathlib import Path

import click
from tqdm import tqdm


def _settings():
    from geo_app.cli import load_settings

    return load_settings()


@click.command("export-parquet")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--city", "city_code", help="City code to export (default: CITY_CODE).")
def export_parquet_command(out_dir: Path, city_code: str | None) -> None:
    """Write a city's incidents (without personal data), assets, green areas and areas as GeoParquet into
    the national collection OUT_DIR, partitioned by city code."""
    from geo_app.city import CityError
    from geo_app.national.collection import CollectionError
    from geo_app.national.export import export_city

    settings = _settings()
    city_code = city_code or settings.city_code
    bars: dict[str, tqdm] = {}

    def progress(layer: str, rows: int) -> None:
        bar = bars.setdefault(layer, tqdm(desc=layer, unit=" rows", leave=True))
        bar.update(rows)

    try:
        written = export_city(settings.database_url, city_code, out_dir, progress)
    except (CityError, CollectionError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        for bar in bars.values():
            bar.close()
    click.echo(f"city {city_code} written to {out_dir}: " + ", ".join(f"{k} {v}" for k, v in written.items()))


@click.command("national")
@click.argument("collection_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="default: NATIONAL_OUTPUT_DIR"
)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="Local workers.")
@click.option(
    "--scheduler",
    envvar="DASK_SCHEDULER_ADDRESS",
    help="Address of a running Dask scheduler (tcp:// or tls://); default: a local cluster.",
)
@click.option("--threads", is_flag=True, help="Local workers as threads of this process, not processes.")
@click.option("--h3-resolution", default=8, show_default=True, type=click.IntRange(5, 10))
def national_command(
    collection_dir: Path,
    out_dir: Path | None,
    workers: int,
    scheduler: str | None,
    threads: bool,
    h3_resolution: int,
) -> None:
    """League tables and hot spots of every city in COLLECTION_DIR, and cross-border hot spots, on Dask."""
    from geo_app.catalog import load_catalog
    from geo_app.national.city_analysis import NationalSettings
    from geo_app.national.collection import CollectionError
    from geo_app.national.run import dask_client, run_national

    settings = _settings()
    national = NationalSettings.from_catalog(
        load_catalog(settings.layers_dir), settings.fire_coverage_radius_m, h3_resolution
    )
    out_dir = out_dir or settings.national_output_dir
    try:
        with dask_client(scheduler, workers, processes=not threads) as client:
            run_dir = run_national(client, collection_dir, out_dir, national)
    except CollectionError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"national run written to {run_dir}")


@click.command("make-national-sample")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--cities", default=100, show_default=True, type=click.IntRange(1, 99 * 9))
@click.option("--calls", "calls_per_city", default=100_000, show_default=True, type=click.IntRange(1))
def make_national_sample_command(out_dir: Path, cities: int, calls_per_city: int) -> None:
    """Write N synthetic cities (copies of the sample city across Indonesia) as a national collection."""
    from geo_app.national.simulation import simulate_collection

    with tqdm(total=cities, desc="cities", unit="city") as bar:
        simulate_collection(out_dir, cities, calls_per_city, progress=lambda place: bar.update())
    click.echo(f"{cities} synthetic cities of {calls_per_city} calls written to {out_dir}")


COMMANDS = (export_parquet_command, national_command, make_national_sample_command)
