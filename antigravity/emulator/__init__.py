"""A Gemini API emulator on loopback: the test double of the suite and the offline demo upstream.

Every answer says it comes from the emulator, and every response carries `x-emulator: antigravity`.
"""

from .faults import Fault
from .recording import RecordedRequest
from .server import Emulator
from .thread import run_in_thread

__all__ = ["Emulator", "Fault", "RecordedRequest", "run_in_thread"]
