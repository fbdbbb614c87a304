"""Real parts: the emulator on loopback, `mitmdump -s addon.py` in front of it, the openai SDK."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from antigravity import launch
from antigravity.emulator import Emulator, run_in_thread

KEYS = ("test-key-alpha-0001", "test-key-bravo-0002")


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with run_in_thread() as emu:
        yield emu


@pytest.fixture(autouse=True)
def _clean_emulator(request: pytest.FixtureRequest) -> None:
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").reset()


@pytest.fixture(scope="session")
def flows_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("flows") / "gateway.mitm"


@pytest.fixture(scope="session")
def gateway(emulator: Emulator, flows_file: Path) -> Iterator[launch.Child]:
    with launch.start_mitmdump(
        emulator.url,
        env={"GEMINI_API_KEYS": ",".join(KEYS)},
        options={"antigravity_upstream_timeout": "3", "save_stream_file": str(flows_file)},
    ) as child:
        yield child


@pytest.fixture
def client(gateway: launch.Child) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test", base_url=f"{gateway.url}/v1", max_retries=0, timeout=30)


@pytest.fixture
def aclient(gateway: launch.Child) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        api_key="sk-test", base_url=f"{gateway.url}/v1", max_retries=0, timeout=30
    )


class Raw:
    """A raw HTTP answer, as a client that is not the SDK sees it."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> dict:  # type: ignore[type-arg]
        import json

        return json.loads(self.body)


def raw(
    url: str,
    method: str = "GET",
    body: bytes | dict | None = None,  # type: ignore[type-arg]
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Raw:
    import http.client
    import json
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    hdrs = {"content-type": "application/json", **(headers or {})}
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), data, hdrs)
        resp = conn.getresponse()
        return Raw(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


@pytest.fixture
def fresh_gateway(emulator: Emulator) -> Iterator[launch.Child]:
    """A gateway of its own: tests that make accounts cool down must not leave them cooling."""
    with launch.start_mitmdump(
        emulator.url,
        env={"GEMINI_API_KEYS": ",".join(KEYS)},
        options={"antigravity_upstream_timeout": "3"},
    ) as child:
        yield child


@pytest.fixture
def fresh_client(fresh_gateway: launch.Child) -> openai.OpenAI:
    return openai.OpenAI(
        api_key="sk-test", base_url=f"{fresh_gateway.url}/v1", max_retries=0, timeout=30
    )
