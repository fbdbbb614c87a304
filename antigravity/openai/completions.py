"""Legacy Completions request (`POST /v1/completions`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from antigravity.openai.chat import StreamOptions

_STRICT = ConfigDict(strict=True, extra="allow")


class CompletionRequest(BaseModel):
    model_config = _STRICT

    model: str = Field(min_length=1)
    prompt: str | list[str] | list[int] | list[list[int]]
    suffix: str | None = None
    echo: bool | None = None
    # OpenAI's default for this endpoint: 16 tokens.
    max_tokens: int | None = Field(default=16, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    n: int | None = Field(default=None, ge=1, le=8)
    best_of: int | None = Field(default=None, ge=1, le=20)
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    logprobs: int | None = Field(default=None, ge=0, le=5)
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    user: str | None = None
