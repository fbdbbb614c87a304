"""quota.classify: what Google's status, error details and headers say about an account."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from antigravity.emulator.codeassist import quota_exhausted as code_assist_429
from antigravity.emulator.faults import quota_exhausted as gemini_429
from antigravity.quota import (
    ERROR_INFO,
    QUOTA_FAILURE,
    RETRY_INFO,
    classify,
    network_error,
    parse_duration,
    seconds_text,
    until_daily_reset,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "recorded"
PER_MINUTE = "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"
PER_DAY = "GenerateRequestsPerDayPerProjectPerModel-FreeTier"
# 2025-06-15 08:06:40 in Los Angeles (PDT, UTC-7): 15h53m20s before the daily reset.
NOW = datetime(2025, 6, 15, 15, 6, 40, tzinfo=UTC).timestamp()


def google(code: int, status: str, message: str = "", *details: dict[str, Any]) -> bytes:
    error = {"code": code, "message": message, "status": status, "details": list(details)}
    return json.dumps({"error": error}).encode()


def quota_failure(*ids: str) -> dict[str, Any]:
    return {"@type": QUOTA_FAILURE, "violations": [{"quotaId": q} for q in ids]}


def retry_info(delay: Any) -> dict[str, Any]:
    return {"@type": RETRY_INFO, "retryDelay": delay}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("34.4s", 34.4),
        ("0.5s", 0.5),
        ("58s", 58.0),
        ("900ms", 0.9),
        ("1m2s", 62.0),
        ("1h2m3.5s", 3723.5),
        ("2h", 7200.0),
        ("12", 12.0),
        ({"seconds": "34", "nanos": 400000000}, 34.4),
    ],
)
def test_durations_read_as_google_writes_them(text: Any, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "s", "abc", "1x", "-3s", "1s junk", None, True, [1]])
def test_what_is_not_a_duration_is_none(text: Any) -> None:
    assert parse_duration(text) is None


def test_recorded_429_cools_for_its_fractional_retry_delay() -> None:
    verdict = classify(429, (FIXTURES / "gemini-error-429-retryinfo.json").read_bytes())
    assert verdict.kind == "rate_limited"
    assert verdict.retry_after == pytest.approx(34.4)
    assert verdict.quota_id == PER_MINUTE
    assert verdict.retryable and verdict.quota
    assert "34.4 s (RetryInfo)" in verdict.reason


def test_emulator_429_with_sub_second_delay() -> None:
    body = gemini_429("gemini-2.5-flash", PER_MINUTE, "0.5s").to_bytes()
    assert classify(429, body).retry_after == pytest.approx(0.5)


def test_array_wrapped_google_error_is_read() -> None:
    inner = json.loads(google(429, "RESOURCE_EXHAUSTED", "", retry_info("7s")))
    verdict = classify(429, json.dumps([inner]).encode())
    assert (verdict.kind, verdict.retry_after) == ("rate_limited", 7.0)


def test_per_day_quota_lasts_until_midnight_pacific() -> None:
    body = google(
        429, "RESOURCE_EXHAUSTED", "", quota_failure(PER_MINUTE, PER_DAY), retry_info("20s")
    )
    verdict = classify(429, body, now_wall=NOW)
    assert verdict.kind == "quota_exhausted_daily"
    assert verdict.quota_id == PER_DAY
    assert verdict.retry_after == pytest.approx(15 * 3600 + 53 * 60 + 20)  # not the 20 s hint
    assert "midnight Pacific" in verdict.reason


def test_daily_reset_follows_pacific_standard_time_in_winter() -> None:
    noon_pst = datetime(2025, 1, 10, 20, 0, tzinfo=UTC).timestamp()  # 12:00 PST (UTC-8)
    assert until_daily_reset(noon_pst) == pytest.approx(12 * 3600)


def test_daily_quota_uses_quota_reset_delay_when_given() -> None:
    body = code_assist_429("gemini-2.5-pro", PER_DAY, None, "1h2m3.5s").to_bytes()
    verdict = classify(429, body, now_wall=NOW)
    assert verdict.kind == "quota_exhausted_daily"
    assert verdict.retry_after == pytest.approx(3723.5)
    assert "quotaResetDelay" in verdict.reason


def test_code_assist_quota_exhausted_reason_is_daily_even_without_quota_id() -> None:
    info = {"@type": ERROR_INFO, "reason": "QUOTA_EXHAUSTED", "metadata": {}}
    verdict = classify(429, google(429, "RESOURCE_EXHAUSTED", "", info), now_wall=NOW)
    assert verdict.kind == "quota_exhausted_daily"
    assert verdict.retry_after == pytest.approx(until_daily_reset(NOW))


def test_code_assist_rate_limit_reads_quota_reset_delay_without_retry_info() -> None:
    info = {
        "@type": ERROR_INFO,
        "reason": "RATE_LIMIT_EXCEEDED",
        "metadata": {"quotaResetDelay": "1.6s"},
    }
    verdict = classify(429, google(429, "RESOURCE_EXHAUSTED", "", info))
    assert (verdict.kind, verdict.retry_after) == ("rate_limited", pytest.approx(1.6))


def test_emulated_code_assist_429_is_rate_limited_for_its_delay() -> None:
    body = code_assist_429("gemini-2.5-flash", PER_MINUTE, "2.5s", None).to_bytes()
    assert classify(429, body).retry_after == pytest.approx(2.5)


def test_retry_after_header_is_read_in_seconds_and_as_a_date() -> None:
    assert classify(429, b"", {"Retry-After": "12"}).retry_after == 12.0
    date = "Sun, 15 Jun 2025 15:07:10 GMT"
    assert classify(429, b"", {"retry-after": date}, now_wall=NOW).retry_after == 30.0


def test_retry_in_from_the_message_when_no_details() -> None:
    body = google(429, "RESOURCE_EXHAUSTED", "Quota exceeded. Please retry in 58.217843437s.")
    assert classify(429, body).retry_after == pytest.approx(58.217843437)


def test_per_minute_quota_without_a_delay_waits_a_minute() -> None:
    verdict = classify(429, google(429, "RESOURCE_EXHAUSTED", "", quota_failure(PER_MINUTE)))
    assert verdict.retry_after == 60.0


def test_bare_429_is_rate_limited_without_a_delay_so_the_pool_default_applies() -> None:
    verdict = classify(429, b"Too Many Requests")
    assert (verdict.kind, verdict.retry_after, verdict.retryable) == ("rate_limited", None, True)
    assert "no delay given" in verdict.reason


@pytest.mark.parametrize(("status", "kind"), [(503, "overloaded"), (529, "overloaded")])
def test_overload_is_retryable(status: int, kind: str) -> None:
    verdict = classify(status, google(status, "UNAVAILABLE", "The model is overloaded."))
    assert (verdict.kind, verdict.retryable) == (kind, True)
    assert verdict.reason == f"{status} UNAVAILABLE: The model is overloaded."


@pytest.mark.parametrize("status", [500, 502, 504])
def test_server_errors_are_retryable(status: int) -> None:
    verdict = classify(status, b"<html>Bad Gateway</html>")
    assert (verdict.kind, verdict.retryable) == ("server_error", True)
    assert "Bad Gateway" in verdict.reason


def test_503_with_retry_after_reports_the_delay() -> None:
    assert classify(503, b"", {"Retry-After": "5"}).retry_after == 5.0


@pytest.mark.parametrize(
    ("status", "google_status"), [(401, "UNAUTHENTICATED"), (403, "PERMISSION_DENIED")]
)
def test_auth_failures_mean_another_account(status: int, google_status: str) -> None:
    verdict = classify(status, google(status, google_status, "The caller does not have permission"))
    assert (verdict.kind, verdict.retryable) == ("auth", True)
    assert verdict.reason.startswith(f"{status} {google_status}: The caller")


def test_invalid_api_key_400_is_an_auth_failure() -> None:
    info = {"@type": ERROR_INFO, "reason": "API_KEY_INVALID", "domain": "googleapis.com"}
    body = google(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", info)
    assert classify(400, body).kind == "auth"


@pytest.mark.parametrize("status", [400, 404, 413])
def test_client_errors_are_not_retried(status: int) -> None:
    verdict = classify(status, google(status, "INVALID_ARGUMENT", "bad"))
    assert (verdict.kind, verdict.retryable) == ("client_error", False)


def test_success_is_ok() -> None:
    verdict = classify(200, b"{}")
    assert (verdict.kind, verdict.retryable, verdict.quota) == ("ok", False, False)


def test_network_failure_is_a_retryable_server_error() -> None:
    verdict = network_error("Connection refused")
    assert (verdict.kind, verdict.status, verdict.retryable) == ("server_error", 0, True)


def test_long_messages_are_shortened_for_the_reason() -> None:
    verdict = classify(500, google(500, "INTERNAL", "x" * 1000))
    assert len(verdict.reason) < 200


@pytest.mark.parametrize(("seconds", "text"), [(12.34, "12.3 s"), (245, "4m05s"), (18120, "5h02m")])
def test_seconds_read_well(seconds: float, text: str) -> None:
    assert seconds_text(seconds) == text
