"""Deterministic log probabilities for the emulator's word tokens (`responseLogprobs`).

Each token's log probability comes from a hash of its position and text, in [-2, 0]; the top
candidates at each step are the chosen token then `alt1`, `alt2`, ... each one less likely.
Positions count from the candidate's first text token, so a stream and a whole answer agree.
"""

from __future__ import annotations

import hashlib
from typing import Any


def logprob(token: str, position: int) -> float:
    digest = hashlib.sha256(f"{position}:{token}".encode()).digest()
    return -round(int.from_bytes(digest[:2], "big") / 65535 * 2.0, 5)


def result(tokens: list[str], start: int, top: int) -> dict[str, Any]:
    """A `logprobsResult` for `tokens` (the first at `start`), with `top` candidates a step."""
    chosen = [{"token": t, "logProbability": logprob(t, start + k)} for k, t in enumerate(tokens)]
    out: dict[str, Any] = {}
    if top > 0:
        out["topCandidates"] = [
            {"candidates": [c] + [_alternative(c, k) for k in range(1, top)]} for c in chosen
        ]
    out["chosenCandidates"] = chosen
    return out


def average(result_: dict[str, Any]) -> float:
    chosen = result_["chosenCandidates"]
    if not chosen:
        return 0.0
    return round(sum(c["logProbability"] for c in chosen) / len(chosen), 5)


def _alternative(chosen: dict[str, Any], k: int) -> dict[str, Any]:
    token = chosen["token"]
    lead = token[: len(token) - len(token.lstrip())]
    return {"token": f"{lead}alt{k}", "logProbability": round(chosen["logProbability"] - k, 5)}
