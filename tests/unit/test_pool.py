"""The account pool: selection, cooldowns from verdicts, backoff, auth, reloads, reporting."""

from __future__ import annotations

import json

import pytest

from antigravity.accounts import Account, AccountKind
from antigravity.pool import DEFAULT_COOLDOWN, Pool
from antigravity.quota import Verdict, classify
from antigravity.quota import VerdictKind as Kind

FLASH = "gemini-2.5-flash"
PRO = "gemini-2.5-pro"
WALL0 = 1_750_000_000.0


class Clock:
    """A monotonic clock and a wall clock that tests move by hand, together."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        return WALL0 + self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def accounts(*labels: str) -> list[Account]:
    return [Account(label, f"secret-{label}-0123456789") for label in labels]


def make(*labels: str, backoff_base: float = 1.0, backoff_max: float = 30.0) -> tuple[Pool, Clock]:
    clock = Clock()
    pool = Pool(accounts(*labels), clock, clock.wall, backoff_base, backoff_max)
    return pool, clock


def verdict(kind: Kind, retry_after: float | None = None, status: int = 0) -> Verdict:
    statuses = {
        "ok": 200,
        "rate_limited": 429,
        "quota_exhausted_daily": 429,
        "overloaded": 503,
        "server_error": 500,
        "auth": 403,
        "client_error": 400,
    }
    code = status or statuses[kind]
    return Verdict(kind, code, retry_after, retryable=kind != "client_error", reason=f"{code} x")


def labels_picked(pool: Pool, n: int, model: str = FLASH) -> list[str]:
    picked = [pool.pick(model) for _ in range(n)]
    return [a.label if a else "-" for a in picked]


# --- selection ---------------------------------------------------------------------------------


def test_load_is_spread_least_recently_picked_first_in_config_order() -> None:
    pool, _ = make("a", "b", "c")
    assert labels_picked(pool, 6) == ["a", "b", "c", "a", "b", "c"]


def test_empty_pool_picks_nothing() -> None:
    pool, _ = make()
    assert pool.pick(FLASH) is None
    assert len(pool) == 0


def test_cooling_account_is_skipped_for_that_model_only() -> None:
    pool, _ = make("a", "b")
    a = pool.accounts[0]
    pool.record(a, FLASH, verdict("rate_limited", 10))
    assert labels_picked(pool, 3) == ["b", "b", "b"]
    assert pool.pick(PRO) == a


def test_cooldown_ends_after_exactly_the_delay_google_gave() -> None:
    pool, clock = make("a")
    a = pool.accounts[0]
    cooldown = pool.record(a, FLASH, verdict("rate_limited", 34.4))
    assert (cooldown.seconds, cooldown.until) == (34.4, clock.wall() + 34.4)
    clock.advance(34.3)
    assert pool.pick(FLASH) is None
    clock.advance(0.1)
    assert pool.pick(FLASH) == a


def test_disabled_in_config_and_unserved_models_are_skipped() -> None:
    clock = Clock()
    pool = Pool(
        [
            Account("off", "s1", enabled=False),
            Account("flash-only", "s2", allow=("gemini-2.5-flash*",)),
            Account("no-pro", "s3", deny=(PRO,)),
        ],
        clock=clock,
    )
    assert labels_picked(pool, 2, FLASH) == ["flash-only", "no-pro"]
    assert pool.pick(PRO) is None
    assert pool.pick("gemini-2.5-flash-lite") is not None


def test_excluded_labels_are_not_picked() -> None:
    pool, _ = make("a", "b")
    assert pool.pick(FLASH, exclude=frozenset({"a"})) == pool.accounts[1]
    assert pool.pick(FLASH, exclude=frozenset({"a", "b"})) is None


def test_conversation_stays_on_its_account_while_healthy() -> None:
    pool, clock = make("a", "b", "c")
    first = pool.pick(FLASH, affinity="conv-1")
    assert first is not None
    for _ in range(3):
        pool.pick(FLASH)  # other traffic moves the round on
        assert pool.pick(FLASH, affinity="conv-1") == first
    pool.record(first, FLASH, verdict("rate_limited", 5))
    moved = pool.pick(FLASH, affinity="conv-1")
    assert moved is not None and moved != first
    clock.advance(5)
    assert pool.pick(FLASH, affinity="conv-1") == moved  # it stays where it moved


def test_affinity_map_is_bounded() -> None:
    clock = Clock()
    pool = Pool(accounts("a", "b"), clock=clock, affinity_limit=2)
    assert pool.pick(FLASH, affinity="c1") == pool.accounts[0]
    pool.pick(FLASH, affinity="c2")
    pool.pick(FLASH, affinity="c3")  # c1 forgotten
    assert pool.pick(FLASH, affinity="c1") == pool.accounts[1]  # plain rotation, not a


def test_choice_says_why() -> None:
    pool, _ = make("a", "b", "c")
    pool.record(pool.accounts[0], FLASH, verdict("rate_limited", 12.3))
    choice = pool.choose(FLASH, affinity="x", exclude=frozenset({"b"}))
    assert choice is not None and choice.account.label == "c"
    assert choice.reason == "least recently used of 1 available; skipped a cooling 12.3 s, b tried"
    again = pool.choose(FLASH, affinity="x")
    assert again is not None and again.reason.startswith("the conversation's account")


# --- what verdicts do --------------------------------------------------------------------------


def test_rate_limit_without_a_delay_cools_for_the_default() -> None:
    pool, clock = make("a")
    cooldown = pool.record(pool.accounts[0], FLASH, verdict("rate_limited", None))
    assert cooldown.seconds == DEFAULT_COOLDOWN
    assert "default" in cooldown.reason
    clock.advance(DEFAULT_COOLDOWN)
    assert pool.pick(FLASH) is not None


def test_daily_quota_cools_until_the_reset_it_was_given() -> None:
    pool, clock = make("a")
    cooldown = pool.record(pool.accounts[0], FLASH, verdict("quota_exhausted_daily", 5 * 3600))
    assert cooldown.seconds == 5 * 3600
    clock.advance(5 * 3600 - 1)
    assert pool.pick(FLASH) is None


def test_shorter_cooldown_does_not_shorten_a_running_one() -> None:
    pool, clock = make("a")
    a = pool.accounts[0]
    pool.record(a, FLASH, verdict("quota_exhausted_daily", 3600))
    cooldown = pool.record(a, FLASH, verdict("rate_limited", 2))
    assert cooldown.seconds == 3600 and "already cooling" in cooldown.reason
    clock.advance(2)
    assert pool.pick(FLASH) is None


def test_overload_backs_off_exponentially_capped_and_resets_on_success() -> None:
    pool, clock = make("a", backoff_base=1.0, backoff_max=5.0)
    a = pool.accounts[0]
    seconds = []
    for _ in range(5):
        seconds.append(pool.record(a, FLASH, verdict("overloaded")).seconds)
        clock.advance(10)
    assert seconds == [1.0, 2.0, 4.0, 5.0, 5.0]
    pool.record(a, FLASH, verdict("ok"))
    assert pool.record(a, FLASH, verdict("server_error")).seconds == 1.0


def test_backoff_is_per_model() -> None:
    pool, _ = make("a")
    a = pool.accounts[0]
    pool.record(a, FLASH, verdict("server_error"))
    pool.record(a, FLASH, verdict("server_error"))
    assert pool.record(a, PRO, verdict("server_error")).seconds == 1.0


def test_backoff_honours_a_longer_retry_after_up_to_the_cap() -> None:
    pool, _ = make("a", backoff_max=30.0)
    a = pool.accounts[0]
    assert pool.record(a, FLASH, verdict("overloaded", 7.0)).seconds == 7.0
    assert pool.record(a, PRO, verdict("overloaded", 600.0)).seconds == 30.0


def test_many_failures_in_a_row_stay_capped() -> None:
    pool, _ = make("a", backoff_max=30.0)
    a = pool.accounts[0]
    for _ in range(2000):
        cooldown = pool.record(a, FLASH, verdict("server_error"))
    assert cooldown.seconds == 30.0


def test_auth_failure_disables_the_account_for_every_model() -> None:
    pool, clock = make("a", "b")
    a = pool.accounts[0]
    body = b'{"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "denied"}}'
    cooldown = pool.record(a, FLASH, classify(403, body))
    assert cooldown.disabled and "403 PERMISSION_DENIED: denied" in cooldown.reason
    clock.advance(86400 * 30)
    assert labels_picked(pool, 2, PRO) == ["b", "b"]


def test_client_error_leaves_the_account_available() -> None:
    pool, _ = make("a")
    cooldown = pool.record(pool.accounts[0], FLASH, verdict("client_error"))
    assert cooldown.seconds == 0 and not cooldown.disabled
    assert pool.pick(FLASH) is not None


def test_counters_count_each_outcome() -> None:
    pool, clock = make("a")
    a = pool.accounts[0]
    kinds: tuple[Kind, ...] = (
        "ok",
        "ok",
        "rate_limited",
        "quota_exhausted_daily",
        "overloaded",
        "client_error",
    )
    for kind in kinds:
        pool.record(a, FLASH, verdict(kind, 1))
        clock.advance(100)
    (row,) = pool.snapshot()
    assert (row["requests"], row["ok"], row["rate_limited"], row["errors"]) == (6, 2, 2, 2)


# --- reloads -----------------------------------------------------------------------------------


def test_update_keeps_state_of_unchanged_accounts_and_drops_removed_ones() -> None:
    pool, _ = make("a", "b")
    a, b = pool.accounts
    pool.record(a, FLASH, verdict("rate_limited", 60))
    pool.record(b, FLASH, verdict("ok"))
    renamed = Account("a-renamed", a.secret)
    pool.update([renamed, Account("c", "secret-c-0123456789")])
    assert pool.pick(FLASH) == pool.accounts[1]  # a (renamed) still cools
    rows = {r["label"]: r for r in pool.snapshot()}
    assert rows["a-renamed"]["rate_limited"] == 1
    assert rows["c"]["requests"] == 0
    assert pool.record(b, FLASH, verdict("ok")).reason == "account no longer configured"


def test_disabled_account_comes_back_when_its_secret_changes() -> None:
    pool, _ = make("a")
    a = pool.accounts[0]
    pool.record(a, FLASH, verdict("auth"))
    pool.update([Account("a", a.secret, enabled=True)])  # same credentials: still disabled
    assert pool.pick(FLASH) is None
    pool.update([Account("a", "a-new-secret-0123456789")])
    assert pool.pick(FLASH) is not None


def test_verdict_for_an_old_secret_does_not_touch_the_new_one() -> None:
    pool, _ = make("a")
    old = pool.accounts[0]
    pool.update([Account("a", "rotated-secret-0123456789")])
    pool.record(old, FLASH, verdict("auth"))
    assert pool.pick(FLASH) is not None


# --- exhaustion --------------------------------------------------------------------------------


def test_soonest_free_is_the_first_cooldown_to_end() -> None:
    pool, clock = make("a", "b", "c")
    a, b, c = pool.accounts
    pool.record(a, FLASH, verdict("rate_limited", 30))
    pool.record(b, FLASH, verdict("rate_limited", 12.5))
    assert pool.soonest_free(FLASH) is None  # c is free
    pool.record(c, FLASH, verdict("auth"))
    assert pool.soonest_free(FLASH) == 12.5
    clock.advance(2.5)
    assert pool.soonest_free(FLASH) == 10.0


def test_soonest_free_is_none_when_no_account_ever_will_be() -> None:
    pool, _ = make("a")
    pool.record(pool.accounts[0], FLASH, verdict("auth"))
    assert pool.soonest_free(FLASH) is None


def test_exhaustion_by_quota_is_a_429_with_the_soonest_reset() -> None:
    pool, _ = make("a", "b")
    a, b = pool.accounts
    pool.record(a, FLASH, verdict("rate_limited", 30))
    pool.record(b, FLASH, verdict("overloaded", 4))
    exhausted = pool.exhausted(FLASH)
    assert (exhausted.quota, exhausted.retry_after) == (True, 4.0)
    assert "1 rate limited, 1 overloaded" in exhausted.reason


def test_exhaustion_by_failures_is_not_quota() -> None:
    pool, _ = make("a", "b")
    a, b = pool.accounts
    pool.record(a, FLASH, verdict("server_error"))
    pool.record(b, FLASH, verdict("auth"))
    exhausted = pool.exhausted(FLASH)
    assert (exhausted.quota, exhausted.retry_after) == (False, 1.0)


def test_exhaustion_with_every_account_disabled_names_no_delay() -> None:
    pool, _ = make("a")
    pool.record(pool.accounts[0], FLASH, verdict("auth"))
    exhausted = pool.exhausted(FLASH)
    assert (exhausted.quota, exhausted.retry_after) == (False, None)
    assert "1 disabled" in exhausted.reason


# --- reporting ---------------------------------------------------------------------------------


def test_snapshot_is_json_and_masks_secrets() -> None:
    clock = Clock()
    oauth = Account("bob", "1//refresh-secret-value", AccountKind.GOOGLE_OAUTH, "proj")
    pool = Pool([*accounts("a"), oauth], clock=clock)
    pool.record(pool.accounts[0], FLASH, verdict("rate_limited", 12.3))
    text = json.dumps(pool.snapshot())
    assert "secret-a-0123456789" not in text and "refresh-secret" not in text
    rows = pool.snapshot()
    assert rows[0]["secret"] == "****6789"
    assert rows[0]["cooling"] == [
        {
            "model": FLASH,
            "kind": "rate_limited",
            "seconds_left": 12.3,
            "reason": rows[0]["cooling"][0]["reason"],
        }
    ]
    assert (rows[1]["kind"], rows[1]["project"]) == ("google_oauth", "proj")


def test_describe_shows_state_per_account() -> None:
    clock = Clock()
    pool = Pool(
        [*accounts("alice", "bob", "carol"), Account("dave", "d" * 20, enabled=False)],
        clock=clock,
    )
    alice, bob, carol, _ = pool.accounts
    pool.record(alice, FLASH, verdict("ok"))
    pool.record(bob, FLASH, verdict("rate_limited", 12.3))
    body = b'{"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "denied"}}'
    pool.record(carol, FLASH, classify(403, body))
    lines = pool.describe().splitlines()
    assert lines[0].split() == [
        "account",
        "kind",
        "secret",
        "state",
        "requests",
        "ok",
        "rate-limited",
        "errors",
    ]
    assert lines[1].split()[:4] == ["alice", "api_key", "****6789", "ok"]
    assert "cooling gemini-2.5-flash for 12.3 s" in lines[2]
    assert "disabled: 403 PERMISSION_DENIED: denied" in lines[3]
    assert "off in config" in lines[4]
    assert "secret-" not in pool.describe()


def test_describe_without_accounts_says_so() -> None:
    assert Pool([]).describe() == "no accounts configured"


@pytest.mark.parametrize("kind", ["rate_limited", "overloaded", "auth"])
def test_recorded_cooldown_names_account_model_and_kind(kind: Kind) -> None:
    pool, _ = make("a")
    cooldown = pool.record(pool.accounts[0], FLASH, verdict(kind, 3))
    assert (cooldown.account, cooldown.model, cooldown.kind) == ("a", FLASH, kind)
