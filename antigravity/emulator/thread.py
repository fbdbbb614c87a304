"""Run an emulator on its own event loop in a daemon thread, for synchronous callers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from .server import Emulator


@contextmanager
def run_in_thread(
    valid_keys: Iterable[str] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    timeout: float = 10.0,
    oauth_accounts: Mapping[str, str | None] | None = None,
) -> Iterator[Emulator]:
    """Yield a started emulator (already accepting connections); stop it on exit."""
    emulator = Emulator(valid_keys, oauth_accounts)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="antigravity-emulator", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(emulator.start(host, port), loop).result(timeout)
        yield emulator
    finally:
        try:
            asyncio.run_coroutine_threadsafe(emulator.stop(), loop).result(timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            if not thread.is_alive():
                loop.close()
