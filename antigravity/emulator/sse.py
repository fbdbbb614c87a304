"""Gemini's server-sent-events framing, delivered in awkward pieces like a real network."""

from __future__ import annotations

import json
import random
from itertools import pairwise
from typing import Any


def frame(chunk: dict[str, Any]) -> bytes:
    """One event as generativelanguage.googleapis.com frames it: compact JSON, CRLF CRLF."""
    payload = json.dumps(chunk, separators=(",", ":"), ensure_ascii=False)
    return f"data: {payload}\r\n\r\n".encode()


def split(data: bytes, rng: random.Random) -> list[bytes]:
    """Cut `data` into 2-3 pieces at pseudo-random byte offsets.

    When the data holds multi-byte UTF-8 characters, one cut always falls inside one of them,
    so clients that decode each piece on its own break here as they would on a real network.
    """
    if len(data) < 3:
        return [data]
    inside = [i for i, byte in enumerate(data) if 0x80 <= byte < 0xC0]
    cuts = {rng.choice(inside)} if inside else set()
    count = rng.choice((1, 2))
    while len(cuts) < count:
        cuts.add(rng.randrange(1, len(data)))
    edges = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in pairwise(edges)]
