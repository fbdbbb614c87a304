"""Deterministic instances of a schema (either dialect): tool-call arguments and JSON answers.

Rules a test can predict: an enum gives its first value; a string gives `sample <name>` (or the
answer text, for the first free string of a JSON answer); an integer 1 and a number 1.5 (raised
to `minimum`, lowered to `maximum`); a boolean true; an array `max(minItems, 1)` items; an object
every property when it has at most FEW_PROPERTIES, else its required ones. `variant` n > 0 gives
a second, different instance (strings end in ` n+1`, numbers grow by n, booleans alternate), for
parallel calls to one tool.
"""

from __future__ import annotations

import math
from typing import Any

from .schema_rules import resolve_ref

FEW_PROPERTIES = 4
MAX_DEPTH = 8
_FORMATS = {
    "date-time": "2025-01-01T00:00:00Z",
    "date": "2025-01-01",
    "time": "12:00:00",
    "email": "emulator@example.com",
    "uri": "https://example.com/emulator",
    "url": "https://example.com/emulator",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def sample(schema: Any, text: str | None = None, variant: int = 0) -> Any:
    """An instance of `schema`; `text` fills the first free string field, if there is one."""
    return _Sampler(schema, text, variant).value(schema, "value", 0)


class _Sampler:
    def __init__(self, root: Any, text: str | None, variant: int) -> None:
        self.root = root
        self.text = text
        self.variant = variant

    def value(self, schema: Any, name: str, depth: int) -> Any:
        schema = self._resolve(schema, depth)
        if not isinstance(schema, dict):
            return self._string({}, name)
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            values = schema["enum"]
            return values[min(self.variant, len(values) - 1)]
        branches = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(branches, list) and branches and "type" not in schema:
            usable = [b for b in branches if _kind(self._resolve(b, depth)) != "null"]
            return self.value((usable or branches)[0], name, depth + 1)
        kind = _kind(schema)
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, name, depth)
        if kind == "integer":
            return self._integer(schema)
        if kind == "number":
            return self._number(schema)
        if kind == "boolean":
            return self.variant % 2 == 0
        if kind == "null":
            return None
        return self._string(schema, name)

    def _resolve(self, schema: Any, depth: int) -> Any:
        for _ in range(MAX_DEPTH):
            if not (isinstance(schema, dict) and isinstance(schema.get("$ref"), str)):
                break
            schema = resolve_ref(self.root, schema["$ref"])
        return schema if depth <= MAX_DEPTH else {"type": "null"}

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties")
        if not isinstance(properties, dict) or depth >= MAX_DEPTH:
            return {}
        order = [p for p in schema.get("propertyOrdering") or [] if p in properties]
        order += [p for p in properties if p not in order]
        required = set(schema.get("required") or [])
        chosen = order if len(order) <= FEW_PROPERTIES else [p for p in order if p in required]
        return {p: self.value(properties[p], p, depth + 1) for p in chosen}

    def _array(self, schema: dict[str, Any], name: str, depth: int) -> list[Any]:
        if depth >= MAX_DEPTH:
            return []
        count = max(_int(schema.get("minItems"), 0), 1)
        high = _int(schema.get("maxItems"), count)
        count = min(count, high)
        prefix = schema.get("prefixItems")
        prefix = prefix if isinstance(prefix, list) else []
        item = schema.get("items", {})
        out = [self.value(s, name, depth + 1) for s in prefix[:count]]
        while len(out) < count:
            out.append(self.value(item, name, depth + 1))
        return out

    def _integer(self, schema: dict[str, Any]) -> int:
        low, high = _num(schema.get("minimum")), _num(schema.get("maximum"))
        value = 1 + self.variant
        if low is not None:
            value = max(value, math.ceil(low) + self.variant)
        if high is not None:
            value = min(value, math.floor(high))
        return value

    def _number(self, schema: dict[str, Any]) -> float:
        low, high = _num(schema.get("minimum")), _num(schema.get("maximum"))
        value = 1.5 + self.variant
        if low is not None:
            value = max(value, low + self.variant)
        if high is not None:
            value = min(value, high)
        return value

    def _string(self, schema: dict[str, Any], name: str) -> str:
        fmt = schema.get("format")
        if isinstance(fmt, str) and fmt in _FORMATS:
            return _FORMATS[fmt]
        if self.text is not None:
            value, self.text = self.text, None
        else:
            value = f"sample {name}" + (f" {self.variant + 1}" if self.variant else "")
        low = _int(schema.get("minLength"), 0)
        high = _int(schema.get("maxLength"), max(len(value), low))
        if len(value) < low:
            value += "x" * (low - len(value))
        return value[:high]


def _kind(schema: Any) -> str:
    """The JSON type a schema describes, in lower case (the OpenAPI dialect writes STRING)."""
    if not isinstance(schema, dict):
        return "string"
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), "null")
    if isinstance(kind, str) and kind and kind.upper() != "TYPE_UNSPECIFIED":
        return kind.lower()
    if "properties" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return "string"


def _int(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return default


def _num(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None
