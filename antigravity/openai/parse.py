"""Turn request bytes into a validated wire model, or an error naming the field at fault."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError

from antigravity.errors import ApiError, invalid_request

# pydantic labels union branches in error locations ("str", "list[ContentPart]"); clients only
# know the JSON path, so those labels are dropped.
_BRANCH_LABELS = {"str", "int", "float", "bool", "dict", "list", "none"}


def param_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "[" in part or part in _BRANCH_LABELS or part.startswith("function-"):
            continue
        else:
            out += f".{part}" if out else part
    return out


def load_json_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        raise invalid_request(
            "The request body is empty; send a JSON object.", None, "invalid_json"
        )
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise invalid_request(
            f"The request body is not valid JSON ({e}).", None, "invalid_json"
        ) from None
    if not isinstance(data, dict):
        raise invalid_request(
            f"The request body must be a JSON object, not {type(data).__name__}.",
            None,
            "invalid_json",
        )
    return data


def validate[M: BaseModel](model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise _first_error(e) from None


def _first_error(e: ValidationError) -> ApiError:
    errors = e.errors(include_url=False)
    # With unions pydantic reports one error per branch; the deepest one is the useful one.
    best = max(errors, key=lambda err: len(err["loc"]))
    param = param_path(best["loc"])
    if best["type"] == "missing":
        message = f"Missing required parameter: '{param}'."
        code = "missing_required_parameter"
    else:
        value = best.get("input")
        shown = json.dumps(value)[:80] if _jsonable(value) else type(value).__name__
        message = f"Invalid value for '{param}': {best['msg']} (got {shown})."
        code = "invalid_value" if best["type"] != "extra_forbidden" else "unknown_parameter"
    return invalid_request(message, param or None, code)


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
