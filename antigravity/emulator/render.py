"""An Answer as Gemini shapes it: one GenerateContentResponse, or the chunks of a stream.

Streams follow the recorded Gemini 3 traffic: thoughts first (a few words a chunk), then the
answer text a few words a chunk, or all function calls whole in one chunk followed by a final
chunk with empty text; a signed text answer ends with an empty-text chunk carrying the
signature. Usage is cumulative, and `finishReason` comes on the last chunk only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import logprobs
from .content import Answer, Candidate, count_tokens, words

WORDS_PER_CHUNK = 3
SAFETY_RATINGS: tuple[dict[str, Any], ...] = (
    {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
    {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"},
    {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True},
)


def _usage(answer: Answer, emitted: int, thoughts: int) -> dict[str, Any]:
    prompt = answer.prompt_tokens
    out: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": emitted,
        "totalTokenCount": prompt + emitted + thoughts,
        "promptTokensDetails": list(answer.prompt_details)
        or [{"modality": "TEXT", "tokenCount": prompt}],
    }
    if thoughts:
        out["thoughtsTokenCount"] = thoughts
    return out


def _envelope(
    answer: Answer, candidates: list[dict[str, Any]], emitted: int, thoughts: int
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if answer.block_reason:
        out["promptFeedback"] = {
            "blockReason": answer.block_reason,
            "safetyRatings": list(SAFETY_RATINGS),
        }
    else:
        out["candidates"] = candidates
    out["usageMetadata"] = _usage(answer, emitted, thoughts)
    out["modelVersion"] = answer.model
    out["responseId"] = answer.response_id
    return out


def _text_part_wanted(cand: Candidate) -> bool:
    """A text part, even empty, unless thinking used up the room for any answer."""
    return bool(cand.text) or (not cand.calls and cand.thought_tokens == 0)


def _whole_parts(cand: Candidate) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if cand.thought:
        parts.append({"text": cand.thought, "thought": True})
    if cand.calls:
        for k, call in enumerate(cand.calls):
            part = call.part()
            if k == 0 and cand.signature:
                part["thoughtSignature"] = cand.signature
            parts.append(part)
        return parts
    if _text_part_wanted(cand):
        parts.append({"text": cand.text})
    if cand.signature and parts:
        parts[-1] = {**parts[-1], "thoughtSignature": cand.signature}
    return parts


def _shape(
    index: int,
    cand: Candidate,
    parts: list[dict[str, Any]] | None,
    final: bool,
    answer: Answer,
    tokens: list[str],
    start: int,
    whole: bool = False,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if parts is not None:
        out["content"] = {"parts": parts, "role": "model"} if parts else {"role": "model"}
    if final:
        out["finishReason"] = cand.finish_reason
    out["index"] = index
    if final and cand.safety_ratings:
        out["safetyRatings"] = list(cand.safety_ratings)
    if final and cand.finish_message and whole:
        out["finishMessage"] = cand.finish_message  # recorded streams do not carry it
    if answer.logprobs is not None and tokens:
        result = logprobs.result(tokens, start, answer.logprobs)
        out["avgLogprobs"] = logprobs.average(result)
        out["logprobsResult"] = result
    return out


def to_response(answer: Answer) -> dict[str, Any]:
    """The whole answer as one generateContent response."""
    candidates = []
    for i, cand in enumerate(answer.candidates):
        parts = _whole_parts(cand) if cand.has_content else None
        tokens = words(cand.text) if cand.has_content and not cand.calls else []
        candidates.append(_shape(i, cand, parts, True, answer, tokens, 0, whole=True))
    emitted = sum(c.visible_tokens() for c in answer.candidates)
    thoughts = sum(c.thought_tokens for c in answer.candidates)
    return _envelope(answer, candidates, emitted, thoughts)


@dataclass
class _Event:
    """One chunk's worth of one candidate."""

    parts: list[dict[str, Any]]
    visible: int = 0
    thoughts: int = 0
    tokens: list[str] = field(default_factory=list)
    start: int = 0


def _pieces(text: str, per_chunk: int) -> list[str]:
    found = words(text)
    return ["".join(found[i : i + per_chunk]) for i in range(0, len(found), per_chunk)]


def _events(cand: Candidate, per_chunk: int) -> list[_Event]:
    if not cand.has_content:
        return []
    events = [
        _Event([{"text": piece, "thought": True}], thoughts=count_tokens(piece))
        for piece in _pieces(cand.thought, per_chunk)
    ]
    if cand.calls:
        parts = []
        for k, call in enumerate(cand.calls):
            part = call.part()
            if k == 0 and cand.signature:
                part["thoughtSignature"] = cand.signature
            parts.append(part)
        events.append(_Event(parts, visible=sum(c.tokens() for c in cand.calls)))
        events.append(_Event([{"text": ""}]))
        return events
    position = 0
    for piece in _pieces(cand.text, per_chunk):
        tokens = words(piece)
        events.append(_Event([{"text": piece}], count_tokens(piece), 0, tokens, position))
        position += len(tokens)
    if cand.signature:
        events.append(_Event([{"text": "", "thoughtSignature": cand.signature}]))
    return events


def to_chunks(answer: Answer, per_chunk: int = WORDS_PER_CHUNK) -> list[dict[str, Any]]:
    """The answer as streamed responses: a few words each, cumulative usage, finish on the last."""
    if not answer.candidates:
        return [to_response(answer)]
    timelines = [_events(c, per_chunk) for c in answer.candidates]
    total = max(1, *(len(t) for t in timelines))
    # Thinking that is not shown is spent before anything streams.
    thoughts = sum(
        c.thought_tokens - count_tokens(c.thought) if c.has_content else c.thought_tokens
        for c in answer.candidates
    )
    chunks, emitted = [], 0
    for k in range(total):
        final = k == total - 1
        candidates = []
        for i, (cand, timeline) in enumerate(zip(answer.candidates, timelines, strict=True)):
            if k < len(timeline):
                event = timeline[k]
            elif final:
                event = _Event([{"text": ""}]) if cand.has_content else _Event([])
            else:
                continue
            emitted += event.visible
            thoughts += event.thoughts
            parts = event.parts if cand.has_content else None
            candidates.append(_shape(i, cand, parts, final, answer, event.tokens, event.start))
        chunks.append(_envelope(answer, candidates, emitted, thoughts))
    return chunks


def without_finish(chunk: dict[str, Any]) -> dict[str, Any]:
    """The chunk as a stream cut short would have sent it: no finishReason anywhere."""
    candidates = [
        {k: v for k, v in c.items() if k not in ("finishReason", "safetyRatings", "finishMessage")}
        for c in chunk.get("candidates", [])
    ]
    return {**chunk, "candidates": candidates} if "candidates" in chunk else chunk
