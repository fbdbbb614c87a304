"""Responses API request (`POST /v1/responses`) as Codex CLI and the SDK send it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_STRICT = ConfigDict(strict=True, extra="allow")


class InputContent(BaseModel):
    """A content part of an input message (`input_text`, `input_image`, `output_text`, …)."""

    model_config = _STRICT

    type: Literal[
        "input_text",
        "output_text",
        "input_image",
        "input_file",
        "refusal",
        "summary_text",
        "reasoning_text",
    ]
    text: str | None = None
    refusal: str | None = None
    image_url: str | None = None
    file_id: str | None = None
    file_data: str | None = None
    filename: str | None = None
    detail: str | None = None


class Item(BaseModel):
    """One input item. Fields depend on `type`; the mapper checks what each type needs."""

    model_config = _STRICT

    type: Literal[
        "message",
        "function_call",
        "function_call_output",
        "reasoning",
        "custom_tool_call",
        "custom_tool_call_output",
        "local_shell_call",
        "local_shell_call_output",
        "item_reference",
    ] = "message"
    id: str | None = None
    role: Literal["user", "assistant", "system", "developer"] | None = None
    content: str | list[InputContent] | None = None
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    input: str | None = None
    output: str | list[InputContent] | None = None
    action: dict[str, Any] | None = None
    summary: list[InputContent] | None = None
    encrypted_content: str | None = None
    status: str | None = None


class FunctionTool(BaseModel):
    model_config = _STRICT

    type: str
    name: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None
    format: dict[str, Any] | None = None


class ToolChoiceFunction(BaseModel):
    model_config = _STRICT

    type: Literal["function", "custom"]
    name: str


class TextFormat(BaseModel):
    model_config = _STRICT

    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None
    description: str | None = None


class TextConfig(BaseModel):
    model_config = _STRICT

    format: TextFormat | None = None
    verbosity: str | None = None


class Reasoning(BaseModel):
    model_config = _STRICT

    effort: Literal["none", "minimal", "low", "medium", "high", "xhigh"] | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None
    generate_summary: str | None = None


class ResponsesRequest(BaseModel):
    model_config = _STRICT

    model: str = Field(min_length=1)
    input: str | list[Item] = Field(min_length=1)
    instructions: str | None = None
    stream: bool | None = None
    tools: list[FunctionTool] | None = None
    tool_choice: Literal["none", "auto", "required"] | ToolChoiceFunction | None = None
    parallel_tool_calls: bool | None = None
    text: TextConfig | None = None
    reasoning: Reasoning | None = None
    max_output_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    previous_response_id: str | None = None
    store: bool | None = None
    include: list[str] | None = None
    metadata: dict[str, Any] | None = None
    user: str | None = None
