"""Upstream accounts: who the gateway calls Gemini as, read from GEMINI_API_KEYS or a YAML file.

The accounts file (`antigravity_accounts`):

    oauth:                       # the OAuth client of google_oauth accounts
      client_id: ...
      client_secret: ...
      token_url: https://oauth2.googleapis.com/token
      code_assist_url: https://cloudcode-pa.googleapis.com
    accounts:
      - label: alice@example.com
        kind: api_key
        api_key: AIza...
      - label: bob@example.com   # `email:` is accepted in place of `label:`
        kind: google_oauth
        refresh_token: "1//..."
        project: my-gcp-project  # optional: discovered through loadCodeAssist
        models: {allow: ["gemini-2.5-*"], deny: ["gemini-2.5-pro"]}
        enabled: false

Secrets (API keys, refresh tokens, the client secret) are never shown: not in reprs, not in
errors about the file, only `mask`ed.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    StringConstraints,
    ValidationError,
)
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from antigravity.watched import WatchedFile

DEFAULT_TOKEN_URL = "https://oauth2.googleapis.com/token"
DEFAULT_CODE_ASSIST_URL = "https://cloudcode-pa.googleapis.com"

# Fingerprints are keyed per process: stable while the gateway runs (all they are for), and
# useless to anyone who would test a guessed secret against one.
_FINGERPRINT_KEY = os.urandom(16)


def mask(secret: str) -> str:
    """What may be shown of a secret: its last four characters, and only for long ones."""
    return f"****{secret[-4:]}" if len(secret) >= 16 else "****"


class AccountKind(StrEnum):
    API_KEY = "api_key"
    GOOGLE_OAUTH = "google_oauth"


@dataclass(frozen=True)
class Account:
    """One upstream account; `secret` is its API key or, for google_oauth, its refresh token."""

    label: str
    secret: str = field(repr=False)
    kind: AccountKind = AccountKind.API_KEY
    project: str | None = None
    allow: tuple[str, ...] = ()  # fnmatch patterns of Gemini model names; empty: every model
    deny: tuple[str, ...] = ()
    enabled: bool = True

    @property
    def masked(self) -> str:
        return mask(self.secret)

    @cached_property
    def fingerprint(self) -> str:
        """Identifies the account's credentials (kind, secret, project) without revealing them."""
        material = "\0".join((self.kind, self.secret, self.project or ""))
        return hashlib.blake2b(material.encode(), key=_FINGERPRINT_KEY, digest_size=8).hexdigest()

    def serves(self, model: str) -> bool:
        """Whether the allow/deny lists let this account call `model` (deny wins)."""
        if any(fnmatch.fnmatchcase(model, pattern) for pattern in self.deny):
            return False
        return not self.allow or any(fnmatch.fnmatchcase(model, p) for p in self.allow)


def accounts_from_env(value: str) -> list[Account]:
    """`GEMINI_API_KEYS="k1,k2"` -> accounts labelled key-1, key-2 (duplicates dropped)."""
    keys = list(dict.fromkeys(k.strip() for k in value.split(",") if k.strip()))
    return [Account(f"key-{i}", key) for i, key in enumerate(keys, 1)]


@dataclass(frozen=True)
class OAuthClient:
    """The OAuth client that refreshes google_oauth tokens, and where Code Assist is."""

    client_id: str
    client_secret: str = field(repr=False)
    token_url: str = DEFAULT_TOKEN_URL
    code_assist_url: str = DEFAULT_CODE_ASSIST_URL


@dataclass(frozen=True)
class AccountsConfig:
    """A parsed accounts file; `AccountsConfig()` is the empty one used before any file is read."""

    source: str = "<none>"
    accounts: tuple[Account, ...] = ()
    oauth: OAuthClient | None = None


class AccountsError(ValueError):
    """An unusable accounts file; the message names the file, the line if known, and the problem."""

    def __init__(self, source: str, problem: str, line: int | None = None) -> None:
        self.source = source
        self.problem = problem
        self.line = line
        where = ":".join(str(part) for part in (source, line) if part is not None)
        super().__init__(f"{where}: {problem}")


# --- the file format -----------------------------------------------------------------------

_Name = Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1)]
_DUPLICATE_VALUES = re.compile(r' with value ".*', re.DOTALL)
_Url = Annotated[StrictStr, StringConstraints(strip_whitespace=True, pattern=r"^https?://\S+$")]


class _OAuthDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: _Name
    client_secret: _Name
    token_url: _Url = DEFAULT_TOKEN_URL
    code_assist_url: _Url = DEFAULT_CODE_ASSIST_URL


class _ModelsDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allow: list[_Name] = []
    deny: list[_Name] = []


class _AccountDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: _Name = Field(validation_alias=AliasChoices("label", "email"))
    kind: AccountKind
    api_key: _Name | None = None
    refresh_token: _Name | None = None
    project: _Name | None = None
    models: _ModelsDoc = _ModelsDoc()
    enabled: StrictBool = True


class _AccountsDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    oauth: _OAuthDoc | None = None
    accounts: list[_AccountDoc] = []


def _line_of(doc: Any, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the deepest node at a pydantic error location that the YAML has."""
    line: int | None = None
    node = doc
    for part in loc:
        lc = getattr(node, "lc", None)
        if lc is None:
            break
        if isinstance(node, dict) and part in node:
            line = lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            line = lc.item(part)[0] + 1
            node = node[part]
        else:
            break
    return line


def _path(loc: tuple[int | str, ...]) -> str:
    """`accounts[1].models.allow[0]`, the way a reader finds it in the file."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out or "the file"


def _describe(error: Any) -> str:
    """A pydantic error in the words of the file format, never quoting a secret."""
    loc = tuple(error["loc"])
    where = _path(loc)
    kind = error["type"]
    if not loc:
        return "the file must be a mapping with an `accounts:` list"
    if kind == "extra_forbidden":
        return f"unknown field `{where}`"
    if kind == "missing":
        return f"`{where}` is required"
    if loc[-1] == "kind" and kind == "enum":
        value = error.get("input")
        shown = f" {value!r}" if isinstance(value, str) and len(value) <= 40 else ""
        return f"`{where}`{shown} must be one of: {', '.join(AccountKind)}"
    if kind == "string_too_short":
        return f"`{where}` is empty"
    if kind == "string_type":
        return f"`{where}` must be a string (quote it)"
    if kind == "string_pattern_mismatch":
        return f"`{where}` must be an http(s) URL"
    if kind == "bool_type":
        return f"`{where}` must be true or false"
    if kind in ("list_type", "model_type", "model_attributes_type", "dict_type"):
        return f"`{where}` has the wrong shape: {error['msg'].lower()}"
    # pydantic's own words, which never include the input value.
    return f"`{where}`: {error['msg']}"


def _load_yaml(text: str, source: str) -> Any:
    # The round-trip loader constructs only plain data and keeps line numbers for errors.
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = "YAML error: " + ": ".join(str(p) for p in (exc.context, exc.problem) if p)
        # ruamel quotes both values of a duplicate key, and here values are secrets.
        problem = _DUPLICATE_VALUES.sub("", problem)
        raise AccountsError(source, problem, mark.line + 1 if mark else None) from None
    except YAMLError as exc:
        raise AccountsError(source, f"YAML error: {exc}") from None


def _checked(parsed: _AccountsDoc, doc: Any, source: str) -> AccountsConfig:
    """Rules across fields: the secret each kind needs, unique labels and secrets."""
    accounts: list[Account] = []
    labels: dict[str, int] = {}
    secrets: dict[str, str] = {}
    for i, item in enumerate(parsed.accounts):

        def fail(problem: str, key: str | None = None, i: int = i) -> AccountsError:
            loc: tuple[int | str, ...] = ("accounts", i, key) if key else ("accounts", i)
            return AccountsError(source, problem, _line_of(doc, loc))

        where = f"accounts[{i}] ({item.label})"
        needed, other = (
            ("api_key", "refresh_token")
            if item.kind is AccountKind.API_KEY
            else ("refresh_token", "api_key")
        )
        secret = getattr(item, needed)
        if secret is None:
            raise fail(f"{where}: kind {item.kind} needs `{needed}`", "kind")
        if getattr(item, other) is not None:
            raise fail(f"{where}: kind {item.kind} takes `{needed}`, not `{other}`", other)
        if item.label in labels:
            raise fail(
                f"{where}: the label is already used by accounts[{labels[item.label]}]", "label"
            )
        if secret in secrets:
            raise fail(f"{where}: same `{needed}` as {secrets[secret]}", needed)
        if item.kind is AccountKind.GOOGLE_OAUTH and parsed.oauth is None:
            raise fail(
                f"{where}: google_oauth accounts need an `oauth:` section with the "
                "client_id and client_secret to refresh their tokens with",
                "kind",
            )
        labels[item.label] = i
        secrets[secret] = where
        accounts.append(
            Account(
                label=item.label,
                secret=secret,
                kind=item.kind,
                project=item.project,
                allow=tuple(item.models.allow),
                deny=tuple(item.models.deny),
                enabled=item.enabled,
            )
        )
    oauth = None
    if parsed.oauth is not None:
        oauth = OAuthClient(
            client_id=parsed.oauth.client_id,
            client_secret=parsed.oauth.client_secret,
            token_url=parsed.oauth.token_url.rstrip("/"),
            code_assist_url=parsed.oauth.code_assist_url.rstrip("/"),
        )
    return AccountsConfig(source, tuple(accounts), oauth)


def parse_accounts(text: str, source: str = "accounts.yaml") -> AccountsConfig:
    """Parse and validate an accounts file; raise AccountsError saying what is wrong and where."""
    doc = _load_yaml(text, source)
    if doc is None:
        return AccountsConfig(source)
    try:
        parsed = _AccountsDoc.model_validate(doc)
    except ValidationError as exc:
        problems = exc.errors()
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        line = _line_of(doc, tuple(first["loc"]))
        raise AccountsError(source, _describe(first) + more, line) from None
    return _checked(parsed, doc, source)


def load_accounts(path: Path) -> AccountsConfig:
    """Read and parse an accounts file (OSError if it cannot be read)."""
    return parse_accounts(path.read_text(encoding="utf-8"), str(path))


class AccountsFile(WatchedFile[AccountsConfig]):
    """The accounts file, reloaded when it changes; `config` is the last good one."""

    def __init__(
        self,
        path: Path,
        check_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            path, load_accounts, AccountsConfig(), (AccountsError,), check_interval, clock
        )

    @property
    def config(self) -> AccountsConfig:
        return self.value
