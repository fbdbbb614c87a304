"""What an answer holds before it is shaped as JSON: candidates, calls, thoughts, signatures.

A token is a whitespace-separated word, so tests can predict every count.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Call:
    name: str
    args: dict[str, Any]
    id: str | None = None

    def part(self) -> dict[str, Any]:
        call: dict[str, Any] = {"name": self.name, "args": self.args}
        if self.id is not None:
            call = {"id": self.id, **call}
        return {"functionCall": call}

    def tokens(self) -> int:
        return count_tokens(f"{self.name} {json.dumps(self.args, ensure_ascii=False)}")


@dataclass(frozen=True)
class Candidate:
    text: str
    finish_reason: str = "STOP"
    has_content: bool = True
    safety_ratings: tuple[dict[str, Any], ...] = ()
    thought: str = ""  # the thought summary shown ("" when none is shown)
    thought_tokens: int = 0  # thinking tokens spent, shown or not
    calls: tuple[Call, ...] = ()
    signature: str | None = None  # on the first call, or on the last part of a text answer
    finish_message: str | None = None

    def visible_tokens(self) -> int:
        if not self.has_content:
            return 0
        return count_tokens(self.text) + sum(c.tokens() for c in self.calls)


@dataclass(frozen=True)
class Answer:
    """What the emulator will say, before it is shaped as one response or as chunks."""

    model: str
    response_id: str
    prompt_tokens: int
    candidates: tuple[Candidate, ...]
    block_reason: str | None = None
    logprobs: int | None = None  # None: not asked; else top candidates per step (0: none)
    prompt_details: tuple[dict[str, Any], ...] = ()  # promptTokensDetails; default all TEXT


def count_tokens(text: str) -> int:
    return len(text.split())


def words(text: str) -> list[str]:
    """Words with their leading whitespace, so joining them gives the text back."""
    return re.findall(r"\s*\S+", text)
