"""Stored Responses conversations, for clients that continue with `previous_response_id`."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any


class ResponseHistory:
    """The last `capacity` stored responses (their full item history), in memory only."""

    def __init__(self, capacity: int = 1000) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()

    def put(self, response_id: str, items: list[dict[str, Any]]) -> None:
        self._items[response_id] = items
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def get(self, response_id: str) -> list[dict[str, Any]] | None:
        items = self._items.get(response_id)
        if items is not None:
            self._items.move_to_end(response_id)
        return items
