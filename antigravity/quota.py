"""What an upstream answer means for the account that got it: Google's quota and error details read.

`classify` turns a status, a body and headers into a `Verdict`: the kind of outcome, how long
Google asked us to wait (RetryInfo.retryDelay, ErrorInfo quotaResetDelay, Retry-After, or the
"Please retry in 34.4s" of the message), the quota that ran out, and a one-line reason for the
inspector. Per-day quotas last until Gemini's daily reset, midnight Pacific time. A Verdict only
reports what Google said; the pool decides the cooldown (and its defaults) from it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

VerdictKind = Literal[
    "ok",
    "rate_limited",
    "quota_exhausted_daily",
    "overloaded",
    "server_error",
    "auth",
    "client_error",
]

QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"

# Error reasons that mean the credentials, not the request, are at fault: Gemini answers a bad
# or expired API key with 400 INVALID_ARGUMENT and one of these.
_AUTH_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED"})
# Code Assist names the kind of 429 in ErrorInfo.reason.
_DAILY_REASONS = frozenset({"QUOTA_EXHAUSTED"})
_OVERLOADED = frozenset({503, 529})
_MESSAGE_LIMIT = 160


def _pacific() -> tzinfo:
    try:
        return ZoneInfo("America/Los_Angeles")
    except ZoneInfoNotFoundError:  # no tz database: standard time is right most of the year
        return timezone(timedelta(hours=-8), "PST")


PACIFIC = _pacific()


@dataclass(frozen=True)
class Verdict:
    """One upstream answer, judged: what happened and what Google said about waiting."""

    kind: VerdictKind
    status: int
    retry_after: float | None = None  # seconds Google asked for; None: it did not say
    quota_id: str | None = None
    retryable: bool = False  # whether another attempt (on another account) may succeed
    reason: str = ""

    @property
    def quota(self) -> bool:
        """Whether a quota ran out (rather than the service failing)."""
        return self.kind in ("rate_limited", "quota_exhausted_daily")


# --- durations ------------------------------------------------------------------------------

_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|us|µs|ns|h|m|s)")
_RETRY_IN = re.compile(r"[Pp]lease retry in ((?:\d+(?:\.\d*)?(?:ms|us|µs|ns|h|m|s))+)")


def parse_duration(value: Any) -> float | None:
    """Seconds in a Google duration: "34.4s", "0.5s", "900ms", "1h2m3.5s", {"seconds", "nanos"}.

    A bare number is seconds. None when the value is not a duration.
    """
    if isinstance(value, dict):
        seconds, nanos = value.get("seconds", 0), value.get("nanos", 0)
        try:
            return float(seconds) + float(nanos) / 1e9
        except (TypeError, ValueError):
            return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if value >= 0 else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return number if number >= 0 else None
    total, end = 0.0, 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != end:
            return None
        total += float(match.group(1)) * _UNITS[match.group(2)]
        end = match.end()
    return total if end and end == len(text) else None


def _retry_after_header(value: str | None, now_wall: float) -> float | None:
    """Retry-After: delay-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now_wall)


def until_daily_reset(now_wall: float) -> float:
    """Seconds from `now_wall` to the next midnight in America/Los_Angeles (Gemini's reset)."""
    local = datetime.fromtimestamp(now_wall, PACIFIC)
    tomorrow = local.date() + timedelta(days=1)
    midnight = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=PACIFIC)
    return midnight.timestamp() - now_wall


def _timestamp_delay(value: Any, now_wall: float) -> float | None:
    """Seconds until an RFC 3339 time (ErrorInfo's quotaResetTimeStamp)."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now_wall)


def seconds_text(seconds: float) -> str:
    """12.3 s, 4m05s, 5h02m: short and readable."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


# --- reading Google's error -----------------------------------------------------------------


@dataclass(frozen=True)
class _GoogleError:
    status: str = ""
    message: str = ""
    details: tuple[dict[str, Any], ...] = ()

    def detail(self, type_url: str) -> dict[str, Any] | None:
        return next((d for d in self.details if d.get("@type") == type_url), None)


def _google_error(body: bytes) -> _GoogleError:
    """Google's `{"error": {...}}`, also when array-wrapped; empty when the body is not one."""
    try:
        parsed: Any = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        return _GoogleError(message=body[:_MESSAGE_LIMIT].decode("utf-8", "replace").strip())
    if isinstance(parsed, list) and parsed:
        parsed = parsed[0]
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(error, dict):
        return _GoogleError()
    details = error.get("details")
    return _GoogleError(
        status=str(error.get("status") or ""),
        message=" ".join(str(error.get("message") or "").split()),
        details=tuple(d for d in details if isinstance(d, dict))
        if isinstance(details, list)
        else (),
    )


def _quota_ids(error: _GoogleError) -> list[str]:
    failure = error.detail(QUOTA_FAILURE) or {}
    violations = failure.get("violations")
    if not isinstance(violations, list):
        return []
    return [str(v["quotaId"]) for v in violations if isinstance(v, dict) and v.get("quotaId")]


def _is_daily(quota_id: str) -> bool:
    return "PerDay" in quota_id or "Daily" in quota_id


def _label(status: int, error: _GoogleError) -> str:
    return f"{status} {error.status}".strip()


def _short(message: str) -> str:
    return message if len(message) <= _MESSAGE_LIMIT else message[: _MESSAGE_LIMIT - 1] + "…"


def _quota_verdict(
    status: int, error: _GoogleError, headers: Mapping[str, str], now_wall: float
) -> Verdict:
    ids = _quota_ids(error)
    info = error.detail(ERROR_INFO) or {}
    raw_metadata = info.get("metadata")
    metadata: dict[str, Any] = raw_metadata if isinstance(raw_metadata, dict) else {}
    reset_delay = parse_duration(metadata.get("quotaResetDelay"))
    daily_id = next((q for q in ids if _is_daily(q)), None)
    quota_id = daily_id or (ids[0] if ids else None)
    label = _label(status, error)
    named = f"{label} {quota_id}" if quota_id else label

    if daily_id is not None or info.get("reason") in _DAILY_REASONS:
        # RetryInfo on a daily limit is Google's generic hint, not the reset: ignore it.
        if reset_delay is not None:
            return Verdict(
                "quota_exhausted_daily",
                status,
                reset_delay,
                quota_id,
                True,
                f"{named}: quota exhausted, resets in {seconds_text(reset_delay)} "
                "(quotaResetDelay)",
            )
        stamped = _timestamp_delay(metadata.get("quotaResetTimeStamp"), now_wall)
        if stamped is not None:
            return Verdict(
                "quota_exhausted_daily",
                status,
                stamped,
                quota_id,
                True,
                f"{named}: quota exhausted, resets in {seconds_text(stamped)} "
                "(quotaResetTimeStamp)",
            )
        until = until_daily_reset(now_wall)
        return Verdict(
            "quota_exhausted_daily",
            status,
            until,
            quota_id,
            True,
            f"{named}: daily quota exhausted, resets at midnight Pacific in {seconds_text(until)}",
        )

    retry_info = error.detail(RETRY_INFO) or {}
    found: list[tuple[float | None, str]] = [
        (parse_duration(retry_info.get("retryDelay")), "RetryInfo"),
        (reset_delay, "quotaResetDelay"),
        (_retry_after_header(headers.get("retry-after"), now_wall), "Retry-After"),
    ]
    if match := _RETRY_IN.search(error.message):
        found.append((parse_duration(match.group(1)), "message"))
    for delay, source in found:
        if delay is not None:
            return Verdict(
                "rate_limited",
                status,
                delay,
                quota_id,
                True,
                f"{named}: rate limited, retry in {seconds_text(delay)} ({source})",
            )
    if quota_id is not None and "PerMinute" in quota_id:
        return Verdict(
            "rate_limited",
            status,
            60.0,
            quota_id,
            True,
            f"{named}: per-minute limit, no delay given",
        )
    return Verdict(
        "rate_limited", status, None, quota_id, True, f"{named}: rate limited, no delay given"
    )


def classify(
    status: int,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    *,
    now_wall: float | None = None,
) -> Verdict:
    """Judge one upstream answer. `now_wall` (epoch seconds, default now) dates daily resets."""
    if status < 400:
        return Verdict("ok", status, reason=f"{status} ok")
    now = time.time() if now_wall is None else now_wall
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    error = _google_error(body)
    label = _label(status, error)
    said = f"{label}: {_short(error.message)}" if error.message else label
    if status == 429:
        return _quota_verdict(status, error, lowered, now)
    info = error.detail(ERROR_INFO) or {}
    if status in (401, 403) or info.get("reason") in _AUTH_REASONS:
        return Verdict("auth", status, retryable=True, reason=said)
    if status >= 500:
        retry_info = error.detail(RETRY_INFO) or {}
        delay = parse_duration(retry_info.get("retryDelay"))
        if delay is None:
            delay = _retry_after_header(lowered.get("retry-after"), now)
        kind: VerdictKind = "overloaded" if status in _OVERLOADED else "server_error"
        return Verdict(kind, status, delay, retryable=True, reason=said)
    return Verdict("client_error", status, reason=said)


def network_error(problem: str) -> Verdict:
    """An attempt that got no answer (refused, reset, timed out): retryable like a 502."""
    return Verdict("server_error", 0, retryable=True, reason=f"no answer: {_short(problem)}")
