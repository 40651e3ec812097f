"""The command line starts without the web and national stacks: an import pays only for what it uses
(Flask, GeoPandas, pandas and Dask took most of the two to three seconds `geo-app` needed to start)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAVY = ("flask", "werkzeug", "geopandas", "pandas", "dask", "limits")


def modules_loaded_by(statement: str) -> set[str]:
    """Top-level packages loaded by ``statement`` in a fresh interpreter."""
    listing = "import sys\nprint(' '.join({name.split('.')[0] for name in sys.modules}))"
    probe = f"{statement}\n{listing}"
    process = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(process.stdout.split())


def test_the_incident_import_command_starts_without_flask_geopandas_or_dask():
    loaded = modules_loaded_by("from geo_app.cli import main\nimport geo_app.ingest.incidents")
    assert {"geo_app", "click", "psycopg", "pyarrow", "shapely"} <= loaded  # the probe sees imports
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_the_installed_command_keeps_its_exit_status_and_output():
    """``geo-app`` leaves through os._exit: the output must be flushed and the status kept."""
    command = str(Path(sys.executable).with_name("geo-app"))
    shown = subprocess.run([command, "--help"], capture_output=True, text=True)
    assert shown.returncode == 0 and "import-incidents" in shown.stdout
    wrong = subprocess.run([command, "import-incidents", "/no/such/file.csv"], capture_output=True, text=True)
    assert wrong.returncode == 2 and "does not exist" in wrong.stderr  # click's usage error
