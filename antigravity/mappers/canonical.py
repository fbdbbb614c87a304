"""The canonical request and answer events every dialect is translated through.

A request from any OpenAI dialect becomes one `CanonicalRequest`; every Gemini answer, streamed
or not, becomes a sequence of `Event`s. Renderers per dialect turn events into bytes, so the
three endpoints share one translation in each direction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Dialect = Literal["chat", "completions", "responses"]

# OpenAI finish reasons; only these ever reach a client.
FinishReason = Literal["stop", "length", "content_filter", "tool_calls"]


@dataclass(slots=True)
class CanonicalRequest:
    """A conversation ready for Gemini, plus what the client asked of the answer's shape."""

    dialect: Dialect
    model: str
    stream: bool
    contents: list[dict[str, Any]]
    system: list[str] = field(default_factory=list)
    generation: dict[str, Any] = field(default_factory=dict)
    tools: list[dict[str, Any]] = field(default_factory=list)  # Gemini functionDeclarations
    tool_config: dict[str, Any] | None = None  # Gemini functionCallingConfig
    include_usage: bool = False
    n: int = 1
    logprobs: bool = False
    # Remote media (http/https URLs) the gateway must fetch and inline before sending.
    remote_media: bool = False
    # Thoughts requested only to keep a quiet stream alive; the client does not see them.
    hidden_thoughts: bool = False
    # Notes for the inspector about what was changed or dropped while translating.
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class TokenLogprob:
    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


@dataclass(slots=True, frozen=True)
class TextDelta:
    index: int
    text: str
    logprobs: tuple[TokenLogprob, ...] = ()


@dataclass(slots=True, frozen=True)
class ThoughtDelta:
    """Thinking text, shown to clients as `reasoning_content`."""

    index: int
    text: str


@dataclass(slots=True, frozen=True)
class ToolCall:
    """One complete function call (Gemini sends calls whole, never in fragments)."""

    index: int
    call_index: int  # position among this choice's calls
    call_id: str
    name: str
    arguments: str  # JSON text, as OpenAI clients expect
    signature: str | None = None  # Gemini 3 thought signature, to replay in later turns


@dataclass(slots=True, frozen=True)
class Finish:
    index: int
    reason: FinishReason
    upstream_reason: str


@dataclass(slots=True, frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int = 0
    cached_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(slots=True, frozen=True)
class Failure:
    """The upstream answer cannot be turned into a normal reply; the client must see why."""

    status: int
    message: str
    code: str
    type: str = "server_error"


Event = TextDelta | ThoughtDelta | ToolCall | Finish | Usage | Failure
