"""Client JSON Schemas -> Gemini's JSON Schema and OpenAPI subsets, with rewrite notes."""

from __future__ import annotations

import copy
import datetime
import re
from collections.abc import Callable, Iterator
from enum import IntEnum, StrEnum
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from antigravity.mappers.schema import (
    SchemaError,
    SchemaResult,
    to_json_schema,
    to_openapi_schema,
)

# Gemini's OpenAPI subset, as its API reference lists it; written out here rather than imported
# so the test checks the module against the documentation, not against itself.
OPENAPI_ALLOWED = {
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
OPENAPI_FORMATS = {
    "string": {"enum", "date-time"},
    "integer": {"int32", "int64"},
    "number": {"float", "double"},
}
NOTE = re.compile(r"^/\S*: \S")

Convert = Callable[..., SchemaResult]
BOTH_TARGETS = pytest.mark.parametrize("convert", [to_json_schema, to_openapi_schema])


class Color(StrEnum):
    RED = "red"
    GREEN = "green"


class Priority(IntEnum):
    LOW = 1
    HIGH = 2


class Address(BaseModel):
    street: str
    zip_code: str = Field(pattern=r"^\d{5}$")


class Person(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Full name", min_length=1)
    nickname: str | None = None
    favourite: Color = Color.RED
    priority: Priority = Priority.LOW
    home: Address
    work: Address | None = None
    previous: list[Address] = []
    born: datetime.date | None = None
    pair: tuple[int, str] | None = None


class Node(BaseModel):
    name: str
    children: list[Node] = []


ZOD: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "age": {"type": "number", "exclusiveMinimum": 0},
        "count": {"type": "integer", "exclusiveMaximum": 10},
        "kind": {"type": "string", "const": "user"},
        "admin": {"type": "boolean", "const": False},
        "email": {"type": ["string", "null"], "format": "email"},
        "id": {"anyOf": [{"type": "string"}, {"type": "number"}]},
    },
    "required": ["name", "age", "kind"],
    "additionalProperties": False,
    "$schema": "http://json-schema.org/draft-07/schema#",
}
MCP: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "query": {"type": "string", "pattern": "^[a-z]+$", "contentMediaType": "text/plain"},
        "limit": {"type": "integer", "multipleOf": 5, "deprecated": True, "readOnly": True},
        "headers": {
            "type": "object",
            "properties": {"accept": {"type": "string"}},
            "patternProperties": {"^x-": {"type": "string"}},
            "unevaluatedProperties": False,
            "dependentRequired": {"a": ["b"]},
        },
        "mode": {
            "if": {"properties": {"fast": {"const": True}}},
            "then": {"required": ["budget"]},
            "else": {"not": {"required": ["budget"]}},
        },
        "tuple": {"type": "array", "items": [{"type": "integer"}, {"type": "string"}]},
        "shape": {
            "oneOf": [
                {"type": "object", "properties": {"r": {"type": "number"}}, "required": ["r"]},
                {"type": "object", "properties": {"side": {"type": "number"}}},
            ],
            "discriminator": {"propertyName": "kind"},
        },
        "levels": {"type": "array", "items": {"enum": [1, 2, 3], "examples": [2]}},
        "flag": {"enum": [True, False, None]},
    },
}
DRAFT7: dict[str, Any] = {
    "type": "object",
    "definitions": {
        "Tag": {"type": "string", "enum": ["a", "b"]},
        "Item": {"type": "object", "properties": {"tag": {"$ref": "#/definitions/Tag"}}},
    },
    "properties": {"items": {"type": "array", "items": {"$ref": "#/definitions/Item"}}},
}
JSON_VALUE: dict[str, Any] = {
    "$defs": {
        "Json": {
            "anyOf": [
                {"type": ["string", "number", "boolean", "null"]},
                {"type": "array", "items": {"$ref": "#/$defs/Json"}},
                {
                    "type": "object",
                    "properties": {"key": {"type": "string"}, "value": {"$ref": "#/$defs/Json"}},
                },
            ]
        }
    },
    "type": "object",
    "properties": {"payload": {"$ref": "#/$defs/Json"}, "merged": {"allOf": [{"$ref": "#"}]}},
}
OPENAI_STRICT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"type": ["string", "null"], "enum": ["c", "f", None]},
        "days": {"type": "array", "items": {"type": "integer", "minimum": 1}},
    },
    "required": ["city", "unit", "days"],
    "additionalProperties": False,
    "strict": True,
}


VARIED = {
    "pydantic": Person.model_json_schema(),
    "pydantic-recursive": Node.model_json_schema(),
    "zod": ZOD,
    "mcp": MCP,
    "draft7": DRAFT7,
    "json-value": JSON_VALUE,
    "openai-strict": OPENAI_STRICT,
    "bare-object": {"type": "object"},
}
EACH_SCHEMA = pytest.mark.parametrize("schema", VARIED.values(), ids=VARIED.keys())


def schema_nodes(schema: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema in an OpenAPI-target output, with where it is."""
    assert isinstance(schema, dict), f"{path or '/'} is not a schema object: {schema!r}"
    yield path or "/", schema
    for name, sub in schema.get("properties", {}).items():
        yield from schema_nodes(sub, f"{path}/properties/{name}")
    if "items" in schema:
        yield from schema_nodes(schema["items"], f"{path}/items")
    for i, sub in enumerate(schema.get("anyOf", [])):
        yield from schema_nodes(sub, f"{path}/anyOf/{i}")


def test_pydantic_model_becomes_openapi_with_refs_inlined_and_nulls_as_nullable() -> None:
    result = to_openapi_schema(Person.model_json_schema(), for_parameters=True)
    props = result.schema["properties"]

    assert "$defs" not in result.schema
    assert props["home"]["properties"]["zip_code"] == {
        "pattern": r"^\d{5}$",
        "title": "Zip Code",
        "type": "string",
    }
    assert props["home"]["required"] == ["street", "zip_code"]
    assert props["previous"]["items"]["title"] == "Address"
    assert props["work"]["nullable"] is True and props["work"]["type"] == "object"
    assert props["nickname"] == {
        "default": None,
        "title": "Nickname",
        "type": "string",
        "nullable": True,
    }
    assert props["favourite"] == {
        "default": "red",
        "enum": ["red", "green"],
        "title": "Color",
        "type": "string",
    }
    assert props["pair"]["items"] == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert props["name"]["title"] == "Name"  # title is in the OpenAPI subset
    text = str(result.schema)
    assert "$ref" not in text and "additionalProperties" not in text
    for path, node in schema_nodes(result.schema):
        assert all(member.get("type") != "null" for member in node.get("anyOf", [])), path
    assert "/properties/work: anyOf [Address, null] -> nullable Address" in result.rewrites
    assert '/properties/born/anyOf/0: dropped format "date"' in result.rewrites


def test_pydantic_model_keeps_defs_and_refs_for_json_schema() -> None:
    schema = Person.model_json_schema()
    result = to_json_schema(schema, for_parameters=True)

    assert result.schema["$defs"].keys() == {"Address", "Color", "Priority"}
    assert result.schema["$defs"]["Priority"]["enum"] == [1, 2]
    assert result.schema["properties"]["home"] == {"$ref": "#/$defs/Address"}
    assert result.schema["properties"]["work"]["anyOf"] == schema["properties"]["work"]["anyOf"]
    assert result.schema["additionalProperties"] is False
    assert "default" not in str(result.schema)
    assert "/properties/name: dropped minLength" in result.rewrites
    assert "/$defs/Address/properties/zip_code: dropped pattern" in result.rewrites


def test_openapi_integer_enum_becomes_string_enum_with_its_default() -> None:
    result = to_openapi_schema(Person.model_json_schema())

    assert result.schema["properties"]["priority"] == {
        "default": "1",
        "enum": ["1", "2"],
        "title": "Priority",
        "type": "string",
    }
    assert '/$defs/Priority: integer enum [1, 2] -> string enum ["1", "2"]' in result.rewrites
    assert '/properties/priority: default 1 -> "1"' in result.rewrites


def test_zod_schema_for_json_schema_keeps_subset_and_rewrites_the_rest() -> None:
    result = to_json_schema(ZOD)
    props = result.schema["properties"]

    assert "$schema" not in result.schema
    assert result.schema["additionalProperties"] is False
    assert props["name"] == {"type": "string"}
    assert props["age"] == {"type": "number", "minimum": 0}
    assert props["count"] == {"type": "integer", "maximum": 9}  # exact for integers
    assert props["kind"] == {"type": "string", "enum": ["user"]}
    assert props["admin"] == {"type": "boolean"}
    assert props["email"] == {"anyOf": [{"type": "string", "format": "email"}, {"type": "null"}]}
    assert props["id"] == ZOD["properties"]["id"]
    assert result.rewrites == (
        "/: dropped $schema",
        "/properties/name: dropped minLength",
        "/properties/age: exclusiveMinimum 0 -> minimum 0 (bound now inclusive)",
        "/properties/count: exclusiveMaximum 10 -> maximum 9",
        '/properties/kind: const "user" -> enum ["user"]',
        "/properties/admin: const false -> type boolean (value not enforced)",
        "/properties/email: type [string, null] -> anyOf [string, null]",
    )


def test_zod_schema_for_openapi_uses_nullable_and_drops_additional_properties() -> None:
    result = to_openapi_schema(ZOD)
    props = result.schema["properties"]

    assert result.schema.keys() == {"type", "properties", "required"}
    assert props["email"] == {"type": "string", "nullable": True}
    assert props["kind"] == {"type": "string", "enum": ["user"]}
    assert props["id"] == {"anyOf": [{"type": "string"}, {"type": "number"}]}
    assert "/: dropped additionalProperties, $schema" in result.rewrites
    assert "/properties/email: type [string, null] -> nullable string" in result.rewrites
    assert '/properties/email: dropped format "email"' in result.rewrites


def test_type_list_with_several_types_becomes_nullable_anyof_in_openapi() -> None:
    schema = {"type": ["string", "integer", "null"], "maxLength": 3, "minimum": 0}

    result = to_openapi_schema(schema)

    assert result.schema == {
        "anyOf": [{"type": "string", "maxLength": 3}, {"type": "integer", "minimum": 0}],
        "nullable": True,
    }
    assert result.rewrites == (
        "/: type [string, integer, null] -> nullable anyOf [string, integer]",
    )


def test_recursive_model_is_cut_in_openapi_and_the_cut_is_noted() -> None:
    result = to_openapi_schema(Node.model_json_schema(), for_parameters=True)

    child = result.schema["properties"]["children"]["items"]
    assert child == {
        "properties": {"name": {"title": "Name", "type": "string"}},
        "required": ["name"],
        "title": "Node",
        "type": "object",
    }
    assert (
        "/$defs/Node/properties/children/items: recursive $ref #/$defs/Node cut after 2 levels"
        in result.rewrites
    )


def test_recursion_cut_drops_what_needs_the_recursive_value() -> None:
    schema = {
        "$defs": {
            "Tree": {
                "type": "object",
                "properties": {
                    "label": {"type": "string"},
                    "parent": {"anyOf": [{"$ref": "#/$defs/Tree"}, {"type": "null"}]},
                    "kids": {"type": "array", "items": {"$ref": "#/$defs/Tree"}},
                },
                "required": ["label", "parent", "kids"],
            }
        },
        "$ref": "#/$defs/Tree",
    }

    deepest = to_openapi_schema(schema).schema["properties"]["kids"]["items"]

    assert deepest["properties"]["parent"] == {"type": "null", "nullable": True}
    assert "kids" not in deepest["properties"]
    assert deepest["required"] == ["label", "parent"]


def test_recursion_that_leaves_nothing_is_refused() -> None:
    with pytest.raises(SchemaError, match="recursion"):
        to_openapi_schema({"properties": {"again": {"$ref": "#"}}})


def test_object_without_properties_inside_is_refused_by_openapi_and_kept_by_json_schema() -> None:
    schema = {
        "properties": {"meta": {"type": "object", "additionalProperties": {"type": "string"}}}
    }

    with pytest.raises(SchemaError) as e:
        to_openapi_schema(schema)

    assert e.value.path == "/properties/meta"
    assert to_json_schema(schema).schema == schema


def test_openapi_gives_a_type_to_schemas_without_one() -> None:
    schema = {"properties": {"anything": {}, "count": {"minimum": 1}, "list": {"items": {}}}}

    result = to_openapi_schema(schema)

    assert result.schema["properties"] == {
        "anything": {"type": "string"},
        "count": {"minimum": 1, "type": "number"},
        "list": {"items": {"type": "string"}, "type": "array"},
    }
    assert "/properties/anything: missing type -> string" in result.rewrites


def test_recursive_model_keeps_its_ref_in_json_schema_and_root_ref_is_inlined_for_tools() -> None:
    result = to_json_schema(Node.model_json_schema(), for_parameters=True)

    assert result.schema["type"] == "object"
    assert result.schema["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    assert "Node" in result.schema["$defs"]
    assert "/: $ref #/$defs/Node inlined" in result.rewrites


def test_root_self_reference_in_allof_terminates() -> None:
    result = to_openapi_schema(JSON_VALUE)

    twice = result.schema["properties"]["merged"]["properties"]["merged"]
    assert twice["properties"].keys() == {"payload"}
    assert "/properties/merged/allOf/0: recursive $ref # cut after 2 levels" in result.rewrites


def test_schema_that_explodes_when_inlined_is_refused() -> None:
    defs: dict[str, Any] = {
        f"D{i}": {
            "properties": {"a": {"$ref": f"#/$defs/D{i + 1}"}, "b": {"$ref": f"#/$defs/D{i + 1}"}}
        }
        for i in range(30)
    }
    defs["D30"] = {"type": "string"}  # 2**30 uses once inlined

    with pytest.raises(SchemaError, match=r"more than \d+ \$refs to inline"):
        to_openapi_schema({"$defs": defs, "$ref": "#/$defs/D0"})


def test_draft7_definitions_become_defs_in_json_schema() -> None:
    result = to_json_schema(DRAFT7)

    assert result.schema["$defs"]["Item"]["properties"]["tag"] == {"$ref": "#/$defs/Tag"}
    assert result.schema["properties"]["items"]["items"] == {"$ref": "#/$defs/Item"}
    assert "definitions" not in result.schema
    assert "/: definitions -> $defs" in result.rewrites


@BOTH_TARGETS
@pytest.mark.parametrize("schema", [{}, None], ids=["empty", "missing"])
def test_empty_or_missing_schema_is_an_object_with_no_properties(
    convert: Convert, schema: Any
) -> None:
    result = convert(schema, for_parameters=True)

    assert result.schema == {"type": "object", "properties": {}}
    assert len(result.rewrites) == 1 and result.rewrites[0].startswith("/: ")


@BOTH_TARGETS
def test_object_without_properties_is_left_alone(convert: Convert) -> None:
    assert convert({"type": "object"}, for_parameters=True) == SchemaResult({"type": "object"}, ())


@BOTH_TARGETS
@pytest.mark.parametrize(
    "schema",
    [{"type": "string"}, {"type": "array", "items": {"type": "string"}}, [1], False],
    ids=["string", "array", "list", "false"],
)
def test_non_object_parameters_are_refused_naming_the_root(convert: Convert, schema: Any) -> None:
    with pytest.raises(SchemaError) as e:
        convert(schema, for_parameters=True)

    assert e.value.path == "/"
    assert str(e.value).startswith("/: ")


@BOTH_TARGETS
def test_non_object_schema_is_fine_outside_parameters(convert: Convert) -> None:
    assert convert({"type": "string"}).schema == {"type": "string"}


@BOTH_TARGETS
def test_parameters_without_type_but_with_properties_are_an_object(convert: Convert) -> None:
    result = convert({"properties": {"a": {"type": "string"}}}, for_parameters=True)

    assert result.schema == {"properties": {"a": {"type": "string"}}, "type": "object"}
    assert result.rewrites == ("/: missing type -> object",)


@BOTH_TARGETS
@pytest.mark.parametrize(
    ("schema", "path"),
    [
        ({"properties": {"a": {"type": "text"}}}, "/properties/a"),
        ({"properties": {"a": False}}, "/properties/a"),
        ({"allOf": [{"type": "string"}, {"type": "integer"}]}, "/"),
    ],
    ids=["unknown-type", "false-schema", "allof-conflict"],
)
def test_unusable_schema_is_refused_naming_its_path(
    convert: Convert, schema: dict[str, Any], path: str
) -> None:
    with pytest.raises(SchemaError) as e:
        convert(schema)

    assert e.value.path == path
    assert str(e.value).startswith(f"{path}: ")


@pytest.mark.parametrize(
    "ref", ["https://example.com/a.json", "#/$defs/Missing", "#anchor"], ids=str
)
@BOTH_TARGETS
def test_refs_that_cannot_be_resolved_are_refused(convert: Convert, ref: str) -> None:
    with pytest.raises(SchemaError) as e:
        convert({"properties": {"a": {"$ref": ref}}})

    assert e.value.path == "/properties/a/$ref"
    assert ref in str(e.value)


def test_single_allof_member_is_merged_under_its_siblings() -> None:
    schema = {
        "$defs": {"Unit": {"type": "string", "enum": ["c", "f"], "description": "unit"}},
        "properties": {"u": {"allOf": [{"$ref": "#/$defs/Unit"}], "description": "Which"}},
    }

    json_result = to_json_schema(schema)
    openapi_result = to_openapi_schema(schema)

    assert json_result.schema["properties"]["u"] == {"description": "Which", "$ref": "#/$defs/Unit"}
    assert openapi_result.schema["properties"]["u"] == {
        "description": "Which",
        "type": "string",
        "enum": ["c", "f"],
    }
    assert "/properties/u: allOf [Unit] merged" in openapi_result.rewrites


def test_json_schema_inlines_refs_gemini_would_not_resolve() -> None:
    schema = {
        "$defs": {"A": {"type": "string"}},
        "properties": {
            "described": {"$ref": "#/$defs/A", "description": "kept beside $ref"},
            "titled": {"$ref": "#/$defs/A", "title": "T"},
            "relative": {"$ref": "#/properties/titled"},
        },
    }

    result = to_json_schema(schema)

    assert result.schema["properties"] == {
        "described": {"$ref": "#/$defs/A", "description": "kept beside $ref"},
        "titled": {"title": "T", "type": "string"},
        "relative": {"title": "T", "type": "string"},
    }
    assert "/properties/relative: $ref #/properties/titled inlined" in result.rewrites


def test_openapi_drops_required_names_without_a_property() -> None:
    schema = {"properties": {"a": {"type": "string"}}, "required": ["a", "b"]}

    result = to_openapi_schema(schema)

    assert result.schema["required"] == ["a"]
    assert '/: dropped required ["b"] (not among properties)' in result.rewrites


def test_json_schema_drops_enum_values_that_are_not_strings_or_numbers() -> None:
    result = to_json_schema(
        {"properties": {"flag": {"enum": [True, False]}, "n": {"enum": [1, None]}}}
    )

    assert result.schema["properties"] == {"flag": {"type": "boolean"}, "n": {"enum": [1]}}
    assert result.rewrites == (
        "/properties/flag: dropped enum values [true, false] (strings and numbers only)",
        "/properties/flag: enum of booleans -> type boolean",
        "/properties/n: dropped enum values [null] (strings and numbers only)",
    )


def test_openapi_enum_with_null_becomes_nullable_string_enum() -> None:
    result = to_openapi_schema(OPENAI_STRICT, for_parameters=True)

    assert result.schema["properties"]["unit"] == {
        "type": "string",
        "enum": ["c", "f"],
        "nullable": True,
    }


def clear(value: Any) -> None:
    """Empty every dict and list in a value, innermost first."""
    for sub in value.values() if isinstance(value, dict) else value:
        if isinstance(sub, dict | list):
            clear(sub)
    value.clear()


@BOTH_TARGETS
@EACH_SCHEMA
def test_input_schema_is_not_changed(convert: Convert, schema: dict[str, Any]) -> None:
    before = copy.deepcopy(schema)

    result = convert(schema)
    assert schema == before
    clear(result.schema)  # the output shares no dict or list with the input either
    assert schema == before


@BOTH_TARGETS
@EACH_SCHEMA
def test_every_rewrite_names_a_path_once_and_output_is_deterministic(
    convert: Convert, schema: dict[str, Any]
) -> None:
    result = convert(schema)

    assert all(NOTE.match(note) for note in result.rewrites), result.rewrites
    assert len(set(result.rewrites)) == len(result.rewrites)
    assert convert(copy.deepcopy(schema)) == result


def test_rewrites_follow_document_order() -> None:
    result = to_openapi_schema(ZOD)
    paths = [note.split(":")[0] for note in result.rewrites]

    assert list(dict.fromkeys(paths)) == [
        "/",
        "/properties/age",
        "/properties/count",
        "/properties/kind",
        "/properties/admin",
        "/properties/email",
    ]


@EACH_SCHEMA
def test_openapi_output_only_uses_the_openapi_subset(schema: dict[str, Any]) -> None:
    result = to_openapi_schema(schema)

    for path, node in schema_nodes(result.schema):
        assert node.keys() <= OPENAPI_ALLOWED, f"{path}: {node.keys() - OPENAPI_ALLOWED}"
        kind = node.get("type")
        assert kind in (None, "string", "number", "integer", "boolean", "array", "object", "null")
        if "enum" in node:
            assert kind == "string" and all(isinstance(v, str) for v in node["enum"]), path
        if "format" in node:
            assert node["format"] in OPENAPI_FORMATS.get(kind or "", set()), path
        assert not any(m.get("type") == "null" for m in node.get("anyOf", [])), path
        # What Gemini answers 400 for: "type: must be specified when not using one_of, any_of
        # or all_of", "properties: should be non-empty for OBJECT type" (the root aside: a
        # function without parameters leaves `parameters` out).
        assert "type" in node or "anyOf" in node, path
        assert kind != "object" or path == "/" or node.get("properties"), path
