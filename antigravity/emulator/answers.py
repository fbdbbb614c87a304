"""Deterministic answers and their GenerateContentResponse shapes (whole and streamed).

A token is a whitespace-separated word, so tests can predict every count.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, replace
from typing import Any

from .validation import as_int

WORDS_PER_CHUNK = 3
SAID_LIMIT = 200
SAFETY_RATINGS: tuple[dict[str, Any], ...] = (
    {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
    {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"},
    {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True},
)


@dataclass(frozen=True)
class Candidate:
    text: str
    finish_reason: str = "STOP"
    has_content: bool = True
    safety_ratings: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Answer:
    """What the emulator will say, before it is shaped as one response or as chunks."""

    model: str
    response_id: str
    prompt_tokens: int
    candidates: tuple[Candidate, ...]
    block_reason: str | None = None


def count_tokens(text: str) -> int:
    return len(text.split())


def _words(text: str) -> list[str]:
    """Words with their leading whitespace, so joining them gives the text back."""
    return re.findall(r"\s*\S+", text)


def _texts(content: Any) -> list[str]:
    if not isinstance(content, dict):
        return []
    parts = content.get("parts") or []
    return [p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)]


def prompt_tokens(body: dict[str, Any]) -> int:
    texts = _texts(body.get("systemInstruction"))
    for content in body.get("contents") or []:
        texts += _texts(content)
    return sum(count_tokens(t) for t in texts)


def last_user_text(body: dict[str, Any]) -> str:
    for content in reversed(body.get("contents") or []):
        if content.get("role") in (None, "", "user") and (texts := _texts(content)):
            return " ".join(texts)
    return ""


def response_id(model: str, body: dict[str, Any]) -> str:
    digest = hashlib.sha256((model + json.dumps(body, sort_keys=True)).encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def _limit(text: str, stops: list[str], max_tokens: int | None) -> Candidate:
    cuts = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    if cuts:
        text = text[: min(cuts)]
    if max_tokens is not None and count_tokens(text) > max_tokens:
        return Candidate("".join(_words(text)[: max(max_tokens, 0)]), "MAX_TOKENS")
    return Candidate(text)


def compose(model: str, body: dict[str, Any]) -> Answer:
    """The answer to a validated generateContent request."""
    config = body.get("generationConfig") or {}
    n = as_int(config.get("candidateCount")) or 1
    max_tokens = as_int(config.get("maxOutputTokens"))
    stops = config.get("stopSequences") or []
    said = last_user_text(body)[:SAID_LIMIT]
    text = f"Hello from the antigravity Gemini emulator ({model}). You said: {said}"
    candidates = tuple(
        _limit(f"[candidate {i}] {text}" if n > 1 else text, stops, max_tokens) for i in range(n)
    )
    return Answer(model, response_id(model, body), prompt_tokens(body), candidates)


def with_finish(answer: Answer, reason: str) -> Answer:
    """End every candidate with `reason`, shaped as Gemini shapes that reason."""
    ratings = SAFETY_RATINGS if reason == "SAFETY" else ()
    has_content = reason != "MALFORMED_FUNCTION_CALL"
    return replace(
        answer,
        candidates=tuple(
            replace(
                c,
                text=c.text if has_content else "",
                finish_reason=reason,
                has_content=has_content,
                safety_ratings=ratings,
            )
            for c in answer.candidates
        ),
    )


def blocked(answer: Answer, reason: str = "SAFETY") -> Answer:
    return replace(answer, candidates=(), block_reason=reason)


def empty(answer: Answer) -> Answer:
    return replace(answer, candidates=(), block_reason=None)


def _usage(prompt: int, emitted: int) -> dict[str, Any]:
    return {
        "promptTokenCount": prompt,
        "candidatesTokenCount": emitted,
        "totalTokenCount": prompt + emitted,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
    }


def _candidate(index: int, cand: Candidate, text: str | None, final: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if text is not None:
        out["content"] = {"parts": [{"text": text}], "role": "model"}
    if final:
        out["finishReason"] = cand.finish_reason
    out["index"] = index
    if final and cand.safety_ratings:
        out["safetyRatings"] = list(cand.safety_ratings)
    return out


def _envelope(answer: Answer, candidates: list[dict[str, Any]], emitted: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if answer.block_reason:
        out["promptFeedback"] = {
            "blockReason": answer.block_reason,
            "safetyRatings": list(SAFETY_RATINGS),
        }
    else:
        out["candidates"] = candidates
    out["usageMetadata"] = _usage(answer.prompt_tokens, emitted)
    out["modelVersion"] = answer.model
    out["responseId"] = answer.response_id
    return out


def to_response(answer: Answer) -> dict[str, Any]:
    """The whole answer as one generateContent response."""
    candidates = [
        _candidate(i, c, c.text if c.has_content else None, final=True)
        for i, c in enumerate(answer.candidates)
    ]
    emitted = sum(count_tokens(c.text) for c in answer.candidates)
    return _envelope(answer, candidates, emitted)


def to_chunks(answer: Answer, per_chunk: int = WORDS_PER_CHUNK) -> list[dict[str, Any]]:
    """The answer as streamed responses: a few words each, cumulative usage, finish on the last."""
    if not answer.candidates:
        return [to_response(answer)]
    groups = []
    for c in answer.candidates:
        words = _words(c.text) if c.has_content else []
        groups.append(["".join(words[i : i + per_chunk]) for i in range(0, len(words), per_chunk)])
    total = max(1, *(len(g) for g in groups))
    chunks, emitted = [], 0
    for k in range(total):
        final = k == total - 1
        candidates = []
        for i, (cand, pieces) in enumerate(zip(answer.candidates, groups, strict=True)):
            if k < len(pieces):
                text: str | None = pieces[k]
            elif final:
                text = "" if cand.has_content else None
            else:
                continue
            emitted += count_tokens(text or "")
            candidates.append(_candidate(i, cand, text, final))
        chunks.append(_envelope(answer, candidates, emitted))
    return chunks


def without_finish(chunk: dict[str, Any]) -> dict[str, Any]:
    """The chunk as a stream cut short would have sent it: no finishReason anywhere."""
    candidates = [
        {k: v for k, v in c.items() if k not in ("finishReason", "safetyRatings")}
        for c in chunk.get("candidates", [])
    ]
    return {**chunk, "candidates": candidates} if "candidates" in chunk else chunk
