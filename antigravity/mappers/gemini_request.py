"""Canonical request -> Gemini `generateContent` body and path."""

from __future__ import annotations

from typing import Any

from antigravity.mappers.canonical import CanonicalRequest


def gemini_body(req: CanonicalRequest) -> dict[str, Any]:
    body: dict[str, Any] = {"contents": req.contents}
    if req.system:
        body["systemInstruction"] = {"parts": [{"text": "\n\n".join(req.system)}]}
    if req.tools:
        body["tools"] = [{"functionDeclarations": req.tools}]
    if req.tool_config:
        body["toolConfig"] = {"functionCallingConfig": req.tool_config}
    if req.generation:
        body["generationConfig"] = req.generation
    return body


def gemini_path(model: str, stream: bool) -> str:
    """The v1beta path of a model call; streams ask for SSE framing."""
    if stream:
        return f"/v1beta/models/{model}:streamGenerateContent?alt=sse"
    return f"/v1beta/models/{model}:generateContent"
