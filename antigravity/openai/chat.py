"""Chat Completions request as clients send it, validated strictly so errors can name the field."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Strict: the wire never coerces "1" into 1. Unknown fields are kept (not rejected) because
# OpenAI clients send new parameters routinely; the mapper decides which ones matter.
_STRICT = ConfigDict(strict=True, extra="allow")


class ContentPart(BaseModel):
    model_config = _STRICT

    type: Literal["text", "image_url", "input_audio", "file", "refusal"]
    text: str | None = None
    refusal: str | None = None
    image_url: dict[str, Any] | None = None
    input_audio: dict[str, Any] | None = None
    file: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _payload_present(self) -> ContentPart:
        if getattr(self, self.type) is None:
            raise ValueError(f"a `{self.type}` content part needs a `{self.type}` field")
        return self


class Message(BaseModel):
    model_config = _STRICT

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    reasoning_content: str | None = None


class StreamOptions(BaseModel):
    model_config = _STRICT

    include_usage: bool | None = None


class ChatRequest(BaseModel):
    model_config = _STRICT

    model: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    n: int | None = Field(default=None, ge=1, le=8)
    seed: int | None = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    user: str | None = None
