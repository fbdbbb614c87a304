"""Function declarations and the function-calling config: Gemini's rules, and which calls to make.

Which calls the emulator makes is decided by hints in the last user turn's text:

- `[call:NAME]` calls NAME (each hint one call, so two hints make parallel calls); a name that is
  not declared, or not allowed, falls back to the first allowed function;
- `[call:NAME {JSON object}]` calls NAME with exactly those arguments (unchecked against the
  schema); JSON that does not parse, or a fallback function, gets generated arguments;
- `[call]` calls the first allowed function;
- `[parallel]` calls every allowed function in one turn, or one function twice with different
  arguments when only one is allowed;
- no hint: mode ANY calls the first allowed function (always, even right after tool results, as
  real Gemini does); AUTO and VALIDATED answer in text. Mode NONE never calls.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from .content import Call
from .errors import invalid_value, rule_violation, unknown_field
from .protojson import enum_value, snake
from .samples import sample
from .schema_rules import check_json_schema, check_openapi_schema

TOOL_FIELDS = frozenset(
    {
        "functionDeclarations",
        "googleSearchRetrieval",
        "codeExecution",
        "googleSearch",
        "computerUse",
        "urlContext",
        "fileSearch",
        "googleMaps",
    }
)
DECLARATION_FIELDS = frozenset(
    {
        "name",
        "description",
        "behavior",
        "parameters",
        "parametersJsonSchema",
        "response",
        "responseJsonSchema",
    }
)
TOOL_CONFIG_FIELDS = frozenset({"functionCallingConfig", "retrievalConfig"})
CALLING_CONFIG_FIELDS = frozenset({"mode", "allowedFunctionNames"})
MODES = frozenset({"MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED"})
NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}")
BAD_NAME = (
    "Invalid function name. Must start with a letter or an underscore. Must be a-z, A-Z, 0-9, "
    "or contain underscores, dots, colons and dashes, with a maximum length of 64."
)
CALL_HINT = re.compile(r"\[call(?::([^\]\s]+))?(\]|\s+\{)")  # then, after "{": JSON and "]"
_JSON = json.JSONDecoder()
PARALLEL_HINT = "[parallel]"
FUNCTION_CALL_FINISH_MESSAGE = "Model generated function call(s)."


# --- validation --------------------------------------------------------------------------------


def check_tools(body: dict[str, Any], model: str) -> None:
    tools = body.get("tools")
    if tools is None:
        return
    if not isinstance(tools, list):
        raise invalid_value("tools", tools, "Tool")
    seen: set[str] = set()
    for i, tool in enumerate(tools):
        at = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise invalid_value(at, tool, "Tool")
        for key in tool:
            if key not in TOOL_FIELDS:
                raise unknown_field(key, at)
        decls = tool.get("functionDeclarations", [])
        if not isinstance(decls, list):
            raise invalid_value(f"{at}.function_declarations", decls, "FunctionDeclaration")
        for j, decl in enumerate(decls):
            _check_declaration(decl, f"{at}.function_declarations[{j}]", seen)


def _check_declaration(decl: Any, at: str, seen: set[str]) -> None:
    if not isinstance(decl, dict):
        raise invalid_value(at, decl, "FunctionDeclaration")
    for key in decl:
        if key not in DECLARATION_FIELDS:
            raise unknown_field(key, at)
    name = decl.get("name")
    if not name:
        raise rule_violation(f"{at}.name", "Name cannot be empty.")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise rule_violation(f"{at}.name", BAD_NAME)
    if name in seen:
        raise rule_violation(f"{at}.name", f"Duplicate function declaration found: {name}")
    seen.add(name)
    for openapi, json_schema in (
        ("parameters", "parametersJsonSchema"),
        ("response", "responseJsonSchema"),
    ):
        if openapi in decl and json_schema in decl:
            raise rule_violation(at, f"{openapi} and {snake(json_schema)} cannot both be set.")
        if openapi in decl:
            check_openapi_schema(decl[openapi], f"{at}.{openapi}")
        if json_schema in decl:
            check_json_schema(decl[json_schema], f"{at}.{snake(json_schema)}")


def check_tool_config(body: dict[str, Any], model: str) -> None:
    config = body.get("toolConfig")
    if config is None:
        return
    if not isinstance(config, dict):
        raise invalid_value("tool_config", config, "ToolConfig")
    for key in config:
        if key not in TOOL_CONFIG_FIELDS:
            raise unknown_field(key, "tool_config")
    calling = config.get("functionCallingConfig")
    if calling is None:
        return
    at = "tool_config.function_calling_config"
    if not isinstance(calling, dict):
        raise invalid_value(at, calling, "FunctionCallingConfig")
    for key in calling:
        if key not in CALLING_CONFIG_FIELDS:
            raise unknown_field(key, at)
    mode = "AUTO"
    if "mode" in calling:
        mode = enum_value(calling["mode"], MODES) or ""
        if not mode:
            raise invalid_value(f"{at}.mode", calling["mode"], "FunctionCallingConfig.Mode")
    names = calling.get("allowedFunctionNames", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise invalid_value(f"{at}.allowed_function_names", names, "TYPE_STRING")
    declared = [d["name"] for d in declarations(body)]
    if mode in ("ANY", "VALIDATED") and not declared:
        raise rule_violation(
            f"{at}.mode", f"function calling mode {mode} requires function_declarations."
        )
    if names and mode not in ("ANY", "VALIDATED"):
        raise rule_violation(
            f"{at}.allowed_function_names",
            "allowed_function_names may only be set when mode is ANY or VALIDATED.",
        )
    for k, name in enumerate(names):
        if name not in declared:
            raise rule_violation(
                f"{at}.allowed_function_names[{k}]",
                f"function `{name}` is not declared in tools.",
            )


# --- reading a (validated) request ------------------------------------------------------------


def declarations(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every function declaration of the request, in order."""
    out = []
    for tool in body.get("tools") or []:
        if isinstance(tool, dict):
            decls = tool.get("functionDeclarations") or []
            out += [d for d in decls if isinstance(d, dict) and isinstance(d.get("name"), str)]
    return out


def calling_mode(body: dict[str, Any]) -> tuple[str, list[str]]:
    """(mode, allowedFunctionNames) of the request; AUTO when unset."""
    calling = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
    mode = enum_value(calling.get("mode"), MODES) or "AUTO"
    return ("AUTO" if mode == "MODE_UNSPECIFIED" else mode), list(
        calling.get("allowedFunctionNames") or []
    )


def _text(content: dict[str, Any]) -> str:
    parts = content.get("parts") or []
    return " ".join(p["text"] for p in parts if isinstance(p.get("text"), str))


def _last_calls_had_ids(contents: list[dict[str, Any]]) -> bool:
    for content in reversed(contents):
        if content.get("role") != "model":
            continue
        calls = [p["functionCall"] for p in content.get("parts") or [] if "functionCall" in p]
        if calls:
            return all(c.get("id") for c in calls)
    return False


def plan_calls(body: dict[str, Any], nonce: str) -> tuple[Call, ...]:
    """The function calls the emulator answers this request with (none: answer in text)."""
    decls = declarations(body)
    mode, allowed_names = calling_mode(body)
    contents = body.get("contents") or []
    if not decls or mode == "NONE" or not contents or contents[-1].get("role") == "model":
        return ()
    allowed = [d for d in decls if not allowed_names or d["name"] in allowed_names]
    by_name = {d["name"]: d for d in allowed}
    text = _text(contents[-1])
    chosen: list[dict[str, Any]] = []
    given: dict[int, dict[str, Any] | None] = {}  # chosen[k] -> the hint's own arguments
    if PARALLEL_HINT in text:
        chosen = allowed if len(allowed) > 1 else [allowed[0], allowed[0]]
    else:
        for name, args in call_hints(text):
            decl = by_name.get(name, allowed[0])
            chosen.append(decl)
            given[len(chosen) - 1] = args if decl["name"] == name else None
    if not chosen and mode == "ANY":
        chosen = [allowed[0]]
    with_ids = _last_calls_had_ids(contents)
    calls = []
    for k, decl in enumerate(chosen):
        variant = sum(1 for d in chosen[:k] if d is decl)
        call_id = hashlib.sha256(f"{nonce}:{k}".encode()).hexdigest()[:8] if with_ids else None
        args = given.get(k)
        calls.append(
            Call(decl["name"], arguments(decl, variant) if args is None else args, call_id)
        )
    return tuple(calls)


def call_hints(text: str) -> list[tuple[str, dict[str, Any] | None]]:
    """(NAME or "", JSON arguments or None) of each `[call]`, `[call:NAME]`, `[call:NAME {…}]`."""
    hints: list[tuple[str, dict[str, Any] | None]] = []
    pos = 0
    while m := CALL_HINT.search(text, pos):
        name, args, pos = m.group(1) or "", None, m.end()
        if m.group(2) != "]":  # arguments follow, from the "{"
            brace = m.end() - 1
            try:
                value, end = _JSON.raw_decode(text, brace)
            except ValueError:
                value, end = None, brace
            tail = re.match(r"\s*\]", text[end:])
            if isinstance(value, dict) and tail:
                args, pos = value, end + tail.end()
            elif (close := text.find("]", brace)) >= 0:
                pos = close + 1  # unparsable arguments: generated ones instead
            else:
                continue  # never closed: not a hint, as before arguments existed
        hints.append((name, args))
    return hints


def arguments(decl: dict[str, Any], variant: int = 0) -> dict[str, Any]:
    """Deterministic arguments that satisfy the declaration's parameter schema."""
    schema = decl.get("parametersJsonSchema", decl.get("parameters"))
    if schema is None:
        return {}
    args = sample(schema, variant=variant)
    return args if isinstance(args, dict) else {}
