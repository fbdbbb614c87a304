"""Accounts: the env quick path, the accounts file (validation, secrets, reload) and Account."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from antigravity.accounts import (
    DEFAULT_CODE_ASSIST_URL,
    DEFAULT_TOKEN_URL,
    Account,
    AccountKind,
    AccountsError,
    AccountsFile,
    accounts_from_env,
    mask,
    parse_accounts,
)

KEY = "AIzaSyA-secret-key-0001"
REFRESH = "1//refresh-token-secret-0002"
CLIENT_SECRET = "GOCSPX-client-secret-0003"

FULL = f"""\
oauth:
  client_id: my-client.apps.googleusercontent.com
  client_secret: {CLIENT_SECRET}
  token_url: http://127.0.0.1:9999/token/
  code_assist_url: http://127.0.0.1:9999
accounts:
  - label: alice@example.com
    kind: api_key
    api_key: {KEY}
  - label: bob@example.com
    kind: google_oauth
    refresh_token: "{REFRESH}"
    project: my-gcp-project
    models: {{allow: ["gemini-2.5-*"], deny: ["gemini-2.5-pro"]}}
    enabled: false
"""


def problem(text: str) -> AccountsError:
    with pytest.raises(AccountsError) as caught:
        parse_accounts(text, "accounts.yaml")
    return caught.value


# --- GEMINI_API_KEYS ---------------------------------------------------------------------------


def test_env_keys_become_api_key_accounts_labelled_in_order() -> None:
    accounts = accounts_from_env(" k1 , k2,,k1 ")
    assert [(a.label, a.secret, a.kind) for a in accounts] == [
        ("key-1", "k1", AccountKind.API_KEY),
        ("key-2", "k2", AccountKind.API_KEY),
    ]
    assert all(a.enabled and a.serves("gemini-2.5-pro") for a in accounts)


def test_secret_is_masked_and_kept_out_of_repr() -> None:
    account = Account("a", KEY)
    assert account.masked == mask(KEY) == "****0001"
    assert mask("short") == "****"
    assert KEY not in repr(account)


# --- the file ----------------------------------------------------------------------------------


def test_file_gives_each_account_its_kind_secret_project_and_model_lists() -> None:
    config = parse_accounts(FULL)
    alice, bob = config.accounts
    assert (alice.label, alice.kind, alice.secret, alice.enabled) == (
        "alice@example.com",
        AccountKind.API_KEY,
        KEY,
        True,
    )
    assert (bob.kind, bob.secret, bob.project, bob.enabled) == (
        AccountKind.GOOGLE_OAUTH,
        REFRESH,
        "my-gcp-project",
        False,
    )
    assert (bob.allow, bob.deny) == (("gemini-2.5-*",), ("gemini-2.5-pro",))
    assert config.oauth is not None
    assert config.oauth.token_url == "http://127.0.0.1:9999/token"
    assert config.oauth.client_secret == CLIENT_SECRET


def test_oauth_urls_default_to_google() -> None:
    config = parse_accounts(
        "oauth: {client_id: c, client_secret: s}\n"
        "accounts: [{label: a, kind: google_oauth, refresh_token: r}]\n"
    )
    assert config.oauth is not None
    assert (config.oauth.token_url, config.oauth.code_assist_url) == (
        DEFAULT_TOKEN_URL,
        DEFAULT_CODE_ASSIST_URL,
    )


def test_email_is_accepted_in_place_of_label() -> None:
    (account,) = parse_accounts("accounts: [{email: a@b.c, kind: api_key, api_key: k}]").accounts
    assert account.label == "a@b.c"


def test_empty_file_and_empty_list_have_no_accounts() -> None:
    assert parse_accounts("").accounts == ()
    assert parse_accounts("accounts: []\n").accounts == ()


def test_allow_and_deny_lists_choose_the_models_an_account_serves() -> None:
    account = Account("a", "k", allow=("gemini-2.5-*", "gemini-3-*"), deny=("*-pro*",))
    assert account.serves("gemini-2.5-flash")
    assert account.serves("gemini-3-flash-preview")
    assert not account.serves("gemini-2.5-pro")
    assert not account.serves("gemini-3-pro-preview")
    assert not account.serves("gemma-3-27b-it")
    assert Account("b", "k", deny=("gemini-2.5-pro",)).serves("gemini-2.5-flash")


def test_fingerprint_changes_with_credentials_only() -> None:
    base = Account("a", "k1", project="p")
    assert base.fingerprint == Account("renamed", "k1", project="p", enabled=False).fingerprint
    assert base.fingerprint == Account("a", "k1", project="p", allow=("x",)).fingerprint
    assert base.fingerprint != Account("a", "k2", project="p").fingerprint
    assert base.fingerprint != Account("a", "k1", project="q").fingerprint
    assert base.fingerprint != Account("a", "k1", AccountKind.GOOGLE_OAUTH, "p").fingerprint
    assert "k1" not in base.fingerprint


# --- file errors: where, what, and never the secret ---------------------------------------------


def test_unknown_kind_is_named_with_its_line() -> None:
    error = problem("accounts:\n  - label: a\n    kind: apikey\n    api_key: k\n")
    assert error.line == 3
    assert "accounts[0].kind" in str(error) and "api_key, google_oauth" in str(error)


def test_missing_secret_for_the_kind_is_reported() -> None:
    error = problem("accounts:\n  - label: a\n    kind: api_key\n")
    assert "kind api_key needs `api_key`" in str(error)
    assert str(error).startswith("accounts.yaml:3:")


def test_oauth_account_needs_refresh_token_not_api_key() -> None:
    error = problem(
        "oauth: {client_id: c, client_secret: s}\n"
        f"accounts:\n  - label: a\n    kind: google_oauth\n    api_key: {KEY}\n"
    )
    assert "needs `refresh_token`" in str(error)
    assert KEY not in str(error)


def test_both_secrets_on_one_account_are_rejected() -> None:
    error = problem(
        f"accounts:\n  - label: a\n    kind: api_key\n    api_key: {KEY}\n"
        f"    refresh_token: {REFRESH}\n"
    )
    assert "takes `api_key`, not `refresh_token`" in str(error)
    assert error.line == 5
    assert KEY not in str(error) and REFRESH not in str(error)


def test_oauth_accounts_need_the_oauth_client_section() -> None:
    error = problem("accounts:\n  - label: a\n    kind: google_oauth\n    refresh_token: r\n")
    assert "need an `oauth:` section" in str(error)


def test_duplicate_labels_are_rejected_at_the_second() -> None:
    error = problem(
        "accounts:\n  - label: a\n    kind: api_key\n    api_key: k1\n"
        "  - label: a\n    kind: api_key\n    api_key: k2\n"
    )
    assert error.line == 5
    assert "already used by accounts[0]" in str(error)


def test_the_same_secret_twice_is_rejected_without_showing_it() -> None:
    error = problem(
        f"accounts:\n  - label: a\n    kind: api_key\n    api_key: {KEY}\n"
        f"  - label: b\n    kind: api_key\n    api_key: {KEY}\n"
    )
    assert "same `api_key` as accounts[0] (a)" in str(error)
    assert KEY not in str(error)


@pytest.mark.parametrize(
    "text",
    [
        f"accounts:\n  - label: a\n    kind: api_key\n    apikey: {KEY}\n",
        f"accounts:\n  - label: a\n    kind: api_key\n    api_key: [{KEY}]\n",
        f"accounts:\n  - label: a\n    kind: api_key\n    api_key: {KEY}\n    api_key: {KEY}x\n",
        f"oauth: {{client_id: c, client_secret: [{CLIENT_SECRET}]}}\n",
        f"oauth: {{client_id: c, client_secret: {CLIENT_SECRET}, extra: {CLIENT_SECRET}}}\n",
    ],
    ids=["misspelt-field", "wrong-type", "duplicate-key", "client-secret-type", "extra-field"],
)
def test_errors_never_echo_a_secret(text: str) -> None:
    error = str(problem(text))
    for secret in (KEY, CLIENT_SECRET):
        assert secret not in error
        assert secret[4:-4] not in error


def test_misspelt_field_is_named() -> None:
    error = problem("accounts:\n  - label: a\n    kind: api_key\n    apikey: k\n")
    assert "unknown field `accounts[0].apikey`" in str(error)
    assert error.line == 4


def test_enabled_must_be_a_boolean() -> None:
    error = problem(
        "accounts:\n  - label: a\n    kind: api_key\n    api_key: k\n    enabled: on1\n"
    )
    assert "`accounts[0].enabled` must be true or false" in str(error)


def test_token_url_must_be_http() -> None:
    error = problem("oauth: {client_id: c, client_secret: s, token_url: ftp://x}\n")
    assert "`oauth.token_url` must be an http(s) URL" in str(error)


def test_yaml_syntax_error_gives_the_line() -> None:
    error = problem("accounts:\n  - label: a\n   kind: x\n")
    assert error.line == 3 and "YAML error" in str(error)


def test_a_list_at_the_top_is_not_an_accounts_file() -> None:
    assert "must be a mapping" in str(problem("- a\n- b\n"))


# --- reload --------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def write(path: Path, text: str, stamp: int) -> None:
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(stamp, stamp))


def test_file_reloads_on_change_and_keeps_the_last_good_config(tmp_path: Path) -> None:
    path = tmp_path / "accounts.yaml"
    write(path, "accounts: [{label: a, kind: api_key, api_key: k1}]\n", 1_000_000_000)
    clock = Clock()
    file = AccountsFile(path, check_interval=1.0, clock=clock)
    assert [a.label for a in file.config.accounts] == ["a"] and file.error is None

    write(path, "accounts: [{label: b, kind: api_key}]\n", 2_000_000_000)
    assert not file.maybe_reload()  # checked at most once per interval
    clock.now = 1.0
    assert not file.maybe_reload()
    assert [a.label for a in file.config.accounts] == ["a"]
    assert file.error is not None and "needs `api_key`" in file.error

    write(path, "accounts: [{label: b, kind: api_key, api_key: k2}]\n", 3_000_000_000)
    clock.now = 2.0
    assert file.maybe_reload()
    assert [a.label for a in file.config.accounts] == ["b"] and file.error is None
    clock.now = 3.0
    assert not file.maybe_reload()  # unchanged


def test_missing_file_is_an_error_with_no_accounts(tmp_path: Path) -> None:
    file = AccountsFile(tmp_path / "absent.yaml")
    assert file.config.accounts == ()
    assert file.error is not None and "file not found" in file.error
