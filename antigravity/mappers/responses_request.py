"""Responses API request -> a Chat Completions request, so one mapper serves both dialects.

Input items become chat messages: `function_call` items become assistant `tool_calls`,
`*_output` items become `role: tool` messages. Codex's custom tools (`apply_patch`) and
`local_shell` become functions whose calls are rendered back in their own item types.
Thought signatures travel in `reasoning.encrypted_content` (see `encode_signature`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from antigravity.errors import ApiError, invalid_request
from antigravity.openai.responses import FunctionTool, InputContent, Item, ResponsesRequest

_SIGNATURE_PREFIX = "antigravity.v1."
# Tools a Responses client may offer that Gemini cannot run here: dropped (the model simply
# does not see them) rather than failing the whole request. `namespace` groups Codex's
# sub-agent tools, whose calls come back in a shape no Gemini function call can take.
_DROPPED_TOOLS = {"web_search", "web_search_preview", "web_search_2025_08_26", "namespace"}
_IGNORED = {
    "store",
    "include",
    "metadata",
    "user",
    "prompt_cache_key",
    "service_tier",
    "truncation",
    "safety_identifier",
    "background",
    "prompt_cache_retention",
    "top_logprobs",
    "stream_options",
    "max_tool_calls",
}
LOCAL_SHELL_SCHEMA = {
    "type": "object",
    "properties": {
        "command": {
            "type": "array",
            "items": {"type": "string"},
            "description": "The command and its arguments, as for execvp.",
        },
        "working_directory": {"type": "string"},
        "timeout_ms": {"type": "integer"},
    },
    "required": ["command"],
}


def encode_signature(signature: str) -> str:
    """Gemini's thought signature as a reasoning item's `encrypted_content` (stateless replay)."""
    return _SIGNATURE_PREFIX + signature


def decode_signature(encrypted: str | None) -> str | None:
    if encrypted and encrypted.startswith(_SIGNATURE_PREFIX):
        return encrypted[len(_SIGNATURE_PREFIX) :]
    return None


@dataclass
class ChatPlan:
    """A Responses request restated as a chat request, and what the answer needs back."""

    chat: dict[str, Any]
    signatures: dict[str, str] = field(default_factory=dict)  # call_id -> thought signature
    tool_kinds: dict[str, str] = field(default_factory=dict)  # tool name -> item type
    notes: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # messages[k] came from this input path


def to_chat(req: ResponsesRequest, history: list[dict[str, Any]] | None = None) -> ChatPlan:
    plan = ChatPlan(chat={"model": req.model})
    extras = set(req.model_extra or {}) | {
        name for name in ("store", "include", "metadata", "user") if getattr(req, name)
    }
    plan.notes += [f"ignored parameter '{name}'" for name in sorted(extras & _IGNORED)]
    builder = _Messages(plan)
    if req.instructions:
        builder.add({"role": "system", "content": req.instructions}, "instructions")
    for j, raw in enumerate(history or []):
        builder.item(Item.model_validate(raw), f"previous_response_id (item {j})")
    items = (
        [Item(type="message", role="user", content=req.input)]
        if isinstance(req.input, str)
        else req.input
    )
    for j, item in enumerate(items):
        builder.item(item, "input" if isinstance(req.input, str) else f"input[{j}]")
    builder.flush()
    plan.chat["messages"] = builder.messages
    _tools(req, plan)
    _options(req, plan)
    return plan


def rename_param(err: ApiError, plan: ChatPlan) -> ApiError:
    """Restate a chat-mapper error in the Responses request's own field names."""
    param = err.param
    if not param:
        return err
    if m := re.match(r"messages\[(\d+)\](.*)", param):
        k = int(m.group(1))
        param = plan.sources[k] if k < len(plan.sources) else "input"
    else:
        param = (
            param.replace("tools[", "tools[")
            .replace(".function.", ".")
            .replace("response_format.json_schema.schema", "text.format.schema")
            .replace("response_format", "text.format")
            .replace("max_completion_tokens", "max_output_tokens")
            .replace("reasoning_effort", "reasoning.effort")
        )
    message = err.message.replace(err.param or "", param) if err.param else err.message
    return ApiError(err.status, message, err.type, param, err.code, err.headers)


class _Messages:
    def __init__(self, plan: ChatPlan) -> None:
        self.plan = plan
        self.messages: list[dict[str, Any]] = []
        self._calls: list[dict[str, Any]] = []
        self._calls_source = ""
        self._signature: str | None = None

    def add(self, message: dict[str, Any], source: str) -> None:
        self.messages.append(message)
        self.plan.sources.append(source)

    def flush(self) -> None:
        if self._calls:
            self.add(
                {"role": "assistant", "content": None, "tool_calls": self._calls},
                self._calls_source,
            )
            self._calls = []

    def item(self, item: Item, where: str) -> None:
        if item.type == "reasoning":
            # Gemini takes no past thoughts, only the signature of the call that follows.
            self._signature = decode_signature(item.encrypted_content) or self._signature
            return
        if item.type in ("function_call", "custom_tool_call", "local_shell_call"):
            self._call(item, where)
            return
        self.flush()
        if item.type in (
            "function_call_output",
            "custom_tool_call_output",
            "local_shell_call_output",
        ):
            call_id = _required(item.call_id, f"{where}.call_id")
            self.add(
                {
                    "role": "tool",
                    "tool_call_id": call_id,
                    "content": _output_text(item.output, where, self.plan),
                },
                where,
            )
        elif item.type == "message":
            self.add(_message(item, where), where)
        else:
            raise invalid_request(
                f"Input items of type '{item.type}' need server-side storage this gateway does "
                "not keep; send the referenced content itself.",
                f"{where}.type",
                "unsupported_parameter",
            )

    def _call(self, item: Item, where: str) -> None:
        call_id = _required(item.call_id, f"{where}.call_id")
        if item.type == "function_call":
            name, arguments = _required(item.name, f"{where}.name"), item.arguments or "{}"
        elif item.type == "custom_tool_call":
            name = _required(item.name, f"{where}.name")
            arguments = json.dumps({"input": item.input or ""})
        else:
            name = "local_shell"
            action = {k: v for k, v in (item.action or {}).items() if k != "type"}
            arguments = json.dumps(action)
        if not self._calls:
            self._calls_source = where
        self._calls.append(
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
        )
        if self._signature:
            self.plan.signatures[call_id] = self._signature
            self._signature = None


def _required(value: str | None, param: str) -> str:
    if not value:
        raise invalid_request(
            f"Missing required parameter: '{param}'.", param, "missing_required_parameter"
        )
    return value


def _message(item: Item, where: str) -> dict[str, Any]:
    role = item.role or "user"
    if isinstance(item.content, str) or item.content is None:
        return {"role": role, "content": item.content or ""}
    parts = [_part(part, f"{where}.content[{k}]") for k, part in enumerate(item.content)]
    if role == "assistant":  # chat wants plain text for assistant turns
        return {"role": role, "content": "".join(p.get("text", "") for p in parts)}
    return {"role": role, "content": parts}


def _part(part: InputContent, where: str) -> dict[str, Any]:
    if part.type in ("input_text", "output_text", "summary_text", "reasoning_text"):
        return {"type": "text", "text": part.text or ""}
    if part.type == "refusal":
        return {"type": "text", "text": part.refusal or ""}
    if part.type == "input_image":
        if not part.image_url:
            raise invalid_request(
                "input_image needs an image_url (a data: URI or an http(s) URL); file_id refers "
                "to OpenAI's Files API, which Gemini cannot read.",
                f"{where}.image_url",
                "unsupported_parameter",
            )
        image: dict[str, Any] = {"url": part.image_url}
        if part.detail in ("auto", "low", "high"):
            image["detail"] = part.detail
        return {"type": "image_url", "image_url": image}
    file: dict[str, Any] = {"file_data": part.file_data, "filename": part.filename}
    if part.file_id:
        file["file_id"] = part.file_id
    return {"type": "file", "file": {k: v for k, v in file.items() if v is not None}}


def _output_text(output: str | list[InputContent] | None, where: str, plan: ChatPlan) -> str:
    if output is None or isinstance(output, str):
        return output or ""
    texts = [p.text or "" for p in output if p.type in ("input_text", "output_text")]
    if len(texts) < len(output):
        plan.notes.append(f"{where}: non-text tool output parts were not sent to Gemini")
    return "".join(texts)


def _tools(req: ResponsesRequest, plan: ChatPlan) -> None:
    tools = []
    for i, tool in enumerate(req.tools or []):
        converted = _tool(tool, f"tools[{i}]", plan)
        if converted is not None:
            tools.append(converted)
    if tools:
        plan.chat["tools"] = tools
    choice = req.tool_choice
    if choice is not None and (tools or choice in ("none", "auto")):
        plan.chat["tool_choice"] = (
            choice
            if isinstance(choice, str)
            else {"type": "function", "function": {"name": choice.name}}
        )


def _tool(tool: FunctionTool, where: str, plan: ChatPlan) -> dict[str, Any] | None:
    if tool.type == "function":
        name = _required(tool.name, f"{where}.name")
        plan.tool_kinds[name] = "function_call"
        function: dict[str, Any] = {
            "name": name,
            "parameters": tool.parameters or {"type": "object", "properties": {}},
        }
        if tool.description:
            function["description"] = tool.description
        return {"type": "function", "function": function}
    if tool.type == "custom":
        name = _required(tool.name, f"{where}.name")
        plan.tool_kinds[name] = "custom_tool_call"
        description = tool.description or ""
        fmt = tool.format or {}
        if fmt.get("type") == "grammar" and fmt.get("definition"):
            description += (
                f"\n\nThe input is free text that must follow this {fmt.get('syntax', '')} "
                f"grammar:\n{fmt['definition']}"
            )
        parameters = {
            "type": "object",
            "properties": {"input": {"type": "string", "description": "The tool's input."}},
            "required": ["input"],
        }
        return {
            "type": "function",
            "function": {
                "name": name,
                "description": description.strip(),
                "parameters": parameters,
            },
        }
    if tool.type == "local_shell":
        plan.tool_kinds["local_shell"] = "local_shell_call"
        return {
            "type": "function",
            "function": {
                "name": "local_shell",
                "description": "Run a shell command on the user's machine.",
                "parameters": LOCAL_SHELL_SCHEMA,
            },
        }
    if tool.type in _DROPPED_TOOLS:
        plan.notes.append(f"{where}: the {tool.type} tool is not available through Gemini; dropped")
        return None
    raise invalid_request(
        f"Tools of type '{tool.type}' are not supported by this gateway (function, custom and "
        "local_shell tools are).",
        f"{where}.type",
        "unsupported_parameter",
    )


def _options(req: ResponsesRequest, plan: ChatPlan) -> None:
    chat = plan.chat
    for name in ("stream", "temperature", "top_p", "parallel_tool_calls"):
        value = getattr(req, name)
        if value is not None:
            chat[name] = value
    if req.stream:
        chat["stream_options"] = {"include_usage": True}
    if req.max_output_tokens is not None:
        # Like max_completion_tokens, max_output_tokens includes reasoning tokens.
        chat["max_completion_tokens"] = req.max_output_tokens
    if req.reasoning is not None and req.reasoning.effort is not None:
        chat["reasoning_effort"] = req.reasoning.effort
    fmt = req.text.format if req.text else None
    if fmt is not None and fmt.type == "json_object":
        chat["response_format"] = {"type": "json_object"}
    elif fmt is not None and fmt.type == "json_schema":
        schema = {"name": fmt.name or "output", "schema": fmt.schema_, "strict": fmt.strict}
        chat["response_format"] = {
            "type": "json_schema",
            "json_schema": {k: v for k, v in schema.items() if v is not None},
        }
