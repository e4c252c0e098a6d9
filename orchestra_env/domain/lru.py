"""A least-recently-used cache over an OrderedDict, for the worlds, tasks and sample rows a
domain keeps."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any


def cached(cache: OrderedDict, key: Any, make: Callable[[], Any], limit: int) -> Any:
    """`cache[key]`, made on a miss; the least recently used entry goes past `limit`."""
    if key not in cache:
        cache[key] = make()
        if len(cache) > limit:
            cache.popitem(last=False)
    cache.move_to_end(key)
    return cache[key]
