"""Fetch http(s) media that clients reference by URL and inline it for Gemini.

Gemini's `fileData` only reads Google-hosted files, so an `image_url` with a public URL is
downloaded by the gateway (bounded in size and time) and sent as `inlineData` with the MIME
type the server declared.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import aiohttp

from antigravity.errors import ApiError, invalid_request

MAX_BYTES = 20 * 2**20
TIMEOUT = 15.0
_MEDIA_TYPES = ("image/", "audio/", "video/", "application/pdf", "text/")


async def inline_remote(
    contents: list[dict[str, Any]], session: aiohttp.ClientSession
) -> list[str]:
    """Replace every http(s) `fileData` part by `inlineData`; returns notes for the inspector."""
    parts = [
        part
        for turn in contents
        for part in turn["parts"]
        if "fileData" in part and part["fileData"]["fileUri"].startswith(("http://", "https://"))
    ]
    fetched = await asyncio.gather(*(_fetch(p["fileData"]["fileUri"], session) for p in parts))
    notes = []
    for part, (mime, data) in zip(parts, fetched, strict=True):
        url = part.pop("fileData")["fileUri"]
        part["inlineData"] = {"mimeType": mime, "data": base64.b64encode(data).decode()}
        notes.append(f"fetched {url} ({mime}, {len(data)} bytes) and sent it inline")
    return notes


async def _fetch(url: str, session: aiohttp.ClientSession) -> tuple[str, bytes]:
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as resp:
            if resp.status != 200:
                raise _unusable(url, f"it answered HTTP {resp.status}")
            mime = resp.content_type or ""
            if not mime.startswith(_MEDIA_TYPES):
                raise _unusable(url, f"its content type is {mime or 'missing'}")
            if (resp.content_length or 0) > MAX_BYTES:
                raise _unusable(url, f"it is larger than {MAX_BYTES} bytes")
            data = await resp.content.read(MAX_BYTES + 1)
            if len(data) > MAX_BYTES:
                raise _unusable(url, f"it is larger than {MAX_BYTES} bytes")
            return mime, data
    except ApiError:
        raise
    except (aiohttp.ClientError, TimeoutError, ValueError) as e:
        raise _unusable(url, f"it could not be fetched ({type(e).__name__}: {e})") from None


def _unusable(url: str, why: str) -> ApiError:
    return invalid_request(
        f"The media at {url} cannot be used: {why}. Send it inline as a data: URI instead.",
        "messages",
        "invalid_media_url",
    )
