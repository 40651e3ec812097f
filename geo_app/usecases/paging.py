"""Keyset pages: every list the service offers is read one page at a time after a position in its order.

A list's order is a unique sort key (e.g. (received_at, id) newest first, or id); a page request says how
many items to give after which key, and a page says where the next one starts. Reading after a key stays
as fast on page 1,000 as on page 1, and rows added meanwhile neither repeat nor get skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")


@dataclass(frozen=True)
class PageRequest:
    """``limit`` items after the sort key ``after`` (None: from the start)."""

    limit: int = 100
    after: tuple | None = None


@dataclass(frozen=True)
class Page(Generic[Item]):
    """One page and the sort key to continue after (None on the last page)."""

    items: list[Item]
    next_key: tuple | None


def page_of(rows: Sequence[Item], limit: int, key: Callable[[Item], tuple]) -> Page[Item]:
    """The page from ``limit + 1`` rows read in order: the extra row only tells that more follow."""
    items = list(rows[:limit])
    return Page(items, key(items[-1]) if len(rows) > limit else None)
