"""Which endpoint a client's method and path ask for, and the answers given locally."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from antigravity import errors
from antigravity.errors import ApiError
from antigravity.routing import RoutingTable

Kind = Literal["health", "models", "model", "chat", "completions", "responses", "preflight"]

_EXACT: dict[str, tuple[Kind, str]] = {
    "/healthz": ("health", "GET"),
    "/health": ("health", "GET"),
    "/v1/models": ("models", "GET"),
    "/v1/chat/completions": ("chat", "POST"),
    "/v1/completions": ("completions", "POST"),
    "/v1/responses": ("responses", "POST"),
}
# Without the /v1 prefix these paths still mean exactly one thing.
_UNPREFIXED = ("/models", "/chat/completions", "/completions", "/responses")

ROUTES_HELP = (
    "GET /healthz, GET /v1/models, GET /v1/models/{model}, POST /v1/chat/completions, "
    "POST /v1/completions, POST /v1/responses"
)


@dataclass(frozen=True, slots=True)
class Endpoint:
    kind: Kind
    path: str
    model: str | None = None  # for GET /v1/models/{model}


def classify(method: str, path: str) -> Endpoint:
    """Map a request line to an endpoint, or raise the 404/405 that says what exists."""
    path = path.split("?", 1)[0].rstrip("/") or "/"
    if path.startswith(_UNPREFIXED) and (path in _UNPREFIXED or path.startswith("/models/")):
        path = "/v1" + path
    if method == "OPTIONS":
        return Endpoint("preflight", path)
    if path in _EXACT:
        kind, allowed = _EXACT[path]
        if method != allowed and not (method == "HEAD" and allowed == "GET"):
            raise ApiError(
                405,
                f"{path} accepts {allowed} requests, not {method}.",
                "invalid_request_error",
                None,
                "method_not_allowed",
                (("allow", allowed),),
            )
        return Endpoint(kind, path)
    if path.startswith("/v1/models/") and method in ("GET", "HEAD"):
        return Endpoint("model", path, path.removeprefix("/v1/models/"))
    hint = ""
    if any(path.endswith(p) or p + "/" in path for p in _UNPREFIXED[1:]):
        hint = (
            " The path looks stacked: set the client's base URL to the gateway's /v1 "
            "(e.g. http://127.0.0.1:8045/v1) without an endpoint path."
        )
    raise errors.not_found(
        f"Unknown route: {method} {path}. This gateway serves {ROUTES_HELP}.{hint} "
        "OpenAI SDKs need a base_url ending in /v1.",
        "unknown_route",
    )


def model_object(model_id: str, owned_by: str) -> dict[str, object]:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": owned_by}


def models_list(table: RoutingTable) -> dict[str, object]:
    return {
        "object": "list",
        "data": [model_object(m, _owner(m)) for m in table.listed_models()],
    }


def model_detail(table: RoutingTable, model_id: str) -> dict[str, object]:
    if model_id in table.listed_models():
        return model_object(model_id, _owner(model_id))
    table.resolve(model_id)  # raises model_not_found
    return model_object(model_id, _owner(model_id))


def _owner(model_id: str) -> str:
    return "google" if model_id.startswith(("gemini-", "gemma-")) else "antigravity"
