"""Upstream accounts and the pool that chooses one for each request."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field


def mask(secret: str) -> str:
    """What may be shown of a secret: its last four characters, and only for long ones."""
    return f"****{secret[-4:]}" if len(secret) >= 16 else "****"


@dataclass(frozen=True)
class Account:
    label: str
    secret: str = field(repr=False)

    @property
    def masked(self) -> str:
        return mask(self.secret)


def accounts_from_env(value: str) -> list[Account]:
    """`GEMINI_API_KEYS="k1,k2"` -> accounts labelled key-1, key-2 (duplicates dropped)."""
    keys = list(dict.fromkeys(k.strip() for k in value.split(",") if k.strip()))
    return [Account(f"key-{i}", key) for i, key in enumerate(keys, 1)]


class Pool:
    """Spreads requests over the accounts in turn."""

    def __init__(self, accounts: list[Account]) -> None:
        self.accounts = accounts
        self._turn = itertools.cycle(accounts) if accounts else None

    def __len__(self) -> int:
        return len(self.accounts)

    def pick(self) -> Account | None:
        return next(self._turn) if self._turn else None
