"""An exclusive lock on a run directory while a run or a resume writes it.

The lock is ``flock`` on ``RUN_DIR/.pdemet.lock`` (held by rank 0). The kernel drops it when the process
ends, however it ends, so a killed run never leaves a stale lock; the file itself stays (removing it
would let two writers lock two different files).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from pdemet.errors import fail
from pdemet.output import layout


class RunLock:
    """``RunLock(out).acquire()`` or a one-line error naming the process that holds ``out``."""

    def __init__(self, out: str | Path):
        self.path = Path(out) / layout.LOCK
        self.fd: int | None = None

    def acquire(self) -> "RunLock":
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            fail("--out", f"cannot write to {self.path.parent} ({e.strerror}); choose a writable directory")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            fail("--out", f"{self.path.parent} is being written by another pdemet run (pid {holder}); wait "
                 "for it to end or choose another output directory")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
