"""Keep personal data out of log files: a logging filter on the service's handlers.

Views never log callers, but a database error can quote the data it choked on (``DETAIL: Key
(caller_phone)=(0812...)`` or ``Failing row contains (...)``) and tracebacks are logged whole. The filter
rewrites such fragments, phone numbers anywhere and the secret of sign-in links in access logs, before a
record is written.
"""

from __future__ import annotations

import logging
import re

REDACTIONS = (
    (re.compile(r"Key \(([^)]*)\)=\((?:[^()]|\([^)]*\))*\)"), r"Key (\1)=([redacted])"),
    (re.compile(r"Failing row contains \(.*\)"), "Failing row contains ([redacted])"),
    (re.compile(r"(?<!\d)(?:\+?62|0)8\d{7,11}(?!\d)"), "[phone redacted]"),
    (re.compile(r"/login/link/[^?\s\"]+"), "/login/link/[redacted]"),
)


def redact(text: str) -> str:
    for pattern, replacement in REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class PersonalDataFilter(logging.Filter):
    """Rewrites message and traceback text of every record that passes the handler it is attached to."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install(logger_names: tuple[str, ...] = ("", "gunicorn.error", "gunicorn.access")) -> None:
    """Attach the filter (once) to every handler of these loggers."""
    for name in logger_names:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(existing, PersonalDataFilter) for existing in handler.filters):
                handler.addFilter(PersonalDataFilter())
