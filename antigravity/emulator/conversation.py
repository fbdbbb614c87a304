"""Gemini's turn rules for function calling: every call turn answered by one response turn.

A model turn with N functionCall parts must be followed at once by a user turn with exactly N
functionResponse parts, answering the calls by `id` when every call has one, else by name
(order does not matter). A response turn must follow a call turn, and a call turn must follow a
user turn. A request may end with a call turn (nothing answers it yet), and may start with a
model turn (Gemini tolerates that).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from .errors import GeminiError, invalid_argument

RESPONSE_AFTER_CALL = (
    "Please ensure that function response turn comes immediately after a function call turn."
)
CALL_AFTER_USER = (
    "Please ensure that function call turn comes immediately after a user turn or after a "
    "function response turn."
)
SAME_COUNT = (
    "Please ensure that the number of function response parts is equal to the number of "
    "function call parts of the function call turn."
)
SAME_NAMES = (
    "Please ensure that the function response parts answer the function call parts of the "
    "function call turn: their names must match."
)
SAME_IDS = (
    "Please ensure that the function response parts answer the function call parts of the "
    "function call turn: their ids must match."
)


def _parts(content: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [p[kind] for p in content.get("parts") or [] if isinstance(p.get(kind), dict)]


def _is_model(content: dict[str, Any]) -> bool:
    return content.get("role") == "model"


def check_turns(body: dict[str, Any], model: str) -> None:
    contents: list[dict[str, Any]] = body.get("contents") or []
    for i, content in enumerate(contents):
        calls = _parts(content, "functionCall") if _is_model(content) else []
        responses = _parts(content, "functionResponse")
        previous = contents[i - 1] if i > 0 else None
        if responses and (
            _is_model(content)
            or previous is None
            or not _is_model(previous)
            or not _parts(previous, "functionCall")
        ):
            raise invalid_argument(RESPONSE_AFTER_CALL)
        if not calls:
            continue
        if previous is not None and _is_model(previous):
            raise invalid_argument(CALL_AFTER_USER)
        if i + 1 == len(contents):
            continue
        answer = contents[i + 1]
        if _is_model(answer) or not _parts(answer, "functionResponse"):
            raise invalid_argument(RESPONSE_AFTER_CALL)
        if error := _pairing(calls, _parts(answer, "functionResponse")):
            raise error


def _pairing(calls: list[dict[str, Any]], responses: list[dict[str, Any]]) -> GeminiError | None:
    if len(calls) != len(responses):
        return invalid_argument(SAME_COUNT)
    if all(c.get("id") for c in calls):
        if Counter(c["id"] for c in calls) != Counter(r.get("id") for r in responses):
            return invalid_argument(SAME_IDS)
        names = {c["id"]: c.get("name") for c in calls}
        if any(names[r["id"]] != r.get("name") for r in responses):
            return invalid_argument(SAME_NAMES)
        return None
    if Counter(c.get("name") for c in calls) != Counter(r.get("name") for r in responses):
        return invalid_argument(SAME_NAMES)
    return None
