"""Client authentication: which requests need the gateway's API key, and checking it."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from enum import StrEnum

from . import errors
from .errors import ApiError

HEALTH_PATHS = frozenset({"/healthz", "/health"})
MISSING_KEY = (
    "Missing API key. Send it as `Authorization: Bearer <key>` "
    "(x-api-key and x-goog-api-key are accepted too)."
)
WRONG_KEY = "Incorrect API key provided."


class AuthMode(StrEnum):
    AUTO = "auto"
    OFF = "off"
    STRICT = "strict"
    ALL_EXCEPT_HEALTH = "all_except_health"


def _is_loopback(host: str) -> bool:
    host = host.strip().strip("[]").split("%", 1)[0].rstrip(".").lower()
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        # Other host names may resolve to anything; treat them as reachable from the network.
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def effective_mode(mode: AuthMode, listen_host: str) -> AuthMode:
    """Resolve AUTO: OFF when listening on loopback only, else ALL_EXCEPT_HEALTH.

    An empty host, `0.0.0.0` or `::` means every interface, so the LAN can reach the gateway.
    """
    if mode != AuthMode.AUTO:
        return mode
    return AuthMode.OFF if _is_loopback(listen_host) else AuthMode.ALL_EXCEPT_HEALTH


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # mitmproxy's Headers look up case-insensitively; a plain dict may use any capitalisation.
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value


def extract_key(headers: Mapping[str, str]) -> str | None:
    """The key a client presented: `Authorization: Bearer`, then `x-api-key`, `x-goog-api-key`."""
    authorization = _header(headers, "authorization")
    if authorization:
        parts = authorization.split(None, 1)
        if len(parts) == 2 and parts[0].lower() == "bearer" and parts[1].strip():
            return parts[1].strip()
    for name in ("x-api-key", "x-goog-api-key"):
        value = (_header(headers, name) or "").strip()
        if value:
            return value
    return None


def check(mode: AuthMode, api_key: str, headers: Mapping[str, str], path: str) -> ApiError | None:
    """None when the request may proceed, else the 401 to answer.

    `mode` is the effective mode; anything but OFF or a health path under ALL_EXCEPT_HEALTH
    needs the key, so an unresolved AUTO fails closed.
    """
    if mode == AuthMode.OFF:
        return None
    if mode == AuthMode.ALL_EXCEPT_HEALTH and path.split("?", 1)[0] in HEALTH_PATHS:
        return None
    presented = extract_key(headers)
    if presented is None:
        return errors.invalid_api_key(MISSING_KEY)
    # surrogatepass: header values decoded with surrogateescape must not raise here.
    if not api_key or not hmac.compare_digest(
        presented.encode("utf-8", "surrogatepass"), api_key.encode("utf-8", "surrogatepass")
    ):
        return errors.invalid_api_key(WRONG_KEY)
    return None
