"""Gemini 3 thought signatures, kept gateway-side because OpenAI clients drop unknown fields.

Gemini returns a `thoughtSignature` with function calls and requires it back on the same part
in later turns. Chat clients resend the history without it, so the gateway remembers each
signature under the tool-call id it minted, in a bounded store (oldest forgotten first).
"""

from __future__ import annotations

from collections import OrderedDict

# Google's documented placeholder for history the gateway has no signature for (e.g. after a
# restart, or turns written by another model); it skips validation at some cost in quality.
DUMMY_SIGNATURE = "skip_thought_signature_validator"


class SignatureStore:
    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, call_id: str, signature: str) -> None:
        self._items[call_id] = signature
        self._items.move_to_end(call_id)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def get(self, call_id: str) -> str | None:
        return self._items.get(call_id)
