"""The two schema dialects Gemini accepts, checked the way Gemini checks them.

`parameters`, `response` and `responseSchema` are Gemini's `Schema` message: a subset of
OpenAPI 3.0 parsed as proto, so an unknown keyword is an unknown field, `type` is one enum value
and map entries are named `properties[i].value` in parse errors. `parametersJsonSchema`,
`responseJsonSchema` (and a declaration's `responseJsonSchema`) take JSON Schema, of which
Gemini documents a subset; other keywords are refused here too, so the gateway learns to drop
them before real Gemini silently ignores or rejects them.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import invalid_value, rule_violation, unknown_field
from .protojson import as_int, enum_value, is_number, snake

OPENAPI_FIELDS = frozenset(
    {
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "example",
        "anyOf",
        "propertyOrdering",
        "default",
        "items",
        "minimum",
        "maximum",
    }
)
OPENAPI_TYPES = frozenset(
    {"TYPE_UNSPECIFIED", "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"}
)
_OPENAPI_INTS = ("maxItems", "minItems", "minProperties", "maxProperties", "minLength", "maxLength")
_OPENAPI_STRINGS = ("format", "title", "description", "pattern")
TYPE_ENUM = "Type"

JSON_SCHEMA_FIELDS = frozenset(
    {
        "$id",
        "$defs",
        "$ref",
        "$anchor",
        "type",
        "format",
        "title",
        "description",
        "enum",
        "items",
        "prefixItems",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
        "anyOf",
        "oneOf",
        "properties",
        "additionalProperties",
        "required",
        "propertyOrdering",
    }
)
JSON_SCHEMA_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})


# --- OpenAPI subset (the Schema message) -------------------------------------------------------


def check_openapi_schema(schema: Any, where: str) -> None:
    """Raise what Gemini answers for `schema` at `where` (a proto path such as `parameters`)."""
    _openapi(schema, where, where)


def _openapi(schema: Any, parse_at: str, rule_at: str) -> None:
    """`parse_at` names map entries as the proto parser does (`properties[0].value`);
    `rule_at` names them as Gemini's request validation does (`properties[city]`)."""
    if not isinstance(schema, dict):
        raise invalid_value(parse_at, schema, "Schema")
    for key in schema:
        if key not in OPENAPI_FIELDS:
            raise unknown_field(key, parse_at)
    kind = _openapi_type(schema, parse_at)
    for key in _OPENAPI_INTS:
        if key in schema and as_int(schema[key]) is None:
            raise invalid_value(f"{parse_at}.{snake(key)}", schema[key], "TYPE_INT64")
    for key in ("minimum", "maximum"):
        if key in schema and not is_number(schema[key]):
            raise invalid_value(f"{parse_at}.{key}", schema[key], "TYPE_DOUBLE")
    for key in _OPENAPI_STRINGS:
        if key in schema and not isinstance(schema[key], str):
            raise invalid_value(f"{parse_at}.{key}", schema[key], "TYPE_STRING")
    if "nullable" in schema and not isinstance(schema["nullable"], bool):
        raise invalid_value(f"{parse_at}.nullable", schema["nullable"], "TYPE_BOOL")
    for key in ("enum", "required", "propertyOrdering"):
        _string_list(schema, key, parse_at)
    properties = schema.get("properties")
    if properties is not None and not isinstance(properties, dict):
        raise invalid_value(f"{parse_at}.properties", properties, "Schema")
    for i, (name, sub) in enumerate((properties or {}).items()):
        _openapi(sub, f"{parse_at}.properties[{i}].value", f"{rule_at}.properties[{name}]")
    if "items" in schema:
        _openapi(schema["items"], f"{parse_at}.items", f"{rule_at}.items")
    if "anyOf" in schema:
        branches = schema["anyOf"]
        if not isinstance(branches, list):
            raise invalid_value(f"{parse_at}.any_of", branches, "Schema")
        for i, sub in enumerate(branches):
            _openapi(sub, f"{parse_at}.any_of[{i}]", f"{rule_at}.any_of[{i}]")
    if "enum" in schema and kind != "STRING":
        raise rule_violation(f"{rule_at}.enum", "only allowed for STRING type")
    if kind == "OBJECT" and not properties:
        raise rule_violation(f"{rule_at}.properties", "should be non-empty for OBJECT type")
    for i, name in enumerate(schema.get("required") or []):
        if name not in (properties or {}):
            raise rule_violation(f"{rule_at}.required[{i}]", "property is not defined")


def _openapi_type(schema: dict[str, Any], parse_at: str) -> str | None:
    if "type" not in schema:
        return None
    kind = enum_value(schema["type"], OPENAPI_TYPES)
    if kind is None:  # a list (["string", "null"]) is JSON Schema, not this dialect
        raise invalid_value(f"{parse_at}.type", schema["type"], TYPE_ENUM)
    return kind


def _string_list(schema: dict[str, Any], key: str, parse_at: str) -> None:
    if key not in schema:
        return
    values = schema[key]
    if not isinstance(values, list):
        raise invalid_value(f"{parse_at}.{snake(key)}", values, "TYPE_STRING")
    for i, value in enumerate(values):
        if not isinstance(value, str):
            raise invalid_value(f"{parse_at}.{snake(key)}[{i}]", value, "TYPE_STRING")


# --- JSON Schema subset ------------------------------------------------------------------------


def check_json_schema(schema: Any, where: str) -> None:
    """Raise what the emulator answers for a JSON Schema outside Gemini's documented subset."""
    _JsonSchemaCheck(schema).walk(schema, where)


class _JsonSchemaCheck:
    def __init__(self, root: Any) -> None:
        self.root = root

    def walk(self, node: Any, at: str) -> None:
        if isinstance(node, bool):
            return
        if not isinstance(node, dict):
            raise rule_violation(at, "a JSON Schema must be an object or a boolean.")
        for key in node:
            if key not in JSON_SCHEMA_FIELDS:
                raise unknown_field(key, at)
        if "$ref" in node:
            self._ref(node, at)
        self._type(node.get("type"), at)
        self._enum(node, at)
        for key in ("minItems", "maxItems"):
            count = as_int(node[key]) if key in node else 0
            if count is None or count < 0:
                raise rule_violation(f"{at}.{key}", "must be a non-negative integer.")
        for key in ("minimum", "maximum"):
            if key in node and not is_number(node[key]):
                raise rule_violation(f"{at}.{key}", "must be a number.")
        for key in ("required", "propertyOrdering"):
            values = node.get(key, [])
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise rule_violation(f"{at}.{key}", "must be a list of strings.")
        for key in ("$id", "$anchor", "format", "title", "description"):
            if key in node and not isinstance(node[key], str):
                raise rule_violation(f"{at}.{key}", "must be a string.")
        for key in ("properties", "$defs"):
            mapping = node.get(key, {})
            if not isinstance(mapping, dict):
                raise rule_violation(f"{at}.{key}", "must be an object of schemas.")
            for name, sub in mapping.items():
                self.walk(sub, f"{at}.{key}.{name}")
        for key in ("anyOf", "oneOf", "prefixItems"):
            branches = node.get(key, [])
            if not isinstance(branches, list):
                raise rule_violation(f"{at}.{key}", "must be a list of schemas.")
            for i, sub in enumerate(branches):
                self.walk(sub, f"{at}.{key}[{i}]")
        for key in ("items", "additionalProperties"):
            if key in node:
                self.walk(node[key], f"{at}.{key}")

    def _ref(self, node: dict[str, Any], at: str) -> None:
        ref = node["$ref"]
        # Gemini tolerates a description beside $ref (pydantic writes one there).
        others = [k for k in node if not k.startswith("$") and k != "description"]
        if others:
            raise rule_violation(
                at,
                f'when $ref is set, no other properties except those starting with "$" may be '
                f'set; found "{others[0]}".',
            )
        if not isinstance(ref, str) or resolve_ref(self.root, ref) is None:
            raise rule_violation(
                f"{at}.$ref", f"{_quoted(ref)} does not resolve to a schema inside $defs."
            )

    def _type(self, kind: Any, at: str) -> None:
        if kind is None:
            return
        kinds = kind if isinstance(kind, list) else [kind]
        for value in kinds:
            if value not in JSON_SCHEMA_TYPES:
                raise rule_violation(f"{at}.type", f"{_quoted(value)} is not a JSON Schema type.")

    def _enum(self, node: dict[str, Any], at: str) -> None:
        if "enum" not in node:
            return
        values = node["enum"]
        if not isinstance(values, list):
            raise rule_violation(f"{at}.enum", "must be a list.")
        for i, value in enumerate(values):
            if not isinstance(value, str) and not is_number(value):
                raise rule_violation(f"{at}.enum[{i}]", "enum values must be strings or numbers.")


def _quoted(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _anchors(node: Any) -> dict[str, Any]:
    """Every `$anchor` in the schema, by name."""
    found: dict[str, Any] = {}
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("$anchor"), str):
                found.setdefault(item["$anchor"], item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def resolve_ref(root: Any, ref: str) -> Any | None:
    """The sub-schema a local `$ref` names (`#`, `#/$defs/...`, `#anchor`), else None.

    Only references into the root itself resolve, and a pointer must pass through `$defs`
    (or name the root), since Gemini resolves nothing else.
    """
    if ref == "#":
        return root
    if ref.startswith("#/"):
        steps = [s.replace("~1", "/").replace("~0", "~") for s in ref[2:].split("/")]
        if steps[0] != "$defs":
            return None
        node = root
        for step in steps:
            if isinstance(node, dict) and step in node:
                node = node[step]
            elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
                node = node[int(step)]
            else:
                return None
        return node if isinstance(node, dict | bool) else None
    if ref.startswith("#") and len(ref) > 1:
        return _anchors(root).get(ref[1:])
    return None
