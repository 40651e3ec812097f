"""What a use case reports when it cannot answer: the web layer turns each into one problem+json
(geo_app.web.errors), the CLI and the reports into a message; none of them knows about HTTP."""

from __future__ import annotations

from geo_app.analysis.coverage import CoverageError
from geo_app.analysis.green import NoKelurahan
from geo_app.analysis.hotspots import NotEnoughData
from geo_app.analysis.limits import TooMuchWork

__all__ = [
    "CoverageError",
    "NoArea",
    "NoKelurahan",
    "NotEnoughData",
    "NotFound",
    "Rejected",
    "TooMuchWork",
    "WholeMonthsOnly",
]


class NotFound(LookupError):
    """No ``what`` with this ``key`` in the city."""

    def __init__(self, what: str, key: object, hint: str = ""):
        super().__init__(f"There is no {what} {key} in this city.{' ' + hint if hint else ''}")
        self.what = what
        self.key = key


class Rejected(ValueError):
    """The data sent breaks a rule: ``reasons`` say which, ``report`` is the whole check (if any)."""

    def __init__(self, title: str, reasons: list[str], report: dict | None = None):
        super().__init__("; ".join(reasons) or title)
        self.title = title
        self.reasons = reasons
        self.report = report


class NoArea(LookupError):
    """The filters select no kelurahan of the city, so there is nothing to analyse."""


class WholeMonthsOnly(ValueError):
    """A period that is not whole calendar months, asked by a role that may see only those; ``parameter``
    is ``start`` or ``end``, the message says which months to give instead."""

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter
