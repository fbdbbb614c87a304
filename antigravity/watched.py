"""Config files reloaded when they change, keeping the last good version when an edit is bad."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


class WatchedFile[T]:
    """A file parsed by `load`; `value` is the last good result, `error` the current problem.

    `maybe_reload` is cheap enough for every request: it stats the file at most once per
    `check_interval` and reads it only when its modification time or size changed. Until a good
    file has been read (missing or invalid at start), `value` is `initial`.
    """

    def __init__(
        self,
        path: Path,
        load: Callable[[Path], T],
        initial: T,
        problems: tuple[type[Exception], ...],
        check_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.check_interval = check_interval
        self.value = initial
        self.error: str | None = None
        self._load_file = load
        self._problems = problems
        self._clock = clock
        self._signature: tuple[int, int] | None = None
        self._checked_at = clock()
        self._load(self._stat())

    def maybe_reload(self) -> bool:
        """Reload if the file changed (checked at most once per interval); True if a new value."""
        now = self._clock()
        if now - self._checked_at < self.check_interval:
            return False
        self._checked_at = now
        signature = self._stat()
        if signature == self._signature:
            return False
        return self._load(signature)

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def _load(self, signature: tuple[int, int] | None) -> bool:
        # Recorded before reading: a write landing mid-read changes the signature again.
        self._signature = signature
        if signature is None:
            self.error = f"{self.path}: file not found"
            return False
        try:
            value = self._load_file(self.path)
        except self._problems as exc:
            self.error = str(exc)
            return False
        except (OSError, UnicodeDecodeError) as exc:
            self.error = f"{self.path}: cannot read: {exc}"
            return False
        self.value = value
        self.error = None
        return True
