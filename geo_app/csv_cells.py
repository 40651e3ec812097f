"""CSV files the service writes open safely in a spreadsheet (OWASP "CSV injection").

Excel, LibreOffice and Google Sheets run a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return as a formula, so a name such as ``=HYPERLINK(...)`` typed into an asset would act when
the export is opened. Every CSV the service writes goes through :func:`to_csv`, which puts a single
quote before such text cells (spreadsheets show the text as it was). Numeric columns are left alone:
-6.01 stays a number. Lines end in CRLF (RFC 4180), so a cell holding a carriage return is quoted too
and cannot start a row of its own. The CSV reader drops the quote again (:func:`restore_formulas`), so
an exported file imports back unchanged.
"""

from __future__ import annotations

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def _neutralised(value: object) -> object:
    return QUOTE + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def _restored(value: object) -> object:
    if isinstance(value, str) and value.startswith(QUOTE) and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def to_csv(frame: pd.DataFrame, **options) -> str:
    """The frame as CSV text without its index, text cells that would start a formula quoted."""
    safe = frame.copy()
    for column in frame.select_dtypes(include=["object", "string"]).columns:
        safe[column] = frame[column].map(_neutralised)
    return safe.to_csv(index=False, lineterminator="\r\n", **options)


def restore_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """Text read from a CSV without the quote :func:`to_csv` put before a formula-like cell."""
    return table.map(_restored)
