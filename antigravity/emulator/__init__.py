"""A Gemini API emulator on loopback: the test double of the suite and the offline demo upstream.

Every answer says it comes from the emulator, and every response carries `x-emulator: antigravity`.

It rejects what Gemini rejects (`validation`: request shape, `schema_rules`: both schema
dialects, `tools`: declarations and function-calling config, `conversation`: call/response
turns, `thinking`: thinkingConfig per model, `signatures`: Gemini 3 thought signatures) and
answers deterministically (`answers`, shaped by `render`). Tests steer it through the last user
text: `[call:NAME]` calls NAME, `[call]` the first allowed tool, `[parallel]` every allowed tool
in one turn (one tool twice); mode ANY always calls. Tool results are echoed back as
`Tool results: NAME -> {JSON}`; media as `(1 image)`.

Google accounts (`oauth`, `codeassist`): `/token` trades registered refresh tokens for access
tokens, and `/v1internal:generateContent`, `:streamGenerateContent` and `:loadCodeAssist`
serve the Code Assist endpoint with the same answers wrapped as `{"response": ...}`. Faults
match the account by `key`: the API key, or on Code Assist the refresh token.
"""

from .faults import Fault
from .recording import RecordedRequest
from .server import Emulator
from .thread import run_in_thread

__all__ = ["Emulator", "Fault", "RecordedRequest", "run_in_thread"]
