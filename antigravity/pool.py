"""The account pool: which account serves the next attempt, and what each answer did to it.

State per account (kept across config reloads while the account's fingerprint is unchanged):
cooldowns per model, consecutive-failure counts for backoff, an auth failure that disables the
account, and counters. Nothing here awaits, so interleaved asyncio requests always see the state
of one whole pick or record; the clocks are injected so tests decide what time it is.

Cooldowns:
- rate_limited: the delay Google gave, else DEFAULT_COOLDOWN (30 s: long enough that a bare 429
  is not hammered, short next to a per-minute window's worst case);
- quota_exhausted_daily: until the reset quota.classify computed;
- overloaded / server_error: backoff_base * 2**(n-1) for the n-th failure in a row of that
  (account, model), at least what Google asked, capped at backoff_max; a success resets n;
- auth: the account is disabled until its fingerprint (kind, secret, project) changes.
A later, shorter cooldown never shortens one already running.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .accounts import Account
from .quota import Verdict, VerdictKind, seconds_text

DEFAULT_COOLDOWN = 30.0
AFFINITY_LIMIT = 10_000
_LISTED_SKIPS = 5  # skipped accounts named in a pick's reason
_MAX_DOUBLINGS = 20  # backoff stops doubling long before the float would overflow


@dataclass(frozen=True)
class Cooldown:
    """What recording one verdict did to an account, for the flow and the log."""

    account: str
    model: str
    kind: VerdictKind
    seconds: float = 0.0  # how long (account, model) is now unavailable; 0: not at all
    until: float | None = None  # wall-clock end of that, epoch seconds
    disabled: bool = False  # the whole account is out until its config changes
    reason: str = ""


@dataclass(frozen=True)
class Choice:
    """A picked account and why it was picked (and the others were not)."""

    account: Account
    reason: str


@dataclass(frozen=True)
class Exhaustion:
    """Why no account can serve a model now, for the answer to the client."""

    quota: bool  # True: quota is the cause (429 rate_limit_exceeded), else 503
    retry_after: float | None  # seconds until the soonest account frees, if any ever will
    reason: str


@dataclass
class _Cooling:
    until: float  # monotonic
    kind: VerdictKind
    reason: str


@dataclass
class _State:
    cooling: dict[str, _Cooling] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)  # consecutive 5xx per model
    disabled: str | None = None
    last_pick: int = -1  # pick sequence number; -1: never picked
    requests: int = 0
    ok: int = 0
    rate_limited: int = 0
    errors: int = 0

    def cooldown(self, model: str, now: float) -> _Cooling | None:
        cooling = self.cooling.get(model)
        if cooling is not None and cooling.until <= now:
            del self.cooling[model]
            return None
        return cooling


class Pool:
    """Picks accounts for (model, conversation) and records what upstream answered them."""

    def __init__(
        self,
        accounts: Iterable[Account],
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        backoff_base: float = 1.0,
        backoff_max: float = 30.0,
        default_cooldown: float = DEFAULT_COOLDOWN,
        affinity_limit: int = AFFINITY_LIMIT,
    ) -> None:
        self._clock = clock
        self._wall = wall
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.default_cooldown = default_cooldown
        self._affinity_limit = affinity_limit
        self._affinity: OrderedDict[str, str] = OrderedDict()  # conversation -> fingerprint
        self._picks = 0
        self.accounts: tuple[Account, ...] = ()
        self._states: dict[str, _State] = {}
        self.update(accounts)

    def __len__(self) -> int:
        return len(self.accounts)

    def update(self, accounts: Iterable[Account]) -> None:
        """Use a new account list; accounts whose fingerprint is unchanged keep their state."""
        self.accounts = tuple(accounts)
        self._states = {
            a.fingerprint: self._states.get(a.fingerprint) or _State() for a in self.accounts
        }

    def _unavailable(self, account: Account, model: str, now: float) -> str | None:
        """Why `account` cannot take an attempt at `model` now; None if it can."""
        state = self._states[account.fingerprint]
        if not account.enabled:
            return "off in config"
        if state.disabled is not None:
            return "disabled"
        if not account.serves(model):
            return f"does not serve {model}"
        if (cooling := state.cooldown(model, now)) is not None:
            return f"cooling {seconds_text(cooling.until - now)}"
        return None

    def choose(
        self, model: str, affinity: str | None = None, exclude: frozenset[str] = frozenset()
    ) -> Choice | None:
        """`pick`, with the reason for the inspector."""
        now = self._clock()
        candidates: list[Account] = []
        skipped: list[str] = []
        for account in self.accounts:
            why = "tried" if account.label in exclude else self._unavailable(account, model, now)
            if why is None:
                candidates.append(account)
            else:
                skipped.append(f"{account.label} {why}")
        if not candidates:
            return None
        chosen = None
        kept = self._affinity.get(affinity) if affinity is not None else None
        if kept is not None:
            chosen = next((a for a in candidates if a.fingerprint == kept), None)
        if chosen is not None:
            reason = "the conversation's account"
        else:
            chosen = min(candidates, key=lambda a: self._states[a.fingerprint].last_pick)
            reason = f"least recently used of {len(candidates)} available"
            if kept is not None:
                reason += " (the conversation's account is unavailable)"
        if skipped:
            more = len(skipped) - _LISTED_SKIPS
            listed = ", ".join(skipped[:_LISTED_SKIPS]) + (f" and {more} more" if more > 0 else "")
            reason += f"; skipped {listed}"
        self._states[chosen.fingerprint].last_pick = self._picks
        self._picks += 1
        if affinity is not None:
            self._affinity[affinity] = chosen.fingerprint
            self._affinity.move_to_end(affinity)
            while len(self._affinity) > self._affinity_limit:
                self._affinity.popitem(last=False)
        return Choice(chosen, reason)

    def pick(
        self, model: str, affinity: str | None = None, exclude: frozenset[str] = frozenset()
    ) -> Account | None:
        """The account for the next attempt at `model`, or None if none can serve it now.

        Only enabled accounts that serve `model`, are not disabled, not cooling down for it and
        not in `exclude` (labels) are candidates. A conversation (`affinity`) stays on the
        account that served it while that one is a candidate; otherwise the least recently
        picked candidate wins, ties going to the first in config order.
        """
        choice = self.choose(model, affinity, exclude)
        return choice.account if choice is not None else None

    def record(self, account: Account, model: str, verdict: Verdict) -> Cooldown:
        """Count an attempt's outcome and cool down or disable the account as it calls for."""
        state = self._states.get(account.fingerprint)
        if state is None:
            return Cooldown(
                account.label, model, verdict.kind, reason="account no longer configured"
            )
        now = self._clock()
        state.requests += 1
        kind = verdict.kind
        if kind == "ok":
            state.ok += 1
            state.failures.pop(model, None)
            return Cooldown(account.label, model, kind, reason="ok")
        if kind == "client_error":
            state.errors += 1
            return Cooldown(account.label, model, kind, reason="request rejected; account fine")
        if kind == "auth":
            state.errors += 1
            state.disabled = verdict.reason or f"{verdict.status} auth error"
            return Cooldown(
                account.label,
                model,
                kind,
                disabled=True,
                reason=f"disabled until its config changes: {state.disabled}",
            )
        if verdict.quota:
            state.rate_limited += 1
            seconds = verdict.retry_after
            why = "as Google asked" if seconds is not None else "default, no delay given"
            if seconds is None:
                seconds = self.default_cooldown
        else:
            state.errors += 1
            failures = state.failures.get(model, 0) + 1
            state.failures[model] = failures
            backoff = self.backoff_base * 2 ** min(failures - 1, _MAX_DOUBLINGS)
            seconds = min(max(backoff, verdict.retry_after or 0.0), self.backoff_max)
            why = f"backoff after {failures} failure{'s' if failures > 1 else ''} in a row"
        return self._cool(state, account, model, kind, seconds, now, why)

    def _cool(
        self,
        state: _State,
        account: Account,
        model: str,
        kind: VerdictKind,
        seconds: float,
        now: float,
        why: str,
    ) -> Cooldown:
        current = state.cooldown(model, now)
        if current is not None and current.until >= now + seconds:
            left = current.until - now
            return Cooldown(
                account.label,
                model,
                kind,
                left,
                self._wall() + left,
                reason=f"already cooling {seconds_text(left)} ({current.reason})",
            )
        reason = f"cooling {model} for {seconds_text(seconds)} ({why})"
        state.cooling[model] = _Cooling(now + seconds, kind, reason)
        return Cooldown(account.label, model, kind, seconds, self._wall() + seconds, reason=reason)

    def _servers(self, model: str) -> list[tuple[Account, _State]]:
        return [
            (a, self._states[a.fingerprint])
            for a in self.accounts
            if a.enabled and a.serves(model) and self._states[a.fingerprint].disabled is None
        ]

    def soonest_free(self, model: str) -> float | None:
        """Seconds until the first cooling account frees for `model`.

        None when an account is free now, or when none ever will be (all disabled or none serve).
        """
        now = self._clock()
        lefts = []
        for _, state in self._servers(model):
            cooling = state.cooldown(model, now)
            if cooling is None:
                return None
            lefts.append(cooling.until - now)
        return min(lefts) if lefts else None

    def exhausted(self, model: str) -> Exhaustion:
        """Why `pick(model)` finds nothing: quota (429 + Retry-After) or failures (503)."""
        now = self._clock()
        servers = self._servers(model)
        if not servers:
            disabled = sum(1 for a in self.accounts if self._states[a.fingerprint].disabled)
            what = f"{disabled} disabled after auth errors" if disabled else "none configured"
            return Exhaustion(False, None, f"no account serves {model} ({what})")
        cooling = [c for _, s in servers if (c := s.cooldown(model, now)) is not None]
        quota = any(c.kind in ("rate_limited", "quota_exhausted_daily") for c in cooling)
        soonest = min((c.until - now for c in cooling), default=None)
        if len(cooling) < len(servers):
            return Exhaustion(quota, soonest, f"every account serving {model} was tried")
        counts: dict[str, int] = {}
        for c in cooling:
            counts[c.kind] = counts.get(c.kind, 0) + 1
        kinds = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items())
        assert soonest is not None
        return Exhaustion(
            quota,
            soonest,
            f"all {len(servers)} account(s) for {model} cooling ({kinds}); "
            f"the first frees in {seconds_text(soonest)}",
        )

    def snapshot(self) -> list[dict[str, Any]]:
        """The pool's state as JSON-friendly data, secrets masked."""
        now = self._clock()
        out = []
        for account in self.accounts:
            state = self._states[account.fingerprint]
            for model in list(state.cooling):
                state.cooldown(model, now)
            out.append(
                {
                    "label": account.label,
                    "kind": str(account.kind),
                    "secret": account.masked,
                    "project": account.project,
                    "enabled": account.enabled,
                    "disabled": state.disabled,
                    "cooling": [
                        {
                            "model": model,
                            "kind": c.kind,
                            "seconds_left": round(c.until - now, 3),
                            "reason": c.reason,
                        }
                        for model, c in sorted(state.cooling.items())
                    ],
                    "failures": dict(sorted(state.failures.items())),
                    "requests": state.requests,
                    "ok": state.ok,
                    "rate_limited": state.rate_limited,
                    "errors": state.errors,
                }
            )
        return out

    def describe(self) -> str:
        """A table of the accounts for the `antigravity.accounts` command."""
        if not self.accounts:
            return "no accounts configured"
        head = ("account", "kind", "secret", "state", "requests", "ok", "rate-limited", "errors")
        rows = [head]
        for item in self.snapshot():
            if not item["enabled"]:
                status = "off in config"
            elif item["disabled"]:
                status = f"disabled: {item['disabled']}"
            elif item["cooling"]:
                status = "cooling " + ", ".join(
                    f"{c['model']} for {seconds_text(c['seconds_left'])}" for c in item["cooling"]
                )
            else:
                status = "ok"
            rows.append(
                (
                    item["label"],
                    item["kind"],
                    item["secret"],
                    status,
                    str(item["requests"]),
                    str(item["ok"]),
                    str(item["rate_limited"]),
                    str(item["errors"]),
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
        numeric = range(4, len(head))
        return "\n".join(
            "  ".join(
                cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
                for i, cell in enumerate(row)
            ).rstrip()
            for row in rows
        )
