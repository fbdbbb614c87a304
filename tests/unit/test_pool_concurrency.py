"""50 concurrent requests through a pool where some accounts are rate limited."""

from __future__ import annotations

import asyncio
import random

from antigravity.accounts import Account
from antigravity.emulator.faults import quota_exhausted
from antigravity.pool import Pool
from antigravity.quota import Verdict, classify

MODEL = "gemini-2.5-flash"
LIMITED = {"key-1", "key-3"}  # these answer 429 with a retry delay every time
MAX_ATTEMPTS = 3


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_fifty_concurrent_requests_end_correctly_and_never_use_a_cooling_account() -> None:
    clock = Clock()
    pool = Pool([Account(f"key-{i}", f"secret-key-{i}-0123456789") for i in range(1, 6)], clock)
    rng = random.Random(5)
    cooling_until: dict[str, float] = {}  # our own ledger of what the pool was told
    violations: list[str] = []
    attempts_made = 0

    async def upstream(account: Account) -> Verdict:
        await asyncio.sleep(0)  # requests interleave here, as on the real loop
        for _ in range(rng.randrange(3)):
            await asyncio.sleep(0)
        clock.now += rng.choice((0.0, 0.5, 1.0))  # time passes: cooldowns run out mid-test
        if account.label in LIMITED:
            body = quota_exhausted(MODEL, "GenerateRequestsPerMinutePerProjectPerModel", "7.5s")
            return classify(429, body.to_bytes())
        return classify(200, b"{}")

    async def request(n: int) -> str:
        nonlocal attempts_made
        tried: set[str] = set()
        for _ in range(MAX_ATTEMPTS):
            account = pool.pick(MODEL, affinity=f"conv-{n % 7}", exclude=frozenset(tried))
            if account is None:
                break
            if cooling_until.get(account.label, -1.0) > clock.now:
                violations.append(f"{account.label} picked while cooling")
            tried.add(account.label)
            attempts_made += 1
            verdict = await upstream(account)
            cooldown = pool.record(account, MODEL, verdict)
            if cooldown.seconds:
                cooling_until[account.label] = max(
                    cooling_until.get(account.label, -1.0), clock.now + cooldown.seconds
                )
            if verdict.kind == "ok":
                return "ok"
        return "exhausted"

    outcomes = await asyncio.gather(*(request(n) for n in range(50)))

    assert violations == []
    assert outcomes == ["ok"] * 50  # three healthy accounts are always left to answer
    rows = {row["label"]: row for row in pool.snapshot()}
    assert sum(row["requests"] for row in rows.values()) == attempts_made
    for row in rows.values():
        assert row["requests"] == row["ok"] + row["rate_limited"] + row["errors"]
    assert sum(row["ok"] for row in rows.values()) == 50
    # Limited accounts were retried once their cooldown ran out, and only then.
    for label in LIMITED:
        assert rows[label]["ok"] == 0
        assert rows[label]["rate_limited"] >= 2
    healthy = [rows[f"key-{i}"]["ok"] for i in (2, 4, 5)]
    assert min(healthy) > 0  # the load is spread


async def test_when_the_limit_lifts_the_accounts_come_back() -> None:
    clock = Clock()
    pool = Pool([Account(f"key-{i}", f"secret-{i}-0123456789") for i in (1, 2)], clock)
    for account in pool.accounts:
        pool.record(account, MODEL, Verdict("rate_limited", 429, 2.0, retryable=True))

    async def request() -> Account | None:
        await asyncio.sleep(0)
        return pool.pick(MODEL)

    assert await asyncio.gather(*(request() for _ in range(10))) == [None] * 10
    assert pool.soonest_free(MODEL) == 2.0
    clock.now = 2.0
    picked = await asyncio.gather(*(request() for _ in range(10)))
    assert {a.label for a in picked if a} == {"key-1", "key-2"}
