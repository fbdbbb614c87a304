import pytest

from antigravity.auth import AuthMode, check, effective_mode, extract_key

KEY = "sk-gateway-secret"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.1", "::1", "[::1]", "localhost"])
def test_auto_mode_is_off_on_loopback(host: str) -> None:
    assert effective_mode(AuthMode.AUTO, host) == AuthMode.OFF


@pytest.mark.parametrize("host", ["", "0.0.0.0", "::", "192.168.1.10", "gateway.lan"])
def test_auto_mode_protects_all_but_health_when_reachable_from_lan(host: str) -> None:
    assert effective_mode(AuthMode.AUTO, host) == AuthMode.ALL_EXCEPT_HEALTH


def test_explicit_mode_is_kept_whatever_the_host() -> None:
    assert effective_mode(AuthMode.STRICT, "127.0.0.1") == AuthMode.STRICT
    assert effective_mode(AuthMode.OFF, "0.0.0.0") == AuthMode.OFF


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"bearer {KEY}"},
        {"authorization": f"Bearer  {KEY} "},
        {"X-Api-Key": KEY},
        {"x-goog-api-key": KEY},
        {"Authorization": "Basic abc", "x-api-key": KEY},
    ],
)
def test_key_is_read_from_any_accepted_header(headers: dict[str, str]) -> None:
    assert extract_key(headers) == KEY


def test_bearer_header_wins_over_other_headers() -> None:
    assert extract_key({"authorization": "Bearer a", "x-api-key": "b"}) == "a"


def test_off_mode_lets_everything_through() -> None:
    assert check(AuthMode.OFF, KEY, {}, "/v1/chat/completions") is None


def test_health_is_free_except_in_strict_mode() -> None:
    assert check(AuthMode.ALL_EXCEPT_HEALTH, KEY, {}, "/healthz") is None
    assert check(AuthMode.ALL_EXCEPT_HEALTH, KEY, {}, "/health?probe=1") is None
    assert check(AuthMode.STRICT, KEY, {}, "/healthz") is not None


def test_missing_key_is_401_saying_how_to_send_it() -> None:
    error = check(AuthMode.ALL_EXCEPT_HEALTH, KEY, {}, "/v1/models")
    assert error is not None
    assert (error.status, error.code, error.type) == (
        401,
        "invalid_api_key",
        "invalid_request_error",
    )
    assert "Authorization: Bearer <key>" in error.message


def test_wrong_key_never_echoed() -> None:
    error = check(AuthMode.STRICT, KEY, {"x-api-key": "sk-wrong-guess"}, "/v1/models")
    assert error is not None and error.status == 401
    assert error.message == "Incorrect API key provided."
    assert b"sk-wrong-guess" not in error.to_bytes()


def test_right_key_passes() -> None:
    assert check(AuthMode.STRICT, KEY, {"Authorization": f"Bearer {KEY}"}, "/v1/models") is None


def test_empty_configured_key_accepts_nobody() -> None:
    assert check(AuthMode.STRICT, "", {"x-api-key": "anything"}, "/v1/models") is not None
