"""The gateway's mitmproxy options, parsed and validated once per change."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mitmproxy import exceptions
from mitmproxy.utils import human

from antigravity.auth import AuthMode

DEFAULT_MAPPINGS = Path(__file__).resolve().parent.parent / "mappings.yaml"


def declare(loader) -> None:  # type: ignore[no-untyped-def]
    loader.add_option(
        "antigravity_mappings",
        str,
        str(DEFAULT_MAPPINGS),
        "Path of mappings.yaml (model routes and the model list); reloaded when it changes, "
        "keeping the last good version if the new one is invalid.",
    )
    loader.add_option(
        "antigravity_accounts",
        str,
        "",
        "Path of an accounts YAML file (API keys and Google accounts, with labels and model "
        "lists); reloaded when it changes. GEMINI_API_KEYS adds keys the file does not have.",
    )
    loader.add_option(
        "antigravity_max_attempts",
        int,
        3,
        "Upstream attempts per request at most, each on another account (bounded by the "
        "pool), when Gemini answers 429, 5xx or an auth error.",
    )
    loader.add_option(
        "antigravity_auth_mode",
        str,
        "auto",
        "Who must present antigravity_api_key: off, strict (every route), all_except_health "
        "(every route but /healthz), auto (all_except_health when listening beyond loopback, "
        "else off).",
        choices=[m.value for m in AuthMode],
    )
    loader.add_option(
        "antigravity_api_key",
        str,
        "",
        "The key clients must send (Authorization: Bearer, x-api-key or x-goog-api-key) when "
        "auth is on.",
    )
    loader.add_option(
        "antigravity_upstream_timeout",
        int,
        300,
        "Seconds the gateway waits for Gemini (for the answer to start, and between stream "
        "events) before giving the client a 504 or ending its stream.",
    )
    loader.add_option(
        "antigravity_max_body",
        str,
        "20m",
        "Largest client request body accepted (e.g. 512k, 20m); larger ones get a 413.",
    )


@dataclass(frozen=True, slots=True)
class Settings:
    mappings: Path
    accounts: Path | None
    max_attempts: int
    auth_mode: AuthMode
    api_key: str
    upstream_timeout: float
    max_body: int


def settings(opts) -> Settings:  # type: ignore[no-untyped-def]
    mode = AuthMode(opts.antigravity_auth_mode)
    if mode in (AuthMode.STRICT, AuthMode.ALL_EXCEPT_HEALTH) and not opts.antigravity_api_key:
        raise exceptions.OptionsError(
            f"antigravity_auth_mode={mode.value} needs antigravity_api_key to be set."
        )
    if opts.antigravity_max_attempts < 1:
        raise exceptions.OptionsError("antigravity_max_attempts must be at least 1.")
    if opts.antigravity_upstream_timeout <= 0:
        raise exceptions.OptionsError("antigravity_upstream_timeout must be a positive number.")
    try:
        max_body = human.parse_size(opts.antigravity_max_body)
    except ValueError as e:
        raise exceptions.OptionsError(f"antigravity_max_body: {e}") from None
    return Settings(
        mappings=Path(opts.antigravity_mappings).expanduser(),
        accounts=Path(opts.antigravity_accounts).expanduser()
        if opts.antigravity_accounts
        else None,
        max_attempts=opts.antigravity_max_attempts,
        auth_mode=mode,
        api_key=opts.antigravity_api_key,
        upstream_timeout=float(opts.antigravity_upstream_timeout),
        max_body=max_body or 0,
    )
