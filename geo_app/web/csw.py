"""/csw: the node's CSW catalogue (OGC CSW 2.0.2 and 3.0, ISO application profile), answered by pycsw.

pycsw runs as its own process on 127.0.0.1 (geo_app/csw_node/pycsw_app.py, started by scripts/run); this
view passes it the read operations only, so the catalogue cannot be written through the web (pycsw's own
transactions are off as well) and it is reached under the service's address and access rules, like /ows.
"""

from __future__ import annotations

import urllib.error
import urllib.request

from flask import Blueprint, Response, request
from lxml import etree

from geo_app.web import deps
from geo_app.web.apidoc import QueryParam, declare
from geo_app.web.errors import Problem

blueprint = Blueprint("csw", __name__)

READ_OPERATIONS = ("GetCapabilities", "DescribeRecord", "GetRecords", "GetRecordById", "GetDomain")
WRITE_OPERATIONS = ("Transaction", "Harvest")
PYCSW_TIMEOUT_SECONDS = 30
XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def requested_operation() -> str:
    """The CSW operation: the REQUEST parameter of a GET, the root element of a POSTed XML request."""
    if request.method == "GET":
        names = {key.lower(): value for key, value in request.args.items()}
        if "request" not in names:
            raise Problem(
                400,
                "Not a CSW request",
                "Give SERVICE=CSW and a REQUEST, e.g. /csw?SERVICE=CSW&REQUEST=GetCapabilities.",
            )
        return names["request"]
    try:
        root = etree.fromstring(request.get_data(), XML_PARSER)
    except etree.XMLSyntaxError as exc:
        raise Problem(400, "Not an XML document", f"POST a CSW request as XML: {exc}") from None
    if root.getroottree().docinfo.doctype:  # the body goes on to pycsw's own parser: no DTD, no entities
        raise Problem(
            400, "DOCTYPE not accepted", "POST the CSW request without a <!DOCTYPE ...> declaration."
        )
    return etree.QName(root).localname


def check_operation(operation: str) -> None:
    if operation in WRITE_OPERATIONS:
        raise Problem(
            403,
            "The catalogue is read-only",
            f"{operation} is not offered: the records are written from the layer catalog and the data "
            "(geo_app.ows.metadata) and refreshed by the service itself.",
        )
    if operation not in READ_OPERATIONS:
        raise Problem(
            400,
            "Unknown CSW operation",
            f"{operation!r} is not offered; use one of {', '.join(READ_OPERATIONS)}.",
        )


@blueprint.route("/csw", methods=["GET", "POST"])
@declare(
    QueryParam("SERVICE", "CSW", enum=("CSW",)),
    QueryParam("VERSION", "2.0.2 or 3.0.0", enum=("2.0.2", "3.0.0")),
    QueryParam("REQUEST", ", ".join(READ_OPERATIONS), enum=READ_OPERATIONS),
    media_type="application/xml",
)
def csw():
    """CSW catalogue of the ISO 19139 records of every published layer (read operations only)."""
    check_operation(requested_operation())
    target = deps.settings().csw_url.rstrip("/") + "/"
    if request.query_string:
        target += "?" + request.query_string.decode("latin-1")
    forwarded = urllib.request.Request(
        target,
        data=request.get_data() if request.method == "POST" else None,
        headers={"Content-Type": request.content_type or "application/xml"},
        method=request.method,
    )
    try:
        with urllib.request.urlopen(forwarded, timeout=PYCSW_TIMEOUT_SECONDS) as answer:
            status, content_type, body = answer.status, answer.headers.get("Content-Type"), answer.read()
    except urllib.error.HTTPError as exc:
        status, content_type, body = exc.code, exc.headers.get("Content-Type"), exc.read()
    except (urllib.error.URLError, TimeoutError):
        raise Problem(
            503,
            "Catalogue not running",
            "The CSW catalogue process (pycsw) does not answer; scripts/run starts it on CSW_URL.",
        ) from None
    return Response(body, status=status, content_type=content_type or "application/xml")
