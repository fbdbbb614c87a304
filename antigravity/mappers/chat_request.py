"""Chat Completions request -> canonical request."""

from __future__ import annotations

from typing import Any

from antigravity.errors import invalid_request
from antigravity.mappers.canonical import CanonicalRequest
from antigravity.openai.chat import ChatRequest, ContentPart, Message

# Parameters clients send routinely whose absence upstream does not change the answer.
_IGNORED = frozenset(
    {
        "user",
        "store",
        "metadata",
        "service_tier",
        "parallel_tool_calls",
        "prompt_cache_key",
        "safety_identifier",
        "logit_bias",
    }
)
# Parameters this version does not translate yet; ignoring them would silently change the
# result, so they are refused with a message naming them.
_UNSUPPORTED = {
    "tools": "tool calling",
    "functions": "tool calling",
    "tool_choice": "tool calling",
    "function_call": "tool calling",
    "response_format": "structured output",
    "logprobs": "log probabilities",
    "top_logprobs": "log probabilities",
    "audio": "audio output",
    "modalities": "output modalities",
    "prediction": "predicted outputs",
    "web_search_options": "web search",
}

_ROLE = {"user": "user", "assistant": "model"}


def from_chat(req: ChatRequest) -> CanonicalRequest:
    extras = req.model_extra or {}
    for name, what in _UNSUPPORTED.items():
        if extras.get(name) not in (None, False, []):
            raise invalid_request(
                f"'{name}' ({what}) is not supported by this gateway yet; remove it from the "
                "request.",
                name,
                "unsupported_parameter",
            )
    notes = [f"ignored parameter '{name}'" for name in extras if name in _IGNORED]
    system: list[str] = []
    contents: list[dict[str, Any]] = []
    for i, msg in enumerate(req.messages):
        if msg.role in ("system", "developer"):
            system.append(_text_only(msg, i))
            continue
        if msg.role not in _ROLE:
            raise invalid_request(
                f"Messages with role '{msg.role}' belong to tool calling, which this gateway "
                "does not support yet.",
                f"messages[{i}].role",
                "unsupported_parameter",
            )
        parts = [{"text": text} for text in _texts(msg, i)]
        if not parts:
            raise invalid_request(
                f"messages[{i}] has no content.", f"messages[{i}].content", "invalid_value"
            )
        role = _ROLE[msg.role]
        if contents and contents[-1]["role"] == role:
            # Gemini wants alternating turns; consecutive same-role messages are one turn.
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    if not contents:
        raise invalid_request(
            "The conversation needs at least one user or assistant message besides system "
            "messages.",
            "messages",
            "invalid_value",
        )
    return CanonicalRequest(
        dialect="chat",
        model=req.model.strip(),
        stream=bool(req.stream),
        contents=contents,
        system=system,
        generation=_generation(req),
        include_usage=bool(req.stream_options and req.stream_options.include_usage),
        n=req.n or 1,
        notes=notes,
    )


def _texts(msg: Message, i: int) -> list[str]:
    if msg.content is None:
        return []
    if isinstance(msg.content, str):
        return [msg.content] if msg.content else []
    return [t for j, part in enumerate(msg.content) if (t := _part_text(part, i, j))]


def _part_text(part: ContentPart, i: int, j: int) -> str:
    if part.type == "text":
        return part.text or ""
    if part.type == "refusal":
        return part.refusal or ""
    raise invalid_request(
        f"Content parts of type '{part.type}' are not supported by this gateway yet.",
        f"messages[{i}].content[{j}].type",
        "unsupported_content",
    )


def _text_only(msg: Message, i: int) -> str:
    return "\n".join(_texts(msg, i))


def _generation(req: ChatRequest) -> dict[str, Any]:
    gen: dict[str, Any] = {}
    if req.temperature is not None:
        gen["temperature"] = req.temperature
    if req.top_p is not None:
        gen["topP"] = req.top_p
    limit = req.max_completion_tokens or req.max_tokens
    if limit is not None:
        gen["maxOutputTokens"] = limit
    if req.stop:
        stops = [req.stop] if isinstance(req.stop, str) else req.stop
        if len(stops) > 5:
            raise invalid_request("At most 5 stop sequences are allowed.", "stop", "invalid_value")
        gen["stopSequences"] = stops
    if req.n and req.n > 1:
        gen["candidateCount"] = req.n
    if req.seed is not None:
        gen["seed"] = req.seed
    if req.presence_penalty is not None:
        gen["presencePenalty"] = req.presence_penalty
    if req.frequency_penalty is not None:
        gen["frequencyPenalty"] = req.frequency_penalty
    return gen
