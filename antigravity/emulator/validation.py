"""Reject generateContent requests the way the Gemini API does, with its error messages.

Each check is one function in `CHECKS`; add new rules (tool schema dialect, call/response
pairing, thought signatures on gemini-3*) as further checks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from .errors import GeminiError, invalid_argument, unknown_field

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
INT_GENERATION_FIELDS = ("candidateCount", "maxOutputTokens", "topK", "seed")
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
PART_FIELDS = frozenset({*PART_DATA_FIELDS, "thought", "thoughtSignature"})
ROLES = frozenset({"user", "model"})


def snake(name: str) -> str:
    """Google names fields in error paths by their proto (snake_case) names."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def parse_json(raw: bytes) -> Any | None:
    """The decoded body, or None when it is not JSON (validation reports that)."""
    try:
        return json.loads(raw)
    except ValueError:
        return None


def as_int(value: Any) -> int | None:
    """An int32 the way proto JSON reads one (number or numeric string), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return None


def _invalid_value(where: str, value: Any, type_name: str) -> GeminiError:
    """Google's message for a value of the wrong type (a scalar TYPE_* or a message name)."""
    if not type_name.startswith("TYPE_"):
        type_name = f"type.googleapis.com/google.ai.generativelanguage.v1beta.{type_name}"
    return invalid_argument(
        f"Invalid value at '{where}' ({type_name}), {json.dumps(value)}", field_violation=True
    )


def _check_object(body: Any) -> None:
    if body is None:
        raise invalid_argument("Invalid JSON payload received. Unexpected token.")
    if not isinstance(body, dict):
        raise invalid_argument(
            'Invalid JSON payload received. Unknown name "": Root element must be a message.',
            field_violation=True,
        )


def _check_top_level(body: dict[str, Any]) -> None:
    for name in body:
        if name not in TOP_LEVEL_FIELDS:
            raise unknown_field(name)


def _check_parts(parts: Any, where: str) -> None:
    if not isinstance(parts, list) or not parts:
        raise invalid_argument(
            f"* GenerateContentRequest.{where}: contents.parts must not be empty."
        )
    for j, part in enumerate(parts):
        at = f"{where}[{j}]"
        if not isinstance(part, dict):
            raise _invalid_value(at, part, "Part")
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


def _check_contents(body: dict[str, Any]) -> None:
    contents = body.get("contents")
    if contents is None or contents == []:
        raise invalid_argument("* GenerateContentRequest.contents: contents is not specified")
    if not isinstance(contents, list):
        raise _invalid_value("contents", contents, "Content")
    for i, content in enumerate(contents):
        at = f"contents[{i}]"
        if not isinstance(content, dict):
            raise _invalid_value(at, content, "Content")
        for name in content:
            if name not in CONTENT_FIELDS:
                raise unknown_field(name, at)
        if content.get("role") and content["role"] not in ROLES:
            raise invalid_argument("Please use a valid role: user, model.")
        _check_parts(content.get("parts"), f"{at}.parts")


def _check_system_instruction(body: dict[str, Any]) -> None:
    instruction = body.get("systemInstruction")
    if instruction is None:
        return
    where = snake("systemInstruction")
    if not isinstance(instruction, dict):
        raise _invalid_value(where, instruction, "Content")
    for name in instruction:
        if name not in CONTENT_FIELDS:
            raise unknown_field(name, where)
    _check_parts(instruction.get("parts"), f"{where}.parts")


def _check_generation_config(body: dict[str, Any]) -> None:
    config = body.get("generationConfig")
    if config is None:
        return
    where = snake("generationConfig")
    if not isinstance(config, dict):
        raise _invalid_value(
            where,
            config,
            "GenerationConfig",
        )
    for name in config:
        if name not in GENERATION_CONFIG_FIELDS:
            raise unknown_field(name, where)
    for name in INT_GENERATION_FIELDS:
        if name in config and as_int(config[name]) is None:
            raise _invalid_value(f"{where}.{snake(name)}", config[name], "TYPE_INT32")
    stops = config.get("stopSequences")
    if stops is not None and (
        not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)
    ):
        raise _invalid_value(f"{where}.stop_sequences", stops, "TYPE_STRING")


CHECKS: tuple[Callable[[dict[str, Any]], None], ...] = (
    _check_top_level,
    _check_contents,
    _check_system_instruction,
    _check_generation_config,
)


def validate_generate_request(body: Any) -> dict[str, Any]:
    """Return the body as a request object, or raise the GeminiError Gemini would answer."""
    _check_object(body)
    for check in CHECKS:
        check(body)
    return body
