"""Chat Completions request -> canonical request (Gemini-shaped contents, tools and config)."""

from __future__ import annotations

import binascii
import json
import mimetypes
from collections.abc import Callable
from typing import Any

from antigravity.errors import invalid_request
from antigravity.mappers import schema
from antigravity.mappers.canonical import CanonicalRequest
from antigravity.openai.chat import ChatRequest, ContentPart, FunctionDef, Message
from antigravity.signatures import DUMMY_SIGNATURE

# Parameters clients send routinely whose absence upstream does not change the answer.
_IGNORED = frozenset(
    {
        "store",
        "metadata",
        "service_tier",
        "prompt_cache_key",
        "safety_identifier",
        "logit_bias",
        "verbosity",
        "prompt_cache_retention",
    }
)
# Parameters with no Gemini equivalent; ignoring them would silently change the result, so
# they are refused with a message naming them.
_UNSUPPORTED = {
    "audio": "audio output",
    "modalities": "output modalities",
    "prediction": "predicted outputs",
    "web_search_options": "web search",
}
_AUDIO_MIME = {
    "mp3": "audio/mp3",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "aac": "audio/aac",
    "ogg": "audio/ogg",
    "aiff": "audio/aiff",
    "pcm16": "audio/pcm",
}

SignatureLookup = Callable[[str], str | None]


def from_chat(
    req: ChatRequest, target: str, signatures: SignatureLookup = lambda _: None
) -> CanonicalRequest:
    """Translate a validated chat request for the Gemini model `target`; raises ApiError."""
    extras = req.model_extra or {}
    for name, what in _UNSUPPORTED.items():
        if extras.get(name) not in (None, False, []):
            raise invalid_request(
                f"'{name}' ({what}) is not supported by this gateway; remove it from the request.",
                name,
                "unsupported_parameter",
            )
    notes = [f"ignored parameter '{name}'" for name in extras if name in _IGNORED]
    if req.parallel_tool_calls is False:
        notes.append("parallel_tool_calls=false: Gemini may still call several tools at once")
    conversation = _Conversation(target, signatures, notes)
    for i, msg in enumerate(req.messages):
        conversation.add(i, msg)
    conversation.finish()
    tools = _tools(req, notes)
    generation, remote = _generation(req, target, notes), conversation.remote_media
    hidden = bool(req.stream) and _keep_alive_thoughts(generation, target)
    return CanonicalRequest(
        dialect="chat",
        model=req.model.strip(),
        stream=bool(req.stream),
        contents=conversation.contents,
        system=conversation.system,
        generation=generation,
        tools=tools,
        tool_config=_tool_config(req, tools),
        include_usage=bool(req.stream_options and req.stream_options.include_usage),
        n=req.n or 1,
        logprobs=bool(req.logprobs),
        remote_media=remote,
        hidden_thoughts=hidden,
        notes=notes,
    )


class _Conversation:
    """Builds Gemini contents from OpenAI messages, pairing tool calls with their results."""

    def __init__(self, target: str, signatures: SignatureLookup, notes: list[str]) -> None:
        self.needs_signatures = target.startswith("gemini-3")
        self.signatures = signatures
        self.notes = notes
        self.system: list[str] = []
        self.contents: list[dict[str, Any]] = []
        self.names: dict[str, str] = {}  # tool-call id -> function name
        self.pending: dict[str, int] = {}  # calls still owed a result -> message index
        self.remote_media = False

    def add(self, i: int, msg: Message) -> None:
        if msg.role in ("tool", "function"):
            self._append("user", [self._tool_result(i, msg)])
            return
        self._require_results(i)
        if msg.role in ("system", "developer"):
            self.system.append("\n".join(p["text"] for p in self._parts(i, msg) if "text" in p))
        elif msg.role == "user":
            parts = self._parts(i, msg)
            if not parts:
                raise invalid_request(
                    f"messages[{i}] has no content.", f"messages[{i}].content", "invalid_value"
                )
            self._append("user", parts)
        else:
            parts = [p for p in self._parts(i, msg) if "text" in p] + self._calls(i, msg)
            if parts:  # an empty assistant message adds nothing Gemini could use
                self._append("model", parts)

    def finish(self) -> None:
        self._require_results(None)
        if not self.contents:
            raise invalid_request(
                "The conversation needs at least one user or assistant message besides system "
                "messages.",
                "messages",
                "invalid_value",
            )

    def _append(self, role: str, parts: list[dict[str, Any]]) -> None:
        # Gemini wants alternating turns; consecutive same-role messages are one turn.
        if self.contents and self.contents[-1]["role"] == role:
            self.contents[-1]["parts"].extend(parts)
        else:
            self.contents.append({"role": role, "parts": parts})

    def _require_results(self, i: int | None) -> None:
        if not self.pending:
            return
        missing = ", ".join(self.pending)
        where = f"messages[{i}]" if i is not None else "the end of messages"
        raise invalid_request(
            f"Tool calls {missing} have no tool result before {where}; every tool call of an "
            "assistant message needs a `role: tool` message with its `tool_call_id`.",
            "messages",
            "missing_tool_result",
        )

    def _calls(self, i: int, msg: Message) -> list[dict[str, Any]]:
        calls = list(msg.tool_calls or [])
        parts = []
        for j, call in enumerate(calls):
            args = _arguments(call.function.arguments, f"messages[{i}].tool_calls[{j}]")
            part: dict[str, Any] = {"functionCall": {"name": call.function.name, "args": args}}
            signature = self.signatures(call.id)
            if signature is None and self.needs_signatures and j == 0:
                signature = DUMMY_SIGNATURE
                self.notes.append(f"no thought signature known for {call.id}: dummy sent")
            if signature is not None:
                part["thoughtSignature"] = signature
            parts.append(part)
            self.names[call.id] = call.function.name
            self.pending[call.id] = i
        if msg.function_call is not None:  # legacy single call
            args = _arguments(msg.function_call.arguments, f"messages[{i}].function_call")
            parts.append({"functionCall": {"name": msg.function_call.name, "args": args}})
            self.pending[f"function:{msg.function_call.name}"] = i
        return parts

    def _tool_result(self, i: int, msg: Message) -> dict[str, Any]:
        if msg.role == "function":
            name = msg.name or ""
            self.pending.pop(f"function:{name}", None)
        else:
            call_id = msg.tool_call_id or ""
            if call_id not in self.names:
                raise invalid_request(
                    f"messages[{i}] answers tool call '{call_id}', which no earlier assistant "
                    "message made.",
                    f"messages[{i}].tool_call_id",
                    "invalid_value",
                )
            if call_id not in self.pending:
                raise invalid_request(
                    f"messages[{i}] answers tool call '{call_id}' a second time.",
                    f"messages[{i}].tool_call_id",
                    "invalid_value",
                )
            name = self.names[call_id]
            del self.pending[call_id]
        text = "".join(p["text"] for p in self._parts(i, msg) if "text" in p)
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        response = value if isinstance(value, dict) else {"result": value}
        return {"functionResponse": {"name": name, "response": response}}

    def _parts(self, i: int, msg: Message) -> list[dict[str, Any]]:
        if msg.content is None:
            return []
        if isinstance(msg.content, str):
            return [{"text": msg.content}] if msg.content else []
        parts = []
        for j, part in enumerate(msg.content):
            where = f"messages[{i}].content[{j}]"
            if part.type not in ("text", "refusal") and msg.role != "user":
                raise invalid_request(
                    f"Only user messages may carry {part.type} parts.",
                    f"{where}.type",
                    "invalid_value",
                )
            gemini = self._media(part, where) if part.type not in ("text", "refusal") else None
            text = part.text if part.type == "text" else part.refusal
            if gemini is not None:
                parts.append(gemini)
            elif text:
                parts.append({"text": text})
        return parts

    def _media(self, part: ContentPart, where: str) -> dict[str, Any]:
        if part.image_url is not None:
            url = part.image_url.url
            if url.startswith("data:"):
                return _inline(url, f"{where}.image_url.url")
            if url.startswith(("http://", "https://")):
                self.remote_media = True
                mime = mimetypes.guess_type(url.split("?", 1)[0])[0] or "image/jpeg"
                return {"fileData": {"mimeType": mime, "fileUri": url}}
            raise invalid_request(
                "image_url.url must be a data: URI or an http(s) URL.",
                f"{where}.image_url.url",
                "invalid_value",
            )
        if part.input_audio is not None:
            fmt = part.input_audio.format.lower()
            if fmt not in _AUDIO_MIME:
                raise invalid_request(
                    f"Unsupported audio format '{fmt}'; use one of {', '.join(_AUDIO_MIME)}.",
                    f"{where}.input_audio.format",
                    "invalid_value",
                )
            data = _base64(part.input_audio.data, f"{where}.input_audio.data")
            return {"inlineData": {"mimeType": _AUDIO_MIME[fmt], "data": data}}
        assert part.file is not None
        if part.file.file_id:
            raise invalid_request(
                "file_id refers to OpenAI's Files API, which Gemini cannot read; send the file "
                "inline as file_data.",
                f"{where}.file.file_id",
                "unsupported_parameter",
            )
        data = part.file.file_data or ""
        if data.startswith("data:"):
            return _inline(data, f"{where}.file.file_data")
        guessed = mimetypes.guess_type(part.file.filename or "")[0]
        if not guessed or not data:
            raise invalid_request(
                "file_data must be a data: URI, or base64 with a filename that tells its type.",
                f"{where}.file.file_data",
                "invalid_value",
            )
        return {
            "inlineData": {"mimeType": guessed, "data": _base64(data, f"{where}.file.file_data")}
        }


def _inline(uri: str, param: str) -> dict[str, Any]:
    head, sep, data = uri.partition(",")
    mime = head[len("data:") :].split(";", 1)[0]
    if not sep or ";base64" not in head or not mime:
        raise invalid_request(
            "Expected a data URI of the form data:<mime type>;base64,<data>.",
            param,
            "invalid_value",
        )
    return {"inlineData": {"mimeType": mime, "data": _base64(data, param)}}


def _base64(data: str, param: str) -> str:
    try:
        binascii.a2b_base64(data.encode(), strict_mode=True)
    except (binascii.Error, ValueError):
        raise invalid_request("The data is not valid base64.", param, "invalid_value") from None
    return data


def _arguments(text: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise invalid_request(
            "Tool call arguments must be a JSON object encoded as a string.",
            f"{where}.function.arguments",
            "invalid_value",
        )
    return value


def _tools(req: ChatRequest, notes: list[str]) -> list[dict[str, Any]]:
    declared = [(f"tools[{i}].function", t.function) for i, t in enumerate(req.tools or [])]
    declared += [(f"functions[{i}]", f) for i, f in enumerate(req.functions or [])]
    decls = []
    for where, fn in declared:
        decls.append(_declaration(fn, where, notes))
    return decls


def _declaration(fn: FunctionDef, where: str, notes: list[str]) -> dict[str, Any]:
    if not (fn.name[0].isalpha() or fn.name[0] == "_"):
        raise invalid_request(
            f"Gemini needs function names to start with a letter or underscore: '{fn.name}'.",
            f"{where}.name",
            "invalid_value",
        )
    decl: dict[str, Any] = {"name": fn.name}
    if fn.description:
        decl["description"] = fn.description
    if fn.parameters is not None:
        result = _schema(fn.parameters, f"{where}.parameters", for_parameters=True)
        decl["parametersJsonSchema"] = result.schema
        notes.extend(f"{fn.name} parameters {r}" for r in result.rewrites)
    if fn.strict:
        notes.append(f"{fn.name}: strict is implied by Gemini's schema validation")
    return decl


def _schema(value: dict[str, Any], param: str, for_parameters: bool) -> schema.SchemaResult:
    try:
        return schema.to_json_schema(value, for_parameters=for_parameters)
    except schema.SchemaError as e:
        raise invalid_request(f"Unusable schema: {e}", param, "invalid_schema") from None


def _tool_config(req: ChatRequest, tools: list[dict[str, Any]]) -> dict[str, Any] | None:
    choice: Any = req.tool_choice if req.tool_choice is not None else req.function_call
    param = "tool_choice" if req.tool_choice is not None else "function_call"
    if choice is None or choice == "auto":
        return None
    if choice == "none":
        return {"mode": "NONE"} if tools else None
    if not tools:
        raise invalid_request(
            f"{param} asks for a tool call but the request declares no tools.",
            param,
            "invalid_value",
        )
    if choice == "required":
        return {"mode": "ANY"}
    name = choice.function.name if hasattr(choice, "function") else choice.name
    if name not in {t["name"] for t in tools}:
        raise invalid_request(
            f"{param} names '{name}', which is not among the declared tools.",
            param,
            "invalid_value",
        )
    return {"mode": "ANY", "allowedFunctionNames": [name]}


# reasoning_effort -> Gemini 2.5 thinking budget (tokens) and Gemini 3 thinking level.
_BUDGET = {"minimal": 0, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 32768}
_LEVEL = {
    "none": "low",
    "minimal": "low",
    "low": "low",
    "medium": "high",
    "high": "high",
    "xhigh": "high",
}
# The thinking budget set when a client bounds visible output with max_tokens but says nothing
# about reasoning: a known budget is what lets max_tokens keep its meaning.
IMPLIED_BUDGET = 1024


def _thinking(
    target: str, effort: str | None, bounded: bool, notes: list[str]
) -> tuple[dict[str, Any] | None, int]:
    """Gemini thinkingConfig for a reasoning_effort, and the thinking tokens it may take.

    `bounded`: the client limits visible output (max_tokens), so thinking needs a known size.
    """
    if target.startswith("gemini-3"):
        if effort is None and not bounded:
            return None, 0
        if effort == "none":
            notes.append("reasoning_effort=none: Gemini 3 always thinks; level low used")
        level = _LEVEL[effort or "low"]
        # Gemini 3 has levels, not budgets: headroom is what a level usually takes.
        headroom = IMPLIED_BUDGET if level == "low" else _BUDGET["medium"]
        return {"thinkingLevel": level, "includeThoughts": effort not in (None, "none")}, headroom
    if target.startswith("gemini-2.5"):
        thinks_by_default = "flash-lite" not in target
        if effort is None and not (bounded and thinks_by_default):
            return None, 0
        budget = IMPLIED_BUDGET if effort is None else 0 if effort == "none" else _BUDGET[effort]
        budget = min(max(budget, 128), 32768) if "pro" in target else min(budget, 24576)
        shown = effort is not None and budget > 0
        return {"thinkingBudget": budget, "includeThoughts": shown}, budget
    if effort is not None:
        notes.append(f"reasoning_effort ignored: {target} has no thinking controls")
    return None, 0


def _keep_alive_thoughts(generation: dict[str, Any], target: str) -> bool:
    """Ask a thinking model for its thought summaries so a long think is not a silent stream.

    Gemini sends nothing while it thinks; clients with idle timeouts give up. Thought chunks
    the client did not ask to see are sent as SSE keep-alive comments instead.
    """
    thinking = generation.get("thinkingConfig") or {}
    if thinking.get("includeThoughts") or thinking.get("thinkingBudget") == 0:
        return False
    thinks = target.startswith("gemini-3") or (
        target.startswith("gemini-2.5") and "flash-lite" not in target
    )
    if thinks:
        generation["thinkingConfig"] = {**thinking, "includeThoughts": True}
    return thinks


def _generation(req: ChatRequest, target: str, notes: list[str]) -> dict[str, Any]:
    gen: dict[str, Any] = {}
    if req.temperature is not None:
        gen["temperature"] = req.temperature
    if req.top_p is not None:
        gen["topP"] = req.top_p
    # OpenAI's max_completion_tokens includes reasoning tokens, as Gemini's maxOutputTokens
    # does; the older max_tokens means visible tokens, so thinking gets headroom on top.
    visible = req.max_tokens if req.max_completion_tokens is None else None
    thinking, headroom = _thinking(target, req.reasoning_effort, visible is not None, notes)
    if thinking:
        gen["thinkingConfig"] = thinking
    if req.max_completion_tokens is not None:
        gen["maxOutputTokens"] = req.max_completion_tokens
    elif visible is not None:
        gen["maxOutputTokens"] = visible + headroom
        if headroom:
            notes.append(f"maxOutputTokens = {visible} visible + {headroom} thinking headroom")
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
    if req.top_logprobs is not None and not req.logprobs:
        raise invalid_request(
            "top_logprobs needs logprobs to be true.", "top_logprobs", "invalid_value"
        )
    if req.logprobs:
        gen["responseLogprobs"] = True
        if req.top_logprobs:
            gen["logprobs"] = req.top_logprobs
    fmt = req.response_format
    if fmt is not None and fmt.type != "text":
        gen["responseMimeType"] = "application/json"
        if fmt.json_schema is not None and fmt.json_schema.schema_ is not None:
            result = _schema(fmt.json_schema.schema_, "response_format.json_schema.schema", False)
            gen["responseJsonSchema"] = result.schema
            notes.extend(f"response schema {r}" for r in result.rewrites)
    return gen
