"""Shared test helpers: recorded fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "recorded"


def gemini_sse(name: str, sep: bytes = b"\r\n\r\n") -> bytes:
    """A recorded `*.chunks.jsonl` file as Gemini puts it on the wire."""
    lines = (FIXTURES / name).read_bytes().splitlines()
    return b"".join(b"data: " + line + sep for line in lines if line.strip())


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
