"""The account pool as a user sees it: who answers when Google limits, rejects or fails a key.

Every test that makes an account cool down runs its own gateway (cooldowns rightly outlive a
test). The gateway runs with a small probe addon that answers `GET /__probe/accounts` with the
`antigravity.accounts` command's table, so tests read the pool's state through the real command,
and with `save_stream_file`, so they read the attempts each flow recorded.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest
from mitmproxy import http
from mitmproxy import io as mitmio

from antigravity import launch
from antigravity.emulator import Emulator, Fault, RecordedRequest
from antigravity.quota import until_daily_reset
from tests.e2e.conftest import raw

pytestmark = pytest.mark.e2e

KEYS = ("pool-key-alpha-00000001", "pool-key-bravo-00000002", "pool-key-charlie-0000003")
FLASH = "gemini-2.5-flash"
HELLO = [{"role": "user", "content": "Hello"}]
DEADLINE = 30.0  # seconds any poll may take before the test gives up

PROBE = '''\
from mitmproxy import ctx, http


class Probe:
    """GET /__probe/accounts: the text of the `antigravity.accounts` command."""

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.request.path == "/__probe/accounts":
            text = ctx.master.commands.call("antigravity.accounts")
            flow.response = http.Response.make(200, text.encode(), {"content-type": "text/plain"})


addons = [Probe()]
'''


@dataclass(frozen=True)
class Row:
    """One account in the `antigravity.accounts` table."""

    label: str
    kind: str
    secret: str
    state: str
    requests: int
    ok: int
    rate_limited: int
    errors: int


@dataclass
class Gateway:
    child: launch.Child
    flows_path: Path

    @property
    def url(self) -> str:
        return self.child.url

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(
            api_key="sk-test", base_url=f"{self.url}/v1", max_retries=0, timeout=60
        )

    def aclient(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            api_key="sk-test", base_url=f"{self.url}/v1", max_retries=0, timeout=60
        )

    def accounts_text(self) -> str:
        resp = raw(f"{self.url}/__probe/accounts")
        assert resp.status == 200, resp.body
        return resp.body.decode()

    def accounts(self) -> dict[str, Row]:
        """The command's table, parsed (cells are separated by two spaces or more)."""
        head, *lines = self.accounts_text().splitlines()
        assert re.split(r"\s{2,}", head) == [
            "account",
            "kind",
            "secret",
            "state",
            "requests",
            "ok",
            "rate-limited",
            "errors",
        ]
        rows = {}
        for line in lines:
            label, kind, secret, state, *counts = re.split(r"\s{2,}", line.strip())
            rows[label] = Row(label, kind, secret, state, *(int(c) for c in counts))
        return rows

    def flows(self, count: int) -> list[http.HTTPFlow]:
        """The model flows saved so far, once there are `count` of them (they are saved when
        their response hook ends, which for a stream may be just after the client read it)."""
        deadline = time.monotonic() + DEADLINE
        while True:
            with self.flows_path.open("rb") as f:
                flows = [
                    flow
                    for flow in mitmio.FlowReader(f).stream()
                    if isinstance(flow, http.HTTPFlow)
                    and "mapped_model" in flow.metadata.get("antigravity", {})
                ]
            if len(flows) >= count or time.monotonic() > deadline:
                assert len(flows) == count
                return flows
            time.sleep(0.05)


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("probe") / "probe.py"
    path.write_text(PROBE)
    return path


@contextmanager
def start_gateway(
    upstream: str,
    probe: Path,
    tmp_path: Path,
    keys: tuple[str, ...] = KEYS[:2],
    options: dict[str, str] | None = None,
) -> Iterator[Gateway]:
    """mitmdump with the probe and the gateway in front of `upstream`, saving its flows."""
    flows_path = tmp_path / "flows.mitm"
    flows_path.touch()
    argv = [
        launch._mitm_binary("mitmdump"),
        "--mode",
        f"reverse:{upstream}@127.0.0.1:0",
        "-s",
        str(probe),
        "-s",
        str(launch.ADDON),
    ]
    settings = {
        "connection_strategy": "lazy",
        "termlog_verbosity": "info",
        "flow_detail": "0",
        "save_stream_file": str(flows_path),
        "antigravity_upstream_timeout": "30",
        **(options or {}),
    }
    for key, value in settings.items():
        argv += ["--set", f"{key}={value}"]
    with launch.start(
        argv, launch._MITM_LISTENING, env={"GEMINI_API_KEYS": ",".join(keys)}
    ) as child:
        yield Gateway(child, flows_path)


@pytest.fixture
def gw(emulator: Emulator, probe: Path, tmp_path: Path) -> Iterator[Gateway]:
    """A gateway of this test's own with two keys, key-1 and key-2."""
    with start_gateway(emulator.url, probe, tmp_path) as gateway:
        yield gateway


def ask(
    client: openai.OpenAI, text: str = "Hello", model: str = "gpt-4o"
) -> tuple[str, openai.types.chat.ChatCompletion]:
    """A new conversation (its first message decides its account); who answered, and what."""
    answer = client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": text}]
    )
    return answer.headers["x-account-email"], answer.parse()


def generate_requests(emulator: Emulator) -> list[RecordedRequest]:
    """The generate calls (whole or streamed) the emulator got, in order."""
    methods = ("generateContent", "streamGenerateContent")
    return [r for r in emulator.requests if r.path.rsplit(":", 1)[-1] in methods]


def upstream_keys(emulator: Emulator) -> list[str | None]:
    """The key of every generate call the emulator got, in order."""
    return [r.key for r in generate_requests(emulator)]


def said(request: RecordedRequest) -> str:
    """The user text of a Gemini API request the emulator recorded."""
    return request.body["contents"][0]["parts"][0]["text"]


def poll(step: Callable[[], bool], what: str) -> None:
    """Call `step` until it returns True; fail after DEADLINE seconds."""
    deadline = time.monotonic() + DEADLINE
    while not step():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.05)


def attempts(flow: http.HTTPFlow) -> list[dict[str, Any]]:
    return flow.metadata["antigravity"]["attempts"]


# -- 429 rotation ------------------------------------------------------------------------------


def test_a_rate_limited_key_rests_for_exactly_the_delay_google_gave_while_the_other_answers(
    gw: Gateway, emulator: Emulator
) -> None:
    client = gw.client()
    emulator.add_fault(Fault(kind="429", key=KEYS[0], retry_delay="2.5s"))

    label, answer = ask(client, "Hello")

    assert label == "key-2"
    assert "emulator" in (answer.choices[0].message.content or "")
    assert upstream_keys(emulator) == [KEYS[0], KEYS[1]]
    (flow,) = gw.flows(1)
    first, second = attempts(flow)
    # The pool rested key-1 for the RetryInfo delay Google sent, not a default of its own.
    assert first["account"] == "key-1 (****0001)"
    assert (first["status"], first["outcome"]) == (429, "rate_limited")
    assert first["retry_after"] == 2.5
    assert first["cooldown"] == 2.5
    assert "as Google asked" in first["reason"]
    assert (second["account"], second["status"]) == ("key-2 (****0002)", 200)
    assert flow.comment == "chat · gpt-4o→gemini-2.5-flash · key-2 · 2 attempts · whole"

    # New conversations avoid key-1 while the table still shows it cooling (a request that ended
    # before a probe saying "cooling" was picked while key-1 cooled), then use it again.
    seen_while_cooling: list[str] = []
    served: list[str] = []

    def next_conversation() -> bool:
        label, _ = ask(client, f"conversation {len(served)}")
        served.append(label)
        if gw.accounts()["key-1"].state.startswith("cooling gemini-2.5-flash"):
            seen_while_cooling.append(label)
        return label == "key-1"

    poll(next_conversation, "key-1 to serve again once its 2.5 s passed")
    assert seen_while_cooling, "no request was made while key-1 cooled"
    assert set(seen_while_cooling) == {"key-2"}
    assert served[:-1] == ["key-2"] * (len(served) - 1)
    assert upstream_keys(emulator).count(KEYS[0]) == 2  # the 429, then the answer after rest
    rows = gw.accounts()
    assert (rows["key-1"].requests, rows["key-1"].ok, rows["key-1"].rate_limited) == (2, 1, 1)
    assert rows["key-1"].state == "ok"


def test_a_key_out_of_its_daily_quota_is_avoided_for_that_model_but_serves_others(
    gw: Gateway, emulator: Emulator
) -> None:
    client = gw.client()
    emulator.add_fault(
        Fault(
            kind="429",
            key=KEYS[0],
            model=FLASH,
            quota_id="GenerateRequestsPerDayPerProjectPerModel-FreeTier",
        )
    )
    before = time.time()
    label, _ = ask(client, "Hello")
    after = time.time()
    assert label == "key-2"

    (flow,) = gw.flows(1)
    first = attempts(flow)[0]
    assert (first["status"], first["outcome"]) == (429, "quota_exhausted_daily")
    # The Gemini API names no reset for a per-day quota: it lasts until midnight Pacific.
    assert until_daily_reset(after) - 0.01 <= first["cooldown"] <= until_daily_reset(before) + 0.01
    assert first["retry_after"] == pytest.approx(first["cooldown"], abs=0.001)

    for n in range(4):
        assert ask(client, f"flash {n}")[0] == "key-2"
    # Cooldowns are per (account, model): key-1 still serves another model.
    lite = [ask(client, f"lite {n}", "gemini-2.5-flash-lite")[0] for n in range(2)]
    assert lite == ["key-1", "key-2"]
    by_model = [(r.key, r.model) for r in generate_requests(emulator)]
    assert by_model.count((KEYS[0], FLASH)) == 1
    assert (KEYS[0], "gemini-2.5-flash-lite") in by_model
    assert gw.accounts()["key-1"].state.startswith("cooling gemini-2.5-flash for ")


# -- 503 backoff and auth errors ---------------------------------------------------------------


def test_an_overloaded_key_is_backed_off_longer_each_time_and_the_other_key_answers(
    gw: Gateway, emulator: Emulator
) -> None:
    client = gw.client()
    labels: list[str] = []

    def new_conversation() -> str:
        label, answer = ask(client, f"conversation {len(labels)}")
        assert "emulator" in (answer.choices[0].message.content or "")
        labels.append(label)
        return label

    def key_1_calls() -> int:
        return upstream_keys(emulator).count(KEYS[0])

    emulator.add_fault(Fault(kind="503", key=KEYS[0], times=2))
    assert new_conversation() == "key-2"
    assert upstream_keys(emulator) == [KEYS[0], KEYS[1]]
    # key-1 comes back once its backoff ends, fails again, and rests twice as long; the
    # client never notices.
    poll(lambda: bool(new_conversation()) and key_1_calls() == 2, "key-1 tried after backoff")
    assert set(labels) == {"key-2"}
    # Then it answers (the fault is used up), which resets the count of failures in a row.
    poll(lambda: new_conversation() == "key-1", "key-1 to answer after its longer backoff")
    emulator.add_fault(Fault(kind="503", key=KEYS[0], times=1))
    poll(lambda: bool(new_conversation()) and key_1_calls() == 4, "key-1 to fail once more")

    failed = [a for f in gw.flows(len(labels)) for a in attempts(f) if a["status"] == 503]
    assert [(a["account"], a["outcome"], a["cooldown"]) for a in failed] == [
        ("key-1 (****0001)", "overloaded", 1.0),
        ("key-1 (****0001)", "overloaded", 2.0),
        ("key-1 (****0001)", "overloaded", 1.0),
    ]
    assert [a["reason"] for a in failed] == [
        "cooling gemini-2.5-flash for 1.0 s (backoff after 1 failure in a row)",
        "cooling gemini-2.5-flash for 2.0 s (backoff after 2 failures in a row)",
        "cooling gemini-2.5-flash for 1.0 s (backoff after 1 failure in a row)",
    ]
    assert labels.count("key-1") == 1


def test_keys_google_rejects_are_disabled_for_good_and_the_client_still_gets_an_answer(
    emulator: Emulator, probe: Path, tmp_path: Path
) -> None:
    emulator.add_fault(Fault(kind="401", key=KEYS[0], times=1))
    emulator.add_fault(Fault(kind="403", key=KEYS[1], times=1))
    with start_gateway(emulator.url, probe, tmp_path, KEYS) as gw:
        client = gw.client()
        label, answer = ask(client, "Hello")
        assert label == "key-3"
        assert "emulator" in (answer.choices[0].message.content or "")
        (flow,) = gw.flows(1)
        first, second, third = attempts(flow)
        for attempt, status in ((first, 401), (second, 403)):
            assert (attempt["status"], attempt["outcome"], attempt["disabled"]) == (
                status,
                "auth",
                True,
            )
            assert attempt["reason"].startswith(f"disabled until its config changes: {status} ")
        assert (third["status"], third["disabled"]) == (200, False)

        rows = gw.accounts()
        assert rows["key-1"].state.startswith("disabled: 401 UNAUTHENTICATED")
        assert rows["key-2"].state.startswith("disabled: 403 PERMISSION_DENIED")
        assert [(r.requests, r.errors) for r in rows.values()] == [(1, 1), (1, 1), (1, 0)]
        # However many new conversations come, on whatever model, the disabled keys rest.
        labels = [ask(client, f"conversation {n}")[0] for n in range(4)]
        labels.append(ask(client, "Hello", "gemini-2.5-flash-lite")[0])
        assert labels == ["key-3"] * 5
        assert gw.accounts()["key-3"].ok == 6
    assert upstream_keys(emulator) == [KEYS[0], KEYS[1]] + [KEYS[2]] * 6


# -- exhaustion --------------------------------------------------------------------------------


def test_when_every_key_is_rate_limited_the_client_gets_429_with_retry_after_of_the_soonest(
    gw: Gateway, emulator: Emulator
) -> None:
    # Both delays exceed the gateway's short in-request wait, so it answers at once.
    for key, delay in ((KEYS[0], "9s"), (KEYS[1], "5.5s")):
        emulator.add_fault(Fault(kind="429", key=key, model=FLASH, retry_delay=delay, times=0))

    resp = raw(f"{gw.url}/v1/chat/completions", "POST", {"model": "gpt-4o", "messages": HELLO})

    assert resp.status == 429
    assert resp.headers["content-type"] == "application/json"
    error = resp.json()["error"]
    assert (error["type"], error["code"]) == ("rate_limit_error", "rate_limit_exceeded")
    assert "Every account is rate limited for gemini-2.5-flash" in error["message"]
    assert "RESOURCE_EXHAUSTED" in error["message"]  # Google's own words are kept
    retry_after = resp.headers["retry-after"]
    assert retry_after.isdigit()
    # key-2 frees first (5.5 s): the wait is for it, not for key-1's 9 s.
    assert 1 <= int(retry_after) <= math.ceil(5.5)
    assert f"Retry after {retry_after} s." in error["message"]
    assert resp.headers["x-account-email"] == "key-2"  # the last account tried
    assert upstream_keys(emulator) == [KEYS[0], KEYS[1]]

    # The SDK sees a RateLimitError with the same code; while both keys still cool (the table
    # says so after the request), the gateway answers without calling Google at all.
    with pytest.raises(openai.RateLimitError) as e:
        gw.client().chat.completions.create(model="gpt-4o", messages=HELLO)
    rows = gw.accounts()
    if all(r.state.startswith("cooling") for r in rows.values()):
        assert upstream_keys(emulator) == [KEYS[0], KEYS[1]]
    assert e.value.code == "rate_limit_exceeded"
    assert 1 <= int(e.value.response.headers["retry-after"]) <= math.ceil(5.5)
    # Another model is not limited: it is served.
    assert ask(gw.client(), "Hello", "gemini-2.5-flash-lite")[0] in ("key-1", "key-2")


def test_when_every_key_is_overloaded_the_client_gets_503_naming_the_last_key_tried(
    gw: Gateway, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(kind="503", times=0))

    with pytest.raises(openai.InternalServerError) as e:
        gw.client().chat.completions.create(model="gpt-4o", messages=HELLO)

    assert e.value.status_code == 503
    assert e.value.code == "upstream_unavailable"
    assert e.value.type == "server_error"
    assert "503 UNAVAILABLE" in e.value.message
    keys = upstream_keys(emulator)
    assert len(keys) == 3  # antigravity_max_attempts (3): key-1, key-2, then one after backoff
    assert set(keys[:2]) == {KEYS[0], KEYS[1]}
    last = {KEYS[0]: "key-1", KEYS[1]: "key-2"}[keys[-1]]
    assert e.value.response.headers["x-account-email"] == last
    (flow,) = gw.flows(1)
    assert [a["outcome"] for a in attempts(flow)] == ["overloaded"] * 3
    assert flow.comment.endswith("· 3 attempts · whole · 503")


@pytest.fixture(scope="module")
def single_attempt(emulator: Emulator, probe: Path, tmp_path_factory) -> Iterator[Gateway]:
    """antigravity_max_attempts=1; its tests rate limit different models, so one cooling
    (account, model) does not reach into another test."""
    options = {"antigravity_max_attempts": "1"}
    with start_gateway(
        emulator.url, probe, tmp_path_factory.mktemp("single"), options=options
    ) as gw:
        yield gw


def test_with_max_attempts_1_the_first_429_reaches_the_client_without_a_retry(
    single_attempt: Gateway, emulator: Emulator
) -> None:
    emulator.add_fault(Fault(kind="429", model=FLASH, retry_delay="20s"))
    with pytest.raises(openai.RateLimitError) as e:
        single_attempt.client().chat.completions.create(model="gpt-4o", messages=HELLO)
    assert e.value.code == "rate_limit_exceeded"
    assert "1 attempts were rate limited (antigravity_max_attempts=1)" in e.value.message
    assert int(e.value.response.headers["retry-after"]) >= 1
    (key,) = upstream_keys(emulator)  # no second attempt
    tried = e.value.response.headers["x-account-email"]
    assert tried == {KEYS[0]: "key-1", KEYS[1]: "key-2"}[key]
    # The next request goes to the other, free key and is answered.
    assert ask(single_attempt.client(), "Hello again")[0] != tried


def test_with_max_attempts_1_retry_after_does_not_make_the_client_wait_for_a_key_it_need_not(
    single_attempt: Gateway, emulator: Emulator
) -> None:
    lite = "gemini-2.5-flash-lite"
    emulator.add_fault(Fault(kind="429", model=lite, retry_delay="20s"))
    with pytest.raises(openai.RateLimitError) as e:
        single_attempt.client().chat.completions.create(model=lite, messages=HELLO)
    tried = e.value.response.headers["x-account-email"]
    (other,) = [r for r in single_attempt.accounts().values() if r.label != tried]
    assert lite not in other.state  # free to serve the client's retry at once
    # An SDK honours Retry-After (openai-python sleeps up to 60 s of it): 1, not 20.
    assert e.value.response.headers["retry-after"] == "1"


# -- streams -----------------------------------------------------------------------------------


def sse_events(body: bytes) -> list[str]:
    """The data of each SSE event (comments such as keep-alives skipped); checks the framing."""
    text = body.decode()
    assert text.endswith("\n\n")
    events = []
    for block in text.split("\n\n")[:-1]:
        lines = block.split("\n")
        if all(line.startswith(":") for line in lines):
            continue
        data = [line.removeprefix("data: ") for line in lines if line.startswith("data: ")]
        assert len(data) == len(lines) == 1, block
        events.append(data[0])
    return events


def test_a_stream_whose_first_attempt_was_rate_limited_still_delivers_a_complete_answer(
    gw: Gateway, emulator: Emulator
) -> None:
    client = gw.client()
    expected = client.chat.completions.create(model="gpt-4o", messages=HELLO)
    text = expected.choices[0].message.content
    assert text

    def limit_next_attempt() -> None:
        # Whichever key the next request gets answers 429 once; the retry uses the other
        # (or waits out the short delay if the other still rests from the previous round).
        emulator.add_fault(Fault(kind="429", retry_delay="0.2s", times=1))

    limit_next_attempt()
    body = {"model": "gpt-4o", "messages": HELLO, "stream": True}
    resp = raw(f"{gw.url}/v1/chat/completions", "POST", body)
    assert resp.status == 200
    assert resp.headers["content-type"] == "text/event-stream"
    events = sse_events(resp.body)
    assert events[-1] == "[DONE]"
    assert events.count("[DONE]") == 1
    chunks = [json.loads(e) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    choices = [c["choices"][0] for c in chunks if c["choices"]]
    assert "".join(choice["delta"].get("content") or "" for choice in choices) == text
    assert choices[-1]["finish_reason"] == "stop"

    limit_next_attempt()
    stream = client.chat.completions.create(model="gpt-4o", messages=HELLO, stream=True)
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    assert "".join(pieces) == text

    limit_next_attempt()
    events_seen = list(client.responses.create(model="gpt-4o", input="Hello", stream=True))
    assert events_seen[-1].type == "response.completed"
    assert events_seen[-1].response.output_text == text

    flows = gw.flows(4)
    assert [len(attempts(f)) for f in flows] == [1, 2, 2, 2]
    assert all(attempts(f)[0]["status"] == 429 for f in flows[1:])
    assert len(upstream_keys(emulator)) == 7


# -- the accounts file -------------------------------------------------------------------------

ALICE, BOB, CAROL, DAVE = (f"AIza-{name}-file-key-000000{i}" for i, name in enumerate("abcd", 1))


def account(label: str, key: str, extra: str = "") -> str:
    return f"  - label: {label}\n    kind: api_key\n    api_key: {key}\n{extra}"


def test_accounts_file_labels_model_lists_and_enabled_flag_decide_who_answers(
    emulator: Emulator, probe: Path, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.yaml"
    path.write_text(
        "accounts:\n"
        + account("alice@example.com", ALICE, '    models: {allow: ["gemini-2.5-pro"]}\n')
        + account("bob@example.com", BOB, '    models: {deny: ["gemini-2.5-pro"]}\n')
        + account("carol@example.com", CAROL, "    enabled: false\n")
    )
    # GEMINI_API_KEYS adds the keys the file does not have (DAVE, the second: key-2).
    options = {"antigravity_accounts": str(path)}
    with start_gateway(emulator.url, probe, tmp_path, (BOB, DAVE), options) as gw:
        client = gw.client()
        flash = [ask(client, f"flash {n}")[0] for n in range(6)]
        pro = [ask(client, f"pro {n}", "gemini-2.5-pro")[0] for n in range(4)]
        rows = gw.accounts()

    assert set(flash) == {"bob@example.com", "key-2"}
    assert set(pro) == {"alice@example.com", "key-2"}
    label_of = {ALICE: "alice@example.com", BOB: "bob@example.com", DAVE: "key-2"}
    calls = generate_requests(emulator)
    assert [label_of[r.key] for r in calls] == flash + pro  # each answer names its account
    assert {(r.key, r.model) for r in calls} == {
        (BOB, FLASH),
        (DAVE, FLASH),
        (ALICE, "gemini-2.5-pro"),
        (DAVE, "gemini-2.5-pro"),
    }
    assert list(rows) == ["alice@example.com", "bob@example.com", "carol@example.com", "key-2"]
    assert rows["carol@example.com"].state == "off in config"
    assert rows["carol@example.com"].requests == 0
    assert rows["bob@example.com"].secret == "****0002"  # masked, never the key


def test_editing_the_accounts_file_takes_effect_without_restart_and_a_bad_edit_changes_nothing(
    emulator: Emulator, probe: Path, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.yaml"
    path.write_text("accounts:\n" + account("alice", ALICE))
    options = {"antigravity_accounts": str(path)}
    with start_gateway(emulator.url, probe, tmp_path, (), options) as gw:
        client = gw.client()
        served: list[str] = []

        def new_conversation() -> str:
            served.append(ask(client, f"conversation {len(served)}")[0])
            return served[-1]

        assert new_conversation() == "alice"

        # An account added and one switched off in the file: no restart needed.
        path.write_text(
            "accounts:\n" + account("alice", ALICE, "    enabled: false\n") + account("bob", BOB)
        )
        poll(lambda: new_conversation() == "bob", "bob to be used after the file gained him")
        switched_off = len(upstream_keys(emulator))
        assert gw.accounts()["alice"].state == "off in config"
        assert [new_conversation() for _ in range(3)] == ["bob"] * 3

        # A broken edit is logged and the last good accounts stay in force.
        path.write_text(
            "accounts:\n" + account("bob", BOB) + account("carol", CAROL, "    colour: red\n")
        )
        poll(
            lambda: bool(new_conversation()) and "keeping the last good accounts" in gw.child.log(),
            "the broken file to be reported",
        )
        (warning,) = [
            line for line in gw.child.log().splitlines() if "keeping the last good" in line
        ]
        assert f"{path}:" in warning
        assert "unknown field `accounts[1].colour`" in warning
        assert CAROL not in gw.child.log() and BOB not in gw.child.log()
        assert [new_conversation() for _ in range(3)] == ["bob"] * 3
        assert set(gw.accounts()) == {"alice", "bob"}

        # Fixing the file brings the new set in.
        path.write_text("accounts:\n" + account("bob", BOB) + account("carol", CAROL))
        poll(lambda: new_conversation() == "carol", "carol to be used once the file is fixed")
        assert set(gw.accounts()) == {"bob", "carol"}
    assert CAROL in upstream_keys(emulator)
    assert ALICE not in upstream_keys(emulator)[switched_off:]


# -- concurrency -------------------------------------------------------------------------------


async def burst(gw: Gateway, texts: list[str]) -> list[tuple[str, str, str | None]]:
    """Every text sent at once as a new conversation (every other one streamed).

    Returns what each got: who answered (streams: from the flow), the text and finish reason.
    """
    client = gw.aclient()

    async def one(n: int, text: str) -> tuple[str, str, str | None]:
        messages = [{"role": "user", "content": text}]
        if n % 2:
            raw_stream = await client.chat.completions.with_raw_response.create(
                model="gpt-4o", messages=messages, stream=True
            )
            content, finish = "", None
            async for chunk in raw_stream.parse():
                if chunk.choices:
                    content += chunk.choices[0].delta.content or ""
                    finish = chunk.choices[0].finish_reason or finish
            return raw_stream.headers["x-account-email"], content, finish
        answer = await client.chat.completions.with_raw_response.create(
            model="gpt-4o", messages=messages
        )
        choice = answer.parse().choices[0]
        return answer.headers["x-account-email"], choice.message.content or "", choice.finish_reason

    try:
        return await asyncio.gather(*(one(n, text) for n, text in enumerate(texts)))
    finally:
        await client.close()


def test_fifty_concurrent_requests_all_succeed_and_no_cooling_key_is_used(
    emulator: Emulator, probe: Path, tmp_path: Path
) -> None:
    label_of = dict(zip(KEYS, ("key-1", "key-2", "key-3"), strict=True))
    with start_gateway(emulator.url, probe, tmp_path, KEYS) as gw:
        # key-1 is rate limited for long; one request makes the pool learn it.
        emulator.add_fault(Fault(kind="429", key=KEYS[0], retry_delay="300s", times=0))
        assert ask(gw.client(), "warm-up")[0] == "key-2"
        assert upstream_keys(emulator) == [KEYS[0], KEYS[1]]

        # During the burst key-2 starts answering 429 too: requests already sent to it are
        # retried on key-3, later ones avoid it.
        emulator.add_fault(Fault(kind="429", key=KEYS[1], retry_delay="300s", times=0))
        texts = [f"request {n}" for n in range(50)]
        outcomes = asyncio.run(burst(gw, texts))

        for text, (label, content, finish) in zip(texts, outcomes, strict=True):
            assert label in ("key-2", "key-3")
            assert content.endswith(f"You said: {text}")
            assert finish == "stop"
        calls = generate_requests(emulator)[2:]
        # key-1 was cooling throughout: none of the burst's attempts went to it.
        assert KEYS[0] not in [r.key for r in calls]
        # key-2 answered 429 all along, so key-3 answered everything, once per request.
        assert {label for label, _, _ in outcomes} == {"key-3"}
        answered = [said(r) for r in calls if r.key == KEYS[2]]
        assert sorted(answered) == sorted(texts)
        limited = [said(r) for r in calls if r.key == KEYS[1]]
        assert len(limited) == len(set(limited)) >= 1  # no request tried key-2 twice

        # Afterwards both limited keys rest: everything goes to key-3.
        after = asyncio.run(burst(gw, [f"after {n}" for n in range(10)]))
        assert {label for label, _, _ in after} == {"key-3"}
        assert [r.key for r in generate_requests(emulator)[2 + len(calls) :]] == [KEYS[2]] * 10

        # The pool's counters match what Google saw, and the flows' attempts.
        rows = gw.accounts()
        flows = gw.flows(61)
    every = generate_requests(emulator)
    for key, label in label_of.items():
        row = rows[label]
        assert row.requests == sum(1 for r in every if r.key == key)
        assert row.requests == row.ok + row.rate_limited + row.errors
        assert row.errors == 0
    assert (rows["key-1"].requests, rows["key-1"].rate_limited) == (1, 1)
    assert rows["key-2"].rate_limited == len(limited)
    assert rows["key-2"].ok == 1
    assert rows["key-3"].ok == rows["key-3"].requests == 60
    assert rows["key-1"].state.startswith("cooling gemini-2.5-flash for ")
    assert rows["key-2"].state.startswith("cooling gemini-2.5-flash for ")
    tried = [a for f in flows for a in attempts(f)]
    assert len(tried) == len(every)
    assert sum(a["status"] == 200 for a in tried) == 61
    for f in flows:
        *failed, last = attempts(f)
        assert last["status"] == 200
        assert all(a["status"] == 429 and a["cooldown"] >= 299 for a in failed)
