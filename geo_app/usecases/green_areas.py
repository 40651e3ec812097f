"""Green areas (RTH) as records: the list at a moment, filtered, in keyset pages."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from geo_app.city import CityContext
from geo_app.store import green as green_store
from geo_app.usecases.paging import Page, PageRequest, page_of


@dataclass(frozen=True)
class GreenAreaList:
    filters: green_store.GreenFilter
    page: PageRequest = PageRequest()


def list_green_areas(
    conn: psycopg.Connection, city: CityContext, request: GreenAreaList
) -> tuple[Page[dict], int]:
    """One page ordered by id (the sort key) and how many green areas match in all."""
    after = request.page.after[0] if request.page.after else None
    rows, matched = green_store.list_green_areas(
        conn, city.code, request.filters, after, request.page.limit + 1
    )
    return page_of(rows, request.page.limit, lambda row: (row["id"],)), matched
