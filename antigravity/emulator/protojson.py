"""How Google's proto JSON parser reads values: field names, int64/int32, bytes, enums."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

_BASE64 = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")


def snake(name: str) -> str:
    """Google names fields in error paths by their proto (snake_case) names."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def as_int(value: Any) -> int | None:
    """An integer the way proto JSON reads one (number or numeric string), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return None


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def decode_bytes(value: Any) -> bytes | None:
    """A proto `bytes` field: standard or URL-safe base64, padding optional; None if invalid."""
    if not isinstance(value, str) or not _BASE64.fullmatch(value):
        return None
    body = value.rstrip("=")
    if len(body) % 4 == 1:
        return None
    body = body.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def enum_value(value: Any, names: frozenset[str]) -> str | None:
    """The canonical (upper-case) name of an enum value, read case-insensitively, else None."""
    if isinstance(value, str) and value.upper() in names:
        return value.upper()
    return None
