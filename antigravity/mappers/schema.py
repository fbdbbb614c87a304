"""JSON Schemas as OpenAI clients write them -> schemas Gemini accepts, noting every change.

Two targets: `to_json_schema` for `parametersJsonSchema` / `responseJsonSchema` (Gemini's JSON
Schema subset) and `to_openapi_schema` for `parameters` / `responseSchema` (its OpenAPI 3.0
subset). Each note starts with a JSON pointer into the schema the client sent, so the inspector
can show it beside the original.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

_Path = tuple[str, ...]

JSON_SCHEMA_KEYWORDS = frozenset(
    {"$id", "$defs", "$ref", "$anchor", "type", "format", "title", "description", "enum"}
    | {"items", "prefixItems", "minItems", "maxItems", "minimum", "maximum", "anyOf", "oneOf"}
    | {"properties", "additionalProperties", "required", "propertyOrdering"}
)
OPENAPI_KEYWORDS = frozenset(
    {"type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems"}
    | {"properties", "required", "minProperties", "maxProperties", "minLength", "maxLength"}
    | {"pattern", "example", "anyOf", "propertyOrdering", "default", "items", "minimum", "maximum"}
)
OPENAPI_FORMATS: dict[str, frozenset[str]] = {
    "string": frozenset({"enum", "date-time"}),
    "integer": frozenset({"int32", "int64"}),
    "number": frozenset({"float", "double"}),
}
_JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})
_PYTHON_TYPES: dict[str, type] = {
    "null": type(None),
    "boolean": bool,
    "string": str,
    "array": list,
    "object": dict,
}

# Keywords that only constrain values of some types: splitting a type list into anyOf members
# hands each member the keywords that apply to its type.
_OBJECT_KEYWORDS = {"properties", "required", "additionalProperties", "propertyOrdering"}
_OBJECT_KEYWORDS |= {"minProperties", "maxProperties", "patternProperties", "propertyNames"}
_ARRAY_KEYWORDS = {"items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains"}
_NUMBER_KEYWORDS = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
_TYPE_KEYWORDS: dict[str, frozenset[str]] = {
    "object": frozenset(_OBJECT_KEYWORDS),
    "array": frozenset(_ARRAY_KEYWORDS),
    "string": frozenset({"minLength", "maxLength", "pattern", "format"}),
    "number": frozenset({*_NUMBER_KEYWORDS, "format"}),
    "integer": frozenset({*_NUMBER_KEYWORDS, "format"}),
}
# Keywords that say (or will say) what type a node has, so it needs no inferred `type`.
_TYPE_GIVERS = frozenset({"type", "$ref", "anyOf", "oneOf", "allOf", "enum", "const"})
_DEFS_REF = re.compile(r"#/\$defs/[^/]+")
# On conflicts while merging allOf members or $ref siblings, the first value of these wins.
_ANNOTATIONS = frozenset({"title", "description", "default", "example"})

# How many times one $ref may be inlined inside itself before the OpenAPI target cuts it, and
# how many inlinings one schema may need at all (shared definitions multiply on every use).
RECURSION_DEPTH = 2
MAX_INLINED_REFS = 1000


@dataclass(frozen=True)
class SchemaResult:
    """A schema Gemini accepts, and what was changed to get it, in document order."""

    schema: dict[str, Any]
    rewrites: tuple[str, ...]


class SchemaError(ValueError):
    """A schema that cannot be made acceptable to Gemini; the message starts with its path."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path


def to_json_schema(schema: Any, *, for_parameters: bool = False) -> SchemaResult:
    """A schema for Gemini's `parametersJsonSchema` / `responseJsonSchema` (its JSON Schema subset).

    Keywords of the subset (`JSON_SCHEMA_KEYWORDS`) are kept as they are, `$defs`/`$ref` and
    `additionalProperties` included; every other keyword is dropped. `const` becomes a one-value
    `enum` (for booleans and null, a `type`); `exclusiveMinimum`/`exclusiveMaximum` become
    inclusive bounds (exact for integers); `allOf` members are merged into their node; a type
    list becomes `anyOf` with one member per type; a root `definitions` becomes `$defs`.

    Gemini resolves a `$ref` only into `$defs` and allows only `description` beside it, so any
    other `$ref` is inlined (cut when recursive, as in `to_openapi_schema`); one that points
    nowhere is a `SchemaError`.

    Enum values other than strings and numbers are dropped, not stringified: a model answering
    "true" where the client's schema says `true` would fail the client's own validation. An enum
    of booleans leaves `type: boolean`; a null dropped from an enum only makes it stricter.

    `{}` or None becomes an object with no properties. With `for_parameters`, a root `$ref` is
    inlined and the root must be an object schema, else `SchemaError` naming "/".
    """
    return _JsonSchemaRewriter(schema, for_parameters).run()


def to_openapi_schema(schema: Any, *, for_parameters: bool = False) -> SchemaResult:
    """A schema for Gemini's `parameters` / `responseSchema` (its OpenAPI 3.0 subset).

    Every local `$ref` is inlined (siblings merged in) and `$defs` dropped. A `$ref` met inside
    itself `RECURSION_DEPTH` times is cut: that occurrence goes, and with it whatever cannot do
    without it (its property, leaving `required` too; its array; its `anyOf` member), because
    a stub object without properties is something Gemini refuses.

    `anyOf`/`oneOf` members of type null become `nullable: true` and a single remaining member
    is merged up; `oneOf` becomes `anyOf`; a type list becomes a type with `nullable` (or `anyOf`
    for several non-null types). Enums hold strings only: numbers become strings (with the type
    and a numeric `default`), null becomes `nullable`, booleans leave `type: boolean`. `const`,
    exclusive bounds and `allOf` are rewritten as in `to_json_schema`; `prefixItems` become
    `items` (`anyOf` of the positions); `examples` gives its first value to `example`; `format`
    is kept only where Gemini allows it (`OPENAPI_FORMATS`); `required` names without a property
    are dropped; every keyword outside `OPENAPI_KEYWORDS` is dropped. Gemini wants a `type` on
    every schema without `anyOf`: a missing one is inferred (`properties`: object, `items`:
    array, bounds: number, else string, which any value can be given as).

    Below the root, an object without properties (a free-form dict) cannot be expressed and is
    a `SchemaError` naming it: use `to_json_schema` for such schemas. At the root it is returned
    (`{}` and None become one), since a function without parameters leaves `parameters` out.
    With `for_parameters` the root must be an object schema, else `SchemaError` naming "/".
    """
    return _OpenApiRewriter(schema, for_parameters).run()


class _Rewriter:
    """The walk both targets share; subclasses say which keywords survive and how refs, enums
    and unions are rewritten."""

    def __init__(self, root: Any, for_parameters: bool) -> None:
        self.root = root
        self.for_parameters = for_parameters
        self.notes: dict[str, None] = {}  # ordered and deduplicated: a $def inlined twice
        self.expanding: list[_Path] = []
        self.inlined = 0

    def run(self) -> SchemaResult:
        if self.root is None or self.root == {}:
            given = "missing schema" if self.root is None else "{}"
            self.note((), f"{given} -> object with no properties")
            schema: dict[str, Any] = {"type": "object", "properties": {}}
        else:
            walked = self.walk(self.root, ())
            if walked is None:
                raise SchemaError(
                    "/", f"no level is left once recursion is cut at depth {RECURSION_DEPTH}"
                )
            schema = walked
        if self.for_parameters and schema.get("type") != "object":
            problem = f"function parameters must be an object schema, got {_describe(self.root)}"
            raise SchemaError("/", problem)
        return SchemaResult(schema, tuple(self.notes))

    def note(self, path: _Path, text: str) -> None:
        self.notes.setdefault(f"{_pointer(path)}: {text}")

    def walk(self, schema: Any, path: _Path) -> dict[str, Any] | None:
        """The schema rewritten, or None where a recursion cut leaves no value to give."""
        node, label = self.prepare(schema, path)
        out: dict[str, Any] = {}
        cut: set[str] = set()
        for key, value in node.items():
            sub = (*path, key)
            if key in ("properties", "$defs", "definitions"):
                if not isinstance(value, dict):
                    raise SchemaError(_pointer(sub), "must map names to schemas")
                walked = {name: self.child(s, (*sub, name)) for name, s in value.items()}
                if key == "properties":
                    cut = {name for name, s in walked.items() if s is None}
                out[key] = {name: s for name, s in walked.items() if s is not None}
            elif key in ("anyOf", "oneOf", "allOf", "prefixItems"):
                if not isinstance(value, list) or not value:
                    raise SchemaError(_pointer(sub), "must be a non-empty list of schemas")
                # Members split from a type list have no place of their own in the original.
                split = label and key == "anyOf"
                places = [path if split else (*sub, str(i)) for i in range(len(value))]
                members = [self.child(s, p) for s, p in zip(value, places, strict=True)]
                if key in ("anyOf", "oneOf"):  # a cut member is one choice fewer
                    node[key] = [w for w, m in zip(value, members, strict=True) if m is not None]
                    members = [m for m in members if m is not None]
                if not members or None in members:
                    return None
                out[key] = members
            elif key == "items" or (key == "additionalProperties" and not isinstance(value, bool)):
                out[key] = self.child(value, sub)
                if out[key] is None:
                    return None
            elif key == "$ref":
                out[key] = self.ref(value, path)
                if out[key] is None:
                    return None
            else:
                out[key] = copy.deepcopy(value)
        if cut:
            if not out["properties"]:
                return None
            if isinstance(out.get("required"), list):
                out["required"] = [name for name in out["required"] if name not in cut]
        return self.finish(out, node, path)

    def child(self, schema: Any, path: _Path) -> dict[str, Any] | None:
        """A schema nested in another (the root and inlined targets are walked directly)."""
        return self.walk(schema, path)

    def prepare(self, schema: Any, path: _Path) -> tuple[dict[str, Any], str | None]:
        """The node with its keyword-level rewrites done (children untouched), and the label
        of the type list it was split from, if any."""
        if schema is True:
            self.note(path, "true -> {}")
            schema = {}
        if not isinstance(schema, dict):
            raise SchemaError(_pointer(path), f"expected a schema object, got {_short(schema)}")
        node = dict(schema)
        label = None
        if node.get("items") is False:
            del node["items"]
            self.note(path, "dropped items: false")
        if isinstance(node.get("items"), list):
            node["prefixItems"] = node.pop("items")
            self.note(path, "items list -> prefixItems")
        if isinstance(node.get("type"), list):
            label = self.split_types(node, path)
        elif "type" in node:
            node["type"] = self.checked_type(node["type"], path)
        if "const" in node:
            self.const(node, path)
        for exclusive, inclusive, step in (
            ("exclusiveMinimum", "minimum", 1),
            ("exclusiveMaximum", "maximum", -1),
        ):
            if exclusive in node:
                self.exclusive_bound(node, path, exclusive, inclusive, step)
        if self.infers_types(path) and not node.keys() & _TYPE_GIVERS:
            inferred = self.inferred_type(node, path)
            if inferred:
                node["type"] = inferred
                self.note(path, f"missing type -> {inferred}")
        self.prepare_target(node, path, label)
        if "allOf" in node:
            self.note(path, f"allOf [{_describe_all(node['allOf'])}] merged")
        dropped = [key for key in node if key not in self.handled(path)]
        if dropped:
            self.note(path, f"dropped {', '.join(dropped)}")
        return {k: v for k, v in node.items() if k not in dropped}, label

    def split_types(self, node: dict[str, Any], path: _Path) -> str:
        """Replace `type: [a, b]` by `anyOf: [{type: a, ...}, {type: b, ...}]`."""
        types = [self.checked_type(t, path) for t in node["type"]]
        if not types:
            raise SchemaError(_pointer(path), "type list is empty")
        if node.keys() & {"anyOf", "oneOf"}:
            raise SchemaError(_pointer(path), "a type list beside anyOf/oneOf is not supported")
        members = []
        for t in types:
            member: dict[str, Any] = {"type": t}
            if "enum" in node:
                values = [v for v in node["enum"] if _has_type(v, t)]
                if not values:
                    continue
                if t != "null":
                    member["enum"] = values
            if "const" in node:
                if not _has_type(node["const"], t):
                    continue
                if t != "null":
                    member["const"] = node["const"]
            member.update((k, node[k]) for k in _TYPE_KEYWORDS.get(t, ()) if k in node)
            members.append(member)
        if not members:
            raise SchemaError(_pointer(path), "no value can match this type list and enum")
        moved = {"type", "enum", "const"}.union(*(m.keys() for m in members))
        for key in moved & node.keys():
            del node[key]
        node["anyOf"] = members
        return f"type [{', '.join(types)}]"

    def checked_type(self, value: Any, path: _Path) -> str:
        if isinstance(value, str) and value in _JSON_TYPES:
            return value
        if isinstance(value, str) and value.lower() in _JSON_TYPES:
            self.note(path, f"type {value} -> {value.lower()}")
            return value.lower()
        raise SchemaError(_pointer(path), f"unknown type {_short(value)}")

    def const(self, node: dict[str, Any], path: _Path) -> None:
        value = node.pop("const")
        shown = json.dumps(value)
        if value is None:
            node["type"] = "null"
            self.note(path, "const null -> type null")
        elif isinstance(value, bool):
            node.setdefault("type", "boolean")
            self.note(path, f"const {shown} -> type boolean (value not enforced)")
        elif isinstance(value, str | int | float):
            node["enum"] = [value]
            self.note(path, f"const {shown} -> enum [{shown}]")
        else:
            self.note(path, f"dropped const {_short(value)}")

    def exclusive_bound(
        self, node: dict[str, Any], path: _Path, exclusive: str, inclusive: str, step: int
    ) -> None:
        """Replace an exclusive bound by an inclusive one: exact for integers, else looser."""
        bound = node.pop(exclusive)
        if isinstance(bound, bool):  # draft 4: a flag on `minimum`/`maximum`
            self.note(path, f"dropped {exclusive}: {json.dumps(bound)} ({inclusive} now inclusive)")
            return
        if not _has_type(bound, "number"):
            raise SchemaError(_pointer((*path, exclusive)), f"expected a number, got {bound!r}")
        exact = node.get("type") == "integer" and _has_type(bound, "integer")
        value = int(bound) + step if exact else bound
        if _has_type(node.get(inclusive), "number"):
            value = max(value, node[inclusive]) if step > 0 else min(value, node[inclusive])
        node[inclusive] = value
        how = "" if exact else " (bound now inclusive)"
        self.note(path, f"{exclusive} {bound} -> {inclusive} {value}{how}")

    def boolean_enum_type(self, node: dict[str, Any], values: list[Any], path: _Path) -> None:
        """Keep the type of a dropped enum of booleans (and null)."""
        kinds = {type(v) for v in values}
        if "type" not in node and bool in kinds and kinds <= {bool, type(None)}:
            node["type"] = "boolean"
            self.note(path, "enum of booleans -> type boolean")

    def resolve(self, ref: Any, path: _Path) -> tuple[Any, _Path]:
        """The schema a local `$ref` points to in the original, and where it is."""
        where = _pointer((*path, "$ref"))
        if not isinstance(ref, str) or not (ref == "#" or ref.startswith("#/")):
            raise SchemaError(where, f"only local $refs (#/...) can be resolved, got {_short(ref)}")
        target_path = tuple(
            t.replace("~1", "/").replace("~0", "~") for t in ref[2:].split("/") if ref != "#"
        )
        target: Any = self.root
        for token in target_path:
            if isinstance(target, dict) and token in target:
                target = target[token]
            elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
                target = target[int(token)]
            else:
                raise SchemaError(where, f"{ref} points to nothing")
        return target, target_path

    def inline(self, ref: Any, path: _Path) -> dict[str, Any] | None:
        """The walked target of a local `$ref`; None where it recurses too deep."""
        target, target_path = self.resolve(ref, path)
        if self.expanding.count(target_path) >= RECURSION_DEPTH:
            # A stub such as {"type": "object"} would be refused by Gemini (an object needs
            # properties), so the occurrence goes, with whatever needs it to have a value.
            self.note(path, f"recursive $ref {ref} cut after {RECURSION_DEPTH} levels")
            return None
        self.inlined += 1
        if self.inlined > MAX_INLINED_REFS:
            problem = f"more than {MAX_INLINED_REFS} $refs to inline"
            raise SchemaError(_pointer((*path, "$ref")), problem)
        self.note(path, f"$ref {ref} inlined")
        self.expanding.append(target_path)
        try:
            return self.walk(target, target_path)
        finally:
            self.expanding.pop()

    def finish(
        self, out: dict[str, Any], node: dict[str, Any], path: _Path
    ) -> dict[str, Any] | None:
        return self.merged(out, node, path)

    def merged(self, out: dict[str, Any], node: dict[str, Any], path: _Path) -> dict[str, Any]:
        """Reshape the walked node, then merge inlined `$ref` targets and `allOf` members in."""
        out = self.reshape(out, node, path)
        if isinstance(out.get("$ref"), dict):
            out = _merge(out, out.pop("$ref"), path)
        for member in out.pop("allOf", ()):
            out = _merge(out, member, path)
        return out

    def infers_types(self, path: _Path) -> bool:
        return path == () and self.for_parameters

    def inferred_type(self, node: dict[str, Any], path: _Path) -> str | None:
        if node.keys() & {"items", "prefixItems"}:
            return "array"
        if "properties" in node or (path == () and self.for_parameters):
            return "object"
        return None

    def handled(self, path: _Path) -> frozenset[str]:
        raise NotImplementedError

    def ref(self, ref: Any, path: _Path) -> Any:
        raise NotImplementedError

    def prepare_target(self, node: dict[str, Any], path: _Path, label: str | None) -> None:
        raise NotImplementedError

    def reshape(self, out: dict[str, Any], node: dict[str, Any], path: _Path) -> dict[str, Any]:
        raise NotImplementedError


class _JsonSchemaRewriter(_Rewriter):
    def __init__(self, root: Any, for_parameters: bool) -> None:
        super().__init__(root, for_parameters)
        self.renamed_refs: dict[str, str] = {}  # "#/$defs/X" -> "#/definitions/X" it came from

    def handled(self, path: _Path) -> frozenset[str]:
        if path == ():
            return JSON_SCHEMA_KEYWORDS | {"allOf", "definitions"}
        return JSON_SCHEMA_KEYWORDS | {"allOf"}

    def ref(self, ref: Any, path: _Path) -> Any:
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            new = "#/$defs/" + ref.removeprefix("#/definitions/")
            self.renamed_refs[new] = ref
            self.note(path, f"$ref {ref} -> {new}")
            return new
        return ref

    def prepare_target(self, node: dict[str, Any], path: _Path, label: str | None) -> None:
        if "enum" in node:
            values = _checked_enum(node["enum"], path)
            kept = [v for v in values if _is_string_or_number(v)]
            if len(kept) < len(values):
                gone = [v for v in values if not _is_string_or_number(v)]
                self.note(path, f"dropped enum values {_short(gone)} (strings and numbers only)")
                node["enum"] = kept
            if not kept:
                del node["enum"]
                self.boolean_enum_type(node, values, path)
        if label:
            self.note(path, f"{label} -> anyOf [{_describe_all(node['anyOf'])}]")
        if "definitions" in node and path == ():
            self.note(path, "definitions -> $defs")

    def finish(
        self, out: dict[str, Any], node: dict[str, Any], path: _Path
    ) -> dict[str, Any] | None:
        out = self.merged(out, node, path)
        # Gemini resolves $refs into $defs only, refuses siblings other than description (and
        # default, dropped here), and wants `type: object` on function parameters.
        while isinstance(ref := out.get("$ref"), str) and (
            not _DEFS_REF.fullmatch(ref)
            or out.keys() - {"$ref", "description"}
            or (path == () and self.for_parameters)
        ):
            target = self.inline(self.renamed_refs.get(ref, ref), path)
            if target is None:
                return None
            del out["$ref"]
            out = _merge(out, target, path)  # which may bring a $ref of its own
        if isinstance(ref, str):
            self.resolve(self.renamed_refs.get(ref, ref), path)  # refuse a dangling one here
        return out

    def reshape(self, out: dict[str, Any], node: dict[str, Any], path: _Path) -> dict[str, Any]:
        if "definitions" in out:
            clash = out.get("$defs", {}).keys() & out["definitions"].keys()
            if clash:
                raise SchemaError("/", f"both $defs and definitions define {sorted(clash)}")
            out["$defs"] = {**out.get("$defs", {}), **out.pop("definitions")}
        return out


class _OpenApiRewriter(_Rewriter):
    def handled(self, path: _Path) -> frozenset[str]:
        return OPENAPI_KEYWORDS | {"$ref", "oneOf", "allOf", "prefixItems"}

    def infers_types(self, path: _Path) -> bool:
        return True

    def inferred_type(self, node: dict[str, Any], path: _Path) -> str | None:
        # Gemini wants a type on every schema without anyOf; a string is a value of any type.
        number = "number" if node.keys() & {"minimum", "maximum"} else "string"
        return super().inferred_type(node, path) or number

    def child(self, schema: Any, path: _Path) -> dict[str, Any] | None:
        walked = self.walk(schema, path)
        if walked is not None and walked.get("type") == "object" and not walked.get("properties"):
            problem = "Gemini's OpenAPI schemas refuse an object without properties"
            raise SchemaError(_pointer(path), f"{problem}; use the JSON Schema target")
        return walked

    def ref(self, ref: Any, path: _Path) -> Any:
        return self.inline(ref, path)

    def prepare_target(self, node: dict[str, Any], path: _Path, label: str | None) -> None:
        for key in ("$defs", "definitions"):
            if key in node:
                del node[key]
                self.note(path, f"dropped {key} (their $refs are inlined)")
        if "enum" in node:
            self.string_enum(node, path)
        if "format" in node and node["format"] not in OPENAPI_FORMATS.get(node.get("type", ""), ()):
            self.note(path, f"dropped format {_short(node.pop('format'))}")
        examples = node.get("examples")
        if isinstance(examples, list) and examples and "example" not in node:
            node["example"] = node.pop("examples")[0]
            self.note(path, f"examples -> example (first of {len(examples)})")
        if "prefixItems" in node:
            self.note(path, f"prefixItems [{_describe_all(node['prefixItems'])}] -> items")
        if node.keys() >= {"anyOf", "oneOf"}:
            raise SchemaError(_pointer(path), "anyOf beside oneOf is not supported")
        key = "oneOf" if "oneOf" in node else "anyOf"
        if isinstance(node.get(key), list) and node[key]:
            rest, nullable = _without_nulls(node[key])
            before = label or f"{key} [{_describe_all(node[key])}]"
            after = "nullable " if nullable else ""
            if len(rest) == 1:
                after += _describe(rest[0])
            else:
                after = f"{after}anyOf [{_describe_all(rest)}]" if rest else "null"
            if before != after:
                self.note(path, f"{before} -> {after}")

    def string_enum(self, node: dict[str, Any], path: _Path) -> None:
        values = _checked_enum(node["enum"], path)
        numbers = [v for v in values if _is_string_or_number(v) and not isinstance(v, str)]
        strings = [
            v if isinstance(v, str) else json.dumps(v) for v in values if _is_string_or_number(v)
        ]
        others = [v for v in values if v is not None and not _is_string_or_number(v)]
        if numbers:
            shown = f"{node.get('type', '')} enum {_short(numbers)}".lstrip()
            self.note(path, f"{shown} -> string enum {_short([json.dumps(n) for n in numbers])}")
        if None in values:
            node["nullable"] = True
            self.note(path, "null in enum -> nullable")
        if others:
            self.note(path, f"dropped enum values {_short(others)} (strings only)")
        if strings:
            node["enum"] = strings
            if node.get("type") != "string":
                if not numbers:
                    self.note(
                        path, f"type {node.get('type', 'missing')} -> string (enum of strings)"
                    )
                node["type"] = "string"
        else:
            del node["enum"]
            self.boolean_enum_type(node, values, path)

    def reshape(self, out: dict[str, Any], node: dict[str, Any], path: _Path) -> dict[str, Any]:
        if "prefixItems" in out:
            choices = [*out.pop("prefixItems"), *([out.pop("items")] if "items" in out else [])]
            choices = [s for i, s in enumerate(choices) if s not in choices[:i]]
            out["items"] = _nullable_any_of({}, choices, choices, path)
        key = "oneOf" if "oneOf" in out else "anyOf"
        if key in out:
            # The members as written decide the note in `prepare_target`; a $ref to a null
            # schema only shows once inlined.
            out = _nullable_any_of(out, out.pop(key), node[key], path)
        return out

    def finish(
        self, out: dict[str, Any], node: dict[str, Any], path: _Path
    ) -> dict[str, Any] | None:
        out = self.merged(out, node, path)
        required = out.get("required")
        if isinstance(required, list):
            undefined = [name for name in required if name not in out.get("properties", {})]
            if undefined:
                self.note(path, f"dropped required {_short(undefined)} (not among properties)")
                out["required"] = [name for name in required if name not in undefined]
        for key in ("default", "example"):
            # Stay valid once a numeric enum became a string one.
            if out.get("type") == "string" and _has_type(out.get(key), "number"):
                self.note(path, f"{key} {out[key]} -> {json.dumps(json.dumps(out[key]))}")
                out[key] = json.dumps(out[key])
        return out


def _nullable_any_of(
    node: dict[str, Any], members: list[Any], written: list[Any], path: _Path
) -> dict[str, Any]:
    """The node with the anyOf of members, null members turned into `nullable`."""
    rest, nullable = _without_nulls(members, written)
    if len(rest) == 1:
        node = _merge(node, rest[0], path)
    elif rest:
        node = {**node, "anyOf": rest}
    else:
        node = {**node, "type": "null"}
    return {**node, "nullable": True} if nullable else node


def _without_nulls(members: list[Any], written: list[Any] | None = None) -> tuple[list[Any], bool]:
    """The members (of an anyOf) that are not the null type, and whether any was."""
    written = members if written is None else written
    rest = [m for m, w in zip(members, written, strict=True) if not (_is_null(w) or _is_null(m))]
    return rest, len(rest) < len(members)


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and (
        schema.get("type") in ("null", ["null"]) or ("const" in schema and schema["const"] is None)
    )


def _merge(first: dict[str, Any], second: dict[str, Any], path: _Path) -> dict[str, Any]:
    """Both schemas in one (their intersection); the first one's annotations win."""
    out = dict(first)
    for key, value in second.items():
        if key not in out or out[key] == value or key in _ANNOTATIONS:
            out.setdefault(key, value)
        elif key == "properties":
            mine = out[key]
            out[key] = {**mine, **{n: _merge(mine.get(n, {}), s, path) for n, s in value.items()}}
        elif key == "required":
            out[key] = [*out[key], *(name for name in value if name not in out[key])]
        else:
            problem = f"cannot merge {key} {_short(out[key])} with {_short(value)}"
            raise SchemaError(_pointer(path), problem)
    return out


def _checked_enum(values: Any, path: _Path) -> list[Any]:
    if not isinstance(values, list):
        raise SchemaError(_pointer((*path, "enum")), f"expected a list, got {_short(values)}")
    return values


def _is_string_or_number(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _has_type(value: Any, type_: str) -> bool:
    if isinstance(value, bool) and type_ in ("integer", "number"):
        return False
    if type_ == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if type_ == "number":
        return isinstance(value, int | float)
    return isinstance(value, _PYTHON_TYPES[type_])


def _describe(schema: Any) -> str:
    """A short name for a schema in notes: its type, the name its $ref points to, ..."""
    if not isinstance(schema, dict):
        return _short(schema)
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1].lstrip("#") or "root"
    kind = schema.get("type")
    if isinstance(kind, list):
        return "|".join(map(str, kind))
    if kind is not None:
        return str(kind)
    if "const" in schema:
        return _short(schema["const"])
    return "enum" if "enum" in schema else "schema"


def _describe_all(schemas: Any) -> str:
    return ", ".join(map(_describe, schemas)) if isinstance(schemas, list) else _short(schemas)


def _short(value: Any) -> str:
    text = json.dumps(value, default=repr)
    return text if len(text) <= 60 else text[:57] + "..."


def _pointer(path: _Path) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in path) or "/"
