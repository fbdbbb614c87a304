"""The model catalog served by `GET /v1beta/models`."""

from __future__ import annotations

import re
from typing import Any

_CATALOG = (
    ("gemini-2.5-flash", "001", "Gemini 2.5 Flash"),
    ("gemini-2.5-pro", "2.5", "Gemini 2.5 Pro"),
    ("gemini-2.5-flash-lite", "001", "Gemini 2.5 Flash-Lite"),
    ("gemini-3-pro-preview", "3-pro-preview-11-2025", "Gemini 3 Pro Preview"),
    ("gemini-3-flash-preview", "3-flash-preview-12-2025", "Gemini 3 Flash Preview"),
)

MODELS: dict[str, dict[str, Any]] = {
    name: {
        "name": f"models/{name}",
        "version": version,
        "displayName": display,
        "description": f"{display}, served by the antigravity Gemini emulator",
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 65536,
        "supportedGenerationMethods": ["generateContent", "countTokens"],
    }
    for name, version, display in _CATALOG
}


def is_gemini_model(model: str) -> bool:
    """Whether Gemini would route this name at all (any gemini-*/gemma-* model)."""
    return re.fullmatch(r"(gemini|gemma)-[A-Za-z0-9.\-_]+", model) is not None
