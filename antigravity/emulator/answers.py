"""What the emulator answers a validated request with: deterministic text, calls and thoughts.

- Tools declared and a hint in the last user text (see `tools`), or mode ANY: function calls
  with arguments generated from each tool's schema.
- The last turn carries tool results: `Hello from the antigravity Gemini emulator (MODEL).
  Tool results: NAME -> {JSON}; ...`.
- Otherwise: `Hello from the antigravity Gemini emulator (MODEL). You said: TEXT`, with
  `(1 image)`, `(2 PDFs)`, ... when media came with the text.
- `responseMimeType: application/json`: that text inside a JSON document (an instance of the
  response schema, the text in its first free string field; `{"answer": TEXT}` without one).
- Thinking (see `thinking`): a thought summary first, counted against maxOutputTokens.
- Gemini 3: a thought signature on the first call, or on the last part of a text answer.

A token is a whitespace-separated word, so tests can predict every count.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from typing import Any

from . import signatures, thinking, tools
from .content import Answer, Call, Candidate, count_tokens, words
from .protojson import as_int
from .render import SAFETY_RATINGS, WORDS_PER_CHUNK, to_chunks, to_response, without_finish
from .samples import sample

__all__ = [
    "SAFETY_RATINGS",
    "WORDS_PER_CHUNK",
    "Answer",
    "Candidate",
    "blocked",
    "compose",
    "count_tokens",
    "empty",
    "last_user_text",
    "prompt_details",
    "prompt_tokens",
    "response_id",
    "to_chunks",
    "to_response",
    "with_finish",
    "without_finish",
]

SAID_LIMIT = 200
MEDIA_TOKENS = 258  # what Gemini counts for one image
_MEDIA_KINDS = (
    ("image/", "image", "IMAGE"),
    ("audio/", "audio clip", "AUDIO"),
    ("video/", "video", "VIDEO"),
    ("application/pdf", "PDF", "DOCUMENT"),
)


def _texts(content: Any) -> list[str]:
    if not isinstance(content, dict):
        return []
    parts = content.get("parts") or []
    return [p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)]


def _dict_parts(content: dict[str, Any]) -> list[dict[str, Any]]:
    parts = content.get("parts")
    return [p for p in parts if isinstance(p, dict)] if isinstance(parts, list) else []


def _media(content: dict[str, Any]) -> list[str]:
    """MIME types of the media parts of a content (a fileData without one counts as a file)."""
    found = []
    for part in _dict_parts(content):
        data = part.get("inlineData") or part.get("fileData")
        if isinstance(data, dict):
            found.append(str(data.get("mimeType") or ""))
    return found


def _media_kind(mime: str) -> tuple[str, str]:
    for prefix, word, modality in _MEDIA_KINDS:
        if mime.startswith(prefix):
            return word, modality
    return "file", "DOCUMENT"


def _function_tokens(content: dict[str, Any]) -> int:
    total = 0
    for part in _dict_parts(content):
        for key in ("functionCall", "functionResponse"):
            if isinstance(part.get(key), dict):
                total += count_tokens(json.dumps(part[key], ensure_ascii=False))
    return total


def prompt_details(body: dict[str, Any]) -> list[dict[str, Any]]:
    """promptTokensDetails: words of text and function parts, MEDIA_TOKENS a media part."""
    counts = {"TEXT": 0}
    instruction = body.get("systemInstruction")
    for content in ([instruction] if isinstance(instruction, dict) else []) + list(
        body.get("contents") or []
    ):
        if not isinstance(content, dict):
            continue
        counts["TEXT"] += sum(count_tokens(t) for t in _texts(content))
        counts["TEXT"] += _function_tokens(content)
        for mime in _media(content):
            modality = _media_kind(mime)[1]
            counts[modality] = counts.get(modality, 0) + MEDIA_TOKENS
    return [{"modality": m, "tokenCount": n} for m, n in counts.items()]


def prompt_tokens(body: dict[str, Any]) -> int:
    return sum(d["tokenCount"] for d in prompt_details(body))


def last_user_text(body: dict[str, Any]) -> str:
    for content in reversed(body.get("contents") or []):
        if content.get("role") in (None, "", "user") and (texts := _texts(content)):
            return " ".join(texts)
    return ""


def response_id(model: str, body: dict[str, Any]) -> str:
    digest = hashlib.sha256((model + json.dumps(body, sort_keys=True)).encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def _media_note(mimes: list[str]) -> str:
    counts: dict[str, int] = {}
    for mime in mimes:
        word = _media_kind(mime)[0]
        counts[word] = counts.get(word, 0) + 1
    if not counts:
        return ""
    return "(" + ", ".join(f"{n} {w}{'s' if n > 1 else ''}" for w, n in counts.items()) + ")"


def _you_said(body: dict[str, Any]) -> str:
    """`TEXT (1 image)` of the last user turn that has text or media."""
    for content in reversed(body.get("contents") or []):
        if content.get("role") == "model":
            continue
        texts, media = _texts(content), _media(content)
        if texts or media:
            said = " ".join(texts)[:SAID_LIMIT]
            return " ".join(s for s in (said, _media_note(media)) if s)
    return ""


def _sentence(model: str, body: dict[str, Any]) -> tuple[str, str]:
    """The answer text, and the thought that leads to it."""
    head = f"Hello from the antigravity Gemini emulator ({model})."
    contents = body.get("contents") or []
    last = contents[-1] if contents else {}
    results = [
        p["functionResponse"]
        for p in last.get("parts") or []
        if last.get("role") != "model" and isinstance(p.get("functionResponse"), dict)
    ]
    if not results:
        return (
            f"{head} You said: {_you_said(body)}",
            "I will greet the user and repeat what they said.",
        )
    told = "; ".join(
        f"{r.get('name')} -> {json.dumps(r.get('response', {}), ensure_ascii=False)[:SAID_LIMIT]}"
        for r in results
    )
    text = f"{head} Tool results: {told}"
    if said := " ".join(_texts(last))[:SAID_LIMIT]:
        text += f" You said: {said}"
    return text, "the tools answered; I will report what they returned."


def _formatted(text: str, config: dict[str, Any]) -> str:
    """The answer in the asked MIME type: JSON built around the text, or an enum value."""
    mime = str(config.get("responseMimeType") or "").lower()
    if mime == "application/json":
        schema = config.get("responseJsonSchema", config.get("responseSchema"))
        value = {"answer": text} if schema is None else sample(schema, text=text)
        return json.dumps(value, ensure_ascii=False)
    if mime == "text/x.enum":
        values = (config.get("responseSchema") or {}).get("enum") or []
        return str(values[0]) if values else text
    return text


def _cut(text: str, tokens: int) -> str:
    return "".join(words(text)[: max(tokens, 0)])


def _candidate(
    model: str,
    body: dict[str, Any],
    index: int,
    count: int,
    calls: tuple[Call, ...],
    rid: str,
) -> Candidate:
    config = body.get("generationConfig") or {}
    max_tokens = as_int(config.get("maxOutputTokens"))
    plan = thinking.plan(config)
    if calls:
        names = list(dict.fromkeys(c.name for c in calls))
        them = "it" if len(names) == 1 else "them"
        text, intent = "", f"the user needs {', '.join(names)}; I will call {them}."
    else:
        sentence, intent = _sentence(model, body)
        if count > 1:
            sentence = f"[candidate {index}] {sentence}"
        text = _formatted(sentence, config)
    thought = thinking.thought(plan, intent) if plan.enabled else ""
    spent = count_tokens(thought)
    finish = "STOP"
    if max_tokens is not None and spent > max_tokens:
        thought, spent = _cut(thought, max_tokens), max_tokens
        text, calls, finish = "", (), "MAX_TOKENS"
    room = None if max_tokens is None else max_tokens - spent
    if calls and room is not None and sum(c.tokens() for c in calls) > room:
        calls, finish = (), "MAX_TOKENS"
    if not calls:
        cuts = [i for i in (text.find(s) for s in config.get("stopSequences") or [] if s) if i >= 0]
        if cuts:
            text = text[: min(cuts)]
        if room is not None and count_tokens(text) > room:
            text, finish = _cut(text, room), "MAX_TOKENS"
    signature = None
    if model.startswith("gemini-3"):
        nonce = f"{rid}:{index}"
        signature = (
            signatures.for_call(calls[0].name, nonce) if calls else signatures.for_text(nonce)
        )
    return Candidate(
        text=text,
        finish_reason=finish,
        thought=thought if plan.shown else "",
        thought_tokens=spent,
        calls=calls,
        signature=signature,
        finish_message=tools.FUNCTION_CALL_FINISH_MESSAGE if calls else None,
    )


def compose(model: str, body: dict[str, Any]) -> Answer:
    """The answer to a validated generateContent request."""
    config = body.get("generationConfig") or {}
    n = as_int(config.get("candidateCount")) or 1
    rid = response_id(model, body)
    calls = tools.plan_calls(body, rid)
    candidates = tuple(_candidate(model, body, i, n, calls, rid) for i in range(n))
    top = as_int(config.get("logprobs")) or 0
    return Answer(
        model,
        rid,
        prompt_tokens(body),
        candidates,
        logprobs=top if config.get("responseLogprobs") is True else None,
        prompt_details=tuple(prompt_details(body)),
    )


def with_finish(answer: Answer, reason: str) -> Answer:
    """End every candidate with `reason`, shaped as Gemini shapes that reason.

    MALFORMED_FUNCTION_CALL has no content; MAX_TOKENS keeps the first half of the text; any
    reason but STOP drops function calls (and their signature).
    """
    ratings = SAFETY_RATINGS if reason == "SAFETY" else ()
    has_content = reason != "MALFORMED_FUNCTION_CALL"
    out = []
    for c in answer.candidates:
        text, calls, signature = c.text, c.calls, c.signature
        if reason == "MAX_TOKENS":
            text = _cut(text, count_tokens(text) // 2)
        if not has_content:
            text = ""
        if reason != "STOP" and calls:
            calls, signature = (), None
        out.append(
            replace(
                c,
                text=text,
                calls=calls,
                signature=signature if has_content else None,
                thought=c.thought if has_content else "",
                finish_reason=reason,
                has_content=has_content,
                safety_ratings=ratings,
                finish_message=c.finish_message if calls else None,
            )
        )
    return replace(answer, candidates=tuple(out))


def blocked(answer: Answer, reason: str = "SAFETY") -> Answer:
    return replace(answer, candidates=(), block_reason=reason)


def empty(answer: Answer) -> Answer:
    return replace(answer, candidates=(), block_reason=None)
