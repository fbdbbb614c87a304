"""Reject generateContent requests the way the Gemini API does, with its error messages.

Each check is one function in `CHECKS`, called with the body and the model name, in order:
the request's shape (fields, parts, media, generation config), then the rules of other modules
(tool declarations and their schema dialects, the function-calling config, thinking config,
call/response turn pairing, Gemini 3 thought signatures). The first failure is answered.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .conversation import check_turns
from .errors import (
    bad_bytes,
    invalid_argument,
    invalid_value,
    rule_violation,
    unknown_field,
)
from .protojson import as_int, decode_bytes, snake
from .schema_rules import check_json_schema, check_openapi_schema
from .signatures import check_signatures
from .thinking import check_thinking_config
from .tools import check_tool_config, check_tools

__all__ = ["CHECKS", "as_int", "parse_json", "snake", "validate_generate_request"]

TOP_LEVEL_FIELDS = frozenset(
    {
        "contents",
        "systemInstruction",
        "tools",
        "toolConfig",
        "generationConfig",
        "safetySettings",
        "cachedContent",
        "labels",
    }
)
GENERATION_CONFIG_FIELDS = frozenset(
    {
        "temperature",
        "topP",
        "topK",
        "candidateCount",
        "maxOutputTokens",
        "stopSequences",
        "presencePenalty",
        "frequencyPenalty",
        "seed",
        "responseMimeType",
        "responseSchema",
        "responseJsonSchema",
        "responseLogprobs",
        "logprobs",
        "thinkingConfig",
        "responseModalities",
        "mediaResolution",
    }
)
INT_GENERATION_FIELDS = ("candidateCount", "maxOutputTokens", "topK", "seed", "logprobs")
MIME_TYPES = (
    "text/plain",
    "application/json",
    "application/xml",
    "application/yaml",
    "text/x.enum",
)
MAX_LOGPROBS = 20
CONTENT_FIELDS = frozenset({"role", "parts"})
PART_DATA_FIELDS = (
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
)
PART_FIELDS = frozenset(
    {*PART_DATA_FIELDS, "thought", "thoughtSignature", "videoMetadata", "mediaResolution"}
)
DATA_FIELDS = {
    "inlineData": frozenset({"mimeType", "data"}),
    "fileData": frozenset({"mimeType", "fileUri"}),
    "functionCall": frozenset({"id", "name", "args"}),
    "functionResponse": frozenset(
        {"id", "name", "response", "willContinue", "scheduling", "parts"}
    ),
}
ROLES = frozenset({"user", "model"})

Check = Callable[[dict[str, Any], str], None]


def parse_json(raw: bytes) -> Any | None:
    """The decoded body, or None when it is not JSON (validation reports that)."""
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _check_object(body: Any) -> None:
    if body is None:
        raise invalid_argument("Invalid JSON payload received. Unexpected token.")
    if not isinstance(body, dict):
        raise invalid_argument(
            'Invalid JSON payload received. Unknown name "": Root element must be a message.',
            field_violation=True,
        )


def _check_top_level(body: dict[str, Any], model: str) -> None:
    for name in body:
        if name not in TOP_LEVEL_FIELDS:
            raise unknown_field(name)


def _check_data(part: dict[str, Any], name: str, at: str) -> None:
    """The inside of one part's data field: known fields, right types, decodable bytes."""
    where = f"{at}.{snake(name)}"
    value = part[name]
    if name == "text":
        if not isinstance(value, str):
            raise invalid_value(where, value, "TYPE_STRING")
        return
    if name not in DATA_FIELDS:
        return
    type_name = name[0].upper() + name[1:]
    if not isinstance(value, dict):
        raise invalid_value(where, value, type_name)
    for key in value:
        if key not in DATA_FIELDS[name]:
            raise unknown_field(key, where)
    if name == "inlineData":
        if not value.get("mimeType"):
            raise rule_violation(f"{where}.mime_type", "mime_type is not specified.")
        if decode_bytes(value.get("data", "")) is None:
            raise bad_bytes(f"{where}.data", value.get("data"))
    elif name == "fileData":
        if not value.get("fileUri"):
            raise rule_violation(f"{where}.file_uri", "file_uri is not specified.")
    else:
        if not value.get("name"):
            raise rule_violation(f"{where}.name", "Name cannot be empty.")
        payload = "args" if name == "functionCall" else "response"
        if payload in value and not isinstance(value[payload], dict):
            raise invalid_value(
                f"{where}.{payload}", value[payload], "type.googleapis.com/google.protobuf.Struct"
            )


def _check_parts(parts: Any, where: str) -> None:
    if not isinstance(parts, list) or not parts:
        raise invalid_argument(
            f"* GenerateContentRequest.{where}: contents.parts must not be empty."
        )
    for j, part in enumerate(parts):
        at = f"{where}[{j}]"
        if not isinstance(part, dict):
            raise invalid_value(at, part, "Part")
        for name in part:
            if name not in PART_FIELDS:
                raise unknown_field(name, at)
        data = [name for name in PART_DATA_FIELDS if name in part]
        if not data:
            raise invalid_argument(
                f"* GenerateContentRequest.{at}.data: required oneof field 'data' must have one "
                "initialized field"
            )
        if len(data) > 1:
            raise invalid_argument(
                f"Invalid JSON payload received. Oneof field 'data' is already set. "
                f"Cannot set '{data[1]}'",
                field_violation=True,
            )
        _check_data(part, data[0], at)
        if "thought" in part and not isinstance(part["thought"], bool):
            raise invalid_value(f"{at}.thought", part["thought"], "TYPE_BOOL")
        if "thoughtSignature" in part and decode_bytes(part["thoughtSignature"]) is None:
            raise bad_bytes(f"{at}.thought_signature", part["thoughtSignature"])


def _check_contents(body: dict[str, Any], model: str) -> None:
    contents = body.get("contents")
    if contents is None or contents == []:
        raise invalid_argument("* GenerateContentRequest.contents: contents is not specified")
    if not isinstance(contents, list):
        raise invalid_value("contents", contents, "Content")
    for i, content in enumerate(contents):
        at = f"contents[{i}]"
        if not isinstance(content, dict):
            raise invalid_value(at, content, "Content")
        for name in content:
            if name not in CONTENT_FIELDS:
                raise unknown_field(name, at)
        if content.get("role") and content["role"] not in ROLES:
            raise invalid_argument("Please use a valid role: user, model.")
        _check_parts(content.get("parts"), f"{at}.parts")


def _check_system_instruction(body: dict[str, Any], model: str) -> None:
    instruction = body.get("systemInstruction")
    if instruction is None:
        return
    where = snake("systemInstruction")
    if not isinstance(instruction, dict):
        raise invalid_value(where, instruction, "Content")
    for name in instruction:
        if name not in CONTENT_FIELDS:
            raise unknown_field(name, where)
    _check_parts(instruction.get("parts"), f"{where}.parts")


def _check_generation_config(body: dict[str, Any], model: str) -> None:
    config = body.get("generationConfig")
    if config is None:
        return
    where = snake("generationConfig")
    if not isinstance(config, dict):
        raise invalid_value(where, config, "GenerationConfig")
    for name in config:
        if name not in GENERATION_CONFIG_FIELDS:
            raise unknown_field(name, where)
    for name in INT_GENERATION_FIELDS:
        if name in config and as_int(config[name]) is None:
            raise invalid_value(f"{where}.{snake(name)}", config[name], "TYPE_INT32")
    stops = config.get("stopSequences")
    if stops is not None and (
        not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)
    ):
        raise invalid_value(f"{where}.stop_sequences", stops, "TYPE_STRING")
    _check_output_format(config, where)
    _check_logprobs(config, where)


def _check_output_format(config: dict[str, Any], where: str) -> None:
    mime = config.get("responseMimeType")
    if mime is not None and (not isinstance(mime, str) or mime.lower() not in MIME_TYPES):
        raise rule_violation(
            f"{where}.response_mime_type",
            "allowed mimetypes are `text/plain`, `application/json`, `application/xml`, "
            "`application/yaml` and `text/x.enum`.",
        )
    mime = (mime or "").lower()
    if "responseSchema" in config and "responseJsonSchema" in config:
        raise rule_violation(where, "response_schema and response_json_schema cannot both be set.")
    if "responseSchema" in config:
        if mime not in ("application/json", "text/x.enum"):
            raise rule_violation(
                f"{where}.response_mime_type",
                "response_mime_type must be `application/json` or `text/x.enum` when "
                "response_schema is set.",
            )
        check_openapi_schema(config["responseSchema"], f"{where}.response_schema")
    if "responseJsonSchema" in config:
        if mime != "application/json":
            raise rule_violation(
                f"{where}.response_mime_type",
                "response_mime_type must be `application/json` when response_json_schema is set.",
            )
        check_json_schema(config["responseJsonSchema"], f"{where}.response_json_schema")


def _check_logprobs(config: dict[str, Any], where: str) -> None:
    wanted = config.get("responseLogprobs")
    if wanted is not None and not isinstance(wanted, bool):
        raise invalid_value(f"{where}.response_logprobs", wanted, "TYPE_BOOL")
    top = as_int(config.get("logprobs")) or 0  # proto3: 0 is the same as unset
    if top and wanted is not True:
        raise rule_violation(
            f"{where}.logprobs", "logprobs may only be set when response_logprobs is true."
        )
    if top and not 1 <= top <= MAX_LOGPROBS:
        raise rule_violation(f"{where}.logprobs", f"logprobs must be between 1 and {MAX_LOGPROBS}.")


CHECKS: tuple[Check, ...] = (
    _check_top_level,
    _check_contents,
    _check_system_instruction,
    _check_generation_config,
    check_thinking_config,
    check_tools,
    check_tool_config,
    check_turns,
    check_signatures,
)


def validate_generate_request(body: Any, model: str = "") -> dict[str, Any]:
    """Return the body as a request object, or raise the GeminiError Gemini would answer."""
    _check_object(body)
    for check in CHECKS:
        check(body, model)
    return body
