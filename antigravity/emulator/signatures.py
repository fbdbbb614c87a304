"""Thought signatures: issued on Gemini 3 answers, required back on calls, forged ones refused.

A signature is self-verifying, so the emulator keeps no registry: base64 of
`MAGIC + nonce(8) + HMAC-SHA256(secret, MAGIC + nonce + kind + NUL + name)[:16]`, where the
secret is drawn once per process, `kind` is `call` (with the function's name) or `text`, and the
nonce comes from the response id. A signature is therefore valid only on the kind of part it
was issued for (a call signature only on a call to the same function) and only in the process
that issued it, so a gateway cannot pass with signatures it made up or moved to another part.

Validation follows Google's documented rule: only the current turn is checked for missing
signatures (the model turns after the last user turn with text or media), where the first
functionCall part of each model turn (each step) must carry one; a signature present anywhere
must be genuine. The documented dummy values pass everywhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

from .errors import GeminiError, invalid_argument
from .protojson import decode_bytes

DUMMY_SIGNATURES = frozenset(
    {"skip_thought_signature_validator", "context_engineering_is_the_way_to_go"}
)
MAGIC = b"antigravity-emu\x01"
_SECRET = secrets.token_bytes(32)
_NONCE = 8
_MAC = 16
DOCS = "https://ai.google.dev/gemini-api/docs/thought-signatures"


def requires_signatures(model: str) -> bool:
    """Gemini 3 models validate signatures; the image model is documented not to."""
    return model.startswith("gemini-3") and "image" not in model


def issue(kind: str, name: str, nonce_source: str) -> str:
    nonce = hashlib.sha256(nonce_source.encode()).digest()[:_NONCE]
    return base64.b64encode(MAGIC + nonce + _mac(nonce, kind, name)).decode()


def for_call(name: str, nonce_source: str) -> str:
    return issue("call", name, nonce_source)


def for_text(nonce_source: str) -> str:
    return issue("text", "", nonce_source)


def is_genuine(signature: str, part: dict[str, Any]) -> bool:
    """Whether `signature` is a dummy, or one this process issued for this kind of part."""
    if signature in DUMMY_SIGNATURES:
        return True
    raw = decode_bytes(signature)
    if raw is None or len(raw) != len(MAGIC) + _NONCE + _MAC or not raw.startswith(MAGIC):
        return False
    nonce, mac = raw[len(MAGIC) : len(MAGIC) + _NONCE], raw[len(MAGIC) + _NONCE :]
    call = part.get("functionCall")
    kind, name = ("call", str(call.get("name", ""))) if isinstance(call, dict) else ("text", "")
    return hmac.compare_digest(mac, _mac(nonce, kind, name))


def _mac(nonce: bytes, kind: str, name: str) -> bytes:
    message = MAGIC + nonce + kind.encode() + b"\0" + name.encode()
    return hmac.new(_SECRET, message, hashlib.sha256).digest()[:_MAC]


def missing(name: str, position: int) -> GeminiError:
    return invalid_argument(
        "Function call is missing a thought_signature in functionCall parts. This is required "
        "for tools to work correctly, and missing thought_signature may lead to degraded model "
        f"performance. Additional data, function call `default_api:{name}` , position "
        f"{position}. Please refer to {DOCS} for more details."
    )


def corrupted() -> GeminiError:
    return invalid_argument("Corrupted thought signature.")


def _is_standard(part: Any) -> bool:
    """Text or media: what starts a new user turn, as opposed to a function response."""
    return isinstance(part, dict) and any(k in part for k in ("text", "inlineData", "fileData"))


def current_turn_start(contents: list[dict[str, Any]]) -> int:
    """Index of the last user content with text or media (-1 if none): the current turn."""
    for i in range(len(contents) - 1, -1, -1):
        content = contents[i]
        if content.get("role", "user") != "model" and any(
            _is_standard(p) for p in content.get("parts") or []
        ):
            return i
    return -1


def check_signatures(body: dict[str, Any], model: str) -> None:
    """Raise what Gemini 3 answers for missing or forged signatures in the history."""
    if not requires_signatures(model):
        return
    contents = body.get("contents") or []
    start = current_turn_start(contents)
    for i, content in enumerate(contents):
        if content.get("role") != "model":
            continue
        first_call = True
        for part in content.get("parts") or []:
            signature = part.get("thoughtSignature")
            call = part.get("functionCall")
            if isinstance(call, dict):
                if first_call and i > start and not signature:
                    raise missing(str(call.get("name", "")), i + 1)
                first_call = False
            if signature and not is_genuine(signature, part):
                raise corrupted()
