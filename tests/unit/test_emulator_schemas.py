"""The emulator checks both of Gemini's schema dialects, in tools and in generationConfig."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.test_emulator_tools import FLASH, ask, emu, parts, post, rejected, session

__all__ = ["emu", "session"]  # fixtures shared with the tools tests

DECL = "tools[0].function_declarations[0]"


def with_parameters(schema: Any) -> dict[str, Any]:
    return ask("hi", {"name": "f", "parameters": schema})


def with_json_schema(schema: Any) -> dict[str, Any]:
    return ask("hi", {"name": "f", "parametersJsonSchema": schema})


def unknown(name: str, where: str) -> str:
    return (
        f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}': Cannot find field."
    )


# --- parameters: the OpenAPI subset ------------------------------------------------------------


async def test_additional_properties_in_parameters_is_rejected_with_path(emu, session) -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "additionalProperties": False,
    }
    message = await rejected(session, emu, with_parameters(schema))
    assert message == unknown("additionalProperties", f"{DECL}.parameters")


@pytest.mark.parametrize(
    "keyword",
    ["$ref", "$defs", "$schema", "const", "oneOf", "allOf", "exclusiveMinimum", "examples"],
)
async def test_keywords_outside_the_openapi_subset_are_rejected(emu, session, keyword) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string", keyword: 1}}}
    message = await rejected(session, emu, with_parameters(schema))
    assert message == unknown(keyword, f"{DECL}.parameters.properties[0].value")


async def test_nested_unknown_keyword_is_named_by_its_proto_path(emu, session) -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string"},
            "b": {
                "type": "array",
                "items": {"anyOf": [{"type": "string"}, {"type": "integer", "const": 1}]},
            },
        },
    }
    message = await rejected(session, emu, with_parameters(schema))
    assert message == unknown("const", f"{DECL}.parameters.properties[1].value.items.any_of[1]")


async def test_type_list_in_parameters_is_rejected(emu, session) -> None:
    schema = {"type": "object", "properties": {"a": {"type": ["string", "null"]}}}
    message = await rejected(session, emu, with_parameters(schema))
    assert message == (
        f"Invalid value at '{DECL}.parameters.properties[0].value.type' "
        '(type.googleapis.com/google.ai.generativelanguage.v1beta.Type), ["string", "null"]'
    )


async def test_unknown_type_name_in_parameters_is_rejected(emu, session) -> None:
    message = await rejected(session, emu, with_parameters({"type": "map"}))
    assert message == (
        f"Invalid value at '{DECL}.parameters.type' "
        '(type.googleapis.com/google.ai.generativelanguage.v1beta.Type), "map"'
    )


async def test_enum_on_a_non_string_type_is_rejected(emu, session) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "enum": ["1", "2"]}}}
    message = await rejected(session, emu, with_parameters(schema))
    assert message == (
        f"* GenerateContentRequest.{DECL}.parameters.properties[n].enum: only allowed for STRING "
        "type"
    )


async def test_required_property_must_be_defined(emu, session) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a", "b"]}
    message = await rejected(session, emu, with_parameters(schema))
    assert message == (
        f"* GenerateContentRequest.{DECL}.parameters.required[1]: property is not defined"
    )


async def test_object_without_properties_is_rejected(emu, session) -> None:
    message = await rejected(session, emu, with_parameters({"type": "object", "properties": {}}))
    assert message == (
        f"* GenerateContentRequest.{DECL}.parameters.properties: should be non-empty for OBJECT "
        "type"
    )


async def test_every_openapi_subset_keyword_is_accepted(emu, session) -> None:
    schema = {
        "type": "OBJECT",
        "title": "T",
        "description": "d",
        "nullable": False,
        "properties": {
            "s": {
                "type": "STRING",
                "format": "enum",
                "enum": ["x", "y"],
                "minLength": 1,
                "maxLength": "5",
                "pattern": "^[xy]$",
                "example": "x",
                "default": "x",
            },
            "a": {"type": "ARRAY", "items": {"type": "NUMBER"}, "minItems": 1, "maxItems": 3},
            "n": {"type": "INTEGER", "minimum": 0, "maximum": 9},
            "u": {"anyOf": [{"type": "STRING"}, {"type": "NULL"}]},
            "o": {
                "type": "OBJECT",
                "properties": {"k": {"type": "BOOLEAN"}},
                "minProperties": 1,
                "maxProperties": 1,
            },
        },
        "required": ["s"],
        "propertyOrdering": ["s", "a", "n", "u", "o"],
    }
    status, _ = await post(session, emu, with_parameters(schema))
    assert status == 200


# --- parametersJsonSchema: the JSON Schema subset ----------------------------------------------


async def test_pydantic_style_json_schema_with_defs_is_accepted(emu, session) -> None:
    schema = {
        "$defs": {
            "Place": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
                "additionalProperties": False,
            },
            "Unit": {"enum": ["c", "f"], "title": "Unit", "type": "string"},
        },
        "type": "object",
        "properties": {
            "place": {"$ref": "#/$defs/Place"},
            "unit": {"$ref": "#/$defs/Unit"},
            "days": {"type": "array", "items": {"type": "integer"}, "prefixItems": []},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "tree": {"oneOf": [{"$ref": "#"}, {"type": "null"}]},
        },
        "required": ["place", "unit", "days"],
        "additionalProperties": False,
        "propertyOrdering": ["place"],
    }
    status, _ = await post(session, emu, with_json_schema(schema))
    assert status == 200


@pytest.mark.parametrize(
    "keyword", ["$schema", "const", "default", "pattern", "allOf", "not", "minLength"]
)
async def test_keywords_outside_the_json_schema_subset_are_rejected(emu, session, keyword) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string", keyword: "x"}}}
    message = await rejected(session, emu, with_json_schema(schema))
    assert message == unknown(keyword, f"{DECL}.parameters_json_schema.properties.a")


async def test_ref_must_resolve_inside_defs(emu, session) -> None:
    schema = {"type": "object", "properties": {"a": {"$ref": "#/$defs/Missing"}}, "$defs": {}}
    message = await rejected(session, emu, with_json_schema(schema))
    assert message == (
        f"* GenerateContentRequest.{DECL}.parameters_json_schema.properties.a.$ref: "
        '"#/$defs/Missing" does not resolve to a schema inside $defs.'
    )


async def test_ref_to_definitions_or_remote_schema_is_rejected(emu, session) -> None:
    for ref in ("#/definitions/A", "https://example.com/a.json", "#/properties/a"):
        schema = {"type": "object", "properties": {"a": {"$ref": ref}}}
        message = await rejected(session, emu, with_json_schema(schema))
        assert message.endswith("does not resolve to a schema inside $defs.")


async def test_ref_by_anchor_resolves(emu, session) -> None:
    schema = {
        "$defs": {"A": {"$anchor": "thing", "type": "string"}},
        "type": "object",
        "properties": {"a": {"$ref": "#thing"}},
    }
    status, _ = await post(session, emu, with_json_schema(schema))
    assert status == 200


async def test_ref_with_sibling_keywords_is_rejected(emu, session) -> None:
    schema = {
        "$defs": {"A": {"type": "string"}},
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/A", "title": "A"}},
    }
    message = await rejected(session, emu, with_json_schema(schema))
    assert message == (
        f"* GenerateContentRequest.{DECL}.parameters_json_schema.properties.a: when $ref is set, "
        'no other properties except those starting with "$" may be set; found "title".'
    )


async def test_ref_with_a_description_beside_it_is_accepted(emu, session) -> None:
    schema = {
        "$defs": {"A": {"type": "string"}},
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/A", "description": "the a"}},
    }
    status, data = await post(session, emu, with_json_schema(schema), FLASH)
    assert status == 200, data


async def test_unknown_json_schema_type_is_rejected(emu, session) -> None:
    message = await rejected(session, emu, with_json_schema({"type": ["string", "date"]}))
    assert message == (
        f'* GenerateContentRequest.{DECL}.parameters_json_schema.type: "date" is not a JSON '
        "Schema type."
    )


async def test_boolean_enum_in_json_schema_is_rejected(emu, session) -> None:
    message = await rejected(session, emu, with_json_schema({"enum": ["a", True]}))
    assert message == (
        f"* GenerateContentRequest.{DECL}.parameters_json_schema.enum[1]: enum values must be "
        "strings or numbers."
    )


async def test_declaration_response_schemas_are_checked_too(emu, session) -> None:
    decl = {"name": "f", "responseJsonSchema": {"type": "string", "const": "x"}}
    message = await rejected(session, emu, ask("hi", decl))
    assert message == unknown("const", f"{DECL}.response_json_schema")
    decl = {"name": "f", "response": {"type": "STRING"}, "responseJsonSchema": {}}
    message = await rejected(session, emu, ask("hi", decl))
    assert message.endswith("response and response_json_schema cannot both be set.")


# --- generationConfig: responseSchema / responseJsonSchema -------------------------------------


def structured(**config: Any) -> dict[str, Any]:
    return ask("forecast", generationConfig=config)


async def test_response_json_schema_needs_json_mime_type(emu, session) -> None:
    message = await rejected(session, emu, structured(responseJsonSchema={"type": "string"}))
    assert message == (
        "* GenerateContentRequest.generation_config.response_mime_type: response_mime_type must "
        "be `application/json` when response_json_schema is set."
    )


async def test_response_schema_needs_json_or_enum_mime_type(emu, session) -> None:
    body = structured(responseMimeType="text/plain", responseSchema={"type": "STRING"})
    message = await rejected(session, emu, body)
    assert message == (
        "* GenerateContentRequest.generation_config.response_mime_type: response_mime_type must "
        "be `application/json` or `text/x.enum` when response_schema is set."
    )


async def test_both_response_schemas_are_rejected(emu, session) -> None:
    body = structured(
        responseMimeType="application/json",
        responseSchema={"type": "STRING"},
        responseJsonSchema={"type": "string"},
    )
    message = await rejected(session, emu, body)
    assert message == (
        "* GenerateContentRequest.generation_config: response_schema and response_json_schema "
        "cannot both be set."
    )


async def test_unsupported_mime_type_is_rejected(emu, session) -> None:
    message = await rejected(session, emu, structured(responseMimeType="text/html"))
    assert message == (
        "* GenerateContentRequest.generation_config.response_mime_type: allowed mimetypes are "
        "`text/plain`, `application/json`, `application/xml`, `application/yaml` and "
        "`text/x.enum`."
    )


async def test_response_schema_follows_the_openapi_rules(emu, session) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": {}}
    body = structured(responseMimeType="application/json", responseSchema=schema)
    message = await rejected(session, emu, body)
    assert message == unknown("additionalProperties", "generation_config.response_schema")


async def test_response_json_schema_follows_the_json_schema_rules(emu, session) -> None:
    schema = {"type": "object", "properties": {"a": {"$ref": "#/$defs/Nope"}}}
    body = structured(responseMimeType="application/json", responseJsonSchema=schema)
    message = await rejected(session, emu, body)
    assert message == (
        "* GenerateContentRequest.generation_config.response_json_schema.properties.a.$ref: "
        '"#/$defs/Nope" does not resolve to a schema inside $defs.'
    )


async def test_valid_response_json_schema_is_answered_with_an_instance(emu, session) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    body = structured(responseMimeType="application/json", responseJsonSchema=schema)
    status, data = await post(session, emu, body)
    assert status == 200 and json.loads(parts(data)[0]["text"]) == {"n": 1}
