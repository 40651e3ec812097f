"""The CSW 2.0.2/3.0 catalogue of the node: pycsw 2.6 serving the ISO 19139 records of the published layers.

Runs in its own virtual environment (.local/pycsw-venv, requirements/pycsw.lock), not the service's: pycsw
2.6 needs older OWSLib, SQLAlchemy and Shapely. So this file imports only the standard library and what
that environment holds, and is started as a script (scripts/run does):

    .local/pycsw-venv/bin/python geo_app/csw_node/pycsw_app.py

It listens on 127.0.0.1:CSW_PORT only; the web app proxies /csw to it (geo_app/web/csw.py), read
operations only, so access rules and the public address stay the web app's. The records live in the table
``csw.records`` of the service's own database (pycsw's layout, PostGIS geometry); every
CSW_REFRESH_SECONDS they are replaced, in one transaction, by the records ``geo-app metadata-records``
writes from the catalog and the data (geo_app.ows.metadata), so the catalogue never lags the layers long.

Environment: DATABASE_URL (a role that may create the schema ``csw``), CSW_SITE_URL (the public address
of the service; the catalogue answers at CSW_SITE_URL/csw and the records link WMS/WFS/OGC API there),
CSW_PORT (default 5001), CSW_REFRESH_SECONDS (default 300), GEO_APP_COMMAND (default: the geo-app of
the service's .venv beside this repository), and CITY_CODE/LAYERS_DIR as the service reads them.
"""

from __future__ import annotations

import configparser
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from socketserver import ThreadingMixIn
from urllib.parse import quote
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from lxml import etree
from pycsw import server
from pycsw.core import admin, metadata
from pycsw.core.config import StaticContext
from pycsw.core.repository import Repository

REPO_DIR = Path(__file__).resolve().parents[2]
SCHEMA = "csw"
TABLE = "records"
LOG = logging.getLogger("csw_node")


def repository_url(database_url: str) -> str:
    """The service's database for SQLAlchemy/psycopg2, with the schema ``csw`` first on the search path
    (pycsw 2.6 names its table unqualified in some of its SQL)."""
    url = database_url.replace("postgresql://", "postgresql+psycopg2://", 1).replace(
        "postgres://", "postgresql+psycopg2://", 1
    )
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={SCHEMA},public')}"


def pycsw_config(database: str, site_url: str) -> configparser.ConfigParser:
    """pycsw's configuration: read-only (no transactions), ISO application profile, in Indonesian."""
    config = configparser.ConfigParser(interpolation=None)
    config.read_dict(
        {
            "server": {
                "url": f"{site_url}/csw",
                "mimetype": "application/xml; charset=UTF-8",
                "encoding": "UTF-8",
                "language": "en-US",
                "maxrecords": "100",
                "pretty_print": "true",
                "domainquerytype": "list",
                "domaincounts": "false",
                "profiles": "apiso",
            },
            "manager": {"transactions": "false", "allowed_ips": ""},
            "metadata:main": {
                "identification_title": "Katalog metadata simpul jaringan informasi geospasial kota",
                "identification_abstract": "Metadata ISO 19139 (SNI 8843-1:2019) setiap layer WMS/WFS dan "
                "OGC API – Features yang diterbitkan kota: batas administrasi, aset kota cerdas, ruang "
                "terbuka hijau dan jumlah insiden 112.",
                "identification_keywords": "simpul jaringan,metadata,ISO 19139,CSW,Ina-Geoportal",
                "identification_keywords_type": "theme",
                "identification_fees": "None",
                "identification_accessconstraints": "None",
                "provider_name": "Dinas Komunikasi dan Informatika (Simpul Jaringan)",
                "provider_url": site_url,
                "contact_name": "Dinas Komunikasi dan Informatika",
                "contact_position": "Simpul Jaringan",
                "contact_address": "",
                "contact_city": "",
                "contact_stateorprovince": "",
                "contact_postalcode": "",
                "contact_country": "Indonesia",
                "contact_phone": "",
                "contact_fax": "",
                "contact_email": "",
                "contact_url": site_url,
                "contact_hours": "",
                "contact_instructions": "",
                "contact_role": "pointOfContact",
            },
            "repository": {"database": database, "table": TABLE},
            "metadata:inspire": {"enabled": "false"},
        }
    )
    return config


def ensure_repository(database: str) -> None:
    """The schema ``csw`` and pycsw's table in it, created on the first start."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(database)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    if not inspect(engine).has_table(TABLE, schema=SCHEMA):
        admin.setup_db(database, TABLE, str(REPO_DIR), create_plpythonu_functions=False)
    engine.dispose()


def read_records(command: list[str], site_url: str) -> dict[str, bytes]:
    """The ISO 19139 records the service writes now, by file identifier."""
    result = subprocess.run(
        [*command, "metadata-records", "--site", site_url], capture_output=True, timeout=600, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"geo-app metadata-records failed: {result.stderr.decode(errors='replace')}")
    return {key: xml.encode() for key, xml in json.loads(result.stdout).items()}


def replace_records(database: str, records: dict[str, bytes]) -> None:
    """The repository holds exactly ``records`` afterwards, changed in one transaction."""
    context = StaticContext()
    repository = Repository(database, context, table=TABLE)
    parsed = []
    for identifier, xml in records.items():
        (record,) = metadata.parse_record(context, etree.fromstring(xml, context.parser), repository)
        if record.identifier != identifier:
            raise ValueError(f"record {identifier} carries the identifier {record.identifier}")
        record.xml = record.xml.decode() if isinstance(record.xml, bytes) else record.xml
        parsed.append(record)
    session = repository.session
    session.begin()
    try:
        session.query(repository.dataset).delete(synchronize_session=False)
        session.add_all(parsed)
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def keep_records_fresh(
    database: str, command: list[str], site_url: str, every_seconds: int, first_wait: int
) -> None:
    """Refresh forever; a failed refresh keeps the last records and is retried sooner."""
    wait = first_wait
    while True:
        time.sleep(wait)
        try:
            records = read_records(command, site_url)
            replace_records(database, records)
            LOG.info("catalogue holds %d records", len(records))
            wait = every_seconds
        except Exception:
            LOG.exception("refreshing the catalogue failed; keeping the records it has")
            wait = min(every_seconds, 30)


def make_application(config: configparser.ConfigParser):
    def application(environ, start_response):
        csw = server.Csw(config, environ)
        status, contents = csw.dispatch_wsgi()
        start_response(status, [("Content-Type", csw.contenttype), ("Content-Length", str(len(contents)))])
        return [contents]

    return application


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the standard library's signature)
        LOG.debug(format, *args)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="csw_node %(levelname)s %(message)s", stream=sys.stderr)
    LOG.setLevel(logging.INFO)
    database = repository_url(os.environ["DATABASE_URL"])
    site_url = os.environ["CSW_SITE_URL"].rstrip("/")
    port = int(os.environ.get("CSW_PORT") or 5001)
    every = int(os.environ.get("CSW_REFRESH_SECONDS") or 300)
    command = [os.environ.get("GEO_APP_COMMAND") or str(REPO_DIR / ".venv" / "bin" / "geo-app")]
    ensure_repository(database)
    first_wait = every
    try:
        replace_records(database, read_records(command, site_url))  # records before the first request
    except Exception:
        LOG.exception("no records yet (retried in 30 s); the catalogue answers with what it holds")
        first_wait = min(every, 30)
    threading.Thread(
        target=keep_records_fresh, args=(database, command, site_url, every, first_wait), daemon=True
    ).start()
    httpd = make_server(
        "127.0.0.1",
        port,
        make_application(pycsw_config(database, site_url)),
        server_class=ThreadingServer,
        handler_class=QuietHandler,
    )
    LOG.info("serving CSW on http://127.0.0.1:%d (public address %s/csw)", port, site_url)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
