"""Recently built vector tiles, kept per process for as long as clients may cache them anyway.

A tile answered with ``Cache-Control: max-age=N`` may be reused by any client for N seconds, so serving
the same bytes from memory for N seconds changes nothing a client can see, and a busy map (many people
on the same area) costs one query per tile per N seconds instead of one per request.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

TileKey = tuple[str, int, int, int]


class TileCache:
    """Least-recently-used tiles with an age limit per lookup; safe to share between threads."""

    def __init__(self, max_tiles: int = 2048):
        self.max_tiles = max_tiles
        self._tiles: OrderedDict[TileKey, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, key: TileKey, max_age: float, build: Callable[[], bytes]) -> bytes:
        now = time.monotonic()
        with self._lock:
            entry = self._tiles.get(key)
            if entry is not None and now - entry[0] < max_age:
                self._tiles.move_to_end(key)
                return entry[1]
        data = build()
        with self._lock:
            self._tiles[key] = (now, data)
            self._tiles.move_to_end(key)
            while len(self._tiles) > self.max_tiles:
                self._tiles.popitem(last=False)
        return data
