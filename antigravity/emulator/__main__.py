"""`python -m antigravity.emulator`: serve the emulator until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from .server import Emulator


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m antigravity.emulator", description="Serve the Gemini API emulator."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8046, help="port to listen on (0: any free)")
    parser.add_argument(
        "--keys", default=None, help="comma-separated accepted API keys (default: any non-empty)"
    )
    parser.add_argument(
        "--oauth-account",
        action="append",
        default=[],
        metavar="REFRESH_TOKEN[=PROJECT]",
        help="accept this refresh token at /token (repeatable); its Code Assist project",
    )
    return parser.parse_args(argv)


def _oauth_accounts(specs: list[str]) -> dict[str, str | None]:
    accounts: dict[str, str | None] = {}
    for spec in specs:
        token, _, project = spec.partition("=")
        accounts[token] = project or None
    return accounts


async def _serve(
    host: str, port: int, keys: set[str] | None, oauth_accounts: dict[str, str | None]
) -> None:
    emulator = Emulator(keys, oauth_accounts)
    url = await emulator.start(host, port)
    print(f"antigravity emulator listening on {url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await emulator.stop()


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    keys = {k.strip() for k in args.keys.split(",") if k.strip()} if args.keys else None
    try:
        asyncio.run(_serve(args.host, args.port, keys, _oauth_accounts(args.oauth_account)))
    except KeyboardInterrupt:
        pass
    except OSError as error:
        print(
            f"antigravity emulator: cannot listen on {args.host}:{args.port}: {error}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
